//! The driver builds without a warning against every kernel series the project supports: Debian's 6.1 in
//! its generic, cloud and realtime flavours, a later 6.1 ABI, and the 6.12 backport.

use std::path::PathBuf;
use std::process::Command;

use test_infra::packages::kernel_headers;

fn build(release: &str) {
    let kerneldir =
        kernel_headers(release).unwrap_or_else(|e| panic!("headers for {release}: {e}"));
    let work = tempfile::tempdir().expect("tempdir");
    let src = work.path().join("driver");
    let driver = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../driver");
    assert!(Command::new("cp")
        .arg("-r")
        .arg(&driver)
        .arg(&src)
        .status()
        .expect("cp")
        .success());
    // Kernels built with BTF for modules want pahole; the driver needs no BTF of its own.
    let out = Command::new("make")
        .arg(format!("KERNELDIR={}", kerneldir.display()))
        .arg("CONFIG_DEBUG_INFO_BTF_MODULES=")
        .current_dir(&src)
        .output()
        .expect("make runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{release}: build failed:\n{log}");
    assert!(!log.contains("warning:"), "{release}: warnings:\n{log}");
    let ko = src.join("scap.ko");
    let data = std::fs::read(&ko).expect("module built");
    let vermagic = format!("vermagic={} ", release);
    assert!(
        data.windows(vermagic.len())
            .any(|w| w == vermagic.as_bytes()),
        "{release}: the module's vermagic names its kernel"
    );
}

#[test]
fn builds_for_6_1_generic_cloud_and_rt() {
    for release in [
        "6.1.0-47-amd64",
        "6.1.0-47-cloud-amd64",
        "6.1.0-47-rt-amd64",
        "6.1.0-56-amd64",
    ] {
        build(release);
    }
}

#[test]
fn builds_for_6_12() {
    build("6.12.117+deb12-amd64");
}

/// driverkit's current recipe, step by step as it runs it (DESIGN.md), on a copy of this tree.
#[test]
fn driverkit_cmake_recipe_builds_the_module_under_its_names() {
    let kerneldir = kernel_headers("6.1.0-47-amd64").expect("headers");
    let work = tempfile::tempdir().expect("tempdir");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let tree = work.path().join("driver-src");
    std::fs::create_dir_all(&tree).expect("tree");
    for item in ["CMakeLists.txt", "driver", "bpf"] {
        assert!(Command::new("cp")
            .arg("-r")
            .arg(root.join(item))
            .arg(&tree)
            .status()
            .expect("cp")
            .success());
    }
    for leftover in ["driver/driver_config.h", "driver/scap.ko", "bpf/probe.o", "bpf/probe.ll"] {
        let _ = std::fs::remove_file(tree.join(leftover));
    }
    let build = tree.join("build");
    std::fs::create_dir_all(&build).expect("build dir");
    let run = |args: &[&str]| {
        let out = Command::new(args[0])
            .args(&args[1..])
            .current_dir(&build)
            .env("KERNELDIR", &kerneldir)
            .output()
            .expect("runs");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, log) = run(&[
        "cmake",
        "-Wno-dev",
        "-DUSE_BUNDLED_DEPS=On",
        "-DCREATE_TEST_TARGETS=Off",
        "-DBUILD_LIBSCAP_GVISOR=Off",
        "-DBUILD_LIBSCAP_MODERN_BPF=Off",
        "-DENABLE_DRIVERS_TESTS=Off",
        "-DDRIVER_NAME=falco",
        "-DPROBE_NAME=falco",
        "-DBUILD_BPF=On",
        "-DDRIVER_VERSION=7.0.0+driver",
        "-DPROBE_VERSION=7.0.0+driver",
        "-DGIT_COMMIT=7.0.0+driver",
        "-DDRIVER_DEVICE_NAME=falco",
        "-DPROBE_DEVICE_NAME=falco",
        "..",
    ]);
    assert!(ok, "cmake failed:\n{log}");
    let (ok, log) = run(&[
        "sed",
        "-i",
        "s/DRIVER_COMMIT \"\"/DRIVER_COMMIT \"7.0.0+driver\"/g",
        "driver/src/driver_config.h",
    ]);
    assert!(ok, "{log}");
    let config = std::fs::read_to_string(build.join("driver/src/driver_config.h")).expect("config");
    assert!(
        config.contains("DRIVER_COMMIT \"7.0.0+driver\"")
            && config.contains("DRIVER_DEVICE_NAME \"falco\""),
        "{config}"
    );
    let (ok, log) = run(&["make", "CC=/usr/bin/gcc", "driver"]);
    assert!(ok, "make driver failed:\n{log}");
    let ko = std::fs::read(build.join("driver/falco.ko")).expect("build/driver/falco.ko");
    assert!(
        ko.windows(13)
            .any(|w| w == b"name=falco\0\0\0" || w.starts_with(b"name=falco")),
        "the module is called falco"
    );
    // The probe step builds the per-kernel eBPF probe where driverkit looks for it.
    let (ok, log) = run(&["make", "bpf"]);
    assert!(ok, "make bpf failed:\n{log}");
    let probe = std::fs::read(build.join("driver/bpf/probe.o")).expect("build/driver/bpf/probe.o");
    assert_eq!(&probe[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([probe[18], probe[19]]), 247, "an eBPF object (EM_BPF)");
}
