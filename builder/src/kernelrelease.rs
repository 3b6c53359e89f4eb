//! Kernel releases as driverkit reads them: `6.1.0-47-amd64` is version 6.1.0 with the extraversion `47`
//! and the full extraversion `-47-amd64`; the sublevel may be missing (`6.1.arch1-1`).

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// Architectures a driver is built for, in Debian's spelling (`amd64`) with the kernel's beside it (`x86_64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    /// Accepts both spellings: `amd64`/`x86_64`, `arm64`/`aarch64`.
    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "amd64" | "x86_64" => Some(Arch::Amd64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    pub fn host() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else {
            Arch::Amd64
        }
    }

    /// `amd64` / `arm64`.
    pub fn deb(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// `x86_64` / `aarch64`: rpm names, image tags and the prebuilt repository's layout use this one.
    pub fn non_deb(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }

    /// The oldest kernel the module builds for on this architecture.
    pub fn module_minimum(self) -> (u64, u64, u64) {
        match self {
            Arch::Amd64 => (2, 6, 0),
            Arch::Arm64 => (3, 16, 0),
        }
    }

    /// The oldest kernel the eBPF probe builds for on this architecture.
    pub fn probe_minimum(self) -> (u64, u64, u64) {
        match self {
            Arch::Amd64 => (4, 14, 0),
            Arch::Arm64 => (4, 17, 0),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.deb())
    }
}

/// A parsed kernel release plus what the config adds to it (architecture, `kernelversion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRelease {
    /// `6.1.0` of `6.1.0-47-amd64` (as written: `6.1` stays `6.1`).
    pub fullversion: String,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// `47-amd64` of `6.1.0-47-amd64`, `957` of `3.10.0-957.12.2.el7.x86_64`.
    pub extraversion: String,
    /// `-47-amd64` of `6.1.0-47-amd64`.
    pub full_extraversion: String,
    pub arch: Arch,
    /// The number after `#` in `uname -v` (Ubuntu, Flatcar and others put it in package names).
    pub kernel_version: String,
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a kernel release: expected something like 6.1.0-47-amd64 (what `uname -r` prints)")]
pub struct BadRelease(pub String);

static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?P<fullversion>(?P<version>0|[1-9]\d*)\.(?P<patchlevel>0|[1-9]\d*)[.+]?(?P<sublevel>0|[1-9]\d*)?)",
        r"(?P<fullextraversion>[-.+](?P<extraversion>\d+|\d*[a-zA-Z-][0-9a-zA-Z-]*)?([.+~](\d+|\d*[a-zA-Z-][0-9a-zA-Z-_]*))*)?",
        r"(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$"
    ))
    .expect("the kernel release pattern compiles")
});

impl KernelRelease {
    pub fn parse(release: &str, arch: Arch, kernel_version: &str) -> Result<KernelRelease, BadRelease> {
        let caps = PATTERN
            .captures(release)
            .ok_or_else(|| BadRelease(release.to_owned()))?;
        let text = |name: &str| caps.name(name).map_or("", |m| m.as_str()).to_owned();
        let number = |name: &str| -> Result<u64, BadRelease> {
            match caps.name(name) {
                Some(m) if !m.as_str().is_empty() => m
                    .as_str()
                    .parse()
                    .map_err(|_| BadRelease(release.to_owned())),
                _ => Ok(0),
            }
        };
        Ok(KernelRelease {
            fullversion: text("fullversion"),
            major: number("version")?,
            minor: number("patchlevel")?,
            patch: number("sublevel")?,
            extraversion: text("extraversion"),
            full_extraversion: text("fullextraversion"),
            arch,
            kernel_version: kernel_version.to_owned(),
        })
    }

    pub fn version(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }

    pub fn supports_module(&self) -> bool {
        self.version() >= self.arch.module_minimum()
    }

    pub fn supports_probe(&self) -> bool {
        self.version() >= self.arch.probe_minimum()
    }
}

impl fmt::Display for KernelRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.fullversion, self.full_extraversion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kr(s: &str) -> KernelRelease {
        KernelRelease::parse(s, Arch::Amd64, "1").expect(s)
    }

    #[test]
    fn debian_releases_split_like_driverkit() {
        let k = kr("6.1.0-47-amd64");
        assert_eq!(k.version(), (6, 1, 0));
        assert_eq!(k.fullversion, "6.1.0");
        assert_eq!(k.extraversion, "47-amd64");
        assert_eq!(k.full_extraversion, "-47-amd64");
        let k = kr("6.12.117+deb12-amd64");
        assert_eq!(k.version(), (6, 12, 117));
        assert_eq!(k.extraversion, "deb12-amd64");
        assert_eq!(k.full_extraversion, "+deb12-amd64");
        assert_eq!(k.to_string(), "6.12.117+deb12-amd64");
    }

    #[test]
    fn other_distributions_parse() {
        let k = kr("5.15.0-1019-aws");
        assert_eq!((k.version(), k.extraversion.as_str()), ((5, 15, 0), "1019-aws"));
        let k = kr("4.18.0-372.9.1.el8.x86_64");
        assert_eq!((k.version(), k.extraversion.as_str()), ((4, 18, 0), "372"));
        assert_eq!(k.full_extraversion, "-372.9.1.el8.x86_64");
        let k = kr("6.1.arch1-1");
        assert_eq!((k.version(), k.extraversion.as_str()), ((6, 1, 0), "arch1-1"));
        let k = kr("5.10.96-90.460.amzn2.x86_64");
        assert_eq!(k.version(), (5, 10, 96));
        let k = kr("5.4.0-rc1");
        assert_eq!(k.extraversion, "rc1");
    }

    #[test]
    fn minimums_follow_the_architecture() {
        assert!(kr("4.14.0-1-amd64").supports_probe());
        assert!(!kr("4.13.0-1-amd64").supports_probe());
        assert!(kr("2.6.32-1").supports_module());
        let arm = KernelRelease::parse("3.10.0-1", Arch::Arm64, "1").expect("parses");
        assert!(!arm.supports_module());
    }

    #[test]
    fn garbage_is_refused_with_an_example() {
        let err = KernelRelease::parse("latest", Arch::Amd64, "1").expect_err("not a release");
        assert!(err.to_string().contains("6.1.0-47-amd64"), "{err}");
    }
}
