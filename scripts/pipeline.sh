#!/usr/bin/env bash
# The driver platform end to end, on a slice of the kernel matrix (the newest generic kernel of every
# Debian series), or on the whole Debian amd64 matrix with MATRIX=full:
#   1. crawl the Debian mirror (read from apt's sources) into a kernel-crawler list;
#   2. dbg configs generate --auto: one driverkit config per kernel;
#   3. driverkit images build: a builder image per Debian suite, each with its suite's gcc;
#   4. dbg configs build: the kmod and the eBPF probe for every kernel, each in a container built with
#      the gcc its kernel was built with;
#   5. dbg drivers test: every kernel booted in qemu, its module loaded, reloaded and captured with, its
#      probe captured with;
#   6. dbg drivers publish: a repository in the download layout, sha256 beside each driver, index.json
#      signed with minisign, index.html; then verified with dbg and with Debian's minisign;
#   7. dbg configs build once more: nothing to rebuild, in seconds.
# WORK=DIR keeps everything in DIR (default: a fresh temporary directory, kept for inspection).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
matrix=${MATRIX:-slice}
case "$matrix" in slice | full) ;; *) echo "error: MATRIX is slice or full, not $matrix" >&2; exit 2 ;; esac
work=${WORK:-$(mktemp -d /tmp/dbg-pipeline.XXXXXX)}
mkdir -p "$work"
jobs=${JOBS:-2}
version=$(git rev-parse HEAD)
bin=target/release

echo ">> building kernel-crawler, driverkit, dbg and sinsp (release)"
cargo build --release --locked -p kernels -p builder -p test-infra -p sinsp
dbg=("$bin/dbg" --repo-root "$work" --driver-version "$version")

echo ">> 1. crawling the Debian mirror"
"$bin/kernel-crawler" crawl --distro debian --arch x86_64 --out "$work/kernels"
list=$work/kernels/x86_64/list.json

echo ">> 2. configs for driver version $version ($matrix)"
slice=()
[ "$matrix" = slice ] && slice=(--one-per-series)
"${dbg[@]}" --target-distro '^debian$' configs generate --auto --kernel-list "$list" "${slice[@]}"
"${dbg[@]}" configs validate
"${dbg[@]}" configs stats

echo ">> 3. builder images, one per Debian suite (made once; later runs find them)"
"$bin/driverkit" images build

echo ">> 4. building every config, $jobs at a time"
status=0
"${dbg[@]}" configs build -j "$jobs" --ignore-errors --driver-repo . \
    --redirect-errors "$work/build-errors.txt" || status=$?

echo ">> 5. boot tests in qemu, $jobs at a time"
"${dbg[@]}" drivers test -j "$jobs" --kernel-images "$work/kernels/x86_64/images.json" \
    --sinsp "$bin/sinsp" || status=$?

echo ">> 6. publishing what passed, signed"
[ -f "$work/keys/dbg.key" ] || "$bin/dbg" drivers keygen --dir "$work/keys"
"${dbg[@]}" drivers publish --repo "$work/repo" --key "$work/keys/dbg.key"
"${dbg[@]}" drivers verify --repo "$work/repo" --pubkey "$work/keys/dbg.pub"
minisign -Vm "$work/repo/index.json" -p "$work/keys/dbg.pub"
"${dbg[@]}" drivers stats --repo "$work/repo"

echo ">> 7. building again: nothing changed, nothing is rebuilt"
start=$(date +%s.%N)
"${dbg[@]}" configs build -j "$jobs" --driver-repo .
echo "   second build: $(echo "$(date +%s.%N) - $start" | bc) s"

echo ">> done: repository in $work/repo (open $work/repo/index.html); exit status $status"
exit "$status"
