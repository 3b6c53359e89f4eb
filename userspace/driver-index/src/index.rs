//! `index.json`: what a repository holds, sorted so that two runs over the same files differ only in
//! `generated_at`, and its minisign signature `index.json.minisig`.

use std::fmt;
use std::io::Cursor;

use minisign::{PublicKey, SignatureBox};
use serde::{Deserialize, Serialize};

use crate::name::{self, ArtifactName, Kind};
use crate::Arch;

pub const INDEX_FILE: &str = "index.json";
pub const SIGNATURE_FILE: &str = "index.json.minisig";
pub const HTML_FILE: &str = "index.html";

/// The version of the `index.json` layout.
pub const FORMAT: u32 = 1;

/// A test status that includes "never tested", as the index and the stats show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Untested,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Untested => "untested",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub format: u32,
    /// RFC 3339 UTC.
    pub generated_at: String,
    pub driver_name: String,
    pub driver_versions: Vec<String>,
    pub arches: Vec<Arch>,
    pub kernels: Vec<Kernel>,
    pub artifacts: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Kernel {
    pub target: String,
    pub kernelrelease: String,
    pub kernelversion: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unescaped (`1.0.0+driver`).
    pub driver_version: String,
    pub arch: Arch,
    pub target: String,
    pub kernelrelease: String,
    pub kernelversion: String,
    pub kind: Kind,
    /// Relative to the repository, as on disk and in the loaders' URLs (`1.0.0%2Bdriver/x86_64/...`).
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub status: Outcome,
    /// `uname -r` of the kernel the test booted.
    pub tested_kernel: Option<String>,
    pub tested_at: Option<String>,
    pub test_seconds: Option<f64>,
    pub test_detail: Option<String>,
}

impl Entry {
    /// The path the layout gives this entry (`<version, escaped>/<arch>/<file>`), which a careful
    /// reader compares with [`Entry::path`] before trusting it.
    pub fn expected_path(&self, driver_name: &str) -> String {
        name::repository_path(
            &self.driver_version,
            self.arch,
            &ArtifactName {
                driver_name: driver_name.to_owned(),
                target: self.target.clone(),
                kernelrelease: self.kernelrelease.clone(),
                kernelversion: self.kernelversion.clone(),
                kind: self.kind,
            },
        )
    }
}

impl Index {
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain data to memory cannot fail; an empty index would still be valid JSON.
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_else(|_| b"{}".to_vec());
        json.push(b'\n');
        json
    }

    /// The entry listed at `path` (a repository path, as in [`Entry::path`]).
    pub fn find(&self, path: &str) -> Option<&Entry> {
        self.artifacts.iter().find(|e| e.path == path)
    }
}

/// Checks `signature` (a `.minisig` text) over `data` with `key`; the trusted comment when it holds.
pub fn check_signature(key: &PublicKey, data: &[u8], signature: &str) -> Result<String, String> {
    let signature = SignatureBox::from_string(signature)
        .map_err(|e| format!("not a minisign signature: {e}"))?;
    minisign::verify(key, &signature, Cursor::new(data), true, false, false)
        .map_err(|e| e.to_string())?;
    signature.trusted_comment().map_err(|e| e.to_string())
}

/// Reads a public key box (`dbg.pub`, or `minisign -G`'s `minisign.pub`) from its text.
pub fn public_key_from_text(text: &str) -> Result<PublicKey, String> {
    PublicKey::from_box(minisign::PublicKeyBox::from_string(text).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())
}
