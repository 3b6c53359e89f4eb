#!/usr/bin/env bash
# The main job, end to end: read a real capture (written by Debian's sysdig 0.29.3 with the scap kernel
# module on Debian 6.1.0-47) with `sinsp`, and compare its output with Debian's sysdig reading the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
    echo "error: cargo not found. Install Rust (https://rustup.rs) and run this again." >&2
    exit 1
fi
bash .ci/setup
capture=${1:-../shared/captures/debian-6.1.0-47-workload.scap}
if [ ! -f "$capture" ]; then
    echo "error: no capture at $capture; pass one as the first argument" >&2
    exit 1
fi
echo ">> building sinsp (release)"
cargo build --release --locked -p sinsp
sinsp=target/release/sinsp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo ">> the workload's file activity, as sinsp prints it"
TZ=UTC "$sinsp" -r "$capture" -p "%evt.num %proc.name %evt.type %fd.name %evt.res" \
    "proc.name=workload and evt.dir=< and evt.type in (openat, close, rename, unlink)" | head -n 12

echo ">> sinsp -r and sysdig -r, line for line"
TZ=UTC "$sinsp" -r "$capture" > "$work/sinsp.txt"
TZ=UTC sysdig -r "$capture" > "$work/sysdig.txt"
lines=$(wc -l < "$work/sysdig.txt")
if cmp -s "$work/sinsp.txt" "$work/sysdig.txt"; then
    echo "   identical: $lines lines"
else
    echo "   DIFFERENT:"; diff "$work/sysdig.txt" "$work/sinsp.txt" | head -n 20; exit 1
fi

echo ">> sinsp -w keeps the openat events; sysdig reads the file sinsp wrote"
"$sinsp" -r "$capture" -w "$work/opens.scap" evt.type=openat
TZ=UTC sysdig -r "$work/opens.scap" > "$work/sysdig-opens.txt"
TZ=UTC "$sinsp" -r "$work/opens.scap" > "$work/sinsp-opens.txt"
cmp "$work/sysdig-opens.txt" "$work/sinsp-opens.txt"
echo "   $(wc -l < "$work/sysdig-opens.txt") openat events; sysdig and sinsp agree on the written file"

echo ">> speed: events per second reading the capture"
for tool in "$sinsp" sysdig; do
    start=$(date +%s.%N)
    "$tool" -r "$capture" > /dev/null
    end=$(date +%s.%N)
    echo "   $(basename "$tool"): $(echo "$end - $start" | bc) s"
done
