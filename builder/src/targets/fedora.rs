//! Fedora: `kernel-devel` from updates, releases, development and the updates archive, the Fedora
//! version taken from the release's `fcNN` part.

use super::rpm::{devel_rpm, KERNELDIR};
use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct Fedora;

impl Target for Fedora {
    fn name(&self) -> &'static str {
        "fedora"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let version = kr
            .full_extraversion
            .split('.')
            .find(|p| p.starts_with("fc"))
            .map(|p| p.trim_start_matches("fc"))
            .ok_or_else(|| TargetError::NoUrls {
                target: "fedora",
                reason: format!("{kr} has no fcNN part naming the Fedora version"),
            })?;
        let (arch, rpm) = (kr.arch.non_deb(), devel_rpm(kr));
        Ok(vec![
            format!("https://mirrors.kernel.org/fedora/updates/{version}/Everything/{arch}/Packages/k/{rpm}"),
            format!("https://mirrors.kernel.org/fedora/releases/{version}/Everything/{arch}/os/Packages/k/{rpm}"),
            format!("https://mirrors.kernel.org/fedora/development/{version}/Everything/{arch}/os/Packages/k/{rpm}"),
            format!("https://fedoraproject-updates-archive.fedoraproject.org/fedora/{version}/{arch}/{rpm}"),
        ])
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        KERNELDIR.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::{kr, urls, Offline};

    #[test]
    fn the_fedora_version_comes_from_the_release() {
        let found = urls(&Fedora, "5.19.16-200.fc36.x86_64", "1");
        assert_eq!(
            found[0],
            "https://mirrors.kernel.org/fedora/updates/36/Everything/x86_64/Packages/k/kernel-devel-5.19.16-200.fc36.x86_64.rpm"
        );
        assert_eq!(
            found[3],
            "https://fedoraproject-updates-archive.fedoraproject.org/fedora/36/x86_64/kernel-devel-5.19.16-200.fc36.x86_64.rpm"
        );
        assert!(Fedora.header_urls(&kr("5.19.16-200", "1"), &Offline).is_err());
    }
}
