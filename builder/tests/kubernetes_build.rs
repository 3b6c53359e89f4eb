//! `driverkit kubernetes` against a test double of the Kubernetes API (no cluster can run here; see
//! `kube_double`) whose pods are real containers of the local builder image: the module and probe
//! are built in the pod from sources and headers streamed in, copied back checked, and the pod and
//! its ConfigMap are gone afterwards, on success and on every failure.

mod common;
mod kube_double;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use kube_double::KubeDouble;

const R61: &str = "6.1.0-47-amd64";

/// A config for 6.1 writing `out/scap.ko` (and `out/probe.o` with `probe`) under `work`, its headers
/// served by `server`.
fn config_for(work: &Path, server: &FileServer, probe: bool, timeout: u32) -> std::path::PathBuf {
    let debs = header_debs(R61);
    let urls: Vec<String> = debs.iter().map(|d| server.url(d)).collect();
    let module = work.join("out/scap.ko");
    let mut body = debian_config(R61, &urls, &module).replace("timeout: 900", &format!("timeout: {timeout}"));
    if probe {
        body = body.replace("output:\n", &format!("output:\n  probe: {}\n", work.join("out/probe.o").display()));
    }
    write_config(work, "0.1.0", "debian", R61, &body)
}

fn kubernetes(double: &KubeDouble, config: &Path, src: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let kubeconfig = double.kubeconfig.to_string_lossy().into_owned();
    let config = config.to_string_lossy().into_owned();
    let src = src.to_string_lossy().into_owned();
    let mut args = vec!["kubernetes", "--kubeconfig", &kubeconfig, "-n", "builds", "-c", &config, "--src-dir", &src];
    args.extend_from_slice(extra);
    let out = driverkit(&args, &repo());
    (out.status.code(), text(&out))
}

fn assert_cleaned_up(double: &KubeDouble, log: &str) {
    assert_eq!(double.pods(), Vec::<String>::new(), "the pod is deleted:\n{log}");
    assert_eq!(double.config_maps(), Vec::<String>::new(), "the ConfigMap is deleted:\n{log}");
    assert_eq!(double.leftover_containers(), "", "no pod container is left running");
}

#[test]
fn the_module_and_probe_build_in_a_pod_and_come_back_checked() {
    ensure_builder_image();
    let work = tempfile::tempdir().expect("tmp");
    let server = FileServer::start(&header_debs(R61));
    let config = config_for(work.path(), &server, true, 900);
    let double = KubeDouble::start("builds");
    let (code, log) = kubernetes(&double, &config, &repo(), &[]);
    assert_eq!(code, Some(0), "{log}");

    let module = work.path().join("out/scap.ko");
    let bytes = std::fs::read(&module).expect("the module was written");
    let magic = builder::outputs::vermagic(&bytes).expect("a kernel module");
    assert!(magic.starts_with(&format!("{R61} ")), "vermagic {magic:?}");
    let sum = std::fs::read_to_string(module.with_file_name("scap.ko.sha256")).expect("checksum file");
    assert_eq!(sum, format!("{}  scap.ko\n", builder::outputs::digest(&bytes)));
    let probe = std::fs::read(work.path().join("out/probe.o")).expect("the probe was written");
    assert_eq!((&probe[..4], u16::from_le_bytes([probe[18], probe[19]])), (&b"\x7fELF"[..], 247), "an eBPF object");
    // The recipe ran in the pod and its log streamed here.
    assert!(log.contains("make CC=/usr/bin/gcc-12.0.0 driver"), "{log}");
    assert!(log.contains("+ modinfo /tmp/driver/build/driver/scap.ko") && log.contains("+ make bpf"), "{log}");
    assert!(log.contains("uploading the sources and headers"), "{log}");
    assert!(!log.contains("==> driverkit build exit code"), "the exit marker is read, not shown:\n{log}");

    // driverkit's pod: never restarted, the build's deadline, the node's architecture, the script
    // from the ConfigMap mounted read-only.
    let pod = double.last_pod().expect("a pod was created");
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(spec["activeDeadlineSeconds"], 900);
    assert_eq!(spec["nodeSelector"]["kubernetes.io/arch"], "amd64");
    assert_eq!(spec["securityContext"]["runAsUser"], 0);
    let container = &spec["containers"][0];
    assert!(container["image"].as_str().unwrap_or("").contains("any-x86_64_gcc12.0.0_gcc11.0.0-latest"), "{container}");
    assert_eq!(container["command"], serde_json::json!(["/bin/bash", "/driverkit/run.sh"]));
    assert_eq!(container["volumeMounts"][0]["readOnly"], true);
    let uid = pod["metadata"]["labels"]["org.falcosecurity/driverkit-uid"].as_str().unwrap_or("");
    assert!(!uid.is_empty(), "driverkit's uid label: {}", pod["metadata"]);

    let requests = double.requests();
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    for expected in [
        "POST /api/v1/namespaces/builds/configmaps".to_owned(),
        "POST /api/v1/namespaces/builds/pods".to_owned(),
        format!("GET /api/v1/namespaces/builds/pods/{name}/exec"),
        format!("GET /api/v1/namespaces/builds/pods/{name}/log"),
        format!("DELETE /api/v1/namespaces/builds/pods/{name}"),
        format!("DELETE /api/v1/namespaces/builds/configmaps/{name}"),
    ] {
        assert!(requests.contains(&expected), "{expected} was requested: {requests:#?}");
    }
    assert_cleaned_up(&double, &log);
}

#[test]
fn a_compile_error_in_the_pod_shows_the_compiler_line_and_cleans_up() {
    ensure_builder_image();
    let work = tempfile::tempdir().expect("tmp");
    let tree = tree_copy(work.path());
    let main_c = tree.join("driver/main.c");
    let mut source = std::fs::read_to_string(&main_c).expect("main.c");
    source.push_str("\nstatic int broken(void) { return undeclared_on_purpose; }\n");
    std::fs::write(&main_c, source).expect("write");
    let server = FileServer::start(&header_debs(R61));
    let config = config_for(work.path(), &server, false, 900);
    let double = KubeDouble::start("builds");
    let (code, log) = kubernetes(&double, &config, &tree, &[]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("error: the build failed with exit code 2"), "{log}");
    assert!(log.contains("undeclared_on_purpose") && log.contains("error:"), "the compiler's line is shown:\n{log}");
    assert!(!work.path().join("out/scap.ko").exists());
    assert_cleaned_up(&double, &log);
}

#[test]
fn a_pod_that_cannot_pull_its_image_fails_with_the_reason() {
    let work = tempfile::tempdir().expect("tmp");
    let server = FileServer::start(&header_debs(R61));
    let config = config_for(work.path(), &server, false, 900);
    let double = KubeDouble::start("builds");
    let (code, log) =
        kubernetes(&double, &config, &repo(), &["--builderimage", "registry.invalid/no-such-builder:latest"]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("cannot start: ErrImagePull"), "{log}");
    assert!(log.contains("registry.invalid/no-such-builder:latest"), "{log}");
    assert!(log.contains("set `builderimage`"), "says what to do:\n{log}");
    assert_cleaned_up(&double, &log);
}

/// A copy of the tree whose configure step hangs.
fn hanging_tree(work: &Path) -> std::path::PathBuf {
    let tree = tree_copy(work);
    let cmake = tree.join("CMakeLists.txt");
    let text = std::fs::read_to_string(&cmake).expect("CMakeLists.txt");
    std::fs::write(&cmake, text.replacen("project(", "execute_process(COMMAND sleep 600)\nproject(", 1)).expect("write");
    tree
}

#[test]
fn a_build_past_its_timeout_is_stopped_and_its_pod_deleted() {
    ensure_builder_image();
    let work = tempfile::tempdir().expect("tmp");
    let tree = hanging_tree(work.path());
    let server = FileServer::start(&header_debs(R61));
    let config = config_for(work.path(), &server, false, 40);
    let double = KubeDouble::start("builds");
    let started = Instant::now();
    let (code, log) = kubernetes(&double, &config, &tree, &[]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("did not finish within 40 seconds"), "{log}");
    assert!(started.elapsed() < Duration::from_secs(150), "stopped at the timeout");
    assert_eq!(double.last_pod().map(|p| p["spec"]["activeDeadlineSeconds"].clone()), Some(serde_json::json!(40)));
    assert_cleaned_up(&double, &log);
}

#[test]
fn ctrl_c_deletes_the_pod_and_writes_nothing() {
    use std::io::BufRead;
    ensure_builder_image();
    let work = tempfile::tempdir().expect("tmp");
    let tree = hanging_tree(work.path());
    let server = FileServer::start(&header_debs(R61));
    let config = config_for(work.path(), &server, false, 900);
    let double = KubeDouble::start("builds");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_driverkit"))
        .args(["kubernetes", "--kubeconfig", &double.kubeconfig.to_string_lossy(), "-n", "builds"])
        .args(["-c", &config.to_string_lossy(), "--src-dir", &tree.to_string_lossy()])
        .current_dir(repo())
        .env("DRIVERKIT_CACHE", cache())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("driverkit runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("sleep 600") || line.contains("cmake") {
            break;
        }
    }
    assert_eq!(double.pods().len(), 1, "the build runs in its pod:\n{seen}");
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("exits");
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{seen}{log}");
    assert!(log.contains("interrupted; the pod was removed and no output was written"), "{log}");
    assert!(!work.path().join("out/scap.ko").exists());
    assert_cleaned_up(&double, &log);
}

#[test]
fn no_cluster_configuration_is_a_clear_error() {
    let work = tempfile::tempdir().expect("tmp");
    let server = FileServer::start(&header_debs(R61));
    let config = config_for(work.path(), &server, false, 900);
    let missing = work.path().join("no-kubeconfig");
    let out = driverkit(
        &["kubernetes", "--kubeconfig", &missing.to_string_lossy(), "-c", &config.to_string_lossy(), "--src-dir", &repo().to_string_lossy()],
        &repo(),
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("reading the kubeconfig") && log.contains("no-kubeconfig"), "{log}");
}
