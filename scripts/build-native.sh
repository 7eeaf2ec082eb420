#!/bin/sh
# Build the native pump (native/*.c) into native/build/l4lb_pump.node with the
# system C compiler and the Node-API headers of the npm package
# `node-api-headers` (nothing is downloaded). Run by `npm ci`/`npm install`
# (the package's `install` script) and by hand. It never fails the install:
# without a compiler or on any error it prints one line and exits 0, and l4lb
# runs its JavaScript engine (`engine: auto`).
#
#   L4LB_NATIVE_SANITIZE=1  build with -fsanitize=address,undefined into
#                           native/build/l4lb_pump-asan.node (scripts/test-native-asan.sh)
#   L4LB_NATIVE_STRICT=1    exit 1 on failure instead (CI, tests of this script)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/native/build/l4lb_pump.node"
flags="-O2"
if [ "${L4LB_NATIVE_SANITIZE:-0}" = 1 ]; then
  out="$here/native/build/l4lb_pump-asan.node"
  flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
fi

give_up() {
  echo "l4lb: native engine not built ($1); l4lb will use the JavaScript engine (see docs/performance.md)"
  [ "${L4LB_NATIVE_STRICT:-0}" = 1 ] && exit 1
  exit 0
}

[ "$(uname -s)" = Linux ] || give_up "needs Linux (epoll)"
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || give_up "no C compiler: install gcc, then run 'npm rebuild l4lb' or 'sh scripts/build-native.sh'"

# node-api-headers: beside us (development) or hoisted above (an installed package).
inc=
d=$here
while [ "$d" != / ]; do
  if [ -f "$d/node_modules/node-api-headers/include/node_api.h" ]; then inc="$d/node_modules/node-api-headers/include"; break; fi
  d=$(dirname "$d")
done
[ -n "$inc" ] || give_up "npm package node-api-headers not found"

mkdir -p "$here/native/build" || give_up "cannot create native/build"
tmp="$out.tmp.$$"
# shellcheck disable=SC2086 # $flags is a list of flags
if ! err=$("$cc" $flags -std=c11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -pthread \
  -DNAPI_VERSION=8 -I "$inc" "$here"/native/*.c -o "$tmp" 2>&1); then
  rm -f "$tmp"
  printf '%s\n' "$err" | head -n 20 >&2
  give_up "the C compiler failed"
fi
mv -f "$tmp" "$out" || give_up "cannot write $out"
echo "l4lb: native engine built ($out)"
