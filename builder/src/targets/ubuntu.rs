//! Ubuntu: `linux-headers-<release>` and its common package (`linux-headers-<ver>-<abi>` or
//! `linux-<flavour>-headers-...`), in the pool directory of the kernel's source package; package versions
//! include `kernelversion`, the number after `#` in `uname -v`.

use regex::Regex;

use super::{Needs, Target, TargetError, Web};
use crate::kernelrelease::{Arch as CpuArch, KernelRelease};

pub struct Ubuntu;

/// `1019-aws` → (`1019`, `aws`); `25` → (`25`, `generic`).
pub fn abi_and_flavour(extraversion: &str) -> (String, String) {
    match extraversion.split_once('-') {
        Some((abi, rest)) => {
            let flavour = Regex::new(r"^([a-z-]+[a-z])-*\d?.*$")
                .ok()
                .and_then(|re| re.captures(rest).map(|c| c[1].to_owned()))
                .unwrap_or_else(|| rest.to_owned());
            (abi.to_owned(), flavour)
        }
        None => (extraversion.to_owned(), "generic".to_owned()),
    }
}

impl Target for Ubuntu {
    fn name(&self) -> &'static str {
        "ubuntu"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let (abi, flavour) = abi_and_flavour(&kr.extraversion);
        let (full, extra, kv, arch) = (&kr.fullversion, &kr.full_extraversion, &kr.kernel_version, kr.arch.deb());
        let bases: &[&str] = match kr.arch {
            CpuArch::Amd64 => &["https://mirrors.edge.kernel.org/ubuntu/pool/main/l", "http://security.ubuntu.com/ubuntu/pool/main/l"],
            CpuArch::Arm64 => &["http://ports.ubuntu.com/ubuntu-ports/pool/main/l"],
        };
        let dirs = [
            "linux".to_owned(),
            format!("linux-{flavour}"),
            format!("linux-{flavour}-{}.{}", kr.major, kr.minor),
        ];
        let mut packages = vec![
            format!("linux-headers-{full}{extra}_{full}-{abi}.{kv}_{arch}_all.deb"),
            format!("linux-headers-{full}-{abi}-{flavour}_{full}-{abi}.{kv}_{arch}.deb"),
            format!("linux-{flavour}-headers-{full}-{abi}_{full}-{abi}.{kv}_all.deb"),
            format!("linux-headers-{full}{extra}_{full}-{abi}.{kv}_{arch}.deb"),
        ];
        if flavour == "generic" {
            packages.push(format!("linux-headers-{full}-{abi}_{full}-{abi}.{kv}_all.deb"));
        }
        let mut urls = Vec::new();
        for base in bases {
            for dir in &dirs {
                for package in &packages {
                    let url = format!("{base}/{dir}/{package}");
                    if !urls.contains(&url) {
                        urls.push(url);
                    }
                }
            }
        }
        Ok(urls)
    }

    /// The flavour's headers and the common headers.
    fn minimum_urls(&self) -> usize {
        2
    }

    fn kerneldir(&self, kr: &KernelRelease) -> String {
        let (_, flavour) = abi_and_flavour(&kr.extraversion);
        if flavour == "hwe" || flavour == "lts" {
            "usr/src/linux-headers*generic".into()
        } else {
            format!("usr/src/linux-headers*{}*", flavour.split('-').next().unwrap_or(&flavour))
        }
    }

    fn needs(&self) -> Needs {
        Needs { kernel_version: true, ..Needs::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::{kr, urls};

    #[test]
    fn flavours_split_like_driverkit() {
        assert_eq!(abi_and_flavour("1019-aws"), ("1019".into(), "aws".into()));
        assert_eq!(abi_and_flavour("25"), ("25".into(), "generic".into()));
        assert_eq!(abi_and_flavour("1009-azure-fde"), ("1009".into(), "azure-fde".into()));
    }

    #[test]
    fn aws_headers_are_found_in_their_source_package() {
        // The packages of driverkit's own ubuntu-aws example config.
        let found = urls(&Ubuntu, "4.15.0-1057-aws", "59");
        for want in [
            "https://mirrors.edge.kernel.org/ubuntu/pool/main/l/linux-aws/linux-aws-headers-4.15.0-1057_4.15.0-1057.59_all.deb",
            "https://mirrors.edge.kernel.org/ubuntu/pool/main/l/linux-aws/linux-headers-4.15.0-1057-aws_4.15.0-1057.59_amd64.deb",
        ] {
            assert!(found.contains(&want.to_owned()), "{want} in {found:#?}");
        }
        assert_eq!(Ubuntu.kerneldir(&kr("4.15.0-1057-aws", "59")), "usr/src/linux-headers*aws*");
        assert_eq!(Ubuntu.minimum_urls(), 2);
    }

    #[test]
    fn generic_kernels_also_try_the_all_package() {
        let found = urls(&Ubuntu, "5.15.0-25-generic", "25");
        assert!(found.contains(
            &"https://mirrors.edge.kernel.org/ubuntu/pool/main/l/linux/linux-headers-5.15.0-25_5.15.0-25.25_all.deb".to_owned()
        ));
        assert!(found.contains(
            &"http://security.ubuntu.com/ubuntu/pool/main/l/linux/linux-headers-5.15.0-25-generic_5.15.0-25.25_amd64.deb".to_owned()
        ));
    }
}
