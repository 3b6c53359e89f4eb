//! Rocky Linux: `kernel-devel` from the current releases, then the vault.

use super::rpm::{devel_rpm, KERNELDIR};
use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct Rocky;

const RELEASES: &[&str] = &["8", "8.7", "9", "9.1"];
const VAULT: &[&str] = &["8.3", "8.4", "8.5", "8.6", "9.1"];

impl Target for Rocky {
    fn name(&self) -> &'static str {
        "rocky"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let (arch, rpm) = (kr.arch.non_deb(), devel_rpm(kr));
        let url = |tree: &str, r: &str| {
            let repo = if r >= "9" { "AppStream" } else { "BaseOS" };
            format!("https://download.rockylinux.org/{tree}/rocky/{r}/{repo}/{arch}/os/Packages/k/{rpm}")
        };
        let mut urls: Vec<String> = RELEASES.iter().map(|r| url("pub", r)).collect();
        urls.extend(VAULT.iter().map(|r| url("vault", r)));
        Ok(urls)
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
    use crate::targets::testing::urls;

    #[test]
    fn current_releases_come_before_the_vault() {
        let found = urls(&Rocky, "4.18.0-372.9.1.el8.x86_64", "1");
        assert_eq!(found.len(), 9);
        assert_eq!(
            found[0],
            "https://download.rockylinux.org/pub/rocky/8/BaseOS/x86_64/os/Packages/k/kernel-devel-4.18.0-372.9.1.el8.x86_64.rpm"
        );
        assert_eq!(
            found[8],
            "https://download.rockylinux.org/vault/rocky/9.1/AppStream/x86_64/os/Packages/k/kernel-devel-4.18.0-372.9.1.el8.x86_64.rpm"
        );
    }
}
