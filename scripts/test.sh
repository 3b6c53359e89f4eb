#!/usr/bin/env bash
# The whole test suite, as CI runs it. On a fresh Debian 12 machine as root it first installs what the
# tests need (.ci/setup): Debian's sysdig as the reference reader, qemu and kernel images for VM tests, ...
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
echo ">> checking that the generated C files match driver/schema/events.schema"
cargo xtask codegen --check
echo ">> cargo test"
cargo test --workspace --all-targets --locked 2>&1
