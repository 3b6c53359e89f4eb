//! Which distribution a host runs (its target id, as the repository names drivers) and the kernel
//! release and version that distribution's drivers are published under, following falcoctl's rules
//! (`pkg/driver/distro`) and doing better than it for Debian's backports and security kernels.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use driver_index::kernelrelease::DebianName;
use regex::Regex;

use crate::kernel::Kernel;
use crate::{DriverType, Error};

/// What falcoctl calls a target it cannot determine: only a local build is tried.
pub const UNDETERMINED: &str = "undetermined";

/// The distribution, with what its fixups need from `os-release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distro {
    /// Any other `ID`: the kernel version is the number after `#` in `uname -v`.
    Generic,
    Ubuntu,
    Debian,
    Amazon,
    Bottlerocket {
        version_id: String,
        variant: String,
    },
    Talos {
        version_id: String,
    },
    Minikube {
        version: String,
    },
    Flatcar {
        version_id: String,
    },
    /// Container-Optimized OS: never the kmod.
    Cos {
        build_id: String,
    },
    /// Oracle Linux: never the kmod on UEK kernels.
    Oracle,
}

/// The target a host's drivers are published under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `debian`, `ubuntu-aws`, `amazonlinux2023`, `undetermined`, ...
    pub id: String,
    pub distro: Distro,
}

/// The kernel release and version a driver is named by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed {
    pub release: String,
    pub version: String,
}

/// `KEY=value` lines of an `os-release` file, quotes removed.
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.trim().to_owned(), value.replace("\\\"", "\"")))
        })
        .collect()
}

static MINIKUBE_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d+(\.\d+){2})").expect("the minikube version pattern compiles")
});
static UBUNTU_FLAVOUR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-([a-zA-Z]+)(-.*)?$").expect("the ubuntu flavour pattern compiles")
});
static GENERIC_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#(\d+).*").expect("the kernel version pattern compiles"));
static DEBIAN_ARCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-?(rt-|cloud-|)(amd64|arm64)").expect("the debian flavour pattern compiles")
});
/// The package version Debian writes into `uname -v` (`... Debian 6.12.95-1~bpo12+1 (2026-07-05)`).
static DEBIAN_PACKAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Debian (\d+\.\d+(?:\.\d+)?(?:~rc\d+)?-[0-9][0-9A-Za-z.+~]*)")
        .expect("the debian package version pattern compiles")
});
/// falcoctl's rule, for a `--kernelversion` given as a bare version (`5.10.178-3`).
static DEBIAN_BARE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d+\.\d+\.\d+-\d+").expect("the debian version pattern compiles")
});

/// `<host_root>/etc/VERSION` holding `x.y.z`: minikube.
fn minikube_version(host_root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(host_root.join("etc/VERSION")).ok()?;
    MINIKUBE_VERSION.captures(&text).map(|c| c[1].to_owned())
}

impl Target {
    /// The target of the host at `host_root` running `kernel`: `ID` of `<host_root>/etc/os-release`
    /// (minikube when `<host_root>/etc/VERSION` holds a version); without an os-release, the release
    /// files of minikube, Debian, CentOS and RHEL; else [`UNDETERMINED`].
    pub fn discover(host_root: &Path, kernel: &Kernel) -> Result<Target, Error> {
        let path = host_root.join("etc/os-release");
        let fields = std::fs::read_to_string(&path)
            .ok()
            .map(|t| parse_os_release(&t))
            .filter(|f| f.contains_key("ID"));
        let Some(fields) = fields else {
            let id = if let Some(version) = minikube_version(host_root) {
                return Ok(Target {
                    id: "minikube".into(),
                    distro: Distro::Minikube { version },
                });
            } else if host_root.join("etc/debian_version").is_file() {
                "debian"
            } else if host_root.join("etc/centos-release").is_file() {
                "centos"
            } else if host_root.join("etc/redhat-release").is_file() {
                "rhel"
            } else {
                UNDETERMINED
            };
            return Target::from_fields(id, &HashMap::new(), kernel, &path);
        };
        let id = fields["ID"].to_lowercase();
        if let Some(version) = minikube_version(host_root) {
            return Ok(Target {
                id: "minikube".into(),
                distro: Distro::Minikube { version },
            });
        }
        Target::from_fields(&id, &fields, kernel, &path)
    }

    /// The target of an `os-release` whose `ID` is `id`.
    pub fn from_fields(
        id: &str,
        fields: &HashMap<String, String>,
        kernel: &Kernel,
        path: &Path,
    ) -> Result<Target, Error> {
        let field = |key: &str| {
            fields.get(key).cloned().ok_or_else(|| Error::OsRelease {
                path: path.to_owned(),
                detail: format!("ID={id} but no {key}, which its driver names need"),
            })
        };
        let (id, distro) = match id {
            "ubuntu" => {
                let extra = kernel.parsed().full_extraversion;
                let flavour = UBUNTU_FLAVOUR
                    .captures(&extra)
                    .map_or("generic".to_owned(), |c| c[1].to_owned());
                (format!("ubuntu-{flavour}"), Distro::Ubuntu)
            }
            "debian" => ("debian".into(), Distro::Debian),
            "amzn" => {
                let id = match field("VERSION_ID")?.as_str() {
                    "2" => "amazonlinux2",
                    "2022" => "amazonlinux2022",
                    "2023" => "amazonlinux2023",
                    _ => "amazonlinux",
                };
                (id.into(), Distro::Amazon)
            }
            "bottlerocket" => {
                let version_id = field("VERSION_ID")?;
                let variant = field("VARIANT_ID")?;
                let variant = variant.split('-').next().unwrap_or_default().to_owned();
                (
                    id.into(),
                    Distro::Bottlerocket {
                        version_id,
                        variant,
                    },
                )
            }
            "talos" => (
                id.into(),
                Distro::Talos {
                    version_id: field("VERSION_ID")?,
                },
            ),
            "flatcar" => {
                let version_id = field("VERSION_ID")?;
                if !is_semver(&version_id) {
                    return Err(Error::OsRelease {
                        path: path.to_owned(),
                        detail: format!("flatcar's VERSION_ID {version_id:?} is not x.y.z"),
                    });
                }
                (id.into(), Distro::Flatcar { version_id })
            }
            "cos" => (
                id.into(),
                Distro::Cos {
                    build_id: field("BUILD_ID")?,
                },
            ),
            "ol" => (id.into(), Distro::Oracle),
            other => (other.into(), Distro::Generic),
        };
        Ok(Target { id, distro })
    }

    /// falcoctl's `FixupKernel`: the release and version the repository names this kernel's drivers by.
    pub fn fixup(&self, kernel: &Kernel) -> Fixed {
        let release = kernel.release.clone();
        let generic = || Fixed {
            release: kernel.release.clone(),
            version: GENERIC_VERSION
                .captures(&kernel.version)
                .map_or(kernel.version.clone(), |c| c[1].to_owned()),
        };
        match &self.distro {
            Distro::Ubuntu => {
                let v = kernel.version.trim_start_matches('#');
                let v = v.split(' ').next().unwrap_or_default();
                Fixed {
                    release,
                    version: v.strip_suffix("-Ubuntu").unwrap_or(v).to_owned(),
                }
            }
            Distro::Debian => debian_fixup(kernel).unwrap_or_else(generic),
            Distro::Bottlerocket {
                version_id,
                variant,
            } => Fixed {
                release,
                version: format!("1_{version_id}-{variant}"),
            },
            Distro::Talos { version_id } => Fixed {
                release,
                version: format!("1_{version_id}"),
            },
            Distro::Minikube { version } => Fixed {
                release,
                version: format!("1_{version}"),
            },
            Distro::Flatcar { version_id } => Fixed {
                release: version_id.clone(),
                ..generic()
            },
            Distro::Generic | Distro::Amazon | Distro::Cos { .. } | Distro::Oracle => generic(),
        }
    }

    /// Whether this distribution lets `driver` run at all (falcoctl's `PreferredDriver` exceptions).
    pub fn allows(&self, driver: DriverType, kernel: &Kernel) -> bool {
        match (&self.distro, driver) {
            (Distro::Cos { .. }, DriverType::Kmod) => false,
            (Distro::Oracle, DriverType::Kmod) => !kernel.release.contains("uek"),
            _ => true,
        }
    }
}

fn is_semver(text: &str) -> bool {
    let core = text.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Debian's `uname -r` names the ABI (`6.12.95+deb12-cloud-amd64`, `6.1.0-13-amd64`), while the
/// repository names the package (`6.12.95-1~bpo12+1-cloud-amd64`), which `uname -v` carries
/// (`... Debian 6.12.95-1~bpo12+1 (2026-07-05)`). falcoctl keeps only `\d+\.\d+\.\d+-\d+` of it, which
/// loses the `~bpo12+1` of backports and the `~deb12u1` of a newer suite's kernel in an older one; the
/// whole package version is taken here, with the flavour as `uname -r` gives it (`arm64-16k` too).
fn debian_fixup(kernel: &Kernel) -> Option<Fixed> {
    let flavour = match DebianName::parse(&kernel.release) {
        Some(name) => format!("-{}", name.flavour),
        None => {
            let extra = kernel.parsed().full_extraversion;
            DEBIAN_ARCH
                .captures(&extra)
                .map_or(String::new(), |c| format!("-{}{}", &c[1], &c[2]))
        }
    };
    let package = match DEBIAN_PACKAGE.captures(&kernel.version) {
        Some(c) => c[1].to_owned(),
        None => DEBIAN_BARE.find(&kernel.version)?.as_str().to_owned(),
    };
    Some(Fixed {
        release: format!("{package}{flavour}"),
        version: "1".into(),
    })
}
