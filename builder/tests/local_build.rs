//! `driverkit local`: the same recipe on this host, with headers fetched like a container build's or a
//! kernel tree given ready with --kerneldir.

mod common;

use common::*;

const R61: &str = "6.1.0-47-amd64";

#[test]
fn local_builds_against_served_headers_and_against_a_ready_tree() {
    let debs = header_debs(R61);
    let server = FileServer::start(&debs);
    let urls: Vec<String> = debs.iter().map(|d| server.url(d)).collect();
    let work = tempfile::tempdir().expect("tmp");
    let module = work.path().join("served/scap.ko");
    let config = write_config(work.path(), "0.1.0", "debian", R61, &debian_config(R61, &urls, &module));
    let src = repo().to_string_lossy().into_owned();
    let out = driverkit(&["local", "-c", &config.to_string_lossy(), "--src-dir", &src], &repo());
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    let magic = builder::outputs::vermagic(&std::fs::read(&module).expect("module")).expect("vermagic");
    assert!(magic.starts_with("6.1.0-47-amd64 SMP"), "{magic}");
    assert!(log.contains("make CC=gcc driver"), "{log}");

    // The same sources against the tree the VM tests use, given ready-made.
    let kerneldir = test_infra::packages::kernel_headers(R61).expect("headers");
    let makefile_before = std::fs::read_to_string(kerneldir.join("Makefile")).expect("Makefile");
    let module = work.path().join("ready/scap.ko");
    let out = driverkit(
        &[
            "local", "--target", "debian", "--kernelrelease", R61, "--moduledrivername", "scap",
            "--output-module", &module.to_string_lossy(), "--kerneldir", &kerneldir.to_string_lossy(),
            "--src-dir", &src, "--timeout", "600",
        ],
        &repo(),
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    let makefile_after = std::fs::read_to_string(kerneldir.join("Makefile")).expect("Makefile");
    assert_eq!(makefile_before, makefile_after, "a ready tree is used as it is");
    let magic = builder::outputs::vermagic(&std::fs::read(&module).expect("module")).expect("vermagic");
    assert!(magic.starts_with("6.1.0-47-amd64 SMP"), "{magic}");
}

#[test]
fn a_module_for_another_kernel_is_refused() {
    // Headers of 6.1.0-56 under the name of 6.1.0-47: the module's vermagic gives it away.
    let kerneldir = test_infra::packages::kernel_headers("6.1.0-56-amd64").expect("headers");
    let work = tempfile::tempdir().expect("tmp");
    let module = work.path().join("scap.ko");
    let out = driverkit(
        &[
            "local", "--target", "debian", "--kernelrelease", R61, "--moduledrivername", "scap",
            "--output-module", &module.to_string_lossy(), "--kerneldir", &kerneldir.to_string_lossy(),
            "--src-dir", &repo().to_string_lossy(), "--timeout", "600",
        ],
        &repo(),
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("the module was built for `6.1.0-56-amd64`, not for kernel 6.1.0-47-amd64"), "{log}");
    assert!(!module.exists(), "no output for the wrong kernel");
}
