//! falcoctl `driver`'s options: flags over `FALCOCTL_DRIVER_*` variables over the `driver:` block of
//! `/etc/falcoctl/falcoctl.yaml` over defaults, then the kernel, target and driver they lead to, and
//! `printenv`'s lines.

use std::path::{Path, PathBuf};

use driver_index::name::{ArtifactName, DEFAULT_DRIVER_NAME};
use serde_yaml_ng::{Mapping, Value};

use crate::kernel::{self, Kernel};
use crate::target::{Fixed, Target, UNDETERMINED};
use crate::{DriverType, Error, Report};

/// falcoctl's config file.
pub const CONFIG_PATH: &str = "/etc/falcoctl/falcoctl.yaml";
/// The default `--repo`: none. falcoctl's default serves no signed index, so nothing from it could
/// be verified; the repository is the one `dbg drivers publish` made, named by the user.
pub const DEFAULT_REPOS: [&str; 0] = [];
/// falcoctl's default `--type`.
pub const DEFAULT_TYPES: [DriverType; 3] =
    [DriverType::ModernEbpf, DriverType::Kmod, DriverType::Ebpf];

/// The options as the command line gave them (`None`: not given).
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub types: Option<Vec<String>>,
    pub name: Option<String>,
    pub repos: Option<Vec<String>>,
    pub version: Option<String>,
    pub host_root: Option<String>,
}

/// The options after every source was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub types: Vec<DriverType>,
    pub name: String,
    pub repos: Vec<String>,
    pub version: String,
    pub host_root: PathBuf,
}

/// A list as an environment variable gives it: split on `,` or `;` (falcoctl accepts both).
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `driver:` block of a falcoctl config file; `Default` when the file does not exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDriver {
    pub types: Option<Vec<String>>,
    pub name: Option<String>,
    pub repos: Option<Vec<String>>,
    pub version: Option<String>,
    pub host_root: Option<String>,
}

impl FileDriver {
    pub fn read(path: &Path) -> Result<FileDriver, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileDriver::default()),
            Err(e) => return Err(Error::io(path)(e)),
        };
        FileDriver::parse(&text).map_err(|detail| Error::Config {
            path: path.to_owned(),
            detail,
        })
    }

    pub fn parse(text: &str) -> Result<FileDriver, String> {
        if text.trim().is_empty() {
            return Ok(FileDriver::default());
        }
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let Some(driver) = doc.get("driver") else {
            return Ok(FileDriver::default());
        };
        let scalar = |key: &str| -> Result<Option<String>, String> {
            match driver.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Bool(b)) => Ok(Some(b.to_string())),
                Some(_) => Err(format!("driver.{key} must be a string")),
            }
        };
        let list = |key: &str| -> Result<Option<Vec<String>>, String> {
            match driver.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(split_list(s))),
                Some(Value::Sequence(items)) => items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        _ => Err(format!("driver.{key} must be a list of strings")),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(format!("driver.{key} must be a list of strings")),
            }
        };
        Ok(FileDriver {
            types: list("type")?,
            name: scalar("name")?,
            repos: list("repos")?,
            version: scalar("version")?,
            host_root: scalar("hostRoot")?,
        })
    }
}

/// Resolves the options: `given` flags, then `env` (`FALCOCTL_DRIVER_TYPE`, `_NAME`, `_REPOS`,
/// `_VERSION`, `_HOSTROOT`, and Falco's `HOST_ROOT`), then `file`, then the defaults. A version from
/// none of them is the greatest `<usr_src>/<name>-<version>` folder (a DKMS source package), as
/// falcoctl does.
pub fn resolve(
    given: &Given,
    env: &dyn Fn(&str) -> Option<String>,
    file: &FileDriver,
    usr_src: &Path,
) -> Result<Settings, Error> {
    let env = |key: &str| env(key).filter(|v| !v.is_empty());
    let types = given
        .types
        .clone()
        .or_else(|| env("FALCOCTL_DRIVER_TYPE").map(|v| split_list(&v)))
        .or_else(|| file.types.clone());
    let types = match types {
        Some(list) => list
            .iter()
            .flat_map(|t| split_list(t))
            .map(|t| DriverType::parse(&t))
            .collect::<Result<Vec<_>, _>>()?,
        None => DEFAULT_TYPES.to_vec(),
    };
    if types.is_empty() {
        return Err(Error::Invalid("--type names no driver type".into()));
    }
    let name = given
        .name
        .clone()
        .or_else(|| env("FALCOCTL_DRIVER_NAME"))
        .or_else(|| file.name.clone())
        .unwrap_or_else(|| DEFAULT_DRIVER_NAME.to_owned());
    let repos = given
        .repos
        .clone()
        .map(|r| r.iter().flat_map(|x| split_list(x)).collect())
        .or_else(|| env("FALCOCTL_DRIVER_REPOS").map(|v| split_list(&v)))
        .or_else(|| file.repos.clone())
        .unwrap_or_else(|| DEFAULT_REPOS.iter().map(|r| r.to_string()).collect());
    let host_root = given
        .host_root
        .clone()
        .or_else(|| env("FALCOCTL_DRIVER_HOSTROOT"))
        .or_else(|| env("HOST_ROOT"))
        .or_else(|| file.host_root.clone())
        .unwrap_or_else(|| "/".to_owned());
    let version = given
        .version
        .clone()
        .or_else(|| env("FALCOCTL_DRIVER_VERSION"))
        .or_else(|| file.version.clone())
        .filter(|v| !v.is_empty())
        .or_else(|| source_package_version(usr_src, &name));
    let host_root = PathBuf::from(host_root);
    if !host_root.is_absolute() {
        return Err(Error::Invalid(format!(
            "host-root must be an absolute path ({})",
            host_root.display()
        )));
    }
    let Some(version) = version else {
        return Err(Error::Invalid(format!(
            "version is mandatory and cannot be empty: pass --version, set FALCOCTL_DRIVER_VERSION, or install the driver's source package in /usr/src/{name}-<version>"
        )));
    };
    for repo in &repos {
        let ok = reqwest::Url::parse(repo).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(Error::Invalid(format!(
                "repo must be a valid http(s) URL ({repo})"
            )));
        }
    }
    Ok(Settings {
        types,
        name,
        repos,
        version,
        host_root,
    })
}

/// The greatest `<dir>/<name>-<version>` folder's version; a version that is not `x.y.z[...]` wins
/// at once, as in falcoctl.
fn source_package_version(dir: &Path, name: &str) -> Option<String> {
    let prefix = format!("{name}-");
    let mut best: Option<((u64, u64, u64), String)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = file.strip_prefix(&prefix) else {
            continue;
        };
        if !entry.path().is_dir() {
            continue;
        }
        let core: Vec<u64> = version
            .split(['-', '+'])
            .next()
            .unwrap_or_default()
            .split('.')
            .map_while(|p| p.parse().ok())
            .collect();
        let [a, b, c] = core[..] else {
            return Some(version.to_owned());
        };
        if best.as_ref().is_none_or(|(v, _)| (a, b, c) > *v) {
            best = Some(((a, b, c), version.to_owned()));
        }
    }
    best.map(|(_, v)| v)
}

/// The kernel the driver is for: the running one, with `release` and `version` overriding its
/// `uname -r` and `uname -v`. When only a release is given and it is not the running kernel, its
/// `uname -v` is read from its image under `<host_root>/boot`, where the running kernel's would be
/// wrong.
pub fn kernel_for(
    release: Option<&str>,
    version: Option<&str>,
    host_root: &Path,
    report: &dyn Report,
) -> Result<Kernel, Error> {
    let release = release.filter(|r| !r.is_empty());
    let version = version.filter(|v| !v.is_empty());
    if let (Some(r), Some(v)) = (release, version) {
        return Ok(Kernel {
            release: r.to_owned(),
            version: v.to_owned(),
            arch: kernel::host_arch(),
        });
    }
    let running = Kernel::running()?;
    let Some(r) = release else {
        return Ok(Kernel {
            version: version.map_or(running.version.clone(), str::to_owned),
            ..running
        });
    };
    if r == running.release {
        return Ok(Kernel {
            release: r.to_owned(),
            ..running
        });
    }
    match kernel::image_path(host_root, r).map(|p| (kernel::read_image(&p), p)) {
        Some((Ok((image_release, image_version)), path)) if image_release == r => {
            report.info(&format!(
                "kernel version of {r} read from {}: {image_version}",
                path.display()
            ));
            Ok(Kernel {
                release: r.to_owned(),
                version: image_version,
                arch: running.arch,
            })
        }
        found => {
            let why = match found {
                None => format!("no image of {r} under {}/boot", host_root.display()),
                Some((Ok((other, _)), path)) => format!("{} is {other}", path.display()),
                Some((Err(e), _)) => e.to_string(),
            };
            report.warn(&format!(
                "--kernelrelease {r} without --kernelversion, and {why}: using the running kernel's version {:?}, which may name the wrong driver",
                running.version
            ));
            Ok(Kernel {
                release: r.to_owned(),
                ..running
            })
        }
    }
}

/// The options, the kernel, its target and the driver chosen for it: what every subcommand starts
/// from (falcoctl's `PersistentPreRunE`).
#[derive(Debug, Clone)]
pub struct Plan {
    pub settings: Settings,
    pub kernel: Kernel,
    pub target: Target,
    pub driver: DriverType,
    pub fixed: Fixed,
}

impl Plan {
    /// Picks the first of `settings.types` that the target allows and the kernel supports;
    /// `modern_ebpf_runs` is the feature probe's answer (asked only if it comes to that).
    pub fn new(
        settings: Settings,
        kernel: Kernel,
        target: Target,
        modern_ebpf_runs: &dyn Fn() -> bool,
    ) -> Result<Plan, Error> {
        let driver = settings
            .types
            .iter()
            .copied()
            .find(|&t| {
                target.allows(t, &kernel)
                    && match t {
                        DriverType::ModernEbpf => modern_ebpf_runs(),
                        DriverType::Kmod => kernel.supports_module(),
                        DriverType::Ebpf => kernel.supports_probe(),
                    }
            })
            .ok_or_else(|| {
                Error::NoDriver(format!(
                    "no supported driver found for distro: {}, kernelrelease {}, kernelversion {}, arch {} (types tried: {})",
                    target.id,
                    kernel.release,
                    kernel.version,
                    kernel.arch,
                    settings.types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
        let fixed = target.fixup(&kernel);
        Ok(Plan {
            settings,
            kernel,
            target,
            driver,
            fixed,
        })
    }

    /// The file the repository names this driver by; `None` for a driver with nothing to download.
    pub fn artifact(&self) -> Option<ArtifactName> {
        Some(ArtifactName {
            driver_name: self.settings.name.clone(),
            target: self.target.id.clone(),
            kernelrelease: self.fixed.release.clone(),
            kernelversion: self.fixed.version.clone(),
            kind: self.driver.artifact()?,
        })
    }

    pub fn undetermined(&self) -> bool {
        self.target.id == UNDETERMINED
    }

    /// `printenv`'s lines, as falcoctl prints them (Go's `%q` quoting).
    pub fn printenv(&self) -> String {
        let parsed = self.kernel.parsed();
        let release = format!("{}{}", parsed.fullversion, parsed.full_extraversion);
        let lines = [
            ("DRIVER", self.driver.as_str().to_owned()),
            ("DRIVERS_REPO", self.settings.repos.join(", ")),
            ("DRIVER_VERSION", self.settings.version.clone()),
            ("DRIVER_NAME", self.settings.name.clone()),
            (
                "HOST_ROOT",
                self.settings.host_root.to_string_lossy().into_owned(),
            ),
            ("TARGET_ID", self.target.id.clone()),
            ("ARCH", self.kernel.arch.as_str().to_owned()),
            ("KERNEL_RELEASE", release),
            ("KERNEL_VERSION", self.kernel.version.clone()),
            ("FIXED_KERNEL_RELEASE", self.fixed.release.clone()),
            ("FIXED_KERNEL_VERSION", self.fixed.version.clone()),
        ];
        lines
            .iter()
            .map(|(k, v)| format!("{k}={}\n", go_quote(v)))
            .collect()
    }
}

/// Go's `%q` of a string: double quotes, backslash escapes for `"`, `\` and control characters.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `driver config`: stores the chosen driver in the config file's `driver:` block (other keys kept),
/// as falcoctl's `StoreDriver` does.
pub fn store(plan: &Plan, path: &Path) -> Result<(), Error> {
    let mut doc = match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            serde_yaml_ng::from_str::<Value>(&text).map_err(|e| Error::Config {
                path: path.to_owned(),
                detail: format!("not YAML: {e}"),
            })?
        }
        Ok(_) => Value::Mapping(Mapping::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Mapping(Mapping::new()),
        Err(e) => return Err(Error::io(path)(e)),
    };
    let Value::Mapping(map) = &mut doc else {
        return Err(Error::Config {
            path: path.to_owned(),
            detail: "not a YAML mapping".into(),
        });
    };
    let s = &plan.settings;
    let mut driver = Mapping::new();
    let strings = |v: &[String]| Value::Sequence(v.iter().cloned().map(Value::String).collect());
    driver.insert("type".into(), strings(&[plan.driver.as_str().to_owned()]));
    driver.insert("name".into(), Value::String(s.name.clone()));
    driver.insert("repos".into(), strings(&s.repos));
    driver.insert("version".into(), Value::String(s.version.clone()));
    driver.insert(
        "hostRoot".into(),
        Value::String(s.host_root.to_string_lossy().into_owned()),
    );
    map.insert("driver".into(), Value::Mapping(driver));
    let text = serde_yaml_ng::to_string(&doc).map_err(|e| Error::Config {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    write_file(path, text.as_bytes())
}

/// What `driver config` tells Falco: `<dir>/config.d/engine-kind-falcoctl.yaml` with
/// `engine.kind: <driver>`, written only when `<dir>/falco.yaml` runs a driver engine. `Ok(false)`
/// when Falco runs another engine and nothing was written.
pub fn update_falco(falco_dir: &Path, driver: DriverType) -> Result<bool, Error> {
    let falco_yaml = falco_dir.join("falco.yaml");
    let text = std::fs::read_to_string(&falco_yaml).map_err(Error::io(&falco_yaml))?;
    let doc: Value = serde_yaml_ng::from_str(&text).map_err(|e| Error::Config {
        path: falco_yaml.clone(),
        detail: format!("unable to read engine.kind: {e}"),
    })?;
    let kind = doc
        .get("engine")
        .and_then(|e| e.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if DriverType::parse(kind).is_err() {
        return Ok(false);
    }
    let path = falco_dir.join("config.d/engine-kind-falcoctl.yaml");
    write_file(&path, format!("engine:\n    kind: {driver}\n").as_bytes())?;
    Ok(true)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut staged = tempfile::NamedTempFile::new_in(dir).map_err(Error::io(dir))?;
    {
        use std::os::unix::fs::PermissionsExt;
        staged
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(Error::io(path))?;
    }
    std::io::Write::write_all(&mut staged, bytes).map_err(Error::io(path))?;
    staged.persist(path).map_err(|e| Error::io(path)(e.error))?;
    Ok(())
}
