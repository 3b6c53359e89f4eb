//! openSUSE: `kernel-default-devel` (the flavour's tree) and the noarch `kernel-devel` (the sources it
//! refers to), searched in Leap, Tumbleweed and the Kernel: repositories.

use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct OpenSuse;

const BASES: &[&str] = &[
    "https://mirrors.edge.kernel.org/opensuse/distribution",
    "http://download.opensuse.org/distribution",
    "https://download.opensuse.org/repositories/Kernel:",
    "http://download.opensuse.org",
];
const RELEASES: &[&str] = &["43.2", "15.0", "15.1", "15.2", "15.3", "15.4", "15.5", "15.6", "HEAD", "stable", "tumbleweed"];

impl Target for OpenSuse {
    fn name(&self) -> &'static str {
        "opensuse"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let arch = kr.arch.non_deb();
        let default = format!("kernel-default-devel-{}{}.rpm", kr.fullversion, kr.full_extraversion);
        let noarch = format!("kernel-devel-{}{}.rpm", kr.fullversion, kr.full_extraversion).replace(arch, "noarch");
        let mut urls = Vec::new();
        for release in RELEASES {
            for base in BASES {
                urls.extend([
                    format!("{base}/leap/{release}/repo/oss/{arch}/{default}"),
                    format!("{base}/leap/{release}/repo/oss/noarch/{noarch}"),
                    format!("{base}/{release}/repo/oss/{arch}/{default}"),
                    format!("{base}/{release}/repo/oss/noarch/{noarch}"),
                    format!("{base}/openSUSE-{release}/Submit/standard/{arch}/{default}"),
                    format!("{base}/openSUSE-{release}/standard/{arch}/{default}"),
                    format!("{base}/openSUSE-{release}:/Submit/standard/{arch}/{default}"),
                    format!("{base}/openSUSE-{release}:/standard/{arch}/{default}"),
                    format!("{base}/{release}/Submit/standard/{arch}/{default}"),
                    format!("{base}/{release}/standard/{arch}/{default}"),
                    format!("{base}/{release}/Submit/standard/noarch/{noarch}"),
                    format!("{base}/{release}/standard/noarch/{noarch}"),
                ]);
            }
        }
        Ok(urls)
    }

    /// `kernel-default-devel` and `kernel-devel`.
    fn minimum_urls(&self) -> usize {
        2
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        "usr/src/linux-*-obj/*/default".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::urls;

    #[test]
    fn both_packages_are_searched_in_leap() {
        let found = urls(&OpenSuse, "5.14.21-150400.24.11-default", "1");
        for want in [
            "https://mirrors.edge.kernel.org/opensuse/distribution/leap/15.4/repo/oss/x86_64/kernel-default-devel-5.14.21-150400.24.11-default.rpm",
            "https://mirrors.edge.kernel.org/opensuse/distribution/leap/15.4/repo/oss/noarch/kernel-devel-5.14.21-150400.24.11-default.rpm",
        ] {
            assert!(found.contains(&want.to_owned()), "{want}");
        }
        assert_eq!(OpenSuse.minimum_urls(), 2);
    }
}
