#!/usr/bin/env bash
# Starts the Docker engine in the background when none answers (machines here have no systemd). The
# builder image is made by the tests that need it (`driverkit images build`, about 90 s the first time).
set -euo pipefail
if ! docker info >/dev/null 2>&1; then
    echo ">> starting dockerd (log: /var/log/dockerd.log)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "error: dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
