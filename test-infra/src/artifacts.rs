//! Built drivers as files: their names (`<drv>_<target>_<kernelrelease>_<kernelversion>.{ko,o}`), the
//! `sha256sum`-style `.sha256` the builder writes beside each, the `.test.json` record `dbg drivers test`
//! writes beside each, and walks of the two trees that hold them: dbg-go's build output
//! (`<repo-root>/driverkit/output/<driverversion>/<arch>/`) and the prebuilt driver repository
//! (`<repo>/<driverversion, URL-escaped>/<arch>/`).
//!
//! A walk reads each artifact's `.sha256` but does not hash the bytes (stats of a large tree stay cheap);
//! [`crate::publish::publish`] hashes every artifact before copying it and holds back any whose bytes
//! disagree with its `.sha256`, and [`crate::publish::verify`] hashes everything a repository lists.
//!
//! ```
//! use test_infra::artifacts::{ArtifactName, Kind};
//! let name = ArtifactName::parse("falco_debian_6.12.95-1~bpo12+1-cloud-amd64_1.o", "falco").unwrap();
//! assert_eq!(name.target, "debian");
//! assert_eq!(name.kernelrelease, "6.12.95-1~bpo12+1-cloud-amd64");
//! assert_eq!(name.kind, Kind::Probe);
//! assert_eq!(name.file_name(), "falco_debian_6.12.95-1~bpo12+1-cloud-amd64_1.o");
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What went wrong reading or writing artifacts and their side files.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path}: not a test record ({detail}); fix or delete it, then run `dbg drivers test` again"
    )]
    BadRecord { path: PathBuf, detail: String },
}

impl ArtifactError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> ArtifactError + '_ {
        move |source| ArtifactError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

pub use driver_index::name::{
    escape_driver_version, percent_encode, unescape_driver_version, ArtifactName, Kind,
    DEFAULT_DRIVER_NAME,
};
pub use driver_index::{Arch, Outcome};

/// The outcome a test record gives (none: never tested).
pub fn outcome_of(record: Option<&TestRecord>) -> Outcome {
    match record.map(|r| r.status) {
        Some(TestStatus::Passed) => Outcome::Passed,
        Some(TestStatus::Failed) => Outcome::Failed,
        None => Outcome::Untested,
    }
}

/// The verdict of a boot test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    Passed,
    Failed,
}

/// `<artifact>.test.json`, written by `dbg drivers test` beside each artifact it booted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRecord {
    pub status: TestStatus,
    /// `uname -r` of the booted kernel.
    pub kernel: String,
    /// RFC 3339, UTC.
    pub tested_at: String,
    pub seconds: f64,
    /// What was checked, or what failed.
    pub detail: String,
}

impl TestRecord {
    /// A record stamped with the current time.
    pub fn now(status: TestStatus, kernel: &str, seconds: f64, detail: &str) -> TestRecord {
        TestRecord {
            status,
            kernel: kernel.to_owned(),
            tested_at: rfc3339_now(),
            seconds,
            detail: detail.to_owned(),
        }
    }

    /// Where the record of `artifact` lives.
    pub fn path_for(artifact: &Path) -> PathBuf {
        sidecar(artifact, ".test.json")
    }

    /// The record beside `artifact`; `None` when it was never tested.
    pub fn read(artifact: &Path) -> Result<Option<TestRecord>, ArtifactError> {
        let path = Self::path_for(artifact);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ArtifactError::io(&path)(e)),
        };
        let record: TestRecord =
            serde_json::from_slice(&text).map_err(|e| ArtifactError::BadRecord {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        if humantime::parse_rfc3339(&record.tested_at).is_err() {
            return Err(ArtifactError::BadRecord {
                path,
                detail: format!(
                    "tested_at {:?} is not an RFC 3339 UTC time like 2026-12-02T05:53:45Z",
                    record.tested_at
                ),
            });
        }
        if !record.seconds.is_finite() || record.seconds < 0.0 {
            return Err(ArtifactError::BadRecord {
                path,
                detail: format!("seconds {} is not a duration", record.seconds),
            });
        }
        Ok(Some(record))
    }

    /// Writes the record beside `artifact` (temp file + rename: a reader sees the old or the new one).
    pub fn write_atomic(&self, artifact: &Path) -> Result<(), ArtifactError> {
        let path = Self::path_for(artifact);
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| ArtifactError::BadRecord {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        json.push(b'\n');
        write_atomic(&path, &json, 0o644).map_err(ArtifactError::io(&path))
    }
}

/// What the `.sha256` beside an artifact says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedSha256 {
    /// A well-formed line naming this file: the lowercase hex digest.
    Present(String),
    Missing,
    /// Unreadable as `<64 hex>  <file name>`; the text says why.
    Malformed(String),
}

/// One artifact found in a tree.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub path: PathBuf,
    pub name: ArtifactName,
    /// Unescaped (`1.0.0+driver`), whichever tree it came from.
    pub driver_version: String,
    pub arch: Arch,
    pub size: u64,
    /// From the `.sha256` file, not checked against the bytes (see the module doc).
    pub sha256: RecordedSha256,
    pub test: Option<TestRecord>,
}

impl Artifact {
    pub fn outcome(&self) -> Outcome {
        outcome_of(self.test.as_ref())
    }

    /// Its path inside the prebuilt driver repository, `/`-separated, version escaped as on disk.
    pub fn repository_path(&self) -> String {
        driver_index::name::repository_path(&self.driver_version, self.arch, &self.name)
    }
}

/// Which artifacts a command applies to: dbg-go's `--driver-name`, `--driver-version` (repeatable,
/// empty for every version found), `-a/--architecture` (empty for both) and the `--target-distro`,
/// `--target-kernelrelease`, `--target-kernelversion` regexes (unanchored, as dbg-go matches them).
#[derive(Debug, Clone)]
pub struct Selection {
    pub driver_name: String,
    pub driver_versions: Vec<String>,
    pub arches: Vec<Arch>,
    pub target: Option<Regex>,
    pub kernelrelease: Option<Regex>,
    pub kernelversion: Option<Regex>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            driver_name: DEFAULT_DRIVER_NAME.to_owned(),
            driver_versions: Vec::new(),
            arches: Vec::new(),
            target: None,
            kernelrelease: None,
            kernelversion: None,
        }
    }
}

impl Selection {
    fn wants_version(&self, version: &str) -> bool {
        self.driver_versions.is_empty() || self.driver_versions.iter().any(|v| v == version)
    }

    fn wants_arch(&self, arch: Arch) -> bool {
        self.arches.is_empty() || self.arches.contains(&arch)
    }

    fn wants_name(&self, name: &ArtifactName) -> bool {
        let matches =
            |re: &Option<Regex>, value: &str| re.as_ref().is_none_or(|re| re.is_match(value));
        matches(&self.target, &name.target)
            && matches(&self.kernelrelease, &name.kernelrelease)
            && matches(&self.kernelversion, &name.kernelversion)
    }

    /// Whether `artifact` is selected (driver name, version, arch and the regexes).
    pub fn matches(&self, artifact: &Artifact) -> bool {
        artifact.name.driver_name == self.driver_name
            && self.wants_version(&artifact.driver_version)
            && self.wants_arch(artifact.arch)
            && self.wants_name(&artifact.name)
    }
}

/// The build output folder of a dbg-go repository root.
pub fn output_dir(repo_root: &Path) -> PathBuf {
    repo_root.join("driverkit").join("output")
}

/// The artifacts under `<repo_root>/driverkit/output/` that `selection` picks, sorted by driver
/// version, arch and name. A missing output folder is an empty tree.
pub fn scan_output(
    repo_root: &Path,
    selection: &Selection,
) -> Result<Vec<Artifact>, ArtifactError> {
    scan_tree(&output_dir(repo_root), selection, |dir| {
        Some(dir.to_owned())
    })
}

/// The artifacts of a prebuilt driver repository that `selection` picks (version folders are
/// URL-escaped there), sorted like [`scan_output`].
pub fn scan_repository(
    repo_dir: &Path,
    selection: &Selection,
) -> Result<Vec<Artifact>, ArtifactError> {
    scan_tree(repo_dir, selection, unescape_driver_version)
}

fn scan_tree(
    root: &Path,
    selection: &Selection,
    version_of: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Artifact>, ArtifactError> {
    let mut found = Vec::new();
    for (version_dir, dir_name) in subdirs(root)? {
        let Some(driver_version) = version_of(&dir_name) else {
            tracing::debug!(dir = %version_dir.display(), "not a driver version folder");
            continue;
        };
        if !selection.wants_version(&driver_version) {
            continue;
        }
        for (arch_dir, arch_name) in subdirs(&version_dir)? {
            // Only the path spelling: `amd64/` is no folder of either layout.
            let arch = match arch_name.as_str() {
                "x86_64" => Arch::X86_64,
                "aarch64" => Arch::Aarch64,
                _ => continue,
            };
            if !selection.wants_arch(arch) {
                continue;
            }
            let entries = std::fs::read_dir(&arch_dir).map_err(ArtifactError::io(&arch_dir))?;
            for entry in entries {
                let entry = entry.map_err(ArtifactError::io(&arch_dir))?;
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let Some(name) = ArtifactName::parse(&file_name, &selection.driver_name) else {
                    continue;
                };
                if !selection.wants_name(&name) {
                    continue;
                }
                let path = entry.path();
                let meta = entry.metadata().map_err(ArtifactError::io(&path))?;
                if !meta.is_file() {
                    continue;
                }
                let sha256 = read_recorded_sha256(&path)?;
                let test = TestRecord::read(&path)?;
                found.push(Artifact {
                    path,
                    name,
                    driver_version: driver_version.clone(),
                    arch,
                    size: meta.len(),
                    sha256,
                    test,
                });
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.driver_version, a.arch, &a.name).cmp(&(&b.driver_version, b.arch, &b.name))
    });
    Ok(found)
}

/// Folders directly under `dir` (name-sorted, dot-folders skipped); none when `dir` is absent.
fn subdirs(dir: &Path) -> Result<Vec<(PathBuf, String)>, ArtifactError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ArtifactError::io(dir)(e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(ArtifactError::io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if entry
            .file_type()
            .map_err(ArtifactError::io(&entry.path()))?
            .is_dir()
        {
            dirs.push((entry.path(), name));
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Counts of a set of artifacts, as dbg-go's `drivers stats` gives them, plus test status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub total: usize,
    pub bytes: u64,
    pub by_driver_version: BTreeMap<String, usize>,
    pub by_arch: BTreeMap<String, usize>,
    pub by_target: BTreeMap<String, usize>,
    pub by_kind: BTreeMap<String, usize>,
    pub by_status: BTreeMap<String, usize>,
}

impl Stats {
    pub fn of(artifacts: &[Artifact]) -> Stats {
        let mut stats = Stats::default();
        for a in artifacts {
            stats.total += 1;
            stats.bytes += a.size;
            *stats
                .by_driver_version
                .entry(a.driver_version.clone())
                .or_default() += 1;
            *stats.by_arch.entry(a.arch.to_string()).or_default() += 1;
            *stats.by_target.entry(a.name.target.clone()).or_default() += 1;
            *stats.by_kind.entry(a.name.kind.to_string()).or_default() += 1;
            *stats.by_status.entry(a.outcome().to_string()).or_default() += 1;
        }
        stats
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "artifacts: {} ({} bytes)", self.total, self.bytes)?;
        for (title, counts) in [
            ("driver version", &self.by_driver_version),
            ("arch", &self.by_arch),
            ("target", &self.by_target),
            ("kind", &self.by_kind),
            ("test status", &self.by_status),
        ] {
            writeln!(f, "by {title}:")?;
            for (key, n) in counts {
                writeln!(f, "  {key}: {n}")?;
            }
        }
        Ok(())
    }
}

/// `<path><suffix>` (`x.ko` → `x.ko.sha256`).
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Where the `.sha256` of `artifact` lives.
pub fn sha256_path(artifact: &Path) -> PathBuf {
    sidecar(artifact, ".sha256")
}

/// The `sha256sum` line for a file: `<hex>  <file name>\n`.
pub fn sha256_line(digest: &str, file_name: &str) -> String {
    format!("{digest}  {file_name}\n")
}

/// Reads the `.sha256` beside `artifact`.
pub fn read_recorded_sha256(artifact: &Path) -> Result<RecordedSha256, ArtifactError> {
    let path = sha256_path(artifact);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(RecordedSha256::Missing),
        Err(e) => return Err(ArtifactError::io(&path)(e)),
    };
    let file_name = artifact.file_name().unwrap_or_default().to_string_lossy();
    Ok(parse_sha256_line(&text, &file_name))
}

fn parse_sha256_line(text: &[u8], file_name: &str) -> RecordedSha256 {
    let Ok(text) = std::str::from_utf8(text) else {
        return RecordedSha256::Malformed("not text".into());
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return RecordedSha256::Malformed("expected one line `<sha256>  <file name>`".into());
    };
    let Some((digest, name)) = line.split_once(' ') else {
        return RecordedSha256::Malformed(format!("no file name in {line:?}"));
    };
    // sha256sum marks binary mode with `*`; both modes hash the same bytes.
    let name = name.trim_start_matches(' ').trim_start_matches('*');
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return RecordedSha256::Malformed(format!("{digest:?} is not a sha256 digest"));
    }
    if name != file_name {
        return RecordedSha256::Malformed(format!("it names {name:?}, not {file_name:?}"));
    }
    RecordedSha256::Present(digest.to_ascii_lowercase())
}

pub use kernels::files::sha256_file;

/// The current time as RFC 3339 UTC, to the second.
pub fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A file being written beside its destination, renamed over it only by [`Staged::commit`]: a reader
/// sees the old file or the complete new one, never a part. Dropped uncommitted, it is removed.
pub(crate) struct Staged {
    file: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl Staged {
    pub(crate) fn new(dest: &Path, mode: u32) -> io::Result<Staged> {
        use std::os::unix::fs::PermissionsExt;
        let dir = parent_dir(dest);
        std::fs::create_dir_all(dir)?;
        let file = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)?;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
        Ok(Staged {
            file,
            dest: dest.to_owned(),
        })
    }

    pub(crate) fn writer(&mut self) -> &mut std::fs::File {
        self.file.as_file_mut()
    }

    /// Flushes the bytes to disk, renames the file into place and flushes the folder entry.
    pub(crate) fn commit(self) -> io::Result<()> {
        self.file.as_file().sync_all()?;
        let dest = self.dest;
        self.file.persist(&dest).map_err(|e| e.error)?;
        std::fs::File::open(parent_dir(&dest))?.sync_all()
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `dest` by temp file + fsync + rename.
pub(crate) fn write_atomic(dest: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut staged = Staged::new(dest, mode)?;
    staged.writer().write_all(bytes)?;
    staged.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_lines() {
        let d = "a".repeat(64);
        let f = "falco_debian_6.1.170-3-amd64_1.ko";
        assert_eq!(
            parse_sha256_line(sha256_line(&d, f).as_bytes(), f),
            RecordedSha256::Present(d.clone())
        );
        assert_eq!(
            parse_sha256_line(format!("{}  *{f}\n", d.to_uppercase()).as_bytes(), f),
            RecordedSha256::Present(d.clone())
        );
        for bad in [
            format!("{d}  other.ko\n"),
            format!("{}  {f}\n", &d[..63]),
            String::new(),
            format!("{d}\n"),
            format!("{d}  {f}\n{d}  {f}\n"),
        ] {
            assert!(
                matches!(
                    parse_sha256_line(bad.as_bytes(), f),
                    RecordedSha256::Malformed(_)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn test_records_round_trip_and_reject_garbage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let artifact = dir.path().join("falco_debian_6.1.170-3-amd64_1.ko");
        assert_eq!(TestRecord::read(&artifact).expect("read"), None);
        let record = TestRecord::now(
            TestStatus::Passed,
            "6.1.0-47-amd64",
            6.5,
            "insmod, 120 events",
        );
        record.write_atomic(&artifact).expect("write");
        assert_eq!(TestRecord::read(&artifact).expect("read"), Some(record));
        let text = std::fs::read_to_string(TestRecord::path_for(&artifact)).expect("text");
        assert!(text.contains("\"status\": \"passed\""), "{text}");

        std::fs::write(TestRecord::path_for(&artifact), "{\"status\": \"passed\"").expect("write");
        let err = TestRecord::read(&artifact).expect_err("truncated");
        assert!(
            err.to_string().contains("test.json: not a test record"),
            "{err}"
        );
        std::fs::write(
            TestRecord::path_for(&artifact),
            r#"{"status":"maybe","kernel":"k","tested_at":"2026-12-02T05:53:45Z","seconds":1,"detail":""}"#,
        )
        .expect("write");
        assert!(TestRecord::read(&artifact).is_err());
        std::fs::write(
            TestRecord::path_for(&artifact),
            r#"{"status":"failed","kernel":"k","tested_at":"yesterday","seconds":1,"detail":""}"#,
        )
        .expect("write");
        let err = TestRecord::read(&artifact).expect_err("bad time");
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }

    #[test]
    fn stats_count_by_each_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let arch_dir = dir.path().join("driverkit/output/1.0.0+driver/x86_64");
        std::fs::create_dir_all(&arch_dir).expect("mkdir");
        for (file, status) in [
            (
                "falco_debian_6.1.170-3-amd64_1.ko",
                Some(TestStatus::Passed),
            ),
            ("falco_debian_6.1.170-3-amd64_1.o", Some(TestStatus::Failed)),
            ("falco_ubuntu-aws_5.15.0-1001-aws_2.ko", None),
            ("scap_debian_6.1.170-3-amd64_1.ko", None),
        ] {
            let path = arch_dir.join(file);
            std::fs::write(&path, b"1234").expect("write");
            if let Some(status) = status {
                TestRecord::now(status, "k", 1.0, "")
                    .write_atomic(&path)
                    .expect("record");
            }
        }
        let found = scan_output(dir.path(), &Selection::default()).expect("scan");
        let stats = Stats::of(&found);
        assert_eq!(stats.total, 3);
        assert_eq!(stats.bytes, 12);
        assert_eq!(stats.by_target["debian"], 2);
        assert_eq!(stats.by_kind["module"], 2);
        assert_eq!(stats.by_status["untested"], 1);
        assert_eq!(stats.by_driver_version["1.0.0+driver"], 3);
        assert!(found.iter().all(|a| a.sha256 == RecordedSha256::Missing));
        let selection = Selection {
            target: Some(Regex::new("^ubuntu").expect("re")),
            ..Selection::default()
        };
        assert_eq!(scan_output(dir.path(), &selection).expect("scan").len(), 1);
        let selection = Selection {
            arches: vec![Arch::Aarch64],
            ..Selection::default()
        };
        assert!(scan_output(dir.path(), &selection)
            .expect("scan")
            .is_empty());
    }
}
