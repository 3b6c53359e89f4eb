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
        // `~` opens the extraversion of Debian's release candidates (`7.3~rc7-1~exp1-amd64`).
        r"(?P<fullextraversion>[-.+~](?P<extraversion>\d+|\d*[a-zA-Z-][0-9a-zA-Z-]*)?([.+~](\d+|\d*[a-zA-Z-][0-9a-zA-Z-_]*))*)?",
        r"(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$"
    ))
    .expect("the kernel release pattern compiles")
});

impl KernelRelease {
    pub fn parse(
        release: &str,
        arch: Arch,
        kernel_version: &str,
    ) -> Result<KernelRelease, BadRelease> {
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

/// A Debian kernel name, in either of its forms: the ABI form `uname -r` prints (`6.1.0-47-amd64`,
/// `6.12.95+deb12-cloud-amd64`) or kernel-crawler's package-version form (`6.1.170-3-amd64`,
/// `6.12.95-1~bpo12+1-cloud-amd64`, `7.2.13-1-amd64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianName {
    pub version: (u64, u64, u64),
    /// The version as written: `6.1.170`, `7.3` (a release candidate has no patch level).
    pub version_text: String,
    /// `-47` or `+deb12` (ABI form; none for experimental's `7.3-amd64`), `-3`, `-1~bpo12+1` or
    /// `~rc7-1~exp1` (package-version form).
    pub middle: String,
    /// `amd64`, `cloud-amd64`, `rt-arm64`.
    pub flavour: String,
}

static DEBIAN_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^((\d+)\.(\d+)(?:\.(\d+))?)(\+deb\d+(?:\.\d+)?|~rc[^-]*-[^-]+|-\d[^-]*)?-([0-9a-z]+(?:-[0-9a-z]+)*)$")
        .expect("the Debian name pattern compiles")
});

impl DebianName {
    pub fn parse(release: &str) -> Option<DebianName> {
        let caps = DEBIAN_NAME.captures(release)?;
        let number = |i: usize| caps.get(i).map_or(Some(0), |m| m.as_str().parse().ok());
        Some(DebianName {
            version: (number(2)?, number(3)?, number(4)?),
            version_text: caps[1].to_owned(),
            middle: caps.get(5).map_or("", |m| m.as_str()).to_owned(),
            flavour: caps[6].to_owned(),
        })
    }

    /// kernel-crawler's form: a Debian package revision after a real patch level (the ABI form's
    /// old style has patch level 0, its new style `+debNN`).
    pub fn is_package_version(&self) -> bool {
        (self.middle.starts_with('-') && self.version.2 != 0) || self.middle.starts_with("~rc")
    }

    /// The package version of a package-version name: `6.12.95-1~bpo12+1`.
    pub fn package_version(&self) -> String {
        format!("{}{}", self.version_text, self.middle)
    }
}

/// Whether `configured`, a Debian kernel named in kernel-crawler's package-version form, is the
/// kernel whose headers say they are `headers_release` (their `include/config/kernel.release`): the
/// same series and flavour; the same patch level when the ABI name carries one (`+debNN`); and, when
/// `header_urls` name the headers package (`linux-headers-<headers_release>_<version>_<arch>.deb`),
/// its version is exactly the configured one.
pub fn debian_names_same_kernel(
    configured: &str,
    headers_release: &str,
    header_urls: &[String],
) -> bool {
    let (Some(config), Some(headers)) = (
        DebianName::parse(configured),
        DebianName::parse(headers_release),
    ) else {
        return false;
    };
    if !config.is_package_version() || headers.is_package_version() {
        return false;
    }
    let (cv, hv) = (config.version, headers.version);
    let patch_agrees = if headers.middle.starts_with("+deb") {
        hv.2 == cv.2
    } else {
        hv.2 == 0
    };
    if (cv.0, cv.1) != (hv.0, hv.1) || config.flavour != headers.flavour || !patch_agrees {
        return false;
    }
    let prefix = format!("linux-headers-{headers_release}_");
    let named = header_urls.iter().find_map(|url| {
        let file = url
            .split(['#', '?'])
            .next()
            .unwrap_or(url)
            .rsplit('/')
            .next()
            .unwrap_or("");
        let file = file
            .replace("%2B", "+")
            .replace("%2b", "+")
            .replace("%7E", "~")
            .replace("%7e", "~");
        let rest = file.strip_prefix(&prefix)?;
        rest.split_once('_').map(|(version, _)| version.to_owned())
    });
    named.is_none_or(|version| version == config.package_version())
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
        assert_eq!(
            (k.version(), k.extraversion.as_str()),
            ((5, 15, 0), "1019-aws")
        );
        let k = kr("4.18.0-372.9.1.el8.x86_64");
        assert_eq!((k.version(), k.extraversion.as_str()), ((4, 18, 0), "372"));
        assert_eq!(k.full_extraversion, "-372.9.1.el8.x86_64");
        let k = kr("6.1.arch1-1");
        assert_eq!(
            (k.version(), k.extraversion.as_str()),
            ((6, 1, 0), "arch1-1")
        );
        let k = kr("5.10.96-90.460.amzn2.x86_64");
        assert_eq!(k.version(), (5, 10, 96));
        let k = kr("7.3~rc7-1~exp1-amd64");
        assert_eq!((k.version(), k.extraversion.as_str()), ((7, 3, 0), "rc7-1"));
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

    #[test]
    fn kernel_crawler_names_parse() {
        let k = kr("6.12.95-1~bpo12+1-cloud-amd64");
        assert_eq!(k.version(), (6, 12, 95));
        assert_eq!(k.full_extraversion, "-1~bpo12+1-cloud-amd64");
        assert_eq!(k.to_string(), "6.12.95-1~bpo12+1-cloud-amd64");
        assert_eq!(kr("7.2.13-1-amd64").version(), (7, 2, 13));
        assert_eq!(kr("6.1.170-3-rt-amd64").extraversion, "3-rt-amd64");
        let name = DebianName::parse("6.12.95-1~bpo12+1-cloud-amd64").expect("parses");
        assert_eq!(
            (name.middle.as_str(), name.flavour.as_str()),
            ("-1~bpo12+1", "cloud-amd64")
        );
        assert!(name.is_package_version());
        assert_eq!(name.package_version(), "6.12.95-1~bpo12+1");
        let abi = DebianName::parse("7.2.13+deb14-amd64").expect("parses");
        assert_eq!(
            (abi.version, abi.middle.as_str(), abi.flavour.as_str()),
            ((7, 2, 13), "+deb14", "amd64")
        );
        assert!(!abi.is_package_version());
        assert!(!DebianName::parse("6.1.0-47-amd64")
            .expect("parses")
            .is_package_version());
        // A second upload of the same ABI carries a `.N` (`6.12.115+deb13.1-amd64` for 6.12.115-2).
        assert!(debian_names_same_kernel(
            "6.12.115-2-cloud-amd64",
            "6.12.115+deb13.1-cloud-amd64",
            &["http://mirror.example/debian/pool/main/l/linux/linux-headers-6.12.115+deb13.1-cloud-amd64_6.12.115-2_amd64.deb".into()]
        ));
        // Experimental's release candidates: `7.3~rc7-1~exp1-amd64` is the package of ABI `7.3-amd64`.
        let rc = DebianName::parse("7.3~rc7-1~exp1-amd64").expect("parses");
        assert!(rc.is_package_version());
        assert_eq!(rc.package_version(), "7.3~rc7-1~exp1");
        let abi = DebianName::parse("7.3-amd64").expect("parses");
        assert_eq!((abi.middle.as_str(), abi.flavour.as_str()), ("", "amd64"));
        assert!(debian_names_same_kernel(
            "7.3~rc7-1~exp1-rt-amd64",
            "7.3-rt-amd64",
            &["http://mirror.example/debian/pool/main/l/linux/linux-headers-7.3-rt-amd64_7.3~rc7-1~exp1_amd64.deb".into()]
        ));
        assert!(!debian_names_same_kernel(
            "7.3~rc7-1~exp1-amd64",
            "7.3-rt-amd64",
            &[]
        ));
        assert_eq!(DebianName::parse("latest"), None);
    }

    #[test]
    fn crawler_names_match_the_headers_release_they_are_for() {
        let same = |c: &str, h: &str| debian_names_same_kernel(c, h, &[]);
        // The three forms kernel-crawler writes, against what their headers say.
        assert!(same("6.1.170-3-amd64", "6.1.0-47-amd64"));
        assert!(same(
            "6.12.95-1~bpo12+1-cloud-amd64",
            "6.12.95+deb12-cloud-amd64"
        ));
        assert!(same("7.2.13-1-amd64", "7.2.13+deb14-amd64"));
        assert!(same("6.1.170-3-rt-amd64", "6.1.0-47-rt-amd64"));
        // Another flavour, series or patch level is another kernel.
        assert!(!same(
            "6.12.95-1~bpo12+1-cloud-amd64",
            "6.12.95+deb12-amd64"
        ));
        assert!(!same("6.1.170-3-amd64", "6.1.0-47-cloud-amd64"));
        assert!(!same("6.12.95-1~bpo12+1-amd64", "6.12.117+deb12-amd64"));
        assert!(!same("6.1.170-3-amd64", "6.12.95+deb12-amd64"));
        // Names in ABI form are compared as they are, not as aliases.
        assert!(!same("6.1.0-99-amd64", "6.1.0-47-amd64"));
        assert!(!same("6.12.95+deb12-amd64", "6.12.95+deb12-amd64"));
        assert!(!same("garbage", "6.1.0-47-amd64"));
    }

    #[test]
    fn the_headers_package_version_must_be_the_configured_one() {
        let urls = |file: &str| {
            vec![
                format!("http://mirror.example/debian/pool/main/l/linux/{file}"),
                "http://mirror.example/debian/pool/main/l/linux/linux-kbuild-6.1_6.1.170-3_amd64.deb".to_owned(),
            ]
        };
        let ok = urls("linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb");
        assert!(debian_names_same_kernel(
            "6.1.170-3-amd64",
            "6.1.0-47-amd64",
            &ok
        ));
        let older = urls("linux-headers-6.1.0-47-amd64_6.1.168-1_amd64.deb");
        assert!(!debian_names_same_kernel(
            "6.1.170-3-amd64",
            "6.1.0-47-amd64",
            &older
        ));
        // URL-escaped `+` and `~`, and a pinned checksum after `#`.
        let bpo = urls(
            "linux-headers-6.12.95%2Bdeb12-cloud-amd64_6.12.95-1%7Ebpo12%2B1_amd64.deb#sha256=00",
        );
        assert!(debian_names_same_kernel(
            "6.12.95-1~bpo12+1-cloud-amd64",
            "6.12.95+deb12-cloud-amd64",
            &bpo
        ));
        assert!(!debian_names_same_kernel(
            "6.12.95-2~bpo12+1-cloud-amd64",
            "6.12.95+deb12-cloud-amd64",
            &bpo
        ));
    }
}
