//! Red Hat Enterprise Linux: its `kernel-devel` comes from a subscription, which driverkit reaches from a
//! subscribed builder image with the network on. Builds here have no network in the container, so the
//! package is given instead: download it on a subscribed host and pass it with `kernelurls`
//! (`file:///path/kernel-devel-....rpm` works).

use super::{Needs, Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct RedHat;

impl Target for RedHat {
    fn name(&self) -> &'static str {
        "redhat"
    }

    fn header_urls(&self, kr: &KernelRelease, _web: &dyn Web) -> Result<Vec<String>, TargetError> {
        Err(TargetError::NoUrls {
            target: "redhat",
            reason: format!(
                "kernel-devel-{kr} comes from a Red Hat subscription: download it on a subscribed host \
                 (`yum download kernel-devel-{kr}`) and pass it with `kernelurls: [file:///path/kernel-devel-{kr}.rpm]`"
            ),
        })
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        super::rpm::KERNELDIR.into()
    }

    fn needs(&self) -> Needs {
        Needs { builder_image: true, ..Needs::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::{kr, Offline};

    #[test]
    fn redhat_says_how_to_provide_the_package() {
        let err = RedHat.header_urls(&kr("4.18.0-305.el8.x86_64", "1"), &Offline).expect_err("subscription");
        let err = err.to_string();
        assert!(err.contains("kernelurls") && err.contains("kernel-devel-4.18.0-305.el8.x86_64"), "{err}");
    }
}
