//! AlmaLinux: `kernel-devel` from BaseOS (8) or AppStream (9).

use super::rpm::{devel_rpm, KERNELDIR};
use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct AlmaLinux;

const RELEASES: &[&str] = &["8", "8.6", "9", "9.0"];

impl Target for AlmaLinux {
    fn name(&self) -> &'static str {
        "almalinux"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let (arch, rpm) = (kr.arch.non_deb(), devel_rpm(kr));
        Ok(RELEASES
            .iter()
            .map(|r| {
                let repo = if *r >= "9" { "AppStream" } else { "BaseOS" };
                format!("https://repo.almalinux.org/almalinux/{r}/{repo}/{arch}/os/Packages/{rpm}")
            })
            .collect())
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
    fn releases_8_and_9_use_their_repositories() {
        let found = urls(&AlmaLinux, "5.14.0-70.13.1.el9_0.x86_64", "1");
        assert_eq!(
            found,
            [
                "https://repo.almalinux.org/almalinux/8/BaseOS/x86_64/os/Packages/kernel-devel-5.14.0-70.13.1.el9_0.x86_64.rpm",
                "https://repo.almalinux.org/almalinux/8.6/BaseOS/x86_64/os/Packages/kernel-devel-5.14.0-70.13.1.el9_0.x86_64.rpm",
                "https://repo.almalinux.org/almalinux/9/AppStream/x86_64/os/Packages/kernel-devel-5.14.0-70.13.1.el9_0.x86_64.rpm",
                "https://repo.almalinux.org/almalinux/9.0/AppStream/x86_64/os/Packages/kernel-devel-5.14.0-70.13.1.el9_0.x86_64.rpm",
            ]
        );
    }
}
