//! What the rpm-based targets share: `kernel-devel` packages named from the release, unpacked under
//! `usr/src/kernels/<release>`.

use crate::kernelrelease::KernelRelease;

/// `kernel-devel-<version><extraversion>.rpm`, e.g. `kernel-devel-4.18.0-372.9.1.el8.x86_64.rpm`.
pub fn devel_rpm(kr: &KernelRelease) -> String {
    format!("kernel-devel-{}{}.rpm", kr.fullversion, kr.full_extraversion)
}

/// Where `kernel-devel` puts the tree: `usr/src/kernels/<release>`.
pub const KERNELDIR: &str = "usr/src/kernels/*";
