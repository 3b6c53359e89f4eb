//! VMware Photon OS: `linux-devel` from the release, release and updates repositories of 3.0 to 5.0.

use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct Photon;

const RELEASES: &[&str] = &["3.0", "4.0", "5.0"];

impl Target for Photon {
    fn name(&self) -> &'static str {
        "photon"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let arch = kr.arch.non_deb();
        let rpm = format!("linux-devel-{}{}.x86_64.rpm", kr.fullversion, kr.full_extraversion);
        let mut urls = Vec::new();
        for r in RELEASES {
            for repo in [format!("photon_{r}"), format!("photon_release_{r}"), format!("photon_updates_{r}")] {
                urls.push(format!("https://packages.vmware.com/photon/{r}/{repo}_{arch}/{arch}/{rpm}"));
            }
        }
        Ok(urls)
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        "usr/src/linux-*headers-*".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::urls;

    #[test]
    fn three_repositories_per_release() {
        let found = urls(&Photon, "4.19.225-3.ph3", "1");
        assert_eq!(found.len(), 9);
        assert_eq!(
            found[0],
            "https://packages.vmware.com/photon/3.0/photon_3.0_x86_64/x86_64/linux-devel-4.19.225-3.ph3.x86_64.rpm"
        );
        assert_eq!(
            found[8],
            "https://packages.vmware.com/photon/5.0/photon_updates_5.0_x86_64/x86_64/linux-devel-4.19.225-3.ph3.x86_64.rpm"
        );
    }
}
