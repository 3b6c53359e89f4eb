#!/usr/bin/env bash
# Builder benchmarks (BENCHMARKS.md): a container build against the same recipe run on the host with the
# same headers, and a build with a cold header cache against a warm one. Needs what scripts/demo.sh sets up.
set -euo pipefail
cd "$(dirname "$0")/.."
release=${KERNEL:-6.1.0-47-amd64}
runs=${RUNS:-5}
if ! command -v hyperfine > /dev/null; then
    echo ">> installing hyperfine"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends hyperfine
fi
cargo build --release --locked -p builder
dk=$PWD/target/release/driverkit
"$dk" images build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common="--target debian --kernelrelease $release --moduledrivername scap --src-dir . --timeout 900 --loglevel warn"
# One build first, so that the warm runs find the headers in the cache.
$dk docker $common --output-module "$work/first.ko" > /dev/null
hyperfine -w 1 -r "$runs" --export-markdown "$work/container-vs-host.md" \
    -n "container (driverkit docker)" "$dk docker $common --output-module $work/d.ko > /dev/null" \
    -n "host (driverkit local)" "$dk local $common --output-module $work/l.ko > /dev/null"
hyperfine -r "$runs" --export-markdown "$work/cold-vs-warm.md" \
    -n "cold header cache (apt mirror)" --prepare "rm -rf $work/cold" \
    "DRIVERKIT_CACHE=$work/cold $dk docker $common --output-module $work/c.ko > /dev/null" \
    -n "warm header cache" "$dk docker $common --output-module $work/w.ko > /dev/null"
cat "$work/container-vs-host.md" "$work/cold-vs-warm.md"
