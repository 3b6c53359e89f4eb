//! Publishing built drivers into the prebuilt driver repository: what is published and what is held
//! back, the layout and its URL escaping, the index, its minisign signature (checked with the crate and
//! with Debian's `minisign`), tampering found by `verify`, idempotent re-publishing, cleanup and stats.
//! The artifacts are real files of arbitrary bytes: publishing is about bytes, not about what they hold.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use test_infra::artifacts::{scan_output, Arch, Outcome, Selection, TestRecord, TestStatus};
use test_infra::publish::{
    cleanup_output, cleanup_repository, keygen, publish, stats, verify, HoldReason, Index,
    KeyFiles, PublishOptions, Tree, VerifyError,
};

const V: &str = "1.0.0+driver";
const V_DIR: &str = "1.0.0%2Bdriver";

const PASSED_KO: &str = "falco_debian_6.1.170-3-amd64_1.ko";
const PASSED_O: &str = "falco_debian_6.1.170-3-amd64_1.o";
const FAILED_KO: &str = "falco_debian_6.12.95-1~bpo12+1-cloud-amd64_1.ko";
const UNTESTED_KO: &str = "falco_ubuntu-aws_5.15.0-1001-aws_2.ko";
const ARM_KO: &str = "falco_debian_6.1.170-3-arm64_1.ko";
const TAMPERED_KO: &str = "falco_debian_6.1.0-47-amd64_1.ko";
const NO_SHA_KO: &str = "falco_debian_6.1.0-50-amd64_1.ko";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    repo: PathBuf,
    keys: KeyFiles,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("dbg");
        let repo = dir.path().join("repo");
        let key_dir = dir.path().join("keys");
        std::fs::create_dir_all(&key_dir).expect("keys dir");
        let keys = keygen(&key_dir, None).expect("keygen");
        let fixture = Fixture {
            _dir: dir,
            root,
            repo,
            keys,
        };
        for (arch, file, status) in [
            ("x86_64", PASSED_KO, Some(TestStatus::Passed)),
            ("x86_64", PASSED_O, Some(TestStatus::Passed)),
            ("x86_64", FAILED_KO, Some(TestStatus::Failed)),
            ("x86_64", UNTESTED_KO, None),
            ("aarch64", ARM_KO, Some(TestStatus::Passed)),
            ("x86_64", TAMPERED_KO, Some(TestStatus::Passed)),
            ("x86_64", NO_SHA_KO, Some(TestStatus::Passed)),
        ] {
            fixture.build(arch, file, format!("bytes of {file}\n").as_bytes(), status);
        }
        // Changed after the builder wrote its checksum.
        let tampered = fixture.output(V, "x86_64").join(TAMPERED_KO);
        std::fs::write(&tampered, b"not what was built").expect("tamper");
        std::fs::remove_file(
            fixture
                .output(V, "x86_64")
                .join(format!("{NO_SHA_KO}.sha256")),
        )
        .expect("rm");
        fixture
    }

    fn output(&self, version: &str, arch: &str) -> PathBuf {
        self.root.join("driverkit/output").join(version).join(arch)
    }

    /// An artifact as the builder leaves it (with `sha256sum`'s own line) and the test as `dbg drivers
    /// test` records it.
    fn build(&self, arch: &str, file: &str, bytes: &[u8], status: Option<TestStatus>) -> PathBuf {
        let dir = self.output(V, arch);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join(file);
        std::fs::write(&path, bytes).expect("write artifact");
        let out = Command::new("sha256sum")
            .arg(file)
            .current_dir(&dir)
            .output()
            .expect("sha256sum runs");
        assert!(out.status.success());
        std::fs::write(dir.join(format!("{file}.sha256")), out.stdout).expect("write sha256");
        match status {
            Some(status) => {
                let detail = match status {
                    TestStatus::Passed => "insmod, 3 syscalls captured, rmmod",
                    TestStatus::Failed => "insmod: Unknown symbol <ring_buffer_lock> (see console)",
                };
                TestRecord::now(status, "6.1.0-47-amd64", 6.25, detail)
                    .write_atomic(&path)
                    .expect("record");
            }
            None => {
                let _ = std::fs::remove_file(TestRecord::path_for(&path));
            }
        }
        path
    }

    fn scan(&self) -> Vec<test_infra::artifacts::Artifact> {
        scan_output(&self.root, &Selection::default()).expect("scan output")
    }

    fn publish(&self, options: &PublishOptions) -> test_infra::publish::PublishReport {
        publish(&self.scan(), &self.repo, &self.keys.secret, options).expect("publish")
    }

    fn index(&self) -> Index {
        serde_json::from_slice(&std::fs::read(self.repo.join("index.json")).expect("index.json"))
            .expect("index parses")
    }

    fn in_repo(&self, arch: &str, file: &str) -> PathBuf {
        self.repo.join(V_DIR).join(arch).join(file)
    }
}

fn all() -> PublishOptions {
    PublishOptions {
        include_failed: true,
        include_untested: true,
        ..PublishOptions::default()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Debian's `minisign -Vm index.json -p <pub>`: (success, stdout + stderr).
fn debian_minisign_verify(repo: &Path, public: &Path) -> (bool, String) {
    let out = match Command::new("minisign")
        .arg("-V")
        .arg("-m")
        .arg("index.json")
        .arg("-p")
        .arg(public)
        .current_dir(repo)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run Debian's minisign ({e}): run .ci/setup, which installs it"),
    };
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn only_passed_artifacts_are_published_and_the_rest_are_held_back_with_reasons() {
    let f = Fixture::new();
    let report = f.publish(&PublishOptions::default());

    let mut published: Vec<_> = report.published.iter().map(|p| p.path.clone()).collect();
    published.sort();
    assert_eq!(
        published,
        [
            format!("{V_DIR}/aarch64/{ARM_KO}"),
            format!("{V_DIR}/x86_64/{PASSED_KO}"),
            format!("{V_DIR}/x86_64/{PASSED_O}"),
        ]
    );
    assert!(report.published.iter().all(|p| !p.replaced));
    assert!(report.unchanged.is_empty());
    assert_eq!(report.indexed, 3);

    let reason = |file: &str| {
        report
            .held_back
            .iter()
            .find(|h| file_name(&h.artifact) == file)
            .map(|h| h.reason.clone())
            .unwrap_or_else(|| panic!("{file} not held back: {:?}", report.held_back))
    };
    assert_eq!(report.held_back.len(), 4, "{:?}", report.held_back);
    match reason(FAILED_KO) {
        HoldReason::Failed { kernel, detail } => {
            assert_eq!(kernel, "6.1.0-47-amd64");
            assert!(detail.contains("Unknown symbol"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(reason(UNTESTED_KO), HoldReason::Untested);
    assert_eq!(reason(NO_SHA_KO), HoldReason::NoChecksum);
    assert!(matches!(
        reason(TAMPERED_KO),
        HoldReason::ChecksumMismatch { .. }
    ));
    let text = report.to_string();
    assert!(
        text.contains("published 3, unchanged 0, held back 4"),
        "{text}"
    );
    assert!(text.contains("never boot-tested"), "{text}");

    // The layout the loaders download from, `+` of the version escaped; the bytes and a `.sha256` that
    // coreutils accepts.
    for (arch, file) in [
        ("x86_64", PASSED_KO),
        ("x86_64", PASSED_O),
        ("aarch64", ARM_KO),
    ] {
        let dest = f.in_repo(arch, file);
        assert_eq!(
            std::fs::read(&dest).expect("published"),
            format!("bytes of {file}\n").as_bytes()
        );
        let check = Command::new("sha256sum")
            .arg("-c")
            .arg(format!("{file}.sha256"))
            .current_dir(dest.parent().expect("dir"))
            .output()
            .expect("sha256sum");
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
        assert!(TestRecord::read(&dest).expect("record").is_some());
        assert_eq!(dest.metadata().expect("meta").mode() & 0o777, 0o644);
    }
    for file in [FAILED_KO, UNTESTED_KO, TAMPERED_KO, NO_SHA_KO] {
        assert!(!f.in_repo("x86_64", file).exists(), "{file}");
    }
    assert!(!f.repo.join(V).exists(), "no unescaped version folder");
    // No temp file is left behind.
    let leftovers: Vec<_> = walk(&f.repo)
        .into_iter()
        .filter(|p| file_name(p).starts_with(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_index_lists_every_artifact_sorted_with_its_test_and_escaped_path() {
    let f = Fixture::new();
    f.publish(&all());
    let index = f.index();
    assert_eq!(index.format, 1);
    assert_eq!(index.driver_name, "falco");
    assert_eq!(index.driver_versions, [V]);
    assert_eq!(index.arches, [Arch::X86_64, Arch::Aarch64]);
    let paths: Vec<_> = index.artifacts.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            format!("{V_DIR}/x86_64/{PASSED_KO}"),
            format!("{V_DIR}/x86_64/{PASSED_O}"),
            format!("{V_DIR}/x86_64/{FAILED_KO}"),
            format!("{V_DIR}/x86_64/{UNTESTED_KO}"),
            format!("{V_DIR}/aarch64/{ARM_KO}"),
        ]
    );
    let kernels: Vec<_> = index
        .kernels
        .iter()
        .map(|k| format!("{} {} {}", k.target, k.kernelrelease, k.kernelversion))
        .collect();
    assert_eq!(
        kernels,
        [
            "debian 6.1.170-3-amd64 1",
            "debian 6.1.170-3-arm64 1",
            "debian 6.12.95-1~bpo12+1-cloud-amd64 1",
            "ubuntu-aws 5.15.0-1001-aws 2"
        ]
    );
    let failed = &index.artifacts[2];
    assert_eq!(failed.status, Outcome::Failed);
    assert_eq!(failed.kernelrelease, "6.12.95-1~bpo12+1-cloud-amd64");
    assert_eq!(failed.tested_kernel.as_deref(), Some("6.1.0-47-amd64"));
    assert_eq!(failed.test_seconds, Some(6.25));
    assert!(failed
        .tested_at
        .as_deref()
        .is_some_and(|t| t.ends_with('Z')));
    let untested = &index.artifacts[3];
    assert_eq!(
        (untested.status, untested.tested_kernel.as_ref()),
        (Outcome::Untested, None)
    );
    let passed = &index.artifacts[0];
    let bytes = format!("bytes of {PASSED_KO}\n");
    assert_eq!(passed.size, bytes.len() as u64);
    let out = Command::new("sha256sum")
        .arg(f.in_repo("x86_64", PASSED_KO))
        .output()
        .expect("sha256sum");
    assert_eq!(
        passed.sha256,
        String::from_utf8_lossy(&out.stdout)
            .split(' ')
            .next()
            .unwrap_or("")
    );
    assert_eq!(passed.kind, test_infra::artifacts::Kind::Module);
    assert_eq!(index.artifacts[1].kind, test_infra::artifacts::Kind::Probe);
}

#[test]
fn the_signature_verifies_with_the_crate_and_with_debians_minisign() {
    let f = Fixture::new();
    f.publish(&PublishOptions::default());
    let report = verify(&f.repo, &f.keys.public).expect("verifies");
    assert_eq!(report.artifacts, 3);
    assert!(
        report.trusted_comment.contains("file:index.json"),
        "{}",
        report.trusted_comment
    );
    assert!(report.unlisted.is_empty());

    let (ok, out) = debian_minisign_verify(&f.repo, &f.keys.public);
    assert!(ok, "{out}");
    assert!(
        out.contains("Signature and comment signature verified"),
        "{out}"
    );
    assert!(out.contains("file:index.json"), "{out}");

    // Another key is refused by both.
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = keygen(other_dir.path(), None).expect("keygen");
    let err = verify(&f.repo, &other.public).expect_err("another key");
    assert!(matches!(err, VerifyError::Signature { .. }), "{err}");
    let (ok, out) = debian_minisign_verify(&f.repo, &other.public);
    assert!(!ok, "{out}");
}

#[test]
fn a_key_made_by_debians_minisign_signs_too() {
    let f = Fixture::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let (sk, pk) = (dir.path().join("m.key"), dir.path().join("m.pub"));
    let out = Command::new("minisign")
        .args(["-G", "-W", "-s"])
        .arg(&sk)
        .arg("-p")
        .arg(&pk)
        .output()
        .expect("minisign -G runs (run .ci/setup if it is missing)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    publish(&f.scan(), &f.repo, &sk, &PublishOptions::default())
        .expect("publish with minisign's key");
    verify(&f.repo, &pk).expect("verifies");
    assert!(debian_minisign_verify(&f.repo, &pk).0);
}

#[test]
fn a_flipped_byte_an_edited_index_and_a_removed_file_each_fail_verify_by_name() {
    let f = Fixture::new();
    f.publish(&PublishOptions::default());
    let artifact = f.in_repo("x86_64", PASSED_KO);
    let good = std::fs::read(&artifact).expect("read");

    let mut flipped = good.clone();
    flipped[3] ^= 0x01;
    std::fs::write(&artifact, &flipped).expect("flip");
    let err = verify(&f.repo, &f.keys.public).expect_err("flipped byte");
    let text = err.to_string();
    assert!(
        text.contains(&format!("{V_DIR}/x86_64/{PASSED_KO}: sha256 is")),
        "{text}"
    );
    assert!(
        matches!(&err, VerifyError::Files { problems } if problems.len() == 1),
        "{text}"
    );
    std::fs::write(&artifact, &good).expect("restore");
    verify(&f.repo, &f.keys.public).expect("restored");

    let index_path = f.repo.join("index.json");
    let index = std::fs::read_to_string(&index_path).expect("index");
    let edited = index.replacen("\"status\": \"passed\"", "\"status\": \"failed\"", 1);
    assert_ne!(edited, index);
    std::fs::write(&index_path, &edited).expect("edit");
    let err = verify(&f.repo, &f.keys.public).expect_err("edited index");
    assert!(matches!(err, VerifyError::Signature { .. }), "{err}");
    assert!(err.to_string().contains("index.json"), "{err}");
    assert!(!debian_minisign_verify(&f.repo, &f.keys.public).0);
    std::fs::write(&index_path, &index).expect("restore");
    assert!(debian_minisign_verify(&f.repo, &f.keys.public).0);

    std::fs::remove_file(f.in_repo("x86_64", PASSED_O)).expect("rm");
    let sha = f.in_repo("aarch64", &format!("{ARM_KO}.sha256"));
    std::fs::write(&sha, format!("{}  {ARM_KO}\n", "0".repeat(64))).expect("bad sha file");
    let err = verify(&f.repo, &f.keys.public).expect_err("missing file");
    let text = err.to_string();
    assert!(
        text.contains(&format!("{V_DIR}/x86_64/{PASSED_O}: missing")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{V_DIR}/aarch64/{ARM_KO}.sha256: does not say")),
        "{text}"
    );
    assert!(text.starts_with("2 of the files"), "{text}");

    std::fs::remove_file(f.repo.join("index.json.minisig")).expect("rm sig");
    let err = verify(&f.repo, &f.keys.public).expect_err("no signature");
    assert!(err.to_string().contains("index.json.minisig"), "{err}");
}

#[test]
fn republishing_rewrites_nothing_and_keeps_the_other_kernels() {
    let f = Fixture::new();
    f.publish(&PublishOptions::default());
    let first = std::fs::read(f.repo.join("index.json")).expect("index");
    let artifact = f.in_repo("x86_64", PASSED_KO);
    let before = artifact.metadata().expect("meta");
    let sha_before = f
        .in_repo("x86_64", &format!("{PASSED_KO}.sha256"))
        .metadata()
        .expect("meta");
    std::thread::sleep(std::time::Duration::from_millis(1100));

    // A file a killed run left behind goes at the next run, and does not count as an artifact.
    let leftover = f.repo.join(V_DIR).join("x86_64").join(".partial-AbC123");
    std::fs::write(&leftover, b"half").expect("write");
    let again = f.publish(&PublishOptions::default());
    assert!(!leftover.exists());
    assert!(again.published.is_empty(), "{again}");
    assert_eq!(again.unchanged.len(), 3);
    let after = artifact.metadata().expect("meta");
    assert_eq!(
        (before.ino(), before.mtime(), before.mtime_nsec()),
        (after.ino(), after.mtime(), after.mtime_nsec())
    );
    let sha_after = f
        .in_repo("x86_64", &format!("{PASSED_KO}.sha256"))
        .metadata()
        .expect("meta");
    assert_eq!(sha_before.ino(), sha_after.ino());
    let second = std::fs::read(f.repo.join("index.json")).expect("index");
    let strip = |bytes: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(bytes).expect("json");
        let t = v.as_object_mut().and_then(|o| o.remove("generated_at"));
        assert!(t.is_some());
        v
    };
    assert_eq!(strip(&first), strip(&second));
    assert_ne!(first, second, "generated_at moves on");

    // Publishing one kernel alone keeps the others in the index.
    let only_untested: Vec<_> = f
        .scan()
        .into_iter()
        .filter(|a| a.name.file_name() == UNTESTED_KO)
        .collect();
    let report = publish(&only_untested, &f.repo, &f.keys.secret, &all()).expect("publish one");
    assert_eq!(report.published.len(), 1);
    assert_eq!(report.indexed, 4);
    assert_eq!(f.index().artifacts.len(), 4);
    verify(&f.repo, &f.keys.public).expect("verifies");

    // A rebuilt artifact (new bytes) replaces the published one; its old test record goes with it.
    f.build("x86_64", PASSED_KO, b"rebuilt bytes", None);
    let report = f.publish(&all());
    let replaced: Vec<_> = report
        .published
        .iter()
        .filter(|p| p.replaced)
        .map(|p| p.path.clone())
        .collect();
    assert_eq!(replaced, [format!("{V_DIR}/x86_64/{PASSED_KO}")]);
    assert_eq!(std::fs::read(&artifact).expect("read"), b"rebuilt bytes");
    assert!(TestRecord::read(&artifact).expect("read").is_none());
    let entry = f
        .index()
        .artifacts
        .into_iter()
        .find(|e| e.path.ends_with(PASSED_KO))
        .expect("listed");
    assert_eq!((entry.status, entry.size), (Outcome::Untested, 13));
    verify(&f.repo, &f.keys.public).expect("verifies");
}

#[test]
fn a_dry_run_writes_nothing() {
    let f = Fixture::new();
    let report = f.publish(&PublishOptions {
        dry_run: true,
        ..PublishOptions::default()
    });
    assert_eq!(
        (
            report.published.len(),
            report.held_back.len(),
            report.indexed
        ),
        (3, 4, 3)
    );
    assert!(
        report.to_string().starts_with("would publish 3"),
        "{report}"
    );
    assert!(!f.repo.exists());
}

#[test]
fn cleanup_removes_what_it_says_and_re_signs() {
    let f = Fixture::new();
    f.publish(&all());
    let selection = Selection {
        kernelrelease: Some(Regex::new(r"^6\.1\.170-").expect("re")),
        ..Selection::default()
    };
    let dry = cleanup_repository(
        &f.repo,
        &selection,
        &f.keys.secret,
        &PublishOptions {
            dry_run: true,
            ..PublishOptions::default()
        },
    )
    .expect("dry run");
    assert_eq!(dry.artifacts.len(), 3);
    assert_eq!(dry.indexed, Some(2));
    assert!(dry.artifacts.iter().all(|p| p.exists()));
    assert_eq!(f.index().artifacts.len(), 5);

    let report = cleanup_repository(
        &f.repo,
        &selection,
        &f.keys.secret,
        &PublishOptions::default(),
    )
    .expect("cleanup");
    let mut removed: Vec<_> = report.artifacts.iter().map(|p| file_name(p)).collect();
    removed.sort();
    assert_eq!(removed, [PASSED_KO, PASSED_O, ARM_KO]);
    // Each artifact with its .sha256 and .test.json.
    assert_eq!(report.files.len(), 9, "{report}");
    assert!(report.files.iter().all(|p| !p.exists()));
    assert!(
        !f.repo.join(V_DIR).join("aarch64").exists(),
        "emptied arch folder removed"
    );
    let left: Vec<_> = f
        .index()
        .artifacts
        .into_iter()
        .map(|e| file_name(Path::new(&e.path)))
        .collect();
    assert_eq!(left, [FAILED_KO, UNTESTED_KO]);
    verify(&f.repo, &f.keys.public).expect("re-signed");
    assert!(debian_minisign_verify(&f.repo, &f.keys.public).0);

    // The output tree: a driver version's artifacts go, another version's stay.
    f.build("x86_64", PASSED_KO, b"x", None);
    let other = f.root.join("driverkit/output/2.0.0+driver/x86_64");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join(PASSED_KO), b"kept").expect("write");
    let by_version = Selection {
        driver_versions: vec![V.to_owned()],
        ..Selection::default()
    };
    let dry = cleanup_output(&f.root, &by_version, true).expect("dry");
    assert_eq!(dry.artifacts.len(), 7);
    assert!(f.output(V, "x86_64").join(PASSED_KO).exists());
    let done = cleanup_output(&f.root, &by_version, false).expect("cleanup output");
    assert_eq!(done.artifacts.len(), 7);
    assert!(!f.root.join("driverkit/output").join(V).exists());
    assert!(other.join(PASSED_KO).exists());
}

#[test]
fn stats_count_both_trees() {
    let f = Fixture::new();
    f.publish(&PublishOptions {
        include_untested: true,
        ..PublishOptions::default()
    });
    let built = stats(Tree::Output(&f.root), &Selection::default()).expect("stats");
    assert_eq!(built.total, 7);
    assert_eq!(built.by_status["passed"], 5);
    assert_eq!(built.by_status["failed"], 1);
    assert_eq!(built.by_status["untested"], 1);
    assert_eq!(built.by_arch["aarch64"], 1);
    assert_eq!(built.by_target["ubuntu-aws"], 1);
    assert_eq!(built.by_kind["probe"], 1);
    let repo = stats(Tree::Repository(&f.repo), &Selection::default()).expect("stats");
    assert_eq!(repo.total, 4);
    assert_eq!(repo.by_driver_version[V], 4);
    assert_eq!(repo.by_status.get("failed"), None);
    let text = repo.to_string();
    assert!(
        text.contains("artifacts: 4") && text.contains("  untested: 1"),
        "{text}"
    );
}

#[test]
fn a_bad_key_changes_nothing_and_an_encrypted_key_needs_its_password() {
    let f = Fixture::new();
    let bad = f.repo.with_file_name("garbage.key");
    std::fs::write(&bad, "untrusted comment: x\nnot base64 at all\n").expect("write");
    let err = publish(&f.scan(), &f.repo, &bad, &PublishOptions::default()).expect_err("bad key");
    assert!(err.to_string().contains("garbage.key"), "{err}");
    assert!(!f.repo.exists(), "nothing written");

    let dir = tempfile::tempdir().expect("tempdir");
    let keys = keygen(dir.path(), Some("correct horse")).expect("keygen");
    assert_eq!(keys.secret.metadata().expect("meta").mode() & 0o777, 0o600);
    let err = keygen(dir.path(), None).expect_err("no overwrite");
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = publish(&f.scan(), &f.repo, &keys.secret, &PublishOptions::default())
        .expect_err("no password");
    assert!(err.to_string().contains("DBG_KEY_PASSWORD"), "{err}");
    let err = publish(
        &f.scan(),
        &f.repo,
        &keys.secret,
        &PublishOptions {
            key_password: Some("wrong".into()),
            ..PublishOptions::default()
        },
    )
    .expect_err("wrong password");
    assert!(err.to_string().contains("Wrong password"), "{err}");
    assert!(!f.repo.exists(), "nothing written");
    publish(
        &f.scan(),
        &f.repo,
        &keys.secret,
        &PublishOptions {
            key_password: Some("correct horse".into()),
            ..PublishOptions::default()
        },
    )
    .expect("publish");
    verify(&f.repo, &keys.public).expect("verifies");
    assert!(debian_minisign_verify(&f.repo, &keys.public).0);
}

#[test]
fn the_page_is_self_contained_counts_and_escapes() {
    let f = Fixture::new();
    // A target no distro has, but a file name may: the page must show it as text.
    f.build(
        "x86_64",
        "falco_evil<img src=x>\"_1.0_1.ko",
        b"evil",
        Some(TestStatus::Passed),
    );
    f.publish(&all());
    let page = std::fs::read_to_string(f.repo.join("index.html")).expect("index.html");
    assert!(page.contains("<b>6</b> artifacts"), "counts");
    assert!(
        page.contains("<b>4</b> passed")
            && page.contains("<b>1</b> failed")
            && page.contains("<b>1</b> untested")
    );
    assert!(page.contains("evil&lt;img src=x&gt;&quot;"));
    assert!(!page.contains("<img"));
    assert!(page.contains("href=\"index.json\"") && page.contains("href=\"index.json.minisig\""));
    assert!(page.contains(
        "href=\"1.0.0%252Bdriver/x86_64/falco_debian_6.12.95-1~bpo12%2B1-cloud-amd64_1.ko\""
    ));
    assert!(page.contains("<span class=\"badge failed\""));
    // Nothing is fetched from anywhere: no external scheme, no external script or style.
    assert!(
        !page.contains("http:")
            && !page.contains("https:")
            && !page.contains("src=\"")
            && !page.contains("<link")
    );
    assert_eq!(page.matches("<tr data-status=").count(), 6);
    // Every download link, decoded as a static file server or file:// decodes it, reaches its file.
    let hrefs = Regex::new(r#"<a href="([^"]+)" download>"#).expect("re");
    let mut links = 0;
    for caps in hrefs.captures_iter(&page) {
        let decoded =
            test_infra::artifacts::unescape_driver_version(&caps[1].replace("&amp;", "&"))
                .expect("a valid escape");
        assert!(f.repo.join(&decoded).is_file(), "{} -> {decoded}", &caps[1]);
        links += 1;
    }
    assert_eq!(links, 6);
}

#[test]
fn a_damaged_repository_is_not_signed_over_and_publishing_the_artifact_repairs_it() {
    let f = Fixture::new();
    f.publish(&PublishOptions::default());
    let published = f.in_repo("x86_64", PASSED_KO);
    std::fs::write(&published, b"damaged on the server").expect("damage");
    let signed = std::fs::read(f.repo.join("index.json")).expect("index");

    // Publishing something else must not vouch for the damaged file.
    let err = publish(&[], &f.repo, &f.keys.secret, &PublishOptions::default())
        .expect_err("damaged repo");
    let text = err.to_string();
    assert!(
        text.contains(PASSED_KO) && text.contains("publish the artifact again"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(f.repo.join("index.json")).expect("index"),
        signed,
        "index untouched"
    );

    // Publishing the artifact again replaces the damaged bytes.
    let report = f.publish(&PublishOptions::default());
    let replaced: Vec<_> = report
        .published
        .iter()
        .filter(|p| p.replaced)
        .map(|p| p.path.clone())
        .collect();
    assert_eq!(replaced, [format!("{V_DIR}/x86_64/{PASSED_KO}")]);
    assert_eq!(report.unchanged.len(), 2);
    verify(&f.repo, &f.keys.public).expect("repaired");
}

#[test]
fn an_empty_publish_makes_a_valid_empty_repository() {
    let f = Fixture::new();
    let report =
        publish(&[], &f.repo, &f.keys.secret, &PublishOptions::default()).expect("publish nothing");
    assert_eq!((report.published.len(), report.indexed), (0, 0));
    let index = f.index();
    assert!(
        index.artifacts.is_empty() && index.kernels.is_empty() && index.driver_versions.is_empty()
    );
    assert_eq!(
        verify(&f.repo, &f.keys.public).expect("verifies").artifacts,
        0
    );
    assert!(debian_minisign_verify(&f.repo, &f.keys.public).0);
}
