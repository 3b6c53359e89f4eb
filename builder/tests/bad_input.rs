//! Bad input gets a clear, specific error and a non-zero exit, and nothing is left half-made.

mod common;

use common::*;

fn fails_with(args: &[&str], expected: &[&str]) -> String {
    let out = driverkit(args, &repo());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "driverkit {args:?} should fail:\n{log}");
    for e in expected {
        assert!(log.contains(e), "driverkit {args:?}: expected `{e}` in:\n{log}");
    }
    log
}

#[test]
fn an_unknown_target_lists_the_known_ones() {
    fails_with(
        &["docker", "--target", "windows", "--kernelrelease", "6.1.0-47-amd64", "--output-module", "/tmp/x.ko"],
        &["no builder found for target `windows`", "debian, fedora, flatcar"],
    );
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("bad.yaml");
    std::fs::write(&config, "kernelrelease: 6.1.0-47-amd64\ntarget: [debian\n").expect("write");
    let log = fails_with(&["docker", "-c", &config.to_string_lossy()], &["is not valid driverkit YAML", "line"]);
    assert!(log.contains(&config.to_string_lossy().into_owned()), "{log}");
    std::fs::write(&config, "kernelrelase: 6.1.0-47-amd64\n").expect("write");
    fails_with(&["docker", "-c", &config.to_string_lossy()], &["unknown field `kernelrelase`", "driverkit keys"]);
}

#[test]
fn missing_outputs_say_which_keys_to_set() {
    fails_with(
        &["docker", "--target", "debian", "--kernelrelease", "6.1.0-47-amd64"],
        &["no output", "output.module", "--output-module"],
    );
    fails_with(
        &["local", "--target", "debian", "--kernelrelease", "6.1.0-47-amd64", "--output-module", "/tmp/x.so"],
        &["must end with .ko"],
    );
}

#[test]
fn a_missing_config_file_is_named() {
    fails_with(&["local", "-c", "/nonexistent/driverkit.yaml"], &["cannot read config file /nonexistent/driverkit.yaml"]);
}

#[test]
fn an_unreachable_header_url_is_reported_with_its_reason() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}/linux-headers-6.1.0-47-amd64_6.1.158-1_amd64.deb");
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("scap.ko");
    let log = fails_with(
        &[
            "local", "--target", "debian", "--kernelrelease", "6.1.0-47-amd64", "--output-module",
            &out.to_string_lossy(), "--kernelurls", &url, "--src-dir", &repo().to_string_lossy(),
        ],
        &["kernel headers not found", "expected at least 3", &url, "kernelurls"],
    );
    assert!(log.to_lowercase().contains("connection refused") || log.contains("error sending request"), "{log}");
    assert!(!out.exists());
}

#[test]
fn a_checksum_mismatch_refuses_the_download() {
    let debs = header_debs("6.1.0-47-amd64");
    let server = FileServer::start(&debs);
    let wrong = "0".repeat(64);
    let urls: Vec<String> = debs
        .iter()
        .enumerate()
        .map(|(i, d)| if i == 0 { format!("{}#sha256={wrong}", server.url(d)) } else { server.url(d) })
        .collect();
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("scap.ko");
    let cache = dir.path().join("cache");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_driverkit"))
        .args(["local", "--target", "debian", "--kernelrelease", "6.1.0-47-amd64", "--output-module"])
        .arg(&out)
        .args(["--kernelurls", &urls.join(","), "--src-dir"])
        .arg(repo())
        .env("DRIVERKIT_CACHE", &cache)
        .output()
        .expect("runs");
    let log = text(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(log.contains("checksum mismatch for") && log.contains(&wrong) && log.contains("the file was not used"), "{log}");
    assert!(!out.exists());
    // Nothing with the bad digest stays in the cache.
    let leftover = walk(&cache).into_iter().filter(|p| p.extension().is_some_and(|e| e == "partial")).count();
    assert_eq!(leftover, 0);
}

#[test]
fn kubernetes_without_a_cluster_says_how_to_name_one() {
    let work = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_driverkit"))
        .args(["kubernetes", "--target", "debian", "--kernelrelease", "6.1.0-47-amd64", "--output-module"])
        .arg(work.path().join("x.ko"))
        .args(["--kernelurls", "file:///nonexistent/headers.deb"])
        .env("DRIVERKIT_CACHE", work.path())
        .env("HOME", work.path())
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("runs");
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("no usable cluster configuration") && log.contains("pass --kubeconfig or set KUBECONFIG"), "{log}");
    assert!(!log.contains("headers.deb"), "nothing is fetched before the cluster is found:\n{log}");
}

#[test]
fn help_teaches_with_examples() {
    let out = driverkit(&["docker", "--help"], &repo());
    let help = text(&out);
    assert!(out.status.success());
    for needle in ["--kernelrelease", "--output-module", "DRIVERKIT_", "Examples:", "driverkit images build"] {
        assert!(help.contains(needle), "`{needle}` in help:\n{help}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
