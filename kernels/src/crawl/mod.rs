//! The crawlers: one file per distribution, each turning a distribution's archives into list entries.
//!
//! A crawl reads many sources (suites, repositories); one failing is reported in [`Crawl::errors`]
//! with the source's name and the others go on, so a flaky mirror costs one suite, not the list.

use std::fmt;
use std::str::FromStr;

use crate::fetch::{Fetch, FetchError};
use crate::list::{BootImage, Entry};

pub mod centos;
pub mod debian;
pub mod ubuntu;

/// An architecture drivers are built for, spelled `x86_64`/`aarch64` in paths (and in JSON), Debian's
/// way (`amd64`/`arm64`) in configs and on command lines; both spellings parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Arch {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "aarch64")]
    Aarch64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The spelling in list paths and rpm names: `x86_64`, `aarch64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// Debian's spelling: `amd64`, `arm64`.
    pub fn deb(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Arch, String> {
        match s {
            "x86_64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            _ => Err(format!("unknown architecture {s:?}: use x86_64 or aarch64")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{url}: checksum mismatch: the Release file says {expected}, the download has {actual} (a mirror in the middle of a sync, or a broken proxy; try again)")]
    Checksum { url: String, expected: String, actual: String },
    #[error("{url}: cannot decompress: {reason}")]
    Decompress { url: String, reason: String },
    #[error("{url}: cannot parse: {reason}")]
    Parse { url: String, reason: String },
    #[error("{url} lists no {wanted}")]
    MissingIndex { url: String, wanted: String },
}

/// One source (a suite, a repository) that could not be read.
#[derive(Debug)]
pub struct SourceError {
    /// The source as a user would name it: `bookworm-security`, `8/BaseOS`.
    pub source: String,
    pub error: CrawlError,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.error)
    }
}

/// What one progress callback receives: a source was read (or skipped, or failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Read { source: String, packages: usize },
    Absent { source: String },
    Failed { source: String },
}

/// The result of crawling one distribution for one architecture.
#[derive(Debug, Default)]
pub struct Crawl {
    pub entries: Vec<Entry>,
    /// Boot images by kernelrelease, for distributions whose kernels the VM tests can boot.
    pub images: Vec<(String, BootImage)>,
    pub errors: Vec<SourceError>,
    /// Sources that were read successfully (absent ones do not count).
    pub sources_read: usize,
    /// What the check that every listed URL is served found (`None` when it did not run).
    pub url_check: Option<UrlCheck>,
}

/// A URL the index lists but the mirror does not serve (404/410), and the kernel it belonged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unserved {
    pub kernelrelease: String,
    pub url: String,
}

/// A boot image taken from a later candidate because the preferred package is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    pub kernelrelease: String,
    /// The package that is not served, and its URL.
    pub missing: String,
    pub missing_url: String,
    /// The package used instead.
    pub used: String,
}

/// The outcome of asking the mirror (HEAD) for every URL of every entry and boot image: indexes of a
/// partial mirror list pool files it does not carry, and an entry whose headers cannot be downloaded
/// is worse than no entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlCheck {
    /// Distinct URLs asked about.
    pub asked: usize,
    /// Entries left out: the first header package of each that is not served.
    pub entries_dropped: Vec<Unserved>,
    /// Boot images replaced by the next candidate.
    pub fallbacks: Vec<Fallback>,
    /// Boot image lines left out: no candidate is served (the last URL tried).
    pub images_dropped: Vec<Unserved>,
    /// Entries and images left out because a URL could not be checked (timeout, 5xx after retries);
    /// each is also in [`Crawl::errors`].
    pub unchecked: usize,
}

/// A distribution's crawler.
pub trait Distro {
    /// The list key and the entries' `target` (`debian`, `centos`; Ubuntu's entries carry their flavour).
    fn target(&self) -> &str;
    fn crawl(&self, web: &dyn Fetch, arch: Arch, progress: &mut dyn FnMut(Progress)) -> Crawl;
}
