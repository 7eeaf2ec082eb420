#!/bin/bash
# Container main process for every lab node (tini runs it as PID 1's child).
# Reads /etc/lab/node.env (rendered from lab/lab.yaml), configures addresses and
# routes, starts the role's daemons through svc.sh, then waits forever so the
# drills can stop and start daemons individually.
set -u
. /etc/lab/node.env
mkdir -p /run/lab
# A restarted container keeps /run/lab; its pidfiles name processes of the old PID namespace.
rm -f /run/lab/*.pid /run/lab/*.ctl /run/lab/withdraw /run/lab/l4lb.track /run/lab/lease /run/lab/bird.restarting /run/lab/connect-503
# Nothing is proven healthy yet: BIRD starts with the VIP withdrawn (its config includes this file).
echo 'disabled yes;' > /run/lab/vip.state.conf
exec >>/run/lab/entry.log 2>&1
echo "entry: $LAB_NODE role $LAB_ROLE starting at $(date +%s.%N)"

# Interface holding an address of the given /24 (Docker's interface order is not fixed).
iface_of() { ip -o -4 addr show | awk -v a="$1" '{ split($4, p, "/"); if (p[1] == a) print $2 }'; }

# Docker gives even internal networks a default route via its (host-side) gateway; replace or drop it.
if [ -n "$LAB_GW" ]; then ip route replace default via "$LAB_GW"; else ip route del default 2>/dev/null || true; fi
for a in $LAB_LO_ADDRS; do ip addr add "$a" dev lo 2>/dev/null || true; done
if [ -n "$LAB_EXTRA_ADDRS" ]; then
  dev=$(ip route get "$LAB_GW" | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i+1) }')
  for a in $LAB_EXTRA_ADDRS; do echo "address add $a dev $dev"; done | ip -batch - 2>/dev/null || true
fi

svc=/l4lb/lab/node/svc.sh
case "$LAB_ROLE" in
  router)  $svc start bird; [ -n "${LAB_NHG:-}" ] && $svc start nhg ;;
  lb)      $svc start bfd; $svc start bird; $svc start l4lb; $svc start agent; $svc start gate ;;
  ka)      ka_if=$(iface_of "$LAB_VRRP_SELF")
           sed "s/@IFACE@/$ka_if/g" /etc/lab/keepalived.conf > /run/lab/keepalived.conf
           $svc start l4lb; $svc start agent; $svc start keepalived ;;
  backend|origin) $svc start responder ;;
  etcd)    $svc start etcd ;;
  client)  ;;
esac
echo "entry: $LAB_NODE up at $(date +%s.%N)"
trap 'exit 0' TERM INT
# Idle without polling: wait on a never-written FIFO (no sleep loop, reacts to SIGTERM).
mkfifo /run/lab/.idle 2>/dev/null || true
while :; do read -r _ < /run/lab/.idle & wait $!; done
