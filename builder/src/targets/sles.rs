//! SUSE Linux Enterprise Server: `kernel-default-devel` and `kernel-devel` come from a SUSE subscription
//! (driverkit runs zypper in a registered image with the host's network). Builds here have no network in
//! the container: download the two packages on a registered host and pass them with `kernelurls`.

use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct Sles;

impl Target for Sles {
    fn name(&self) -> &'static str {
        "sles"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        Err(TargetError::NoUrls {
            target: "sles",
            reason: format!(
                "kernel-default-devel and kernel-devel {kr} come from a SUSE subscription: download them on a \
                 registered host (`zypper download kernel-default-devel={kr} kernel-devel={kr}`) and pass both \
                 with `kernelurls` (file:// URLs work)"
            ),
        })
    }

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
    use crate::targets::testing::{kr, Offline};

    #[test]
    fn sles_says_how_to_provide_the_packages() {
        let err = Sles.header_urls(&kr("5.14.21-150500.55.19-default", "1"), &Offline).expect_err("subscription");
        assert!(err.to_string().contains("zypper download"), "{err}");
    }
}
