//! `driverkit docker` for real: Debian kernels' headers served over loopback, the module built in a
//! container of the local builder image with no network, its vermagic and checksum checked, and the
//! module booted in qemu with the kernel it was built for, capturing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use test_infra::initramfs::Initramfs;
use test_infra::packages::Kernel;
use test_infra::vm::{run, VmConfig};

const R61: &str = "6.1.0-47-amd64";
const R612: &str = "6.12.117+deb12-amd64";

/// Builds the module for `release` with `driverkit docker -c CONFIG` plus `extra` flags; returns the
/// module's path and the command's output.
fn docker_build(release: &str, extra: &[&str], work: &Path) -> (PathBuf, String) {
    ensure_builder_image();
    let debs = header_debs(release);
    let server = FileServer::start(&debs);
    let urls: Vec<String> = debs.iter().map(|d| server.url(d)).collect();
    let module = work.join("out").join("scap.ko");
    let probe = work.join("out").join("probe.o");
    let body = debian_config(release, &urls, &module)
        .replace("output:\n", &format!("output:\n  probe: {}\n", probe.display()));
    let config = write_config(work, "0.1.0", "debian", release, &body);
    let config = config.to_string_lossy().into_owned();
    let mut args = vec!["docker", "-c", config.as_str()];
    args.extend_from_slice(extra);
    let out = driverkit(&args, &repo());
    let log = text(&out);
    assert!(out.status.success(), "driverkit docker failed for {release}:\n{log}");
    let requests = server.requests.lock().map(|r| r.clone()).unwrap_or_default();
    for deb in &debs {
        let name = deb.file_name().unwrap_or_default().to_string_lossy();
        assert!(requests.iter().any(|r| r == &format!("HEAD /{name}")), "{name} was checked with HEAD: {requests:?}");
    }
    (module, log)
}

fn assert_module_for(module: &Path, release: &str, log: &str) {
    let bytes = std::fs::read(module).expect("the module was written");
    let magic = builder::outputs::vermagic(&bytes).expect("a kernel module");
    assert!(magic.starts_with(&format!("{release} ")), "vermagic {magic:?} names {release}");
    let sum = std::fs::read_to_string(module.with_file_name("scap.ko.sha256")).expect("checksum file");
    assert_eq!(sum, format!("{}  scap.ko\n", builder::outputs::digest(&bytes)));
    assert!(log.contains(&format!("module: {} sha256:", module.display())), "{log}");
    // The recipe's own steps ran in the container: cmake, `make driver`, and modinfo of the result.
    assert!(log.contains("make CC=/usr/bin/gcc-12.0.0 driver"), "{log}");
    assert!(log.contains("+ modinfo /tmp/driver/build/driver/scap.ko"), "{log}");
    assert_eq!(build_containers(module), "", "the build container is removed");
    // The per-kernel eBPF probe of the same kernel, from `make bpf` in the same container.
    let probe = std::fs::read(module.with_file_name("probe.o")).expect("the probe was written");
    assert_eq!((&probe[..4], u16::from_le_bytes([probe[18], probe[19]])), (&b"\x7fELF"[..], 247), "an eBPF object");
    let sum = std::fs::read_to_string(module.with_file_name("probe.o.sha256")).expect("probe checksum");
    assert_eq!(sum, format!("{}  probe.o\n", builder::outputs::digest(&probe)));
    assert!(log.contains("+ make bpf"), "{log}");
}

/// Boots `release` with the module and the test reader, capturing a `cat` of a known file.
fn boots_and_captures(module: &Path, release: &str, work: &Path) {
    let reader = work.join("reader");
    let cc = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&reader)
        .arg(repo().join("driver/tests/reader.c"))
        .output()
        .expect("gcc");
    assert!(cc.status.success(), "{}", String::from_utf8_lossy(&cc.stderr));
    let kernel = Kernel::fetch(release).expect("kernel package");
    let mut fs = Initramfs::new(
        "insmod /scap.ko || exit 10\n\
         result devices $(ls /dev | grep -c '^scap[0-9]')\n\
         echo marker > /tmp/known\n\
         /reader /dev/scap0 /bin/cat /tmp/known > /tmp/reader.out 3>&- || exit 11\n\
         grep ^RESULT /tmp/reader.out >&3\n\
         rmmod scap || exit 12\n",
    );
    fs.add_file(module, "/scap.ko", 0o644);
    fs.add_file(&reader, "/reader", 0o755);
    let vm = run(&kernel, &fs, &VmConfig { timeout: Duration::from_secs(240), ..VmConfig::default() }).expect("boots");
    assert_eq!(vm.exit_status, Some(0), "guest console:\n{}", vm.console);
    let result = |k: &str| vm.results.get(k).cloned().unwrap_or_default();
    assert_eq!(result("api"), "1.0.0", "the module answers the API version ioctl");
    assert_ne!(result("devices"), "0", "one device per CPU");
    assert_eq!(result("bad"), "0");
    let opens = result(&format!("type{}", scap::schema::ppme::SYSCALL_OPENAT_2_X));
    assert!(opens.parse::<u64>().unwrap_or(0) >= 1, "cat's openat was captured: {:?}", vm.results);
    let closes = result(&format!("type{}", scap::schema::ppme::SYSCALL_CLOSE_X));
    assert!(closes.parse::<u64>().unwrap_or(0) >= 1, "cat's close was captured: {:?}", vm.results);
    assert_eq!(result("drops"), "0");
    vm.check_health().expect("a clean kernel log");
}

#[test]
fn debian_6_1_module_builds_in_a_container_and_captures_in_qemu() {
    let work = tempfile::tempdir().expect("tmp");
    let repo = repo();
    let src = repo.to_string_lossy().into_owned();
    let (module, log) = docker_build(R61, &["--src-dir", &src], work.path());
    assert_module_for(&module, R61, &log);
    boots_and_captures(&module, R61, work.path());
}

#[test]
fn debian_6_12_module_builds_from_the_git_archive_and_captures_in_qemu() {
    let work = tempfile::tempdir().expect("tmp");
    // No --src-dir: the source is `git archive` of driverversion (master: the checked-out commit).
    let (module, log) = docker_build(R612, &[], work.path());
    assert_module_for(&module, R612, &log);
    assert!(log.contains("archiving the driver sources") && log.contains("source="), "{log}");
    boots_and_captures(&module, R612, work.path());
}

/// A tree whose configure step hangs, and a config building it for 6.1 with `timeout` seconds.
fn hanging_build(work: &Path, timeout: u32) -> (PathBuf, PathBuf, FileServer) {
    ensure_builder_image();
    let tree = tree_copy(work);
    let cmake = tree.join("CMakeLists.txt");
    let text = std::fs::read_to_string(&cmake).expect("CMakeLists.txt");
    std::fs::write(&cmake, text.replacen("project(", "execute_process(COMMAND sleep 600)\nproject(", 1)).expect("write");
    let debs = header_debs(R61);
    let server = FileServer::start(&debs);
    let urls: Vec<String> = debs.iter().map(|d| server.url(d)).collect();
    let module = work.join("out/scap.ko");
    let body = debian_config(R61, &urls, &module).replace("timeout: 900", &format!("timeout: {timeout}"));
    (write_config(work, "0.1.0", "debian", R61, &body), tree, server)
}

/// The build containers writing `output`, if any are left.
fn build_containers(output: &Path) -> String {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter"])
        .arg(format!("label=driverkit.output={}", output.display()))
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn a_build_past_its_timeout_is_stopped_and_its_container_removed() {
    let work = tempfile::tempdir().expect("tmp");
    let (config, tree, _server) = hanging_build(work.path(), 30);
    let started = std::time::Instant::now();
    let out = driverkit(&["docker", "-c", &config.to_string_lossy(), "--src-dir", &tree.to_string_lossy()], &repo());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("did not finish within 30 seconds (raise `timeout`)"), "{log}");
    assert!(started.elapsed() < Duration::from_secs(120), "stopped at the timeout, not at the end of the sleep");
    let module = work.path().join("out/scap.ko");
    assert_eq!(build_containers(&module), "", "the container is removed");
    assert!(!module.exists());
}

#[test]
fn ctrl_c_removes_the_container_and_writes_nothing() {
    use std::io::BufRead;
    let work = tempfile::tempdir().expect("tmp");
    let (config, tree, _server) = hanging_build(work.path(), 900);
    let mut child = Command::new(env!("CARGO_BIN_EXE_driverkit"))
        .args(["docker", "-c", &config.to_string_lossy(), "--src-dir", &tree.to_string_lossy()])
        .current_dir(repo())
        .env("DRIVERKIT_CACHE", cache())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("driverkit runs");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("build container created") {
            break;
        }
    }
    assert!(seen.contains("build container created"), "{seen}");
    assert_ne!(build_containers(&work.path().join("out/scap.ko")), "", "the build is running in its container");
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("exits");
    let rest = rest.join("\n");
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains("interrupted; the container was removed and no output was written"), "{rest}");
    let module = work.path().join("out/scap.ko");
    assert_eq!(build_containers(&module), "", "the container is removed");
    assert!(!module.exists());
}

#[test]
fn a_compile_error_fails_loudly_and_leaves_no_output() {
    ensure_builder_image();
    let work = tempfile::tempdir().expect("tmp");
    // A copy of the tree with a line the compiler rejects.
    let tree = tree_copy(work.path());
    let main_c = tree.join("driver/main.c");
    let mut source = std::fs::read_to_string(&main_c).expect("main.c");
    source.push_str("\nstatic int broken(void) { return undeclared_on_purpose; }\n");
    std::fs::write(&main_c, source).expect("write");

    let debs = header_debs(R61);
    let server = FileServer::start(&debs);
    let urls: Vec<String> = debs.iter().map(|d| server.url(d)).collect();
    let module = work.path().join("out/scap.ko");
    // A stale module from an earlier build must not survive a failed one.
    std::fs::create_dir_all(module.parent().expect("dir")).expect("mkdir");
    std::fs::write(&module, b"stale").expect("stale");
    let config = write_config(work.path(), "0.1.0", "debian", R61, &debian_config(R61, &urls, &module));
    let out = driverkit(&["docker", "-c", &config.to_string_lossy(), "--src-dir", &tree.to_string_lossy()], &repo());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("error: the build failed with exit code 2"), "{log}");
    assert!(log.contains("main.c") && log.contains("undeclared_on_purpose") && log.contains("error:"), "the compiler's line is shown:\n{log}");
    assert!(!module.exists(), "no stale output is left");
    assert!(!module.with_file_name("scap.ko.sha256").exists());
}
