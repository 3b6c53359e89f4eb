//! dbg-go's `drivers cleanup`, for the build output and for the repository.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::{index, load_secret_key, PublishError, PublishOptions, RepoLock};
use crate::artifacts::{self, sha256_path, Artifact, Selection, TestRecord};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// The artifacts removed (or that would be, in a dry run).
    pub artifacts: Vec<PathBuf>,
    /// Every file removed: the artifacts with their `.sha256` and `.test.json`.
    pub files: Vec<PathBuf>,
    /// Artifacts the rewritten index lists (repository cleanups only).
    pub indexed: Option<usize>,
    pub dry_run: bool,
}

impl fmt::Display for CleanupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        writeln!(
            f,
            "{verb} {} artifacts ({} files)",
            self.artifacts.len(),
            self.files.len()
        )?;
        for a in &self.artifacts {
            writeln!(f, "  {verb} {}", a.display())?;
        }
        if let Some(n) = self.indexed {
            writeln!(f, "the index lists {n} artifacts")?;
        }
        Ok(())
    }
}

/// Removes the selected artifacts of `<repo_root>/driverkit/output/` with their side files.
pub fn cleanup_output(
    repo_root: &Path,
    selection: &Selection,
    dry_run: bool,
) -> Result<CleanupReport, PublishError> {
    let doomed = artifacts::scan_output(repo_root, selection)?;
    let mut report = CleanupReport {
        dry_run,
        ..CleanupReport::default()
    };
    remove(&doomed, &artifacts::output_dir(repo_root), &mut report)?;
    Ok(report)
}

/// Removes the selected artifacts from the repository at `repo_dir`: the index and its signature are
/// rewritten without them first, then the files go, so a reader of the index is never sent to a file
/// that is gone. The key is read before anything changes.
pub fn cleanup_repository(
    repo_dir: &Path,
    selection: &Selection,
    signing_key: &Path,
    options: &PublishOptions,
) -> Result<CleanupReport, PublishError> {
    let key = load_secret_key(signing_key, options.key_password.as_deref())?;
    let _lock = if options.dry_run {
        None
    } else {
        Some(RepoLock::take(repo_dir)?)
    };
    let doomed = artifacts::scan_repository(repo_dir, selection)?;
    let leaving: HashSet<String> = doomed.iter().map(Artifact::repository_path).collect();
    let mut report = CleanupReport {
        dry_run: options.dry_run,
        ..CleanupReport::default()
    };
    let all = Selection {
        driver_name: selection.driver_name.clone(),
        ..Selection::default()
    };
    report.indexed = Some(if options.dry_run {
        artifacts::scan_repository(repo_dir, &all)?.len() - doomed.len()
    } else {
        index::write_index(
            repo_dir,
            &selection.driver_name,
            &key,
            &HashMap::new(),
            &leaving,
        )?
        .artifacts
        .len()
    });
    remove(&doomed, repo_dir, &mut report)?;
    Ok(report)
}

fn remove(
    doomed: &[Artifact],
    root: &Path,
    report: &mut CleanupReport,
) -> Result<(), PublishError> {
    let mut dirs = Vec::new();
    for artifact in doomed {
        report.artifacts.push(artifact.path.clone());
        for path in [
            artifact.path.clone(),
            sha256_path(&artifact.path),
            TestRecord::path_for(&artifact.path),
        ] {
            if report.dry_run {
                if path.exists() {
                    report.files.push(path);
                }
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => report.files.push(path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(PublishError::io(&path)(e)),
            }
        }
        if let Some(arch_dir) = artifact.path.parent() {
            dirs.push(arch_dir.to_owned());
            if let Some(version_dir) = arch_dir.parent() {
                dirs.push(version_dir.to_owned());
            }
        }
    }
    if !report.dry_run {
        // Folders left empty go too (deepest first); a folder with anything else in it stays.
        dirs.sort_by(|a, b| (b.components().count(), b).cmp(&(a.components().count(), a)));
        dirs.dedup();
        for dir in dirs {
            if dir.starts_with(root) && dir != root {
                let _ = std::fs::remove_dir(&dir);
            }
        }
    }
    Ok(())
}
