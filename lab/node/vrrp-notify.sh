#!/bin/bash
# keepalived notify hook: appends "<epoch.ns> <TYPE> <NAME> <STATE>" to
# /run/lab/vrrp.log, which drills read to time a takeover.
echo "$(date +%s.%N) $*" >> /run/lab/vrrp.log
