//! Oracle Linux: `kernel-devel` (RHCK) and `kernel-uek-devel` (UEK R3 to R7), the OL version from the
//! release's `elN` or `elNuek` part.

use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct OracleLinux;

const UEKS: &[&str] = &["R3", "R4", "R5", "R6", "R7"];

impl Target for OracleLinux {
    fn name(&self) -> &'static str {
        "ol"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        // `-2047.510.5.5.el7uek.x86_64`: the part before the architecture names the OL version.
        let parts: Vec<&str> = kr.full_extraversion.split('.').collect();
        let tag = parts.len().checked_sub(2).map(|i| parts[i]).unwrap_or_default();
        let version = tag.trim_start_matches("el").trim_end_matches("uek");
        let version = version.split('_').next().unwrap_or_default();
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
            return Err(TargetError::NoUrls {
                target: "ol",
                reason: format!("{kr} has no elN part naming the Oracle Linux version"),
            });
        }
        let (arch, full) = (kr.arch.non_deb(), format!("{}{}", kr.fullversion, kr.full_extraversion));
        let base = format!("http://yum.oracle.com/repo/OracleLinux/OL{version}");
        let mut urls = vec![
            format!("{base}/latest/{arch}/getPackage/kernel-devel-{full}.rpm"),
            format!("{base}/baseos/latest/{arch}/getPackage/kernel-devel-{full}.rpm"),
            format!("{base}/appstream/{arch}/getPackage/kernel-devel-{full}.rpm"),
            format!("{base}/MODRHCK/{arch}/getPackage/kernel-devel-{full}.rpm"),
        ];
        urls.extend(UEKS.iter().map(|u| format!("{base}/UEK{u}/{arch}/getPackage/kernel-uek-devel-{full}.rpm")));
        Ok(urls)
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        super::rpm::KERNELDIR.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::urls;

    #[test]
    fn uek_and_rhck_kernels_are_both_searched() {
        let found = urls(&OracleLinux, "4.14.35-2047.510.5.5.el7uek.x86_64", "1");
        assert_eq!(
            found[0],
            "http://yum.oracle.com/repo/OracleLinux/OL7/latest/x86_64/getPackage/kernel-devel-4.14.35-2047.510.5.5.el7uek.x86_64.rpm"
        );
        assert_eq!(
            found[5],
            "http://yum.oracle.com/repo/OracleLinux/OL7/UEKR4/x86_64/getPackage/kernel-uek-devel-4.14.35-2047.510.5.5.el7uek.x86_64.rpm"
        );
        let el8 = urls(&OracleLinux, "4.18.0-372.9.1.el8.x86_64", "1");
        assert!(el8[1].starts_with("http://yum.oracle.com/repo/OracleLinux/OL8/baseos/latest/"));
    }
}
