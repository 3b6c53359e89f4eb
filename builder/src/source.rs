//! The driver source tree a build uses: the `git archive` of `driverversion` from this repository (what
//! driverkit downloads as GitHub's archive of the same revision), or a directory given with `--src-dir`.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone)]
pub enum Source {
    /// A revision of a git repository.
    Git { repo: PathBuf, rev: String },
    /// A working tree as it is on disk (uncommitted changes included).
    Dir(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("driverversion `{version}` is not a revision of {repo} (tried {tried}); tag it, pass a commit, or build a working tree with --src-dir")]
    NoRevision { version: String, repo: PathBuf, tried: String },
    #[error("{0} is not a git repository; pass --src-dir DIR to build a plain source tree")]
    NotARepo(PathBuf),
    #[error("source tree {0} has no CMakeLists.txt or driver/ directory: it is not this project's tree")]
    NotADriverTree(PathBuf),
    #[error("{context}: {detail}")]
    Tool { context: String, detail: String },
}

/// Directories of a working tree that are never part of the driver's sources.
const SKIPPED: &[&str] = &[".git", "target", ".cache", "build", "fuzz"];

impl Source {
    /// `driverversion` of the repository holding `repo`: `master` is the checked-out head, a version
    /// is tried as a tag with and without a leading `v`, anything else as a commit.
    pub fn from_version(repo: &Path, version: &str) -> Result<Source, SourceError> {
        let toplevel = git(repo, &["rev-parse", "--show-toplevel"])
            .map_err(|_| SourceError::NotARepo(repo.to_owned()))?;
        let repo = PathBuf::from(toplevel.trim());
        let tries: Vec<String> = match version {
            "master" | "main" | "HEAD" => vec!["HEAD".into()],
            v if v.chars().next().is_some_and(|c| c.is_ascii_digit()) && v.contains('.') => {
                vec![format!("refs/tags/{v}"), format!("refs/tags/v{v}")]
            }
            v => vec![v.to_owned()],
        };
        for rev in &tries {
            if let Ok(commit) = git(&repo, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")]) {
                return Ok(Source::Git { repo, rev: commit.trim().to_owned() });
            }
        }
        Err(SourceError::NoRevision {
            version: version.to_owned(),
            repo,
            tried: tries.join(", "),
        })
    }

    /// Writes the tree as an uncompressed tar whose paths are relative to its top (`CMakeLists.txt`,
    /// `driver/main.c`, ...).
    pub fn write_tar(&self, out: &Path) -> Result<(), SourceError> {
        match self {
            Source::Git { repo, rev } => {
                let status = Command::new("git")
                    .arg("-C")
                    .arg(repo)
                    .args(["archive", "--format=tar", "-o"])
                    .arg(out)
                    .arg(rev)
                    .output()
                    .map_err(|e| SourceError::Tool { context: "running git archive".into(), detail: e.to_string() })?;
                if !status.status.success() {
                    return Err(SourceError::Tool {
                        context: format!("git archive {rev}"),
                        detail: String::from_utf8_lossy(&status.stderr).trim().to_owned(),
                    });
                }
                Ok(())
            }
            Source::Dir(dir) => {
                if !dir.join("CMakeLists.txt").is_file() || !dir.join("driver").is_dir() {
                    return Err(SourceError::NotADriverTree(dir.clone()));
                }
                let tool = |e: std::io::Error| SourceError::Tool {
                    context: format!("archiving {}", dir.display()),
                    detail: e.to_string(),
                };
                let file = std::fs::File::create(out).map_err(tool)?;
                let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
                tar.follow_symlinks(false);
                for entry in std::fs::read_dir(dir).map_err(tool)? {
                    let entry = entry.map_err(tool)?;
                    let name = entry.file_name();
                    if SKIPPED.iter().any(|s| name == *s) {
                        continue;
                    }
                    let path = entry.path();
                    if path.is_dir() {
                        tar.append_dir_all(&name, &path).map_err(tool)?;
                    } else {
                        tar.append_path_with_name(&path, &name).map_err(tool)?;
                    }
                }
                tar.into_inner().map_err(tool)?;
                Ok(())
            }
        }
    }

    /// The commit the build reports (`DRIVER_COMMIT`): the revision, or `dirty` for a plain tree.
    pub fn describe(&self) -> String {
        match self {
            Source::Git { rev, .. } => rev.clone(),
            Source::Dir(dir) => format!("working tree {}", dir.display()),
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
