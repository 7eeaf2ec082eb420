#!/bin/bash
# keepalived track_script: exit 0 only when the local l4lb answers 200 on /healthz.
# Pure bash (/dev/tcp), so the image needs no curl. Read deadline 0.9 s (keepalived's timeout is 1 s):
# a pause of l4lb shorter than that only delays the answer and is no failure (hysteresis, issue 10).
. /etc/lab/node.env
host=${LAB_ADMIN%:*} port=${LAB_ADMIN##*:}
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
IFS= read -r -t 0.9 status <&3 || exit 1
case "$status" in "HTTP/1."?" 200 "*) exit 0 ;; *) exit 1 ;; esac
