//! Alibaba Cloud Linux: `kernel-devel` from its releases 2, 2.1903 and 3.

use super::rpm::{devel_rpm, KERNELDIR};
use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct Alinux;

const RELEASES: &[&str] = &["2", "2.1903", "3"];

impl Target for Alinux {
    fn name(&self) -> &'static str {
        "alinux"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let (arch, rpm) = (kr.arch.non_deb(), devel_rpm(kr));
        Ok(RELEASES
            .iter()
            .map(|r| format!("http://mirrors.aliyun.com/alinux/{r}/os/{arch}/Packages/{rpm}"))
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
    fn each_release_is_tried() {
        let found = urls(&Alinux, "4.19.91-26.al7.x86_64", "1");
        assert_eq!(
            found[1],
            "http://mirrors.aliyun.com/alinux/2.1903/os/x86_64/Packages/kernel-devel-4.19.91-26.al7.x86_64.rpm"
        );
        assert_eq!(found.len(), 3);
    }
}
