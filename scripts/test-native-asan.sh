#!/bin/sh
# Build the native engine with AddressSanitizer and UndefinedBehaviorSanitizer
# (L4LB_NATIVE_SANITIZE=1 scripts/build-native.sh) and run the data-path
# tests against it. For CI: run once per change to native/. Node itself is
# not instrumented, so the sanitizer runtime is preloaded; leak checking is
# off (Node's own allocations at exit would drown the report). Any sanitizer
# report aborts the test process, which fails the run.
#   sh scripts/test-native-asan.sh [test files...]   (default: the data-path tests)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
L4LB_NATIVE_SANITIZE=1 L4LB_NATIVE_STRICT=1 sh scripts/build-native.sh
cc=${CC:-cc}
asan=$("$cc" -print-file-name=libasan.so)
ubsan=$("$cc" -print-file-name=libubsan.so)
[ -f "$asan" ] || { echo "test-native-asan: libasan not found (install gcc)" >&2; exit 1; }
if [ $# -eq 0 ]; then
  set -- test/proxy/splice.test.ts test/proxy/endings.test.ts test/proxy/timeouts.test.ts \
    test/proxy/byte-counts.test.ts test/proxy/reload.test.ts test/proxy/hand-off.test.ts \
    test/proxy/connect-stage.test.ts test/proxy/retry.test.ts test/hardening/backend-faults.test.ts \
    test/proxy/native-accept.test.ts test/proxy/native-idle.test.ts test/proxy/queue.test.ts
fi
export L4LB_NATIVE_ADDON="$here/native/build/l4lb_pump-asan.node"
export LD_PRELOAD="$asan $ubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
exec npx tap --jobs=1 "$@"
