//! Checking a published repository the way a careful downloader would: the index signature first, then
//! every listed file's bytes.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::index::{Index, INDEX_FILE, SIGNATURE_FILE};
use super::keys;
use crate::artifacts::{self, sha256_line, sha256_path, Selection};

/// One thing wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Relative to the repository.
    pub path: String,
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.what)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("public key {path}: {detail}")]
    Key { path: PathBuf, detail: String },
    #[error("{path}: the signature does not verify ({detail}): the index was changed after it was signed, or signed with another key; publish again to re-sign it")]
    Signature { path: PathBuf, detail: String },
    #[error("{path}: signed but unreadable as an index ({detail})")]
    Index { path: PathBuf, detail: String },
    #[error("{} of the files index.json lists are wrong:\n  {}", problems.len(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Files { problems: Vec<Problem> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub artifacts: usize,
    pub bytes: u64,
    pub generated_at: String,
    /// The signature's trusted comment (`timestamp:...\tfile:index.json\thashed`).
    pub trusted_comment: String,
    /// Artifacts on disk that the index does not list (repository paths): no downloader is told about
    /// them, so they are reported, not failed.
    pub unlisted: Vec<String>,
}

/// Checks `index.json.minisig` over `index.json` with `public_key`, then that every listed artifact
/// exists with the listed size and sha256 and that its `.sha256` says the same. Every problem is
/// collected; the error names each file.
pub fn verify(repo_dir: &Path, public_key: &Path) -> Result<VerifyReport, VerifyError> {
    let key = keys::load_public_key(public_key).map_err(|e| VerifyError::Key {
        path: public_key.to_owned(),
        detail: format!("{e}; pass the dbg.pub written with the signing key"),
    })?;
    let index_path = repo_dir.join(INDEX_FILE);
    let sig_path = repo_dir.join(SIGNATURE_FILE);
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| VerifyError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let json = read(&index_path)?;
    let signature = read(&sig_path)?;
    let signature = String::from_utf8(signature).map_err(|_| VerifyError::Signature {
        path: sig_path.clone(),
        detail: "not text".into(),
    })?;
    let trusted_comment =
        keys::check(&key, &json, &signature).map_err(|detail| VerifyError::Signature {
            path: index_path.clone(),
            detail,
        })?;
    let index: Index = serde_json::from_slice(&json).map_err(|e| VerifyError::Index {
        path: index_path.clone(),
        detail: e.to_string(),
    })?;

    let mut problems = Vec::new();
    let mut bytes = 0;
    let mut listed = BTreeSet::new();
    for entry in &index.artifacts {
        let mut problem = |what: String| {
            problems.push(Problem {
                path: entry.path.clone(),
                what,
            })
        };
        let expected_path = entry.expected_path(&index.driver_name);
        // The index is signed, but a path outside the layout would make this walk read elsewhere.
        if entry.path != expected_path {
            problem(format!(
                "listed at a path outside the layout (expected {expected_path})"
            ));
            continue;
        }
        listed.insert(entry.path.clone());
        let path = repo_dir.join(&entry.path);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.len() != entry.size => problem(format!(
                "{} bytes, the index says {}",
                meta.len(),
                entry.size
            )),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problem("missing: the index lists it but the file is not there".into());
                continue;
            }
            Err(e) => {
                problem(format!("unreadable: {e}"));
                continue;
            }
        }
        match artifacts::sha256_file(&path) {
            Ok(actual) if actual != entry.sha256 => problem(format!(
                "sha256 is {actual}, the index says {}",
                entry.sha256
            )),
            Ok(_) => bytes += entry.size,
            Err(e) => problem(format!("unreadable: {e}")),
        }
        let file_name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
        let sha_file = sha256_path(&path);
        match std::fs::read(&sha_file) {
            Ok(text) if text == sha256_line(&entry.sha256, file_name).as_bytes() => {}
            Ok(_) => problems.push(Problem {
                path: format!("{}.sha256", entry.path),
                what: format!("does not say {}  {file_name}", entry.sha256),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => problems.push(Problem {
                path: format!("{}.sha256", entry.path),
                what: "missing".into(),
            }),
            Err(e) => problems.push(Problem {
                path: format!("{}.sha256", entry.path),
                what: format!("unreadable: {e}"),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(VerifyError::Files { problems });
    }
    let selection = Selection {
        driver_name: index.driver_name.clone(),
        ..Selection::default()
    };
    let unlisted = match artifacts::scan_repository(repo_dir, &selection) {
        Ok(found) => found
            .iter()
            .map(|a| a.repository_path())
            .filter(|p| !listed.contains(p))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "could not look for unlisted artifacts");
            Vec::new()
        }
    };
    Ok(VerifyReport {
        artifacts: index.artifacts.len(),
        bytes,
        generated_at: index.generated_at,
        trusted_comment,
        unlisted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{keygen, load_secret_key};

    /// A signed index that points outside the layout is refused before any file is read.
    #[test]
    fn a_signed_path_outside_the_layout_is_a_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = keygen(dir.path(), None).expect("keygen");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir");
        let json = format!(
            r#"{{"format":1,"generated_at":"2026-12-02T06:00:00Z","driver_name":"falco","driver_versions":["1.0.0+driver"],
            "arches":["x86_64"],"kernels":[],"artifacts":[{{"driver_version":"1.0.0+driver","arch":"x86_64",
            "target":"debian","kernelrelease":"6.1.0-47-amd64","kernelversion":"1","kind":"module",
            "path":"../{}/dbg.key","size":1,"sha256":"{}","status":"passed","tested_kernel":null,
            "tested_at":null,"test_seconds":null,"test_detail":null}}]}}"#,
            dir.path().file_name().unwrap_or_default().to_string_lossy(),
            "0".repeat(64)
        );
        let key = load_secret_key(&keys.secret, None).expect("key");
        let signature = keys::sign(&key, json.as_bytes(), INDEX_FILE).expect("sign");
        std::fs::write(repo.join(INDEX_FILE), &json).expect("write");
        std::fs::write(repo.join(SIGNATURE_FILE), signature).expect("write");
        let err = verify(&repo, &keys.public).expect_err("outside the layout");
        let text = err.to_string();
        assert!(
            text.contains("outside the layout") && text.contains("dbg.key"),
            "{text}"
        );

        std::fs::write(repo.join(INDEX_FILE), "[not an index]").expect("write");
        let signature = keys::sign(&key, b"[not an index]", INDEX_FILE).expect("sign");
        std::fs::write(repo.join(SIGNATURE_FILE), signature).expect("write");
        let err = verify(&repo, &keys.public).expect_err("not an index");
        assert!(matches!(err, VerifyError::Index { .. }), "{err}");
    }
}
