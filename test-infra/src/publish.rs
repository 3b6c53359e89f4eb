//! `dbg drivers publish`, `verify`, `stats` and `cleanup` as a library: built drivers copied into the
//! prebuilt driver repository that Falco's loaders download from
//! (`<repo>/<driverversion, URL-escaped>/<arch>/<drv>_<target>_<kernelrelease>_<kernelversion>.{ko,o}`),
//! with a sorted `index.json` of everything there, its minisign signature `index.json.minisig` and a
//! browsable `index.html`.
//!
//! Only artifacts whose boot test passed are published unless asked otherwise; every artifact's bytes
//! are checked against its `.sha256` before they are copied, and every byte the repository gets is
//! written to a temp file beside its destination, flushed and renamed, artifacts first and the index
//! last, so a reader never sees a half-written file or an index listing a file not yet there.
//!
//! Serving: the version folder is literally named `1.0.0%2Bdriver`, as the loaders ask for it. An
//! object store serves that key as asked; a plain static file server decodes `%2B` to `+` first and
//! needs a `1.0.0+driver` alias (a symlink) for the loaders, while `index.html`'s own links are escaped
//! once more and work from any static server or `file://`.
//!
//! ```no_run
//! use std::path::Path;
//! use test_infra::artifacts::{scan_output, Selection};
//! use test_infra::publish::{keygen, publish, verify, PublishOptions};
//! let keys = keygen(Path::new("/secrets"), None)?;
//! let built = scan_output(Path::new("/srv/dbg"), &Selection::default())?;
//! let report = publish(&built, Path::new("/srv/repo"), &keys.secret, &PublishOptions::default())?;
//! for held in &report.held_back {
//!     eprintln!("held back {}: {}", held.artifact.display(), held.reason);
//! }
//! verify(Path::new("/srv/repo"), &keys.public)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cleanup;
pub mod html;
pub mod index;
mod keys;
mod verify;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::artifacts::{
    self, sha256_line, sha256_path, Artifact, ArtifactError, Outcome, RecordedSha256, Selection,
    Staged, Stats, TestRecord,
};

pub use cleanup::{cleanup_output, cleanup_repository, CleanupReport};
pub use index::{Entry, Index, Kernel, HTML_FILE, INDEX_FILE, SIGNATURE_FILE};
pub use keys::{
    keygen, load_public_key, load_secret_key, password_from_env, KeyFiles, PASSWORD_ENV,
    PUBLIC_KEY_FILE, SECRET_KEY_FILE,
};
pub use verify::{verify, Problem, VerifyError, VerifyReport};

/// What went wrong publishing or cleaning up, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("signing key {path}: {detail}")]
    Key { path: PathBuf, detail: String },
    #[error("signing index.json failed: {0}")]
    Sign(String),
    #[error("{path} {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path} is held by another publish or cleanup for more than 30 s; wait for it to finish, then run again")]
    Locked { path: PathBuf },
}

impl PublishError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> PublishError + '_ {
        move |source| PublishError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// How [`publish`] and [`cleanup_repository`] behave.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// Publish artifacts whose boot test failed.
    pub include_failed: bool,
    /// Publish artifacts that were never boot-tested.
    pub include_untested: bool,
    /// Decide and report, write nothing.
    pub dry_run: bool,
    /// The password of an encrypted signing key (see [`password_from_env`]).
    pub key_password: Option<String>,
    /// The repository's driver name: its files are the ones indexed.
    pub driver_name: String,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            include_failed: false,
            include_untested: false,
            dry_run: false,
            key_password: None,
            driver_name: artifacts::DEFAULT_DRIVER_NAME.to_owned(),
        }
    }
}

/// Why an artifact was not published.
#[derive(Debug, Clone, PartialEq)]
pub enum HoldReason {
    Failed { kernel: String, detail: String },
    Untested,
    NoChecksum,
    BadChecksum(String),
    ChecksumMismatch { recorded: String, actual: String },
    OtherDriver(String),
    Duplicate(PathBuf),
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::Failed { kernel, detail } => write!(
                f,
                "its boot test failed on {kernel}: {detail} (fix and test again, or include failed artifacts)"
            ),
            HoldReason::Untested => {
                write!(f, "it was never boot-tested (run `dbg drivers test`, or include untested artifacts)")
            }
            HoldReason::NoChecksum => write!(
                f,
                "it has no .sha256 beside it, so its build may not have finished: build it again"
            ),
            HoldReason::BadChecksum(why) => write!(f, "its .sha256 is unreadable ({why}): build it again"),
            HoldReason::ChecksumMismatch { recorded, actual } => write!(
                f,
                "its bytes hash to {actual} but its .sha256 says {recorded}: the file changed after the build; build it again"
            ),
            HoldReason::OtherDriver(name) => {
                write!(f, "it is a {name} driver, not one of this repository's")
            }
            HoldReason::Duplicate(first) => {
                write!(f, "it goes to the same place as {}, published first", first.display())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HeldBack {
    pub artifact: PathBuf,
    pub reason: HoldReason,
}

/// One artifact copied into the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub source: PathBuf,
    /// Relative to the repository, as in the index.
    pub path: String,
    pub sha256: String,
    /// A different file was there before.
    pub replaced: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PublishReport {
    pub published: Vec<Published>,
    /// Already in the repository with the same bytes (repository paths); not rewritten.
    pub unchanged: Vec<String>,
    pub held_back: Vec<HeldBack>,
    /// Artifacts the index lists after this run (all of the repository's, not only this run's).
    pub indexed: usize,
    pub dry_run: bool,
}

impl fmt::Display for PublishReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would publish"
        } else {
            "published"
        };
        writeln!(
            f,
            "{verb} {}, unchanged {}, held back {}; the index lists {} artifacts",
            self.published.len(),
            self.unchanged.len(),
            self.held_back.len(),
            self.indexed
        )?;
        for p in &self.published {
            writeln!(
                f,
                "  {verb} {}{}",
                p.path,
                if p.replaced { " (replaced)" } else { "" }
            )?;
        }
        for h in &self.held_back {
            writeln!(f, "  held back {}: {}", h.artifact.display(), h.reason)?;
        }
        Ok(())
    }
}

/// Copies `artifacts` into the repository at `repo_dir` (with their `.sha256` and `.test.json`), then
/// rewrites the signed index of everything the repository holds. Artifacts already there with the same
/// bytes are not rewritten. The key is read before anything is written, so a bad key changes nothing.
pub fn publish(
    artifacts: &[Artifact],
    repo_dir: &Path,
    signing_key: &Path,
    options: &PublishOptions,
) -> Result<PublishReport, PublishError> {
    let key = load_secret_key(signing_key, options.key_password.as_deref())?;
    let _lock = if options.dry_run {
        None
    } else {
        Some(RepoLock::take(repo_dir)?)
    };
    let mut report = PublishReport {
        dry_run: options.dry_run,
        ..PublishReport::default()
    };
    let mut fresh: HashMap<String, String> = HashMap::new();
    let mut first_source: HashMap<String, PathBuf> = HashMap::new();
    for artifact in artifacts {
        let rel = artifact.repository_path();
        let hold = |reason| HeldBack {
            artifact: artifact.path.clone(),
            reason,
        };
        if let Some(reason) = admission(artifact, options) {
            report.held_back.push(hold(reason));
            continue;
        }
        let RecordedSha256::Present(recorded) = &artifact.sha256 else {
            let reason = match &artifact.sha256 {
                RecordedSha256::Malformed(why) => HoldReason::BadChecksum(why.clone()),
                _ => HoldReason::NoChecksum,
            };
            report.held_back.push(hold(reason));
            continue;
        };
        if let Some(first) = first_source.get(&rel) {
            report
                .held_back
                .push(hold(HoldReason::Duplicate(first.clone())));
            continue;
        }
        let actual =
            artifacts::sha256_file(&artifact.path).map_err(PublishError::io(&artifact.path))?;
        if &actual != recorded {
            report.held_back.push(hold(HoldReason::ChecksumMismatch {
                recorded: recorded.clone(),
                actual,
            }));
            continue;
        }
        first_source.insert(rel.clone(), artifact.path.clone());
        let dest = repo_dir.join(&rel);
        let existing = match artifacts::sha256_file(&dest) {
            Ok(d) => Some(d),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(PublishError::io(&dest)(e)),
        };
        let same_bytes = existing.as_deref() == Some(actual.as_str());
        if !options.dry_run {
            if !same_bytes {
                copy_verified(&artifact.path, &dest, &actual)?;
            }
            sync_side_files(artifact, &dest, &actual, same_bytes)?;
        }
        if same_bytes {
            report.unchanged.push(rel.clone());
        } else {
            report.published.push(Published {
                source: artifact.path.clone(),
                path: rel.clone(),
                sha256: actual.clone(),
                replaced: existing.is_some(),
            });
        }
        fresh.insert(rel, actual);
    }
    report.indexed = if options.dry_run {
        let selection = Selection {
            driver_name: options.driver_name.clone(),
            ..Selection::default()
        };
        let mut paths: std::collections::BTreeSet<String> =
            artifacts::scan_repository(repo_dir, &selection)?
                .iter()
                .map(Artifact::repository_path)
                .collect();
        paths.extend(fresh.into_keys());
        paths.len()
    } else {
        index::write_index(
            repo_dir,
            &options.driver_name,
            &key,
            &fresh,
            &Default::default(),
        )?
        .artifacts
        .len()
    };
    Ok(report)
}

/// Why the options keep `artifact` out, if they do.
fn admission(artifact: &Artifact, options: &PublishOptions) -> Option<HoldReason> {
    if artifact.name.driver_name != options.driver_name {
        return Some(HoldReason::OtherDriver(artifact.name.driver_name.clone()));
    }
    match (artifact.outcome(), &artifact.test) {
        (Outcome::Failed, Some(t)) if !options.include_failed => Some(HoldReason::Failed {
            kernel: t.kernel.clone(),
            detail: t.detail.clone(),
        }),
        (Outcome::Untested, _) if !options.include_untested => Some(HoldReason::Untested),
        _ => None,
    }
}

/// Copies `source` to `dest` through a staged file, hashing what was written: if the source changed
/// since it was checked, nothing is renamed into place.
fn copy_verified(source: &Path, dest: &Path, expected: &str) -> Result<(), PublishError> {
    let mut input = std::fs::File::open(source).map_err(PublishError::io(source))?;
    let mut staged = Staged::new(dest, 0o644).map_err(PublishError::io(dest))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = input.read(&mut buf).map_err(PublishError::io(source))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        staged
            .writer()
            .write_all(&buf[..n])
            .map_err(PublishError::io(dest))?;
    }
    let copied = kernels::files::hex(&hasher.finalize());
    if copied != expected {
        return Err(PublishError::Corrupt {
            path: source.to_owned(),
            detail: format!("changed while it was being published (sha256 {expected}, then {copied}); publish again"),
        });
    }
    staged.commit().map_err(PublishError::io(dest))
}

/// Makes the repository's `.sha256` and `.test.json` of `dest` describe these bytes. A record already
/// there for the same bytes is kept when the source has none: it describes exactly these bytes.
fn sync_side_files(
    artifact: &Artifact,
    dest: &Path,
    digest: &str,
    same_bytes: bool,
) -> Result<(), PublishError> {
    let file_name = dest
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let sha_path = sha256_path(dest);
    let line = sha256_line(digest, &file_name);
    if std::fs::read(&sha_path).ok().as_deref() != Some(line.as_bytes()) {
        artifacts::write_atomic(&sha_path, line.as_bytes(), 0o644)
            .map_err(PublishError::io(&sha_path))?;
    }
    let record_path = TestRecord::path_for(dest);
    match &artifact.test {
        Some(record) if TestRecord::read(dest).ok().flatten().as_ref() != Some(record) => {
            record.write_atomic(dest)?;
        }
        Some(_) => {}
        None if !same_bytes => match std::fs::remove_file(&record_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(PublishError::io(&record_path)(e)),
        },
        None => {}
    }
    Ok(())
}

/// Which tree [`scan`] and [`stats`] read.
#[derive(Debug, Clone, Copy)]
pub enum Tree<'a> {
    /// A dbg-go repository root (`<root>/driverkit/output/...`).
    Output(&'a Path),
    /// A prebuilt driver repository.
    Repository(&'a Path),
}

/// The artifacts of `tree` that `selection` picks.
pub fn scan(tree: Tree<'_>, selection: &Selection) -> Result<Vec<Artifact>, ArtifactError> {
    match tree {
        Tree::Output(root) => artifacts::scan_output(root, selection),
        Tree::Repository(dir) => artifacts::scan_repository(dir, selection),
    }
}

/// dbg-go's `drivers stats`, with test status, for either tree.
pub fn stats(tree: Tree<'_>, selection: &Selection) -> Result<Stats, ArtifactError> {
    Ok(Stats::of(&scan(tree, selection)?))
}

/// How long a publish or cleanup waits for another one to finish.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// An exclusive `flock` on `<repo>/.dbg.lock`, released when dropped (or when the process dies).
pub(crate) struct RepoLock {
    _file: std::fs::File,
}

impl RepoLock {
    pub(crate) fn take(repo_dir: &Path) -> Result<RepoLock, PublishError> {
        use std::os::fd::AsRawFd;
        std::fs::create_dir_all(repo_dir).map_err(PublishError::io(repo_dir))?;
        let path = repo_dir.join(".dbg.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(PublishError::io(&path))?;
        // Another thread's child may briefly hold a copy of a just-closed lock descriptor (between its
        // fork and exec), and another publish may be finishing: wait a while before giving up.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            // SAFETY: flock on a descriptor this function owns; it does not touch memory.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(PublishError::io(&path)(err));
            }
            if std::time::Instant::now() >= deadline {
                return Err(PublishError::Locked { path });
            }
            tracing::debug!(lock = %path.display(), "waiting for the repository lock");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        sweep_partials(repo_dir);
        Ok(RepoLock { _file: file })
    }
}

/// Removes the staged files a killed publish or cleanup left behind. Only called under the lock, when
/// no other writer can be staging anything.
fn sweep_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".partial-") {
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    tracing::info!(file = %path.display(), "removed a file an interrupted run left")
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot remove a leftover file")
                }
            }
        } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
            sweep_partials(&path);
        }
    }
}
