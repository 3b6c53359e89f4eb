//! Arch Linux: `linux-headers` (or the lts, zen or hardened flavour's) from the Arch archive, xz or zst.

use super::{Target, TargetError, Web};
use crate::kernelrelease::{Arch as CpuArch, KernelRelease};

pub struct Arch;

impl Target for Arch {
    fn name(&self) -> &'static str {
        "arch"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        // Packages write `6.1.1.arch1` where the kernel says `6.1.1-arch1`, and drop a `.0` sublevel.
        let extra = kr.full_extraversion.replacen("-arch", ".arch", 1);
        let version = if kr.patch == 0 {
            kr.fullversion.strip_suffix(".0").unwrap_or(&kr.fullversion).to_owned()
        } else {
            kr.fullversion.clone()
        };
        let arch = kr.arch.non_deb();
        let package = match kr.arch {
            CpuArch::Arm64 => return Ok(["xz", "zst"]
                .iter()
                .map(|z| format!(
                    "https://alaa.ad24.cz/packages/l/linux-aarch64-headers//linux-aarch64-headers-{version}{extra}-{}-{arch}.pkg.tar.{z}",
                    kr.kernel_version
                ))
                .collect()),
            CpuArch::Amd64 if extra.contains("arch") => "linux-headers",
            CpuArch::Amd64 if extra.contains("hardened") || extra.contains(".a-1") => "linux-hardened-headers",
            CpuArch::Amd64 if extra.contains("zen") => "linux-zen-headers",
            CpuArch::Amd64 => "linux-lts-headers",
        };
        Ok(["xz", "zst"]
            .iter()
            .map(|z| {
                format!(
                    "https://archive.archlinux.org/packages/l/{package}/{package}-{version}{extra}-{}-{arch}.pkg.tar.{z}",
                    kr.kernel_version
                )
            })
            .collect())
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        "usr/lib/modules/*/build".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::urls;

    #[test]
    fn stable_and_lts_kernels_have_their_packages() {
        assert_eq!(
            urls(&Arch, "6.0.6-arch1-1", "1"),
            [
                "https://archive.archlinux.org/packages/l/linux-headers/linux-headers-6.0.6.arch1-1-1-x86_64.pkg.tar.xz",
                "https://archive.archlinux.org/packages/l/linux-headers/linux-headers-6.0.6.arch1-1-1-x86_64.pkg.tar.zst",
            ]
        );
        assert_eq!(
            urls(&Arch, "5.15.74-1-lts", "1")[1],
            "https://archive.archlinux.org/packages/l/linux-lts-headers/linux-lts-headers-5.15.74-1-lts-1-x86_64.pkg.tar.zst"
        );
        assert!(urls(&Arch, "6.0.2-zen1-1-zen", "1")[0].contains("/linux-zen-headers/"));
    }
}
