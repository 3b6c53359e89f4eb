//! The build configuration: driverkit's YAML keys, overridden by `DRIVERKIT_*` environment variables,
//! overridden by command-line flags, then validated with driverkit's rules.
//!
//! A config file's keys are the flag names (`kernelrelease`, `repo-org`, `builderrepo`, ...) with the two
//! outputs nested under `output:` (`output.module`, `output.probe`). Environment variables are the flag
//! names upper-cased with `-` as `_`: `DRIVERKIT_KERNELRELEASE`, `DRIVERKIT_OUTPUT_MODULE`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::kernelrelease::{Arch, KernelRelease};
use crate::targets::{self, GccVersion, Target};

/// Every setting, each optional: one layer of configuration (file, environment or flags).
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub kernelrelease: Option<String>,
    pub kernelversion: Option<Scalar>,
    pub target: Option<String>,
    pub architecture: Option<String>,
    pub output: Option<OutputLayer>,
    #[serde(rename = "output-module")]
    pub output_module: Option<String>,
    #[serde(rename = "output-probe")]
    pub output_probe: Option<String>,
    pub driverversion: Option<Scalar>,
    pub kernelurls: Option<Vec<String>>,
    pub kernelconfigdata: Option<String>,
    pub builderimage: Option<String>,
    pub builderrepo: Option<Vec<String>>,
    pub gccversion: Option<Scalar>,
    pub moduledrivername: Option<String>,
    pub moduledevicename: Option<String>,
    #[serde(rename = "repo-org")]
    pub repo_org: Option<String>,
    #[serde(rename = "repo-name")]
    pub repo_name: Option<String>,
    pub timeout: Option<u64>,
    pub proxy: Option<String>,
    pub dryrun: Option<bool>,
    pub loglevel: Option<String>,
    // Accepted for compatibility with driverkit configs; images are local here, so they are not used.
    #[serde(rename = "registry-name")]
    pub registry_name: Option<String>,
    #[serde(rename = "registry-user")]
    pub registry_user: Option<String>,
    #[serde(rename = "registry-password")]
    pub registry_password: Option<String>,
    #[serde(rename = "registry-plain-http")]
    pub registry_plain_http: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputLayer {
    pub module: Option<String>,
    pub probe: Option<String>,
}

/// YAML writes `kernelversion: 1` and `driverversion: 7.0.0` unquoted; both mean the text.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid driverkit YAML: {detail}")]
    Yaml { path: PathBuf, detail: String },
    #[error("environment variable {name}: {detail}")]
    Env { name: String, detail: String },
    #[error("invalid build options:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

/// A validated build: what to build, for which kernel, where to put it.
#[derive(Debug, Clone)]
pub struct BuildConfig {
    pub target: &'static dyn Target,
    /// The target as written (`ubuntu-aws` stays `ubuntu-aws`: it names outputs and images).
    pub target_name: String,
    pub kernel: KernelRelease,
    pub kernel_release: String,
    pub kernel_version: String,
    pub arch: Arch,
    pub output_module: Option<PathBuf>,
    pub output_probe: Option<PathBuf>,
    pub driver_version: String,
    pub kernel_urls: Vec<String>,
    /// Decoded `.config` of the kernel, when given.
    pub kernel_config: Option<Vec<u8>>,
    pub builder_image: Option<String>,
    pub builder_repos: Vec<String>,
    pub gcc_version: Option<GccVersion>,
    pub driver_name: String,
    pub device_name: String,
    pub repo_org: String,
    pub repo_name: String,
    pub timeout_secs: u64,
    pub proxy: Option<String>,
    pub dry_run: bool,
}

impl std::fmt::Debug for dyn Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub const DEFAULT_BUILDER_REPO: &str = "docker.io/falcosecurity/driverkit-builder";
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;

impl Layer {
    /// Reads a YAML config file. An empty file is an empty layer.
    pub fn from_file(path: &Path) -> Result<Layer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Layer::from_yaml(&text).map_err(|detail| ConfigError::Yaml {
            path: path.to_owned(),
            detail,
        })
    }

    pub fn from_yaml(text: &str) -> Result<Layer, String> {
        if text.trim().is_empty() {
            return Ok(Layer::default());
        }
        serde_yaml_ng::from_str(text).map_err(|e| {
            let mut msg = e.to_string();
            if msg.contains("unknown field") {
                msg.push_str(
                    " (driverkit keys: kernelrelease, kernelversion, target, architecture, output.module, \
                     output.probe, driverversion, kernelurls, kernelconfigdata, builderimage, builderrepo, \
                     gccversion, moduledrivername, moduledevicename, repo-org, repo-name, timeout, proxy)",
                );
            }
            msg
        })
    }

    /// The `DRIVERKIT_*` variables of `vars` (pass `std::env::vars()`).
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<Layer, ConfigError> {
        let mut layer = Layer::default();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix("DRIVERKIT_") else {
                continue;
            };
            let text = || Some(value.clone());
            let list = || Some(split_list(&value));
            let flag = |v: &str| -> Result<Option<bool>, ConfigError> {
                match v {
                    "1" | "true" | "TRUE" | "True" => Ok(Some(true)),
                    "0" | "false" | "FALSE" | "False" | "" => Ok(Some(false)),
                    _ => Err(ConfigError::Env {
                        name: name.clone(),
                        detail: format!("`{v}` is not true or false"),
                    }),
                }
            };
            match key {
                "KERNELRELEASE" => layer.kernelrelease = text(),
                "KERNELVERSION" => layer.kernelversion = Some(Scalar::Text(value.clone())),
                "TARGET" => layer.target = text(),
                "ARCHITECTURE" => layer.architecture = text(),
                "OUTPUT_MODULE" => layer.output_module = text(),
                "OUTPUT_PROBE" => layer.output_probe = text(),
                "DRIVERVERSION" => layer.driverversion = Some(Scalar::Text(value.clone())),
                "KERNELURLS" => layer.kernelurls = list(),
                "KERNELCONFIGDATA" => layer.kernelconfigdata = text(),
                "BUILDERIMAGE" => layer.builderimage = text(),
                "BUILDERREPO" => layer.builderrepo = list(),
                "GCCVERSION" => layer.gccversion = Some(Scalar::Text(value.clone())),
                "MODULEDRIVERNAME" => layer.moduledrivername = text(),
                "MODULEDEVICENAME" => layer.moduledevicename = text(),
                "REPO_ORG" => layer.repo_org = text(),
                "REPO_NAME" => layer.repo_name = text(),
                "TIMEOUT" => {
                    layer.timeout = Some(value.parse().map_err(|_| ConfigError::Env {
                        name: name.clone(),
                        detail: format!("`{value}` is not a number of seconds"),
                    })?)
                }
                "PROXY" => layer.proxy = text(),
                "DRYRUN" => layer.dryrun = flag(&value)?,
                "LOGLEVEL" => layer.loglevel = text(),
                "REGISTRY_NAME" => layer.registry_name = text(),
                "REGISTRY_USER" => layer.registry_user = text(),
                "REGISTRY_PASSWORD" => layer.registry_password = text(),
                "REGISTRY_PLAIN_HTTP" => layer.registry_plain_http = flag(&value)?,
                _ => {} // like viper: variables that match no option are ignored
            }
        }
        Ok(layer)
    }

    /// `self` with every setting of `over` replacing ours.
    pub fn overridden_by(self, over: Layer) -> Layer {
        macro_rules! pick {
            ($($field:ident),*) => { Layer { $($field: over.$field.or(self.$field)),* } };
        }
        let (self_out, over_out) = (self.output.clone(), over.output.clone());
        let mut merged = pick!(
            kernelrelease, kernelversion, target, architecture, output, output_module, output_probe,
            driverversion, kernelurls, kernelconfigdata, builderimage, builderrepo, gccversion,
            moduledrivername, moduledevicename, repo_org, repo_name, timeout, proxy, dryrun, loglevel,
            registry_name, registry_user, registry_password, registry_plain_http
        );
        // Nested outputs merge key by key, so that a flag for the probe keeps the file's module.
        if let (Some(a), Some(b)) = (self_out, over_out) {
            merged.output = Some(OutputLayer {
                module: b.module.or(a.module),
                probe: b.probe.or(a.probe),
            });
        }
        merged
    }

    /// Validates the merged settings into a build, reporting every problem at once.
    pub fn into_build(self) -> Result<BuildConfig, ConfigError> {
        let mut errors = Vec::new();
        let output = self.output.clone().unwrap_or_default();
        let module = self.output_module.clone().or(output.module).filter(|s| !s.is_empty());
        let probe = self.output_probe.clone().or(output.probe).filter(|s| !s.is_empty());
        if module.is_none() && probe.is_none() {
            errors.push(
                "no output: set `output.module` (a path ending in .ko) and/or `output.probe` (ending in .o), \
                 or --output-module / --output-probe"
                    .to_owned(),
            );
        }
        if let Some(m) = &module {
            if !m.ends_with(".ko") {
                errors.push(format!("output module path `{m}` must end with .ko"));
            }
        }
        if let Some(p) = &probe {
            if !p.ends_with(".o") {
                errors.push(format!("output probe path `{p}` must end with .o"));
            }
        }

        let arch_text = self.architecture.clone().unwrap_or_else(|| Arch::host().deb().to_owned());
        let arch = Arch::parse(&arch_text).unwrap_or_else(|| {
            errors.push(format!("architecture `{arch_text}` is not supported: use amd64 or arm64"));
            Arch::host()
        });

        let target_name = self.target.clone().unwrap_or_default();
        let target = if target_name.is_empty() {
            errors.push(format!(
                "target is required: one of {}",
                targets::names().join(", ")
            ));
            None
        } else {
            match targets::find(&target_name) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(e.to_string());
                    None
                }
            }
        };

        let kernel_version = self.kernelversion.clone().map(Scalar::into_text);
        let kernel_release = self.kernelrelease.clone().unwrap_or_default();
        let kernel = if kernel_release.is_empty() {
            errors.push("kernelrelease is required: what `uname -r` prints on the target, e.g. 6.1.0-47-amd64".into());
            None
        } else if !kernel_release.is_ascii() {
            errors.push(format!("kernelrelease `{kernel_release}` must be ASCII"));
            None
        } else {
            match KernelRelease::parse(&kernel_release, arch, kernel_version.as_deref().unwrap_or("1")) {
                Ok(k) => Some(k),
                Err(e) => {
                    errors.push(e.to_string());
                    None
                }
            }
        };

        let kernel_config = match self.kernelconfigdata.as_deref().filter(|s| !s.is_empty()) {
            Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                Ok(data) => Some(data),
                Err(e) => {
                    errors.push(format!("kernelconfigdata is not base64 ({e}): encode the kernel's .config with `base64 -w0`"));
                    None
                }
            },
            None => None,
        };

        if let Some(t) = target {
            let needs = t.needs();
            if needs.kernel_config && kernel_config.is_none() {
                errors.push(format!(
                    "kernelconfigdata is required when target is {target_name}: the kernel is built from \
                     sources and needs its .config (`base64 -w0 /boot/config-$(uname -r)`)"
                ));
            }
            if needs.kernel_version && kernel_version.as_deref().is_none_or(str::is_empty) {
                errors.push(format!(
                    "kernelversion is required when target is {target_name}: the number after `#` in `uname -v`"
                ));
            }
            if needs.builder_image && self.builderimage.as_deref().is_none_or(str::is_empty) {
                errors.push(format!(
                    "builderimage is required when target is {target_name}: its headers need a subscribed image"
                ));
            }
        }

        let driver_version = self
            .driverversion
            .clone()
            .map(Scalar::into_text)
            .unwrap_or_else(|| "master".to_owned());
        if !(driver_version == "master" || is_sha1(&driver_version) || is_semver(&driver_version) || is_ref_name(&driver_version)) {
            errors.push(format!(
                "driverversion `{driver_version}` must be master, a git commit (40 hex digits), a version tag like 0.1.0 \
                 or a branch or tag name (letters, digits, `.`, `_`, `-`, `+`, `/`)"
            ));
        }

        let driver_name = self.moduledrivername.clone().unwrap_or_else(|| "falco".to_owned());
        if driver_name.is_empty() || driver_name.len() > 60 || !driver_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            errors.push(format!(
                "moduledrivername `{driver_name}` must be 1 to 60 letters, digits, `_` or `-` (it names the .ko)"
            ));
        }
        let device_name = self.moduledevicename.clone().unwrap_or_else(|| "falco".to_owned());
        if device_name.is_empty() || device_name.len() > 255 || device_name.contains('/') {
            errors.push(format!(
                "moduledevicename `{device_name}` must be 1 to 255 characters without `/` (devices are /dev/<name><cpu>)"
            ));
        }

        let gcc_version = match self.gccversion.clone().map(Scalar::into_text).filter(|s| !s.is_empty()) {
            Some(text) => match GccVersion::parse(&text) {
                Some(v) => Some(v),
                None => {
                    errors.push(format!("gccversion `{text}` is not a version like 12 or 12.2.0"));
                    None
                }
            },
            None => None,
        };

        let timeout_secs = self.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if timeout_secs < 30 {
            errors.push(format!("timeout {timeout_secs} is too short: at least 30 seconds"));
        }

        let kernel_urls: Vec<String> = self
            .kernelurls
            .clone()
            .unwrap_or_default()
            .iter()
            .flat_map(|u| split_list(u))
            .collect();
        for url in &kernel_urls {
            if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("file://")) {
                errors.push(format!("kernel header url `{url}` must start with http://, https:// or file://"));
            }
        }

        if let Some(k) = &kernel {
            if !k.supports_module() && !k.supports_probe() {
                errors.push(format!(
                    "both module and probe are not supported by kernel {kernel_release} on {arch}"
                ));
            }
        }

        if !errors.is_empty() {
            return Err(ConfigError::Invalid(errors));
        }
        let (Some(target), Some(kernel)) = (target, kernel) else {
            return Err(ConfigError::Invalid(vec!["target and kernelrelease are required".into()]));
        };

        let mut output_module = module.map(PathBuf::from);
        let mut output_probe = probe.map(PathBuf::from);
        if output_module.is_some() && !kernel.supports_module() {
            tracing::warn!(kernelrelease = %kernel, "skipping the module: this kernel is older than the module supports");
            output_module = None;
        }
        if output_probe.is_some() && !kernel.supports_probe() {
            tracing::warn!(kernelrelease = %kernel, "skipping the probe: this kernel is older than the probe supports");
            output_probe = None;
        }

        Ok(BuildConfig {
            target,
            target_name,
            kernel_release,
            kernel_version: kernel_version.unwrap_or_else(|| "1".to_owned()),
            kernel,
            arch,
            output_module,
            output_probe,
            driver_version,
            kernel_urls,
            kernel_config,
            builder_image: self.builderimage.filter(|s| !s.is_empty()),
            builder_repos: self
                .builderrepo
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| vec![DEFAULT_BUILDER_REPO.to_owned()]),
            gcc_version,
            driver_name,
            device_name,
            repo_org: self.repo_org.unwrap_or_else(|| "falcosecurity".to_owned()),
            repo_name: self.repo_name.unwrap_or_else(|| "libs".to_owned()),
            timeout_secs,
            proxy: self.proxy.filter(|s| !s.is_empty()),
            dry_run: self.dryrun.unwrap_or(false),
        })
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_sha1(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A branch or tag name as git allows it, limited to what is safe in the build script's command lines.
fn is_ref_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+/".contains(&b))
        && !s.starts_with(['-', '/', '.'])
        && !s.ends_with(['/', '.'])
        && !s.ends_with(".lock")
        && !s.contains("..")
        && !s.contains("//")
        && !s.contains("/.")
}

fn is_semver(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<_> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The default config file, `$HOME/.driverkit.yaml`, when it exists.
pub fn default_config_file() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".driverkit.yaml");
    path.exists().then_some(path)
}

/// A summary of the build for logs.
impl BuildConfig {
    pub fn summary(&self) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        m.insert("target", self.target_name.clone());
        m.insert("kernelrelease", self.kernel_release.clone());
        m.insert("kernelversion", self.kernel_version.clone());
        m.insert("architecture", self.arch.deb().to_owned());
        m.insert("driverversion", self.driver_version.clone());
        if let Some(p) = &self.output_module {
            m.insert("output.module", p.display().to_string());
        }
        if let Some(p) = &self.output_probe {
            m.insert("output.probe", p.display().to_string());
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = r#"
kernelversion: 1
kernelrelease: 6.1.0-47-amd64
target: debian
architecture: amd64
driverversion: 0.1.0
moduledrivername: scap
moduledevicename: scap
output:
  module: /tmp/out/scap.ko
  probe: /tmp/out/probe.o
kernelurls: ["http://127.0.0.1:1/a.deb", "http://127.0.0.1:1/b.deb,http://127.0.0.1:1/c.deb"]
"#;

    fn invalid(layer: Layer) -> Vec<String> {
        match layer.into_build() {
            Err(ConfigError::Invalid(errors)) => errors,
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn a_driverkit_config_reads_as_driverkit_reads_it() {
        let build = Layer::from_yaml(DEBIAN).expect("yaml").into_build().expect("valid");
        assert_eq!(build.target.name(), "debian");
        assert_eq!(build.kernel.version(), (6, 1, 0));
        assert_eq!(build.kernel_version, "1");
        assert_eq!(build.driver_name, "scap");
        assert_eq!(build.output_module.as_deref(), Some(Path::new("/tmp/out/scap.ko")));
        assert_eq!(build.kernel_urls.len(), 3, "comma lists split like driverkit's StringSlice");
        assert_eq!(build.builder_repos, [DEFAULT_BUILDER_REPO]);
        assert_eq!(build.timeout_secs, 120);
    }

    #[test]
    fn flags_beat_environment_beats_file() {
        let file = Layer::from_yaml(DEBIAN).expect("yaml");
        let env = Layer::from_env([
            ("DRIVERKIT_KERNELRELEASE".to_owned(), "6.1.0-56-amd64".to_owned()),
            ("DRIVERKIT_MODULEDRIVERNAME".to_owned(), "envname".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ])
        .expect("env");
        let flags = Layer {
            moduledrivername: Some("flagname".into()),
            output: Some(OutputLayer { module: None, probe: Some("/tmp/flag.o".into()) }),
            ..Layer::default()
        };
        let build = file.overridden_by(env).overridden_by(flags).into_build().expect("valid");
        assert_eq!(build.kernel_release, "6.1.0-56-amd64");
        assert_eq!(build.driver_name, "flagname");
        assert_eq!(build.output_probe.as_deref(), Some(Path::new("/tmp/flag.o")));
        assert_eq!(build.output_module.as_deref(), Some(Path::new("/tmp/out/scap.ko")), "the file's module is kept");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_what_to_do() {
        let errors = invalid(Layer {
            target: Some("windows".into()),
            output: Some(OutputLayer { module: Some("/tmp/x.so".into()), probe: None }),
            driverversion: Some(Scalar::Text("no spaces; allowed".into())),
            architecture: Some("riscv".into()),
            ..Layer::default()
        });
        let all = errors.join("\n");
        assert!(all.contains("no builder found for target `windows`"), "{all}");
        assert!(all.contains("must end with .ko"), "{all}");
        assert!(all.contains("driverversion `no spaces; allowed`"), "{all}");
        assert!(all.contains("architecture `riscv`"), "{all}");
        assert!(all.contains("kernelrelease is required"), "{all}");
    }

    #[test]
    fn target_rules_need_their_keys() {
        let base = |target: &str| Layer {
            target: Some(target.into()),
            kernelrelease: Some("5.15.0-1019-aws".into()),
            output_module: Some("/tmp/a.ko".into()),
            ..Layer::default()
        };
        assert!(invalid(base("vanilla")).join("").contains("kernelconfigdata is required when target is vanilla"));
        assert!(invalid(base("redhat")).join("").contains("builderimage is required when target is redhat"));
        let mut ubuntu = base("ubuntu-aws");
        ubuntu.kernelversion = Some(Scalar::Text(String::new()));
        assert!(invalid(ubuntu).join("").contains("kernelversion is required when target is ubuntu-aws"));
        let mut bad_config = base("vanilla");
        bad_config.kernelconfigdata = Some("not base64!".into());
        assert!(invalid(bad_config).join("").contains("not base64"));
    }

    #[test]
    fn old_kernels_drop_the_probe_or_fail() {
        let mut layer = Layer::from_yaml(DEBIAN).expect("yaml");
        layer.kernelrelease = Some("4.9.0-13-amd64".into());
        let build = layer.clone().into_build().expect("the module still builds");
        assert!(build.output_probe.is_none() && build.output_module.is_some());
        layer.kernelrelease = Some("2.4.0-1".into());
        assert!(invalid(layer).join("").contains("both module and probe are not supported"));
    }

    #[test]
    fn malformed_yaml_and_unknown_keys_are_named() {
        let err = Layer::from_yaml("target: [debian\n").expect_err("malformed");
        assert!(err.contains("line"), "{err}");
        let err = Layer::from_yaml("kernelrelase: 6.1.0-47-amd64\n").expect_err("typo");
        assert!(err.contains("kernelrelase") && err.contains("driverkit keys"), "{err}");
        let err = Layer::from_env([("DRIVERKIT_TIMEOUT".to_owned(), "soon".to_owned())]).expect_err("bad");
        assert!(err.to_string().contains("DRIVERKIT_TIMEOUT"), "{err}");
    }
}
