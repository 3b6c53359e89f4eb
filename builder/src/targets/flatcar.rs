//! Flatcar Container Linux: `kernelrelease` is the Flatcar version (e.g. 3374.2.3); the release's package
//! list names its kernel and gcc, and the kernel is built from kernel.org's sources with the node's
//! `.config`.

use std::sync::Mutex;

use super::vanilla::source_url;
use super::{GccVersion, Needs, Target, TargetError, Web};
use crate::kernelrelease::{Arch as CpuArch, KernelRelease};

pub struct Flatcar;

const CHANNELS: &[&str] = &["stable", "beta", "alpha"];

/// What a Flatcar release's package list says: (flatcar version, kernel version, gcc).
static INFO: Mutex<Option<(String, String, GccVersion)>> = Mutex::new(None);

/// The kernel and gcc versions in a release's `flatcar_production_image_packages.txt`.
fn parse_packages(list: &str) -> Option<(String, GccVersion)> {
    let version_of = |prefix: &str| {
        list.lines().find_map(|l| l.strip_prefix(prefix)).map(|v| {
            let v = v.split("::").next().unwrap_or(v);
            v.split('-').next().unwrap_or(v).to_owned()
        })
    };
    let kernel = version_of("sys-kernel/coreos-kernel-")?;
    let gcc = GccVersion::parse(&version_of("sys-devel/gcc-")?)?;
    Some((kernel, gcc))
}

impl Flatcar {
    fn info(&self, kr: &KernelRelease, web: &dyn Web) -> Result<(String, GccVersion), TargetError> {
        let fail = |reason: String| TargetError::NoUrls { target: "flatcar", reason };
        if !kr.extraversion.is_empty() || kr.major < 1500 {
            return Err(fail(format!("{kr} is not a Flatcar release version (like 3374.2.3)")));
        }
        let arch = match kr.arch {
            CpuArch::Amd64 => "amd64",
            CpuArch::Arm64 => "arm64",
        };
        let mut tried = Vec::new();
        for channel in CHANNELS {
            let url = format!(
                "https://{channel}.release.flatcar-linux.net/{arch}-usr/{}/flatcar_production_image_packages.txt",
                kr.fullversion
            );
            match web.get_text(&url) {
                Ok(list) => {
                    let found = parse_packages(&list)
                        .ok_or_else(|| fail(format!("{url} names no kernel or gcc")))?;
                    if let Ok(mut cache) = INFO.lock() {
                        *cache = Some((kr.fullversion.clone(), found.0.clone(), found.1));
                    }
                    return Ok(found);
                }
                Err(e) => tried.push(e),
            }
        }
        Err(fail(format!("no channel lists release {}: {}", kr.fullversion, tried.join("; "))))
    }
}

impl Target for Flatcar {
    fn name(&self) -> &'static str {
        "flatcar"
    }

    fn header_urls(&self, kr: &KernelRelease, web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let (kernel, _) = self.info(kr, web)?;
        let kernel = KernelRelease::parse(&kernel, kr.arch, "1").map_err(|e| TargetError::NoUrls {
            target: "flatcar",
            reason: e.to_string(),
        })?;
        Ok(vec![source_url(&kernel)])
    }

    fn single_package(&self) -> bool {
        true
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        "linux-*".into()
    }

    /// The gcc the release was built with, once its package list has been read.
    fn gcc_version(&self, kr: &KernelRelease) -> Option<GccVersion> {
        let cache = INFO.lock().ok()?;
        cache.as_ref().filter(|(v, _, _)| *v == kr.fullversion).map(|(_, _, gcc)| *gcc)
    }

    /// Flatcar kernels say `<kernel>-flatcar`.
    fn uname_release(&self, kr: &KernelRelease) -> Option<String> {
        let cache = INFO.lock().ok()?;
        cache.as_ref().filter(|(v, _, _)| *v == kr.fullversion).map(|(_, k, _)| format!("{k}-flatcar"))
    }

    fn prepare_script(&self) -> Option<&'static str> {
        Some(include_str!("flatcar_prepare.sh.hbs"))
    }

    fn needs(&self) -> Needs {
        Needs { kernel_config: true, ..Needs::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::kr;

    struct Packages;
    impl Web for Packages {
        fn get_text(&self, url: &str) -> Result<String, String> {
            if url == "https://stable.release.flatcar-linux.net/amd64-usr/3374.2.3/flatcar_production_image_packages.txt" {
                Ok("sys-apps/acl-2.3.1-r1::portage-stable\nsys-devel/gcc-10.3.0-r1::portage-stable\n\
                    sys-kernel/coreos-kernel-5.15.86::coreos-overlay\n"
                    .into())
            } else {
                Err(format!("{url}: HTTP 404"))
            }
        }
    }

    #[test]
    fn the_package_list_names_kernel_and_gcc() {
        let release = kr("3374.2.3", "1");
        let urls = Flatcar.header_urls(&release, &Packages).expect("found");
        assert_eq!(urls, ["https://cdn.kernel.org/pub/linux/kernel/v5.x/linux-5.15.86.tar.xz"]);
        assert_eq!(Flatcar.gcc_version(&release), Some(GccVersion(10, 3, 0)));
        assert_eq!(Flatcar.uname_release(&release).as_deref(), Some("5.15.86-flatcar"));
        let err = Flatcar.header_urls(&kr("5.15.86-flatcar", "1"), &Packages).expect_err("not a version");
        assert!(err.to_string().contains("not a Flatcar release version"), "{err}");
    }
}
