//! Build targets: one small file per distribution, each implementing [`Target`].
//!
//! A target knows where its kernel headers are published (URL candidates from the kernel release and
//! `kernelversion`), how many packages make up a usable header tree, which directory of the unpacked
//! packages is `KERNELDIR`, and, rarely, a gcc or a preparation step of its own. Adding a distribution
//! means adding a file here and one line to [`ALL`].

use crate::kernelrelease::KernelRelease;

mod alinux;
mod rpm;
mod almalinux;
mod amazonlinux;
mod arch;
mod bottlerocket;
mod centos;
mod debian;
mod fedora;
mod flatcar;
mod minikube;
mod opensuse;
mod oracle;
mod photon;
mod redhat;
mod rocky;
mod sles;
mod talos;
mod ubuntu;
mod vanilla;

/// Every target, by the name users write in `target:` (`ubuntu-*` names resolve to `ubuntu`).
pub static ALL: &[&dyn Target] = &[
    &alinux::Alinux,
    &almalinux::AlmaLinux,
    &amazonlinux::AmazonLinux::V1,
    &amazonlinux::AmazonLinux::V2,
    &amazonlinux::AmazonLinux::V2022,
    &amazonlinux::AmazonLinux::V2023,
    &arch::Arch,
    &bottlerocket::BOTTLEROCKET,
    &centos::CentOs,
    &debian::Debian,
    &fedora::Fedora,
    &flatcar::Flatcar,
    &minikube::MINIKUBE,
    &opensuse::OpenSuse,
    &oracle::OracleLinux,
    &photon::Photon,
    &redhat::RedHat,
    &rocky::Rocky,
    &sles::Sles,
    &talos::TALOS,
    &ubuntu::Ubuntu,
    &vanilla::Vanilla,
];

/// Reads a web page (a package pool's directory listing). Targets whose package names cannot be derived
/// from the release alone (Debian's kbuild, Flatcar's build id) look them up through this.
pub trait Web {
    fn get_text(&self, url: &str) -> Result<String, String>;

    /// A binary resource (a compressed package list).
    fn get_bytes(&self, url: &str) -> Result<Vec<u8>, String> {
        self.get_text(url).map(String::into_bytes)
    }
}

/// What a target asks of the config beyond the common keys.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// `kernelconfigdata`: targets built from kernel sources need the running kernel's `.config`.
    pub kernel_config: bool,
    /// `kernelversion`: part of the target's package names.
    pub kernel_version: bool,
    /// `builderimage`: headers come from a subscription the default images cannot reach.
    pub builder_image: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("no builder found for target `{0}`: known targets are {known}", known = names().join(", "))]
    Unknown(String),
    #[error("target {target}: {reason}")]
    NoUrls { target: &'static str, reason: String },
}

pub trait Target: Sync {
    /// The name in configs: `debian`, `amazonlinux2`, `ol`.
    fn name(&self) -> &'static str;

    /// Candidate header package URLs for this release, best first. The builder keeps the ones that
    /// answer; see [`Target::minimum_urls`].
    fn header_urls(&self, kr: &KernelRelease, web: &dyn Web) -> Result<Vec<String>, TargetError>;

    /// How many of the candidates must exist for a complete header tree (Debian: headers, common, kbuild).
    fn minimum_urls(&self) -> usize {
        1
    }

    /// One package holds the whole tree: the first candidate that exists is used (mirrors of the same
    /// file), rather than every one.
    fn single_package(&self) -> bool {
        false
    }

    /// What `uname -r` says on a machine running this kernel, when it is not the configured release
    /// (Flatcar's releases are distribution versions). The module's vermagic is checked against it.
    fn uname_release(&self, _kr: &KernelRelease) -> Option<String> {
        None
    }

    /// Where `KERNELDIR` is inside the unpacked packages: a path relative to their root whose components
    /// may use `*` (the first match in name order is used).
    fn kerneldir(&self, kr: &KernelRelease) -> String;

    /// A gcc version this target prefers for the release; `None` uses driverkit's default by kernel series.
    fn gcc_version(&self, _kr: &KernelRelease) -> Option<GccVersion> {
        None
    }

    /// Fixes up the unpacked header tree on the host, once, before any build uses it (Debian's Makefile
    /// names its common tree by an absolute path).
    fn fix_tree(&self, _kerneldir: &std::path::Path) -> std::io::Result<()> {
        Ok(())
    }

    /// A handlebars snippet run inside the build container after the headers are in place, with
    /// `KERNELDIR` exported; sources-only targets configure and prepare the tree here.
    fn prepare_script(&self) -> Option<&'static str> {
        None
    }

    fn needs(&self) -> Needs {
        Needs::default()
    }
}

/// Resolves a configured target name. `ubuntu-aws`, `ubuntu-generic` and the like are all `ubuntu`.
pub fn find(name: &str) -> Result<&'static dyn Target, TargetError> {
    let lookup = if name.starts_with("ubuntu") { "ubuntu" } else { name };
    ALL.iter()
        .copied()
        .find(|t| t.name() == lookup)
        .ok_or_else(|| TargetError::Unknown(name.to_owned()))
}

pub fn names() -> Vec<&'static str> {
    let mut names: Vec<_> = ALL.iter().map(|t| t.name()).collect();
    names.sort_unstable();
    names
}

/// A gcc version as builder images name them: `12.0.0`, `4.8.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GccVersion(pub u64, pub u64, pub u64);

impl GccVersion {
    /// Tolerant like driverkit: `12`, `12.2`, `12.2.0` and `v12` all parse.
    pub fn parse(s: &str) -> Option<GccVersion> {
        let s = s.trim().trim_start_matches('v');
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        if parts.next().is_some() {
            return None;
        }
        Some(GccVersion(major, minor, patch))
    }

    /// driverkit's choice when the target has no preference.
    pub fn default_for(kr: &KernelRelease) -> GccVersion {
        let major = match (kr.major, kr.minor) {
            (6, m) if m >= 9 => 14,
            (6, m) if m >= 5 => 13,
            (6, _) => 12,
            (5, m) if m >= 15 => 12,
            (5, _) => 11,
            (4, _) => 8,
            (3, m) if m >= 18 => 5,
            (3, _) => return GccVersion(4, 9, 0),
            (2, _) => return GccVersion(4, 8, 0),
            _ => 14,
        };
        GccVersion(major, 0, 0)
    }
}

impl std::fmt::Display for GccVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::kernelrelease::Arch;

    /// No web at all: for targets whose URLs follow from the release alone.
    pub struct Offline;
    impl Web for Offline {
        fn get_text(&self, url: &str) -> Result<String, String> {
            Err(format!("offline test asked for {url}"))
        }
    }

    pub fn kr(release: &str, kernel_version: &str) -> KernelRelease {
        KernelRelease::parse(release, Arch::Amd64, kernel_version).expect(release)
    }

    pub fn urls(target: &dyn Target, release: &str, kernel_version: &str) -> Vec<String> {
        target
            .header_urls(&kr(release, kernel_version), &Offline)
            .expect("urls")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_driverkit_target_is_known_once() {
        let expected = [
            "alinux", "almalinux", "amazonlinux", "amazonlinux2", "amazonlinux2022", "amazonlinux2023",
            "arch", "bottlerocket", "centos", "debian", "fedora", "flatcar", "minikube", "ol", "opensuse",
            "photon", "redhat", "rocky", "sles", "talos", "ubuntu", "vanilla",
        ];
        assert_eq!(names(), expected);
        assert_eq!(find("ubuntu-aws").expect("ubuntu flavours").name(), "ubuntu");
        let err = find("windows").expect_err("unknown").to_string();
        assert!(err.contains("`windows`") && err.contains("debian, fedora"), "{err}");
    }

    #[test]
    fn gcc_follows_driverkit_by_kernel_series() {
        let gcc = |r| GccVersion::default_for(&testing::kr(r, "1")).to_string();
        assert_eq!(gcc("6.1.0-47-amd64"), "12.0.0");
        assert_eq!(gcc("6.12.117+deb12-amd64"), "14.0.0");
        assert_eq!(gcc("6.6.0-1"), "13.0.0");
        assert_eq!(gcc("5.15.0-1019-aws"), "12.0.0");
        assert_eq!(gcc("5.10.0-10-amd64"), "11.0.0");
        assert_eq!(gcc("4.19.0-6-amd64"), "8.0.0");
        assert_eq!(gcc("3.10.0-957.el7.x86_64"), "4.9.0");
        assert_eq!(GccVersion::parse("12"), Some(GccVersion(12, 0, 0)));
        assert_eq!(GccVersion::parse("4.8.5"), Some(GccVersion(4, 8, 5)));
        assert_eq!(GccVersion::parse("twelve"), None);
    }
}
