#!/usr/bin/env bash
# System packages the test suite needs from Debian: Chromium for the status
# page test (headless, driven by playwright-core), python3 for the hardening
# suite's blackhole helper, systemd-analyze to verify deploy/l4lb.service, gcc
# and make to build the native engine (scripts/build-native.sh), etcd and
# etcdctl for the fleet tests (a real store on loopback). Idempotent and quick: when every tool is
# present it only runs `command -v` (no apt). `npm test` calls it as `pretest`.
#   bash scripts/setup-system.sh           install what is missing (root, or sudo)
#   bash scripts/setup-system.sh --check   list what is missing; exit 1 if anything is
# To add a package: one line below, "command package".
set -euo pipefail
needs='
chromium chromium
python3 python3
systemd-analyze systemd
cc gcc
make make
etcd etcd-server
etcdctl etcd-client
'
missing=()
while read -r cmd pkg; do
  [ -n "$cmd" ] || continue
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done <<< "$needs"

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "setup-system: missing: ${missing[*]}" >&2
  exit 1
fi
echo "setup-system: installing ${missing[*]} from Debian" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup-system: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
