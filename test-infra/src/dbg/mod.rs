//! `dbg`: dbg-go's job (build configs for every kernel of the kernel-crawler list, built with the
//! builder, published for Falco's loaders), with what dbg-go lacks: parallel builds with shared header
//! downloads, logs of every failure, a boot test of every artifact, checksums and a signed index.
//!
//! The layout is dbg-go's: `<repo-root>/driverkit/config/<driverversion>/<arch>/<target>_<kernelrelease>_<kernelversion>.yaml`,
//! outputs under `<repo-root>/driverkit/output/<driverversion>/<arch>/<drv>_<target>_<kernelrelease>_<kernelversion>.{ko,o}`.

pub mod build;
pub mod configs;
pub mod test;

use std::path::{Path, PathBuf};

use builder::kernelrelease::Arch;
use regex::Regex;

/// The distributions configs are made for (dbg-go's list), by driverkit target name.
pub const SUPPORTED_DISTROS: &[&str] = &[
    "almalinux",
    "amazonlinux",
    "amazonlinux2",
    "amazonlinux2022",
    "amazonlinux2023",
    "bottlerocket",
    "centos",
    "debian",
    "fedora",
    "minikube",
    "photon",
    "talos",
    "ubuntu",
];

#[derive(Debug, thiserror::Error)]
pub enum DbgError {
    #[error("--{flag} `{pattern}` is not a regular expression: {detail}")]
    BadRegex { flag: &'static str, pattern: String, detail: String },
    #[error("no driver versions: {0} has no folders; pass --driver-version or run `dbg configs generate` first")]
    NoDriverVersions(PathBuf),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("{path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error("kernel list {source_name}: {detail}")]
    KernelList { source_name: String, detail: String },
    #[error("{0}")]
    Usage(String),
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DbgError {
    let context = context.into();
    move |source| DbgError::Io { context, source }
}

/// Which configs a command works on: dbg-go's `--target-*` regexes (unanchored, like Go's
/// `regexp.MatchString`; empty matches everything).
#[derive(Debug, Clone, Default)]
pub struct TargetFilter {
    pub distro: Option<Regex>,
    pub kernelrelease: Option<Regex>,
    pub kernelversion: Option<Regex>,
}

impl TargetFilter {
    pub fn new(distro: &str, kernelrelease: &str, kernelversion: &str) -> Result<TargetFilter, DbgError> {
        let compile = |flag: &'static str, pattern: &str| -> Result<Option<Regex>, DbgError> {
            if pattern.is_empty() {
                return Ok(None);
            }
            Regex::new(pattern).map(Some).map_err(|e| DbgError::BadRegex {
                flag,
                pattern: pattern.to_owned(),
                detail: e.to_string(),
            })
        };
        Ok(TargetFilter {
            distro: compile("target-distro", distro)?,
            kernelrelease: compile("target-kernelrelease", kernelrelease)?,
            kernelversion: compile("target-kernelversion", kernelversion)?,
        })
    }

    /// A distro of the kernel list is worked on when it matches and is supported.
    pub fn distro_matches(&self, distro: &str) -> bool {
        self.distro.as_ref().is_none_or(|r| r.is_match(distro)) && SUPPORTED_DISTROS.contains(&base_distro(distro))
    }

    pub fn matches(&self, target: &str, kernelrelease: &str, kernelversion: &str) -> bool {
        let ok = |r: &Option<Regex>, s: &str| r.as_ref().is_none_or(|r| r.is_match(s));
        ok(&self.distro, target) && ok(&self.kernelrelease, kernelrelease) && ok(&self.kernelversion, kernelversion)
    }
}

/// `ubuntu-aws` is the `ubuntu` distro.
fn base_distro(target: &str) -> &str {
    if target.starts_with("ubuntu") {
        "ubuntu"
    } else {
        target
    }
}

/// What every `dbg` command is given.
#[derive(Debug, Clone)]
pub struct Options {
    pub repo_root: PathBuf,
    pub arch: Arch,
    pub driver_versions: Vec<String>,
    pub driver_name: String,
    pub filter: TargetFilter,
    pub dry_run: bool,
}

impl Options {
    /// The driver versions given, else every folder under `driverkit/config/` (dbg-go's default).
    pub fn resolve_driver_versions(mut self) -> Result<Options, DbgError> {
        if !self.driver_versions.is_empty() {
            return Ok(self);
        }
        let dir = self.repo_root.join("driverkit/config");
        let mut found = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.path().is_dir() {
                    found.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        if found.is_empty() {
            return Err(DbgError::NoDriverVersions(dir));
        }
        self.driver_versions = found;
        Ok(self)
    }

    /// The artifacts these options pick (no driver version given: every one).
    pub fn selection(&self) -> crate::artifacts::Selection {
        crate::artifacts::Selection {
            driver_name: self.driver_name.clone(),
            driver_versions: self.driver_versions.clone(),
            arches: self.arch.non_deb().parse().into_iter().collect(),
            target: self.filter.distro.clone(),
            kernelrelease: self.filter.kernelrelease.clone(),
            kernelversion: self.filter.kernelversion.clone(),
        }
    }

    /// `<repo-root>/driverkit/config/<driverversion>/<arch>`.
    pub fn config_dir(&self, driver_version: &str) -> PathBuf {
        self.repo_root.join("driverkit/config").join(driver_version).join(self.arch.non_deb())
    }

    /// `<repo-root>/driverkit/output/<driverversion>/<arch>`.
    pub fn output_dir(&self, driver_version: &str) -> PathBuf {
        self.repo_root.join("driverkit/output").join(driver_version).join(self.arch.non_deb())
    }

    /// Where `configs build` keeps one log per failed build.
    pub fn log_dir(&self, driver_version: &str) -> PathBuf {
        self.repo_root.join("driverkit/logs").join(driver_version).join(self.arch.non_deb())
    }

    /// The config files of every driver version that pass the filter, sorted, with their version.
    pub fn configs(&self) -> Result<Vec<(String, PathBuf)>, DbgError> {
        let mut all = Vec::new();
        for version in &self.driver_versions {
            let dir = self.config_dir(version);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .filter(|p| {
                    let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                    configs::split_name(&name).is_some_and(|(t, r, v)| self.filter.matches(t, r, v))
                })
                .collect();
            files.sort();
            all.extend(files.into_iter().map(|f| (version.clone(), f)));
        }
        Ok(all)
    }
}

/// The series and flavour a Debian kernel-crawler release belongs to (`6.12.95-1~bpo12+1-cloud-amd64`
/// is `6.12 bookworm-backports`, `cloud-amd64`); other distributions by target and kernel version.
pub fn series_and_flavour(target: &str, kernelrelease: &str) -> (String, String) {
    let mut numbers = kernelrelease.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty());
    let major_minor = format!("{}.{}", numbers.next().unwrap_or("0"), numbers.next().unwrap_or("0"));
    if target != "debian" {
        return (format!("{target} {major_minor}"), String::new());
    }
    let flavour = ["rt-", "cloud-", ""]
        .iter()
        .find_map(|f| {
            ["amd64", "arm64"]
                .iter()
                .find(|arch| kernelrelease.ends_with(&format!("-{f}{arch}")))
                .map(|arch| format!("{f}{arch}"))
        })
        .unwrap_or_default();
    let suite = if kernelrelease.contains("~exp") {
        "experimental".to_owned()
    } else if kernelrelease.contains("~bpo") {
        let n = kernelrelease.split("~bpo").nth(1).and_then(|s| s.get(..2)).unwrap_or("");
        format!("{}-backports", codename(n))
    } else if let Some(n) = kernelrelease.split("~deb").nth(1).and_then(|s| s.get(..2)) {
        // A newer series carried to a stable release by its security or point updates (6.12 on bookworm).
        format!("{}-security", codename(n))
    } else {
        match major_minor.as_str() {
            "4.19" => "buster",
            "5.10" => "bullseye",
            "6.1" => "bookworm",
            "6.12" => "trixie",
            _ => "forky/sid",
        }
        .to_owned()
    };
    (format!("{major_minor} {suite}"), flavour)
}

fn codename(release: &str) -> &'static str {
    match release {
        "10" => "buster",
        "11" => "bullseye",
        "12" => "bookworm",
        "13" => "trixie",
        "14" => "forky",
        _ => "debian",
    }
}

/// Writes `data` to `path` through a temporary file in the same directory (made first).
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), DbgError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    crate::artifacts::write_atomic(path, data, 0o644).map_err(io_err(format!("writing {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_releases_fall_into_their_series_and_flavour() {
        let s = |r| series_and_flavour("debian", r);
        assert_eq!(s("5.10.237-1-amd64"), ("5.10 bullseye".into(), "amd64".into()));
        assert_eq!(s("6.1.170-3-rt-amd64"), ("6.1 bookworm".into(), "rt-amd64".into()));
        assert_eq!(s("6.12.95-1~bpo12+1-cloud-amd64"), ("6.12 bookworm-backports".into(), "cloud-amd64".into()));
        assert_eq!(s("6.12.117-1~deb12u1-amd64"), ("6.12 bookworm-security".into(), "amd64".into()));
        assert_eq!(s("6.12.117-1-amd64"), ("6.12 trixie".into(), "amd64".into()));
        assert_eq!(s("7.2.13-1-cloud-amd64"), ("7.2 forky/sid".into(), "cloud-amd64".into()));
        assert_eq!(s("7.2.11-1~bpo13+1-amd64"), ("7.2 trixie-backports".into(), "amd64".into()));
        assert_eq!(s("6.1.172-1~deb11u1-amd64"), ("6.1 bullseye-security".into(), "amd64".into()));
        assert_eq!(s("7.3~rc7-1~exp1-rt-amd64"), ("7.3 experimental".into(), "rt-amd64".into()));
        assert_eq!(series_and_flavour("ubuntu-aws", "5.15.0-1001-aws").0, "ubuntu-aws 5.15");
    }

    #[test]
    fn filters_are_unanchored_regexes_like_dbg_go() {
        let f = TargetFilter::new("deb", r"^6\.1\.", "").expect("regexes");
        assert!(f.matches("debian", "6.1.170-3-amd64", "1"));
        assert!(!f.matches("debian", "6.12.95-1~bpo12+1-amd64", "1"));
        assert!(!f.matches("ubuntu-aws", "6.1.0-1001-aws", "2"));
        assert!(f.distro_matches("debian"));
        let any = TargetFilter::default();
        assert!(any.distro_matches("ubuntu-aws"));
        assert!(!any.distro_matches("arch"), "arch is not a distro dbg makes configs for");
        let err = TargetFilter::new("(", "", "").expect_err("bad regex");
        assert!(err.to_string().contains("--target-distro"), "{err}");
    }
}
