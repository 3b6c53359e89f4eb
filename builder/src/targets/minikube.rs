//! minikube's kernel, built from kernel.org's sources with its `.config`; gcc by kernel series.

use super::vanilla::FromSources;
use super::GccVersion;
use crate::kernelrelease::KernelRelease;

fn gcc(kr: &KernelRelease) -> Option<GccVersion> {
    Some(match kr.major {
        5 => GccVersion(10, 0, 0),
        4 => GccVersion(8, 0, 0),
        _ => GccVersion(12, 0, 0),
    })
}

pub static MINIKUBE: FromSources = FromSources { name: "minikube", gcc };

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::{kr, urls};
    use crate::targets::Target;

    #[test]
    fn minikube_builds_from_sources_with_its_gcc() {
        assert_eq!(urls(&MINIKUBE, "5.10.57", "1"), ["https://cdn.kernel.org/pub/linux/kernel/v5.x/linux-5.10.57.tar.xz"]);
        assert_eq!(MINIKUBE.gcc_version(&kr("5.10.57", "1")), Some(GccVersion(10, 0, 0)));
        assert!(MINIKUBE.needs().kernel_config);
    }
}
