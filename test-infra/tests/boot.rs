//! Real boots of Debian's 6.1.0-47 kernel under qemu (TCG): a script's results come back, a module
//! from the kernel package loads and unloads, and the health check holds.

use std::time::Duration;

use test_infra::packages::{kernel_headers, Kernel};
use test_infra::vm::{run_script, VmConfig};

const RELEASE: &str = "6.1.0-47-amd64";

fn config() -> VmConfig {
    VmConfig {
        timeout: Duration::from_secs(120),
        ..VmConfig::default()
    }
}

#[test]
fn boots_and_reports_results_and_files() {
    let kernel = Kernel::fetch(RELEASE).expect("kernel package");
    let script = "result uname $(uname -r)\nprintf 'payload\\001\\002' > /tmp/out.bin\nsendfile /tmp/out.bin out\nexit 3";
    let run = run_script(&kernel, &[], script, &config()).expect("boots");
    assert_eq!(run.results.get("uname").map(String::as_str), Some(RELEASE));
    assert_eq!(
        run.files.get("out").map(Vec::as_slice),
        Some(&b"payload\x01\x02"[..])
    );
    assert_eq!(
        run.exit_status,
        Some(3),
        "the script's exit status comes back"
    );
    assert!(
        run.dmesg().contains("Linux version 6.1.0-47-amd64"),
        "the kernel log comes back"
    );
    run.check_health().expect("a plain boot is healthy");
    eprintln!("boot took {:.1}s", run.elapsed.as_secs_f64());
}

#[test]
fn module_from_the_kernel_package_loads_and_unloads() {
    let kernel = Kernel::fetch(RELEASE).expect("kernel package");
    let module = kernel.module("kernel/drivers/net/dummy.ko");
    assert!(
        module.exists(),
        "{} is in linux-image-{RELEASE}",
        module.display()
    );
    let script = "insmod /dummy.ko || exit 10\nresult loaded $(grep -c '^dummy ' /proc/modules)\nrmmod dummy || exit 11\nresult after $(grep -c '^dummy ' /proc/modules)";
    let run = run_script(&kernel, &[(&module, "/dummy.ko")], script, &config()).expect("boots");
    assert_eq!(run.exit_status, Some(0), "console:\n{}", run.console);
    assert_eq!(run.results.get("loaded").map(String::as_str), Some("1"));
    assert_eq!(run.results.get("after").map(String::as_str), Some("0"));
    run.check_health()
        .expect("loading a stock module is healthy");
}

#[test]
fn an_out_of_tree_module_built_against_the_headers_loads() {
    let kerneldir = kernel_headers(RELEASE).expect("headers");
    let src = tempfile::tempdir().expect("tempdir");
    std::fs::write(src.path().join("Kbuild"), "obj-m += probe_hello.o\n").expect("Kbuild");
    std::fs::write(
        src.path().join("probe_hello.c"),
        "#include <linux/module.h>\nstatic int __init h_init(void) { pr_info(\"probe_hello in\\n\"); return 0; }\n\
         static void __exit h_exit(void) { pr_info(\"probe_hello out\\n\"); }\nmodule_init(h_init);\nmodule_exit(h_exit);\n\
         MODULE_LICENSE(\"GPL\");\n",
    )
    .expect("source");
    let out = std::process::Command::new("make")
        .arg("-C")
        .arg(&kerneldir)
        .arg(format!("M={}", src.path().display()))
        .arg("modules")
        .output()
        .expect("make runs");
    assert!(
        out.status.success(),
        "module build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ko = src.path().join("probe_hello.ko");
    let kernel = Kernel::fetch(RELEASE).expect("kernel package");
    let run = run_script(
        &kernel,
        &[(&ko, "/probe_hello.ko")],
        "insmod /probe_hello.ko && rmmod probe_hello",
        &config(),
    )
    .expect("boots");
    assert_eq!(run.exit_status, Some(0));
    assert!(run.dmesg().contains("probe_hello in") && run.dmesg().contains("probe_hello out"));
    let tainted = run.tainted.expect("taint reported");
    assert_eq!(tainted & 4096, 4096, "an out-of-tree module taints O");
    run.check_health().expect("O and E taints are allowed");
}

#[test]
fn a_kernel_warning_in_the_guest_fails_the_health_check() {
    let kernel = Kernel::fetch(RELEASE).expect("kernel package");
    // Writing to /dev/kmsg puts an arbitrary line in the kernel log, as a driver's WARN would.
    let run = run_script(
        &kernel,
        &[],
        "echo 'WARNING: CPU: 0 PID: 1 at drivers/test.c:1 injected' > /dev/kmsg",
        &config(),
    )
    .expect("boots");
    let err = run.check_health().expect_err("a WARNING line is reported");
    assert!(err.to_string().contains("injected"), "{err}");
}
