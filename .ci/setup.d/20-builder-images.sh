#!/usr/bin/env bash
# The builder images, one per Debian suite (each with the gcc its kernels were built with), made
# locally with debootstrap since no registry is reachable. An image of the same recipe is kept: after
# the first run this takes a second.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo run -q --locked -p builder --bin driverkit -- images build
