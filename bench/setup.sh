#!/usr/bin/env bash
# Installs the tools the proxy benchmark needs, from Debian packages by name.
# Idempotent: does nothing when every tool is already there. Needs root (or sudo).
set -euo pipefail

need=()
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
command -v pidstat >/dev/null 2>&1 || need+=(sysstat)

if [ ${#need[@]} -eq 0 ]; then
  echo "bench/setup.sh: all tools present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "bench/setup.sh: missing ${need[*]} and not root; install them by hand" >&2
    exit 1
  fi
fi

echo "bench/setup.sh: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# apt may be busy (another session installing): wait for the lock up to 5 minutes.
APT_OPTS=(-o DPkg::Lock::Timeout=300 -y -q)
# The package lists may be missing on a fresh machine; refresh only when a package is unknown.
for p in "${need[@]}"; do
  if ! apt-cache show "$p" >/dev/null 2>&1; then
    $SUDO apt-get -o DPkg::Lock::Timeout=300 update -q
    break
  fi
done
# iperf3's postinst asks whether to start a daemon; say no, the bench starts its own.
echo "iperf3 iperf3/start_daemon boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get install "${APT_OPTS[@]}" --no-install-recommends "${need[@]}"

# The Debian packages start system services; the bench runs its own instances.
# Stop and disable the packaged daemons if a service manager is running them.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for s in nginx haproxy iperf3; do
    $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
  done
fi
echo "bench/setup.sh: done"
