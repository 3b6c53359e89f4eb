//! Vanilla kernels, built from kernel.org's sources with the running kernel's `.config`
//! (`kernelconfigdata`); minikube, Bottlerocket and Talos are built the same way.

use super::{GccVersion, Needs, Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

/// The source tarball: kernel.org's release tarball, or a git snapshot for release candidates.
pub fn source_url(kr: &KernelRelease) -> String {
    if kr.extraversion.contains("rc") {
        format!(
            "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/snapshot/linux-{}{}.tar.gz",
            kr.fullversion, kr.full_extraversion
        )
    } else {
        format!("https://cdn.kernel.org/pub/linux/kernel/v{}.x/linux-{}.tar.xz", kr.major, kr.fullversion)
    }
}

pub const PREPARE: &str = include_str!("vanilla_prepare.sh.hbs");

/// A target built from kernel.org's sources, under its own name and gcc preference.
pub struct FromSources {
    pub name: &'static str,
    pub gcc: fn(&KernelRelease) -> Option<GccVersion>,
}

pub struct Vanilla;

impl Target for Vanilla {
    fn name(&self) -> &'static str {
        "vanilla"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        Ok(vec![source_url(kr)])
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        "linux-*".into()
    }

    fn prepare_script(&self) -> Option<&'static str> {
        Some(PREPARE)
    }

    fn needs(&self) -> Needs {
        Needs { kernel_config: true, ..Needs::default() }
    }
}

impl Target for FromSources {
    fn name(&self) -> &'static str {
        self.name
    }

    fn header_urls(&self, kr: &KernelRelease, web: &dyn Web) -> Result<Vec<String>, TargetError> {
        Vanilla.header_urls(kr, web)
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, kr: &KernelRelease) -> String {
        Vanilla.kerneldir(kr)
    }

    fn gcc_version(&self, kr: &KernelRelease) -> Option<GccVersion> {
        (self.gcc)(kr)
    }

    fn prepare_script(&self) -> Option<&'static str> {
        Some(PREPARE)
    }

    fn needs(&self) -> Needs {
        // driverkit asks minikube for the config too; Bottlerocket and Talos fall back to defconfig.
        Needs { kernel_config: self.name == "minikube", ..Needs::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::urls;

    #[test]
    fn releases_and_release_candidates_have_their_tarballs() {
        assert_eq!(urls(&Vanilla, "5.15.0", "1"), ["https://cdn.kernel.org/pub/linux/kernel/v5.x/linux-5.15.0.tar.xz"]);
        assert_eq!(
            urls(&Vanilla, "6.1.0-rc3", "1"),
            ["https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/snapshot/linux-6.1.0-rc3.tar.gz"]
        );
        assert!(Vanilla.needs().kernel_config);
        assert!(PREPARE.contains("modules_prepare"));
    }
}
