#!/usr/bin/env bash
# The main job, end to end:
#   1. build the kernel module for Debian's 6.1.0-47-amd64 kernel inside a container (`driverkit docker`,
#      headers found by package name, a local builder image, no network in the container);
#   2. boot that kernel in qemu with the module, capture a small workload live with `sinsp --driver kmod`;
#   3. read the capture back with `sinsp` and with Debian's sysdig, and check they agree;
#   4. read a real capture written by sysdig with the reference module, as sysdig does.
# Everything it needs (Debian packages, dockerd, the builder image, headers, the kernel) it sets up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
release=${KERNEL:-6.1.0-47-amd64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo ">> building driverkit, sinsp and test-infra (release)"
cargo build --release --locked -p builder -p sinsp -p test-infra
bin=target/release

echo ">> builder image (made once with debootstrap; later runs find it)"
"$bin/driverkit" images build

echo ">> driverkit docker: the module for $release, built in a container from this tree"
"$bin/driverkit" docker --target debian --kernelrelease "$release" \
    --moduledrivername scap --moduledevicename scap \
    --output-module "$work/scap.ko" --src-dir . --timeout 900
cat "$work/scap.ko.sha256"

echo ">> booting $release in qemu (TCG): insmod, capture with sinsp while a workload runs, rmmod"
cat > "$work/guest.sh" <<'GUEST'
ifconfig lo 127.0.0.1 up
insmod /scap.ko || exit 10
/sinsp --driver kmod -w /tmp/cap.scap > /dev/null 2> /tmp/sinsp.err &
sp=$!
n=0; until grep -q capturing /tmp/sinsp.err; do sleep 0.2; n=$((n+1)); [ $n -lt 900 ] || exit 20; done
echo hello > /tmp/demo.txt
cat /tmp/demo.txt > /dev/null 3>&-
mv /tmp/demo.txt /tmp/demo-renamed.txt
cat /no/such/file 2> /dev/null 3>&-
sleep 1
kill -INT $sp; wait $sp; result sinsp $?
sendfile /tmp/cap.scap cap.scap
sendfile /tmp/sinsp.err sinsp.err
rmmod scap || exit 11
GUEST
"$bin/test-infra" vm-run --kernel "$release" --file "$work/scap.ko:/scap.ko" \
    --program "$bin/sinsp:/sinsp" --script "$work/guest.sh" --out "$work" --timeout-secs 300
echo "   sinsp in the guest said: $(tr '\n' ' ' < "$work/sinsp.err")"

echo ">> the workload's file activity in the live capture, as sinsp prints it"
# (busybox runs cat and mv inside the shell, so they are found by the files they touch, not by name)
TZ=UTC "$bin/sinsp" -r "$work/cap.scap" -p "%evt.num %proc.name %evt.type %fd.name %evt.args" \
    "evt.dir=< and (fd.name contains /tmp/demo or evt.type in (rename, renameat, renameat2))"

echo ">> sinsp -r and sysdig -r agree on the live capture"
TZ=UTC "$bin/sinsp" -r "$work/cap.scap" > "$work/sinsp.txt"
TZ=UTC sysdig -r "$work/cap.scap" > "$work/sysdig.txt"
if cmp -s "$work/sinsp.txt" "$work/sysdig.txt"; then
    echo "   identical: $(wc -l < "$work/sysdig.txt") lines"
else
    echo "   DIFFERENT:"; diff "$work/sysdig.txt" "$work/sinsp.txt" | head -n 20; exit 1
fi

capture=../shared/captures/debian-6.1.0-47-workload.scap
if [ -f "$capture" ]; then
    echo ">> a capture written by sysdig with the reference module: sinsp -r and sysdig -r, line for line"
    TZ=UTC "$bin/sinsp" -r "$capture" > "$work/ref-sinsp.txt"
    TZ=UTC sysdig -r "$capture" > "$work/ref-sysdig.txt"
    cmp "$work/ref-sinsp.txt" "$work/ref-sysdig.txt"
    echo "   identical: $(wc -l < "$work/ref-sysdig.txt") lines"
fi
echo ">> done"
