#!/usr/bin/env bash
# Makes a Docker engine answer on /var/run/docker.sock: installs docker.io when dockerd is missing (CI and
# a fresh Debian machine), then starts dockerd in the background (log in /var/log/etcd-ts-dockerd.log)
# unless one answers already. Idempotent; never stops an engine, so it is safe beside other users of it.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "docker-up: dockerd is missing and installing it needs root" >&2; exit 1; fi
  # policy-rc.d keeps the package from starting services (the same guard as .ci/run's etcd install)
  policy=/usr/sbin/policy-rc.d saved=""
  [ -e "$policy" ] && { saved="$(mktemp)"; cp -p "$policy" "$saved"; }
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
fi
log=/var/log/etcd-ts-dockerd.log
setsid nohup dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "docker-up: dockerd did not answer within 60 s; its log ($log) ends:" >&2
tail -20 "$log" >&2
exit 1
