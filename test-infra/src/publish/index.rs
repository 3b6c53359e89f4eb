//! `index.json`: what a repository holds, sorted so that two runs over the same files differ only in
//! `generated_at`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use minisign::SecretKey;

use super::{html, keys, PublishError};
use crate::artifacts::{self, Artifact, RecordedSha256, Selection, Staged};

pub use driver_index::index::{
    Entry, Index, Kernel, FORMAT, HTML_FILE, INDEX_FILE, SIGNATURE_FILE,
};

/// An index of `artifacts` (repository files) whose digests are `digests` (by repository path).
pub fn build_index(
    driver_name: &str,
    artifacts: &[(Artifact, String)],
    generated_at: String,
) -> Index {
    let mut entries: Vec<Entry> = artifacts
        .iter()
        .map(|(a, sha256)| Entry {
            driver_version: a.driver_version.clone(),
            arch: a.arch,
            target: a.name.target.clone(),
            kernelrelease: a.name.kernelrelease.clone(),
            kernelversion: a.name.kernelversion.clone(),
            kind: a.name.kind,
            path: a.repository_path(),
            size: a.size,
            sha256: sha256.clone(),
            status: a.outcome(),
            tested_kernel: a.test.as_ref().map(|t| t.kernel.clone()),
            tested_at: a.test.as_ref().map(|t| t.tested_at.clone()),
            test_seconds: a.test.as_ref().map(|t| t.seconds),
            test_detail: a.test.as_ref().map(|t| t.detail.clone()),
        })
        .collect();
    entries.sort_by(|a, b| {
        (
            &a.driver_version,
            a.arch,
            &a.target,
            &a.kernelrelease,
            &a.kernelversion,
            a.kind,
        )
            .cmp(&(
                &b.driver_version,
                b.arch,
                &b.target,
                &b.kernelrelease,
                &b.kernelversion,
                b.kind,
            ))
    });
    let driver_versions: BTreeSet<_> = entries.iter().map(|e| e.driver_version.clone()).collect();
    let arches: BTreeSet<_> = entries.iter().map(|e| e.arch).collect();
    let kernels: BTreeSet<_> = entries
        .iter()
        .map(|e| Kernel {
            target: e.target.clone(),
            kernelrelease: e.kernelrelease.clone(),
            kernelversion: e.kernelversion.clone(),
        })
        .collect();
    Index {
        format: FORMAT,
        generated_at,
        driver_name: driver_name.to_owned(),
        driver_versions: driver_versions.into_iter().collect(),
        arches: arches.into_iter().collect(),
        kernels: kernels.into_iter().collect(),
        artifacts: entries,
    }
}

/// Rebuilds `index.json`, its signature and `index.html` from the files of the repository.
///
/// `leaving` are repository paths about to be removed (left out of the index, which is written before
/// they go, so no reader is sent to a file that is gone). `fresh` holds the digests of the files this run just wrote (by repository path), so they are not
/// hashed twice; every other artifact is hashed and must match its `.sha256`, because signing an index
/// over bytes nobody checked would vouch for whatever is on disk. All three files are staged complete
/// before the first rename, so the window in which a reader sees a new index with an old signature is
/// two renames wide.
pub(crate) fn write_index(
    repo_dir: &Path,
    driver_name: &str,
    key: &SecretKey,
    fresh: &HashMap<String, String>,
    leaving: &HashSet<String>,
) -> Result<Index, PublishError> {
    let selection = Selection {
        driver_name: driver_name.to_owned(),
        ..Selection::default()
    };
    let found = artifacts::scan_repository(repo_dir, &selection)?;
    let mut listed = Vec::with_capacity(found.len());
    for artifact in found {
        let rel = artifact.repository_path();
        if leaving.contains(&rel) {
            continue;
        }
        let digest = match fresh.get(&rel) {
            Some(d) => d.clone(),
            None => checked_digest(&artifact)?,
        };
        listed.push((artifact, digest));
    }
    let index = build_index(driver_name, &listed, artifacts::rfc3339_now());
    let json = index.to_json();
    let signature = keys::sign(key, &json, INDEX_FILE)?;
    let page = html::render(&index);

    let mut staged = Vec::new();
    for (name, bytes) in [
        (INDEX_FILE, json.as_slice()),
        (SIGNATURE_FILE, signature.as_bytes()),
        (HTML_FILE, page.as_bytes()),
    ] {
        let path = repo_dir.join(name);
        let mut file = Staged::new(&path, 0o644).map_err(PublishError::io(&path))?;
        file.writer()
            .write_all(bytes)
            .map_err(PublishError::io(&path))?;
        staged.push((path, file));
    }
    for (path, file) in staged {
        file.commit().map_err(PublishError::io(&path))?;
    }
    Ok(index)
}

fn checked_digest(artifact: &Artifact) -> Result<String, PublishError> {
    let path = &artifact.path;
    let recorded = match &artifact.sha256 {
        RecordedSha256::Present(d) => d,
        RecordedSha256::Missing => {
            return Err(PublishError::Corrupt {
                path: path.clone(),
                detail: "has no .sha256 beside it, so dbg did not put it there: publish it with dbg or remove it".into(),
            })
        }
        RecordedSha256::Malformed(why) => {
            return Err(PublishError::Corrupt {
                path: path.clone(),
                detail: format!("its .sha256 is unreadable ({why}): publish the artifact again to rewrite it"),
            })
        }
    };
    let actual = artifacts::sha256_file(path).map_err(PublishError::io(path))?;
    if &actual != recorded {
        return Err(PublishError::Corrupt {
            path: path.clone(),
            detail: format!(
                "its bytes hash to {actual} but its .sha256 says {recorded}: publish the artifact again to replace it, or remove it with cleanup"
            ),
        });
    }
    Ok(actual)
}
