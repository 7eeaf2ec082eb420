#!/usr/bin/env bash
# Build the l4lb image offline: make the context (npm pack, offline install
# from the npm cache, the pinned Node) in a temp dir, then docker build.
#   deploy/build-image.sh [BASE] [TAG]
#   BASE: base image (default debian:bookworm-slim; offline: l4lb-lab-base:bookworm)
#   TAG:  image tag (default l4lb:latest)
set -euo pipefail
base=${1:-debian:bookworm-slim}
tag=${2:-l4lb:latest}
root=$(cd "$(dirname "$0")/.." && pwd)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# The project's pinned Node (node_modules/node) runs the context script and goes into the image.
PATH="$root/node_modules/node/bin:$PATH" node "$root/scripts/image-context.ts" "$ctx/c"
docker build --build-arg BASE="$base" -f "$root/deploy/Dockerfile" -t "$tag" "$ctx/c"
