//! CentOS: `kernel-devel` from the edge mirror, the stream repositories and the vault.

use super::rpm::{devel_rpm, KERNELDIR};
use super::{GccVersion, Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct CentOs;

const EDGE: &[&str] = &["6/os", "6/updates", "7/os", "7/updates"];
const STREAM: &[&str] = &["8/BaseOS", "8-stream/BaseOS"];
const VAULT: &[&str] = &[
    "6.0/os", "6.0/updates", "6.1/os", "6.1/updates", "6.2/os", "6.2/updates", "6.3/os", "6.3/updates",
    "6.4/os", "6.4/updates", "6.5/os", "6.5/updates", "6.6/os", "6.6/updates", "6.7/os", "6.7/updates",
    "6.8/os", "6.8/updates", "6.9/os", "6.9/updates", "6.10/os", "6.10/updates", "7.0.1406/os",
    "7.0.1406/updates", "7.1.1503/os", "7.1.1503/updates", "7.2.1511/os", "7.2.1511/updates", "7.3.1611/os",
    "7.3.1611/updates", "7.4.1708/os", "7.4.1708/updates", "7.5.1804/os", "7.5.1804/updates", "7.6.1810/os",
    "7.6.1810/updates", "7.7.1908/os", "7.7.1908/updates", "7.8.2003/os", "7.8.2003/updates", "7.9.2009/os",
    "7.9.2009/updates", "8.0.1905/os", "8.0.1905/updates", "8.1.1911/os", "8.1.1911/updates",
];
const VAULT8: &[&str] = &[
    "8.0.1905/BaseOS", "8.1.1911/BaseOS", "8.2.2004/BaseOS", "8.3.2011/BaseOS", "8.4.2105/BaseOS", "8.5.2111/BaseOS",
];
const STREAM9: &[&str] = &["9-stream/AppStream", "9-stream/BaseOS"];

impl Target for CentOs {
    fn name(&self) -> &'static str {
        "centos"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let (arch, rpm) = (kr.arch.non_deb(), devel_rpm(kr));
        let mut urls = Vec::new();
        urls.extend(EDGE.iter().map(|r| format!("https://mirrors.edge.kernel.org/centos/{r}/{arch}/Packages/{rpm}")));
        urls.extend(STREAM.iter().map(|r| format!("https://mirrors.edge.kernel.org/centos/{r}/{arch}/os/Packages/{rpm}")));
        urls.extend(VAULT.iter().map(|r| format!("http://vault.centos.org/{r}/{arch}/Packages/{rpm}")));
        urls.extend(VAULT8.iter().map(|r| format!("http://vault.centos.org/{r}/{arch}/os/Packages/{rpm}")));
        urls.extend(STREAM9.iter().map(|r| format!("http://mirror.stream.centos.org/{r}/{arch}/os/Packages/{rpm}")));
        Ok(urls)
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        KERNELDIR.into()
    }

    fn gcc_version(&self, kr: &KernelRelease) -> Option<GccVersion> {
        match (kr.major, kr.minor) {
            (4, m) if m >= 18 => Some(GccVersion(9, 0, 0)),
            (3, 10) => Some(GccVersion(4, 8, 5)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::{kr, urls};

    #[test]
    fn centos_7_and_8_kernels_have_their_mirrors() {
        let found = urls(&CentOs, "3.10.0-1160.el7.x86_64", "1");
        assert_eq!(
            found[2],
            "https://mirrors.edge.kernel.org/centos/7/os/x86_64/Packages/kernel-devel-3.10.0-1160.el7.x86_64.rpm"
        );
        assert!(found.contains(
            &"http://vault.centos.org/7.9.2009/updates/x86_64/Packages/kernel-devel-3.10.0-1160.el7.x86_64.rpm".to_owned()
        ));
        assert_eq!(found.len(), 4 + 2 + 46 + 6 + 2);
        assert_eq!(CentOs.gcc_version(&kr("3.10.0-1160.el7.x86_64", "1")), Some(GccVersion(4, 8, 5)));
        assert_eq!(CentOs.gcc_version(&kr("4.18.0-348.el8.x86_64", "1")), Some(GccVersion(9, 0, 0)));
    }
}
