#!/bin/bash
# Starts, stops and inspects one lab daemon inside a node, by pidfile in /run/lab.
# Usage: svc.sh start|stop|kill|restart|status|pid NAME
#   NAME: bird | bfd | nhg | l4lb | agent | gate | keepalived | responder | etcd
#   stop: SIGTERM, then wait (up to 10 s, polling) for exit; kill: SIGKILL at once; restart: stop, start,
#   except bird: `birdc graceful restart` (the BGP sessions close without a NOTIFICATION, the
#   kernel keeps the routes), then `bird -R` (graceful restart recovery); /run/lab/bird.restarting
#   exists meanwhile, so the health agent does not start a BIRD of its own in between.
# Prints "<epoch.ns> <action> <name> <pid>" so drills know when it happened, and for stop/kill
# "<epoch.ns> gone <name> <pid>" once the process has exited.
set -u
. /etc/lab/node.env
action=$1 name=$2
run=/run/lab
node=/l4lb/node_modules/node/bin/node
pidf=$run/$name.pid
mkdir -p $run

# Alive until the whole thread group is gone, not only its leader: under SIGKILL a Node process's
# leader thread turns zombie first while its other threads still unmap memory and only then close
# the descriptors (exit_mm before exit_files in do_exit), so its listening socket kept accepting,
# and then resetting, new connections for about 10 ms after the leader was seen gone (drill 4).
alive() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  grep -qE '^[0-9]+ \(.*\) [ZX] ' "/proc/$1/stat" || return 0
  [ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -gt 1 ]
}
curpid() { [ -s "$pidf" ] && cat "$pidf"; }

start() {
  if alive "$(curpid)"; then echo "$(date +%s.%N) running $name $(curpid)"; return 0; fi
  case "$name" in
    bird)       bird -c /etc/lab/bird.conf -s $run/bird.ctl -P $run/bird.pid ${BIRD_RECOVER:+-R}; wait_pidfile ;;
    bfd)        bird -c /etc/lab/bird-bfd.conf -s $run/bfd.ctl -P $run/bfd.pid; wait_pidfile ;;
    # l4lb from the image (deploy/Dockerfile's /opt/l4lb), as its l4lb user with no capability
    # but NET_BIND_SERVICE (VIP port 80) and no way to gain one, as the image's docs run it.
    # setpriv execs, so the pid file holds l4lb's primary. L4LB_CMD overrides (e.g. the checkout's sources).
    l4lb)       install -d -o l4lb -g l4lb -m 0750 $run/l4lb   # the fleet's last-known-good file
                setsid ${L4LB_CMD:-setpriv --reuid=l4lb --regid=l4lb --init-groups --no-new-privs \
                  --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service \
                  /opt/l4lb/node_modules/.bin/l4lb run -c /etc/lab/l4lb.yaml} >>$run/l4lb.log 2>&1 < /dev/null & echo $! > "$pidf" ;;
    gate)       setsid /l4lb/lab/node/gate.sh >>$run/gate.log 2>&1 < /dev/null & echo $! > "$pidf" ;;
    agent)      setsid $node /l4lb/lab/node/agent.ts --admin "$LAB_ADMIN" --bird $run/bird.ctl --events $run/events.jsonl $LAB_AGENT >>$run/agent.log 2>&1 < /dev/null & echo $! > "$pidf" ;;
    keepalived) keepalived -n -l -D --vrrp -f $run/keepalived.conf -p $run/keepalived-main.pid -r $run/keepalived-vrrp.pid >>$run/keepalived.log 2>&1 < /dev/null &
                echo $! > "$pidf" ;;
    nhg)        setsid $node /l4lb/lab/tools/nhg.ts --daemon $LAB_NHG >>$run/nhg.log 2>&1 < /dev/null & echo $! > "$pidf" ;;
    etcd)       setsid etcd $LAB_ETCD >>$run/etcd.log 2>&1 < /dev/null & echo $! > "$pidf" ;;
    responder)  setsid $node /l4lb/lab/node/responder.ts --name "$LAB_NODE" --port "$LAB_PORT" ${LAB_AGENT_PORT:+--agent-port $LAB_AGENT_PORT} ${LAB_ALLOW:+--allow $LAB_ALLOW} >>$run/responder.log 2>&1 < /dev/null & echo $! > "$pidf" ;;
    *) echo "svc: unknown daemon $name" >&2; exit 2 ;;
  esac
  echo "$(date +%s.%N) start $name $(curpid)"
}

# bird daemonizes and writes its own pidfile; poll for it (4 s deadline).
wait_pidfile() {
  for _ in $(seq 1 200); do [ -s "$pidf" ] && return 0; sleep 0.02; done
}

stop() {
  local pid; pid=$(curpid) || true
  if ! alive "$pid"; then echo "$(date +%s.%N) stopped $name"; return 0; fi
  echo "$(date +%s.%N) $1 $name $pid"
  kill "-$2" "$pid"
  # A second line once the process is gone (polled every 20 ms): the signal is sent a moment after
  # the first timestamp, and a drill's "in flight at the kill" window must span both.
  for _ in $(seq 1 500); do alive "$pid" || { rm -f "$pidf"; echo "$(date +%s.%N) gone $name $pid"; return 0; }; sleep 0.02; done
  echo "svc: $name $pid still alive after SIG$2" >&2; return 1
}

# BIRD's own graceful restart, then a new BIRD in recovery mode (see the head comment).
graceful() {
  local pid; pid=$(curpid) || true
  touch $run/bird.restarting
  echo "$(date +%s.%N) graceful $name $pid"
  birdc -s $run/bird.ctl graceful restart >/dev/null
  for _ in $(seq 1 500); do alive "$pid" || break; sleep 0.02; done
  rm -f "$pidf"
  echo "$(date +%s.%N) gone $name $pid"
  BIRD_RECOVER=1 start
  rm -f $run/bird.restarting
}

case "$action" in
  start)  start ;;
  stop)   stop stop TERM ;;
  kill)   stop kill KILL ;;
  restart) if [ "$name" = bird ]; then graceful; else stop stop TERM && start; fi ;;
  status) if alive "$(curpid)"; then echo "$name running $(curpid)"; else echo "$name stopped"; exit 3; fi ;;
  pid)    curpid ;;
  *) echo "usage: svc.sh start|stop|kill|restart|status|pid NAME" >&2; exit 2 ;;
esac
