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
    /// is tried as a tag with and without a leading `v`, then as a branch; anything else as a branch
    /// (local, then `origin`'s), a tag, then a commit.
    pub fn from_version(repo: &Path, version: &str) -> Result<Source, SourceError> {
        let toplevel = git(repo, &["rev-parse", "--show-toplevel"])
            .map_err(|_| SourceError::NotARepo(repo.to_owned()))?;
        let repo = PathBuf::from(toplevel.trim());
        let tries: Vec<String> = match version {
            "master" | "main" | "HEAD" => vec!["HEAD".into()],
            v if v.chars().next().is_some_and(|c| c.is_ascii_digit()) && v.contains('.') => {
                vec![format!("refs/tags/{v}"), format!("refs/tags/v{v}"), format!("refs/heads/{v}"), format!("refs/remotes/origin/{v}")]
            }
            v => vec![format!("refs/heads/{v}"), format!("refs/remotes/origin/{v}"), format!("refs/tags/{v}"), v.to_owned()],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn git_ok(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A repository with two commits: the first on branch `feature/new-probe` and tagged `0.2.0`, the
    /// second on `main`.
    fn repo() -> (tempfile::TempDir, String, String) {
        let dir = tempfile::tempdir().expect("tmp");
        git_ok(dir.path(), &["init", "-q"]);
        std::fs::write(dir.path().join("f"), "one").expect("write");
        git_ok(dir.path(), &["add", "f"]);
        git_ok(dir.path(), &["commit", "-qm", "one"]);
        let first = git_ok(dir.path(), &["rev-parse", "HEAD"]);
        git_ok(dir.path(), &["branch", "feature/new-probe"]);
        git_ok(dir.path(), &["branch", "1.2.x"]);
        git_ok(dir.path(), &["tag", "0.2.0"]);
        std::fs::write(dir.path().join("f"), "two").expect("write");
        git_ok(dir.path(), &["commit", "-qam", "two"]);
        let second = git_ok(dir.path(), &["rev-parse", "HEAD"]);
        (dir, first, second)
    }

    fn rev(source: Source) -> String {
        match source {
            Source::Git { rev, .. } => rev,
            Source::Dir(d) => panic!("a directory {d:?}"),
        }
    }

    #[test]
    fn branches_tags_and_commits_are_driver_versions() {
        let (dir, first, second) = repo();
        let at = |v: &str| Source::from_version(dir.path(), v).map(rev);
        assert_eq!(at("feature/new-probe").expect("a branch"), first);
        assert_eq!(at("1.2.x").expect("a dotted branch"), first);
        assert_eq!(at("main").expect("the main branch"), second);
        assert_eq!(at("master").expect("the head"), second);
        assert_eq!(at("0.2.0").expect("a tag"), first);
        assert_eq!(at(&first).expect("a commit"), first);
        let err = at("no-such-branch").expect_err("not a revision").to_string();
        assert!(err.contains("no-such-branch") && err.contains("refs/heads/no-such-branch") && err.contains("--src-dir"), "{err}");
        // The archive of a branch is that branch's tree.
        let tar = dir.path().join("out.tar");
        Source::from_version(dir.path(), "feature/new-probe").expect("branch").write_tar(&tar).expect("archive");
        let mut archive = tar::Archive::new(std::fs::File::open(&tar).expect("open"));
        let mut text = String::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            if entry.path().expect("path").to_string_lossy() == "f" {
                std::io::Read::read_to_string(&mut entry, &mut text).expect("read");
            }
        }
        assert_eq!(text, "one");
    }
}
