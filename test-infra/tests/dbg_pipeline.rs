//! `dbg` end to end on a slice of the committed kernel-crawler list: the newest generic kernel of every
//! Debian series (5.10 to 7.x), built in containers of the builder image of its suite, booted in qemu
//! with its module and its probe, published signed and verified; then failures: a bad header URL and
//! a compile error in one kernel are logged and reported while the rest builds.
//!
//! Needs the Docker engine and the builder images (`.ci/setup` starts dockerd and makes the images).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const DBG: &str = env!("CARGO_BIN_EXE_dbg");
const VERSION: &str = "1.0.0+driver";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dbg(root: &Path, args: &[&str]) -> Output {
    let out = Command::new(DBG)
        .arg("--repo-root")
        .arg(root)
        .args(["--driver-version", VERSION])
        .args(args)
        .current_dir(repo())
        .output()
        .expect("dbg runs");
    eprintln!(
        "dbg {}: {}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(ext))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn one_kernel_per_series_builds_boots_and_is_published_signed() {
    let work = tempfile::tempdir().expect("tmp");
    let root = work.path();
    let list = repo().join("kernels/list/x86_64/list.json");
    let out = dbg(
        root,
        &[
            "--target-distro",
            "^debian$",
            "configs",
            "generate",
            "--auto",
            "--one-per-series",
            "--kernel-list",
            list.to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success());
    let configs = files_in(
        &root.join("driverkit/config").join(VERSION).join("x86_64"),
        ".yaml",
    );
    let names: Vec<String> = configs
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    for series in ["debian_5.10.", "debian_6.1.", "debian_6.12.", "debian_7."] {
        assert!(
            names.iter().any(|n| n.starts_with(series)),
            "no {series} kernel in {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .all(|n| n.ends_with("-amd64_1.yaml") && !n.contains("-rt-") && !n.contains("-cloud-")),
        "{names:?}"
    );
    assert!(dbg(root, &["configs", "validate"]).status.success());

    let src = repo();
    let out = dbg(
        root,
        &[
            "configs",
            "build",
            "-j",
            "2",
            "--src-dir",
            src.to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success(), "every kernel of the slice builds");
    let output = root.join("driverkit/output").join(VERSION).join("x86_64");
    let modules = files_in(&output, ".ko");
    let probes = files_in(&output, ".o");
    assert_eq!(
        (modules.len(), probes.len()),
        (configs.len(), configs.len()),
        "a module and a probe per kernel"
    );
    for artifact in modules.iter().chain(&probes) {
        let sum = std::fs::read_to_string(format!("{}.sha256", artifact.display()))
            .expect("a .sha256 beside each");
        assert!(
            sum.contains(&*artifact.file_name().expect("name").to_string_lossy()),
            "{sum}"
        );
    }
    let printed = text(&out);
    for series in ["5.10 bullseye", "6.1 bookworm", "6.12 trixie"] {
        assert!(
            printed.contains(series),
            "the summary names {series}:\n{printed}"
        );
    }

    // Nothing changed: nothing is rebuilt, and it takes seconds.
    let t = Instant::now();
    let again = dbg(
        root,
        &[
            "configs",
            "build",
            "-j",
            "2",
            "--src-dir",
            src.to_str().expect("utf-8"),
        ],
    );
    let seconds = t.elapsed().as_secs_f64();
    assert!(again.status.success());
    assert!(text(&again).contains("0 builds to run"), "{}", text(&again));
    assert!(
        seconds < 5.0,
        "a second build with nothing changed took {seconds:.1} s"
    );

    let out = dbg(
        root,
        &[
            "drivers",
            "test",
            "-j",
            "2",
            "--workspace",
            src.to_str().expect("utf-8"),
        ],
    );
    // Every driver passes, the 7.x probes too: their kernels run syscall tracepoints preemptibly,
    // and the probe's backup programs record what the kernel made the first ones skip.
    let mut passed = Vec::new();
    for artifact in modules.iter().chain(&probes) {
        let record = std::fs::read_to_string(format!("{}.test.json", artifact.display()))
            .expect("a test record");
        let name = artifact
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            record.contains("\"passed\""),
            "{name} fails its boot test: {record}"
        );
        passed.push(name);
    }
    assert!(
        out.status.success(),
        "the exit status says every driver passed"
    );

    let keys = root.join("keys");
    assert!(dbg(
        root,
        &["drivers", "keygen", "--dir", keys.to_str().expect("utf-8")]
    )
    .status
    .success());
    let published = root.join("repo");
    let repo_arg = published.to_str().expect("utf-8");
    let key = keys.join("dbg.key");
    let pubkey = keys.join("dbg.pub");
    let out = dbg(
        root,
        &[
            "drivers",
            "publish",
            "--repo",
            repo_arg,
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success());
    let index = std::fs::read_to_string(published.join("index.json")).expect("index");
    for artifact in modules.iter().chain(&probes) {
        let name = artifact
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            index.contains(&format!("/{name}\"")),
            passed.contains(&name),
            "published exactly when it passed: {name}"
        );
    }
    assert!(
        published.join("index.html").is_file() && published.join("index.json.minisig").is_file()
    );
    let in_repo = published.join("1.0.0%2Bdriver/x86_64");
    assert_eq!(
        files_in(&in_repo, ".ko").len(),
        modules.len(),
        "the download layout escapes + as %2B"
    );
    assert!(dbg(
        root,
        &[
            "drivers",
            "verify",
            "--repo",
            repo_arg,
            "--pubkey",
            pubkey.to_str().expect("utf-8")
        ]
    )
    .status
    .success());
    let minisign = Command::new("minisign")
        .arg("-Vm")
        .arg(published.join("index.json"))
        .arg("-p")
        .arg(&pubkey)
        .output()
        .expect("Debian's minisign (run .ci/setup)");
    assert!(
        minisign.status.success(),
        "{}",
        String::from_utf8_lossy(&minisign.stderr)
    );

    // A tampered driver fails verification, by name.
    let victim = files_in(&in_repo, ".ko").remove(0);
    let mut bytes = std::fs::read(&victim).expect("read");
    bytes[100] ^= 0xff;
    std::fs::write(&victim, bytes).expect("write");
    let out = dbg(
        root,
        &[
            "drivers",
            "verify",
            "--repo",
            repo_arg,
            "--pubkey",
            pubkey.to_str().expect("utf-8"),
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&*victim.file_name().expect("name").to_string_lossy()),
        "{}",
        text(&out)
    );
}

/// A copy of the tree whose module refuses to compile on 6.12 and later.
fn broken_tree(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).expect("mkdir");
    for item in ["CMakeLists.txt", "driver", "bpf"] {
        let copied = Command::new("cp")
            .arg("-r")
            .arg(repo().join(item))
            .arg(&tree)
            .status()
            .expect("cp");
        assert!(copied.success(), "copying {item}");
    }
    let main = tree.join("driver/main.c");
    let text = std::fs::read_to_string(&main).expect("main.c");
    std::fs::write(
        &main,
        format!("{text}\n#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)\n#error this tree is broken on 6.12\n#endif\n"),
    )
    .expect("write");
    tree
}

#[test]
fn a_bad_header_url_and_a_compile_error_are_logged_and_the_rest_builds() {
    let work = tempfile::tempdir().expect("tmp");
    let root = work.path();
    let list = repo().join("kernels/list/x86_64/list.json");
    let list_arg = list.to_str().expect("utf-8");
    // 6.1 and 6.12 kernels of the committed list, one each.
    let out = dbg(
        root,
        &[
            "--target-kernelrelease",
            r"^6\.1\.170-3-amd64$|^6\.12\.117-1-amd64$|^6\.1\.170-3-cloud-amd64$",
            "configs",
            "generate",
            "--auto",
            "--kernel-list",
            list_arg,
        ],
    );
    assert!(out.status.success());
    let dir = root.join("driverkit/config").join(VERSION).join("x86_64");
    assert_eq!(files_in(&dir, ".yaml").len(), 3);
    // The cloud kernel's headers point nowhere.
    let cloud = dir.join("debian_6.1.170-3-cloud-amd64_1.yaml");
    let text_of = std::fs::read_to_string(&cloud).expect("config");
    let broken: String = text_of
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("- http")
                && l.contains("linux-headers-6.1.0-47-cloud-amd64")
            {
                "- http://127.0.0.1:9/linux-headers-missing.deb"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(broken, text_of);
    std::fs::write(&cloud, broken + "\n").expect("write");

    let tree = broken_tree(root);
    let errors = root.join("errors.txt");
    let out = dbg(
        root,
        &[
            "configs",
            "build",
            "-j",
            "2",
            "--ignore-errors",
            "--src-dir",
            tree.to_str().expect("utf-8"),
            "--redirect-errors",
            errors.to_str().expect("utf-8"),
        ],
    );
    assert!(
        !out.status.success(),
        "failures make the exit status non-zero"
    );
    let printed = text(&out);
    let output = root.join("driverkit/output").join(VERSION).join("x86_64");
    assert!(
        output.join("falco_debian_6.1.170-3-amd64_1.ko").is_file(),
        "the good kernel is built:\n{printed}"
    );
    assert!(!output.join("falco_debian_6.12.117-1-amd64_1.ko").exists());
    let logs = root.join("driverkit/logs").join(VERSION).join("x86_64");
    let compile_log = std::fs::read_to_string(logs.join("debian_6.12.117-1-amd64_1.log"))
        .expect("the failed build's log");
    assert!(
        compile_log.contains("this tree is broken on 6.12"),
        "{compile_log}"
    );
    let url_log = std::fs::read_to_string(logs.join("debian_6.1.170-3-cloud-amd64_1.log"))
        .expect("the failed build's log");
    assert!(url_log.contains("127.0.0.1:9"), "{url_log}");
    assert!(
        !logs.join("debian_6.1.170-3-amd64_1.log").exists(),
        "a build that worked keeps no log"
    );
    let redirected = std::fs::read_to_string(&errors).expect("errors file");
    assert_eq!(redirected.lines().count(), 2, "{redirected}");
    assert!(
        redirected
            .lines()
            .all(|l| l.starts_with("config: ") && l.contains(" | error: ")),
        "{redirected}"
    );
    assert!(
        printed.contains("FAILED") && printed.contains("debian_6.12.117-1-amd64_1"),
        "{printed}"
    );
}
