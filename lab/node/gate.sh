#!/bin/bash
# Lease gate for the anycast announcement, one per lb node (started by svc.sh, independent
# of the health agent). The agent writes the time (epoch ms) to /run/lab/lease on every tick
# at which it has just seen l4lb healthy and wants the VIP announced. When the lease is older
# than LAB_LEASE_MS (or missing), whatever happened to the agent (killed, hung, unable to
# reach BIRD), this withdraws: it records "disabled yes;" in the state file BIRD's config
# includes (so a BIRD restart or reload stays withdrawn), runs `birdc disable vip`, and when
# birdc fails it stops the node's BFD daemon and BIRD by their pidfiles (the router's BFD
# session goes Down, and a SIGTERMed BIRD closes the BGP session with a Cease: the router drops
# the route at once, with no graceful-restart grace). Withdrawal bound: LAB_LEASE_MS + one poll
# (100 ms) after the last healthy tick. Re-announcing is the agent's job alone.
# Events go to /run/lab/events.jsonl as {"t":ms,"ev":"gate-withdraw","how":...,"leaseAgeMs":N}.
set -u
. /etc/lab/node.env
run=/run/lab
lease_ms=${LAB_LEASE_MS:-700}
withdrawn=0
birdc_failures=0

emit() { printf '%s\n' "$1" >> $run/events.jsonl; printf '%s\n' "$1"; }
emit "{\"t\":$(date +%s%3N),\"ev\":\"gate-start\",\"leaseMs\":$lease_ms}"

while :; do
  now=$(date +%s%3N)
  lease=$(cat $run/lease 2>/dev/null) || lease=0
  age=$(( now - ${lease:-0} ))
  if (( age > lease_ms )); then
    if (( withdrawn == 0 )); then
      printf 'disabled yes;\n' > $run/vip.state.tmp && mv -f $run/vip.state.tmp $run/vip.state.conf
      if out=$(timeout 1 birdc -s $run/bird.ctl disable vip 2>&1); then
        how=birdc
      else
        birdc_failures=$(( birdc_failures + 1 ))
        echo "gate: birdc disable vip failed ($birdc_failures so far): ${out//$'\n'/ }" >&2
        how=bfd-and-bird-stopped
        pid=$(cat $run/bfd.pid 2>/dev/null) && kill -TERM "$pid" 2>/dev/null || how=bfd-not-running
        pid=$(cat $run/bird.pid 2>/dev/null) && kill -TERM "$pid" 2>/dev/null || how=$how,bird-not-running
      fi
      emit "{\"t\":$(date +%s%3N),\"ev\":\"gate-withdraw\",\"how\":\"$how\",\"leaseAgeMs\":$age,\"birdcFailures\":$birdc_failures}"
      withdrawn=1
    fi
  else
    withdrawn=0
  fi
  sleep 0.1
done
