//! Artifact names and where they live in a repository.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Arch;

/// dbg-go's default `--driver-name`, and falcoctl's default `--name`.
pub const DEFAULT_DRIVER_NAME: &str = "falco";

/// A kernel module (`.ko`) or an eBPF probe (`.o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Module,
    Probe,
}

impl Kind {
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Module => "ko",
            Kind::Probe => "o",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Module => "module",
            Kind::Probe => "probe",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parts of an artifact's file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArtifactName {
    pub driver_name: String,
    pub target: String,
    pub kernelrelease: String,
    pub kernelversion: String,
    pub kind: Kind,
}

impl ArtifactName {
    /// Reads `<driver_name>_<target>_<kernelrelease>_<kernelversion>.{ko,o}`. Targets contain no `_`,
    /// and neither do kernel releases; kernel versions may (bottlerocket's `1_1.15.1-abcd`), so the
    /// kernel version is everything after the kernel release. `None` when the name is not an artifact of
    /// this driver.
    pub fn parse(file_name: &str, driver_name: &str) -> Option<ArtifactName> {
        let (stem, kind) = if let Some(stem) = file_name.strip_suffix(".ko") {
            (stem, Kind::Module)
        } else if let Some(stem) = file_name.strip_suffix(".o") {
            (stem, Kind::Probe)
        } else {
            return None;
        };
        if driver_name.is_empty() || file_name.contains('/') {
            return None;
        }
        let rest = stem.strip_prefix(driver_name)?.strip_prefix('_')?;
        let (target, rest) = rest.split_once('_')?;
        let (kernelrelease, kernelversion) = rest.split_once('_')?;
        if target.is_empty() || kernelrelease.is_empty() || kernelversion.is_empty() {
            return None;
        }
        Some(ArtifactName {
            driver_name: driver_name.to_owned(),
            target: target.to_owned(),
            kernelrelease: kernelrelease.to_owned(),
            kernelversion: kernelversion.to_owned(),
            kind,
        })
    }

    pub fn file_name(&self) -> String {
        format!(
            "{}_{}_{}_{}.{}",
            self.driver_name,
            self.target,
            self.kernelrelease,
            self.kernelversion,
            self.kind.extension()
        )
    }
}

/// Where an artifact lives inside a repository, `/`-separated, the version escaped as on disk and in
/// the loaders' URLs: `8.0.0%2Bdriver/x86_64/<file>`.
pub fn repository_path(driver_version: &str, arch: Arch, name: &ArtifactName) -> String {
    format!(
        "{}/{}/{}",
        escape_driver_version(driver_version),
        arch,
        name.file_name()
    )
}

/// What Falco's loaders put in URLs and the repository on disk: every byte but `A-Z a-z 0-9 - _ . ~`
/// as `%XX` (`+` is `%2B`), as Go's `url.QueryEscape` does for the strings driver versions are made of.
pub fn escape_driver_version(version: &str) -> String {
    percent_encode(version, |b| {
        b.is_ascii_alphanumeric() || b"-_.~".contains(&b)
    })
}

/// The inverse of [`escape_driver_version`]; `None` for a name that is not a valid escape.
pub fn unescape_driver_version(escaped: &str) -> Option<String> {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = escaped.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes every byte `keep` rejects, in uppercase hex.
pub fn percent_encode(text: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (file, target, release, version, kind) in [
            (
                "falco_debian_6.1.170-3-amd64_1.ko",
                "debian",
                "6.1.170-3-amd64",
                "1",
                Kind::Module,
            ),
            (
                "falco_debian_6.12.95-1~bpo12+1-cloud-amd64_1.o",
                "debian",
                "6.12.95-1~bpo12+1-cloud-amd64",
                "1",
                Kind::Probe,
            ),
            (
                "falco_ubuntu-aws_5.15.0-1001-aws_2.ko",
                "ubuntu-aws",
                "5.15.0-1001-aws",
                "2",
                Kind::Module,
            ),
            (
                "falco_bottlerocket_5.10.165_1_1.13.1-aws.ko",
                "bottlerocket",
                "5.10.165",
                "1_1.13.1-aws",
                Kind::Module,
            ),
        ] {
            let name = ArtifactName::parse(file, "falco").unwrap_or_else(|| panic!("{file}"));
            assert_eq!(
                (
                    name.target.as_str(),
                    name.kernelrelease.as_str(),
                    name.kernelversion.as_str(),
                    name.kind
                ),
                (target, release, version, kind)
            );
            assert_eq!(name.file_name(), file);
        }
    }

    #[test]
    fn names_that_are_not_artifacts() {
        for file in [
            "falco_debian_6.1.170-3-amd64_1.ko.sha256",
            "falco_debian_6.1.170-3-amd64_1.ko.test.json",
            "falco_debian_6.1.170-3-amd64.ko",
            "falco__6.1_1.ko",
            "falco_debian_6.1_.ko",
            "scap_debian_6.1.170-3-amd64_1.ko",
            "falcon_debian_6.1.170-3-amd64_1.ko",
            "falco_debian_6.1.170-3-amd64_1.tar",
        ] {
            assert_eq!(ArtifactName::parse(file, "falco"), None, "{file}");
        }
        assert!(ArtifactName::parse("scap_debian_6.1.170-3-amd64_1.ko", "scap").is_some());
    }

    #[test]
    fn driver_versions_escape_like_the_loaders() {
        assert_eq!(escape_driver_version("7.0.0+driver"), "7.0.0%2Bdriver");
        assert_eq!(escape_driver_version("0.1.0-12+g1a2b"), "0.1.0-12%2Bg1a2b");
        assert_eq!(escape_driver_version("a/b c"), "a%2Fb%20c");
        assert_eq!(
            unescape_driver_version("7.0.0%2Bdriver").as_deref(),
            Some("7.0.0+driver")
        );
        assert_eq!(
            unescape_driver_version("7.0.0%2bdriver").as_deref(),
            Some("7.0.0+driver")
        );
        assert_eq!(unescape_driver_version("7.0.0%2"), None);
        assert_eq!(unescape_driver_version("7.0.0%zz"), None);
    }
}
