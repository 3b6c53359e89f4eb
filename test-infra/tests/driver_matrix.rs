//! The driver builds without a warning against every kernel series the project supports: Debian's 6.1 in
//! its generic, cloud and realtime flavours, a later 6.1 ABI, and the 6.12 backport.

use std::path::PathBuf;
use std::process::Command;

use test_infra::packages::kernel_headers;

fn build(release: &str) {
    let kerneldir = kernel_headers(release).unwrap_or_else(|e| panic!("headers for {release}: {e}"));
    let work = tempfile::tempdir().expect("tempdir");
    let src = work.path().join("driver");
    let driver = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../driver");
    assert!(Command::new("cp").arg("-r").arg(&driver).arg(&src).status().expect("cp").success());
    // Kernels built with BTF for modules want pahole; the driver needs no BTF of its own.
    let out = Command::new("make")
        .arg(format!("KERNELDIR={}", kerneldir.display()))
        .arg("CONFIG_DEBUG_INFO_BTF_MODULES=")
        .current_dir(&src)
        .output()
        .expect("make runs");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{release}: build failed:\n{log}");
    assert!(!log.contains("warning:"), "{release}: warnings:\n{log}");
    let ko = src.join("scap.ko");
    let data = std::fs::read(&ko).expect("module built");
    let vermagic = format!("vermagic={} ", release);
    assert!(data.windows(vermagic.len()).any(|w| w == vermagic.as_bytes()), "{release}: the module's vermagic names its kernel");
}

#[test]
fn builds_for_6_1_generic_cloud_and_rt() {
    for release in ["6.1.0-47-amd64", "6.1.0-47-cloud-amd64", "6.1.0-47-rt-amd64", "6.1.0-56-amd64"] {
        build(release);
    }
}

#[test]
fn builds_for_6_12() {
    build("6.12.117+deb12-amd64");
}
