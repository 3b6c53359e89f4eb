//! Build configs: made from the kernel-crawler list (or for one kernel), validated, counted, removed.
//!
//! One model serves both files, as in dbg-go: a kernel-crawler entry (`headers`) and a driverkit config
//! (`kernelurls`) are the same kernel, the config adding the architecture and the outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};

use super::{io_err, write_atomic, DbgError, Options};
use builder::kernelrelease::KernelRelease;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub module: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub probe: String,
}

/// A driverkit config as dbg-go writes it (and, read from JSON, a kernel-crawler entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverkitYaml {
    #[serde(deserialize_with = "string_or_number")]
    pub kernelversion: String,
    pub kernelrelease: String,
    pub target: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub output: Outputs,
    #[serde(default, alias = "headers", skip_serializing_if = "Vec::is_empty")]
    pub kernelurls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernelconfigdata: Option<String>,
}

/// kernel-crawler writes `kernelversion` as a string; hand-written configs often as a number.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(s) => s,
        Either::Number(n) => n.to_string(),
    })
}

impl DriverkitYaml {
    /// `<target>_<kernelrelease>_<kernelversion>`.
    pub fn name(&self) -> String {
        format!("{}_{}_{}", self.target, self.kernelrelease, self.kernelversion)
    }

    pub fn config_name(&self) -> String {
        format!("{}.yaml", self.name())
    }

    fn kernel(&self, opts: &Options) -> Option<KernelRelease> {
        KernelRelease::parse(&self.kernelrelease, opts.arch, &self.kernelversion).ok()
    }

    /// dbg-go's outputs: relative to `<repo-root>/driverkit`, a module where the kernel supports one and
    /// a probe likewise.
    pub fn fill_outputs(&mut self, opts: &Options, driver_version: &str) {
        let base = format!("output/{driver_version}/{}/{}_{}", opts.arch.non_deb(), opts.driver_name, self.name());
        let kernel = self.kernel(opts);
        self.output.module = match &kernel {
            Some(k) if k.supports_module() => format!("{base}.ko"),
            _ => String::new(),
        };
        self.output.probe = match &kernel {
            Some(k) if k.supports_probe() => format!("{base}.o"),
            _ => String::new(),
        };
    }

    pub fn read(path: &Path) -> Result<DriverkitYaml, DbgError> {
        let text = std::fs::read_to_string(path).map_err(io_err(format!("reading {}", path.display())))?;
        serde_yaml_ng::from_str(&text).map_err(|e| DbgError::Config { path: path.to_owned(), detail: e.to_string() })
    }

    pub fn to_yaml(&self) -> String {
        // Serializing plain strings, vectors and options cannot fail.
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    /// An output path of the config, resolved the way dbg-go does: relative to `<repo-root>/driverkit`.
    pub fn resolve(opts: &Options, path: &str) -> Option<PathBuf> {
        if path.is_empty() {
            return None;
        }
        let p = Path::new(path);
        Some(if p.is_absolute() { p.to_owned() } else { opts.repo_root.join("driverkit").join(p) })
    }
}

/// Splits a config's name (`debian_6.1.170-3-amd64_1`) into target, kernelrelease and kernelversion.
/// Targets have no `_`; kernel releases may.
pub fn split_name(name: &str) -> Option<(&str, &str, &str)> {
    let (rest, version) = name.rsplit_once('_')?;
    let (target, release) = rest.split_once('_')?;
    (!target.is_empty() && !release.is_empty() && !version.is_empty()).then_some((target, release, version))
}

/// Reads a kernel-crawler list: a file, or an `http(s)://` URL.
pub fn read_kernel_list(source: &str) -> Result<BTreeMap<String, Vec<DriverkitYaml>>, DbgError> {
    let fail = |detail: String| DbgError::KernelList { source_name: source.to_owned(), detail };
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let response = client.get(source).send().map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP {}", response.status())));
        }
        response.text().map_err(|e| fail(e.to_string()))?
    } else {
        std::fs::read_to_string(source).map_err(|e| fail(format!("{e}; make it with `kernel-crawler crawl` or pass --kernel-list")))?
    };
    serde_json::from_str(&text).map_err(|e| fail(format!("not a kernel-crawler list: {e}")))
}

/// The newest kernel of each series in its generic flavour (Debian's `amd64`, `arm64`): the slice
/// of the matrix that proves every series at a fraction of the cost. Other distributions are kept whole.
pub fn newest_per_series(list: &BTreeMap<String, Vec<DriverkitYaml>>) -> BTreeMap<String, Vec<DriverkitYaml>> {
    let mut out = BTreeMap::new();
    for (distro, entries) in list {
        if distro != "debian" {
            out.insert(distro.clone(), entries.clone());
            continue;
        }
        let mut newest: BTreeMap<String, &DriverkitYaml> = BTreeMap::new();
        for entry in entries {
            let (series, flavour) = super::series_and_flavour(&entry.target, &entry.kernelrelease);
            if flavour != "amd64" && flavour != "arm64" {
                continue;
            }
            let slot = newest.entry(series).or_insert(entry);
            if kernels::list::natural_cmp(&entry.kernelrelease, &slot.kernelrelease).is_gt() {
                *slot = entry;
            }
        }
        out.insert(distro.clone(), newest.into_values().cloned().collect());
    }
    out
}

/// What `configs generate` wrote (or, with `--dry-run`, would write).
#[derive(Debug, Default)]
pub struct Generated {
    pub written: Vec<PathBuf>,
    pub unchanged: usize,
}

/// `configs generate --auto`: a config per kernel of the list that passes the filter, per driver version.
pub fn generate_auto(opts: &Options, list: &BTreeMap<String, Vec<DriverkitYaml>>) -> Result<Generated, DbgError> {
    let mut generated = Generated::default();
    for (distro, entries) in list {
        if !opts.filter.distro_matches(distro) {
            continue;
        }
        for entry in entries {
            if !opts.filter.matches(&entry.target, &entry.kernelrelease, &entry.kernelversion) {
                continue;
            }
            dump(opts, entry.clone(), &mut generated)?;
        }
    }
    Ok(generated)
}

/// `configs generate` for one kernel given exactly (no regexes), its header URLs given or found with
/// the builder's target rules.
pub fn generate_one(opts: &Options, kernel: DriverkitYaml, generated: &mut Generated) -> Result<(), DbgError> {
    dump(opts, kernel, generated)
}

fn dump(opts: &Options, mut entry: DriverkitYaml, generated: &mut Generated) -> Result<(), DbgError> {
    entry.architecture = opts.arch.deb().to_owned();
    entry.kernelurls.sort();
    for version in &opts.driver_versions {
        entry.fill_outputs(opts, version);
        let path = opts.config_dir(version).join(entry.config_name());
        let text = entry.to_yaml();
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            generated.unchanged += 1;
            continue;
        }
        if !opts.dry_run {
            write_atomic(&path, text.as_bytes())?;
        }
        generated.written.push(path);
    }
    Ok(())
}

/// Everything wrong with one config file; empty when it is valid.
pub fn validate_one(opts: &Options, driver_version: &str, path: &Path) -> Vec<String> {
    let config = match DriverkitYaml::read(path) {
        Ok(c) => c,
        Err(e) => return vec![e.to_string()],
    };
    let mut problems = Vec::new();
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if file_name != config.config_name() {
        problems.push(format!("config filename is wrong ({file_name}); should be {}", config.config_name()));
    }
    if config.architecture != opts.arch.deb() {
        problems.push(format!("wrong architecture `{}`: the config folder is for {}", config.architecture, opts.arch.deb()));
    }
    let expected = format!("{}_{}", opts.driver_name, config.name());
    let arch_dir = format!("/{}/", opts.arch.non_deb());
    let version_dir = format!("/{driver_version}/");
    for (kind, path, ext) in [("module", &config.output.module, "ko"), ("probe", &config.output.probe, "o")] {
        if path.is_empty() {
            continue;
        }
        let name = Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name != format!("{expected}.{ext}") {
            problems.push(format!("output {kind} filename is wrong ({name}); expected {expected}.{ext}"));
        }
        if !path.contains(&arch_dir) {
            problems.push(format!("output {kind} path {path} does not name the architecture {}", opts.arch.non_deb()));
        }
        if !path.contains(&version_dir) {
            problems.push(format!("output {kind} path {path} does not name the driver version {driver_version}"));
        }
    }
    if config.output.module.is_empty() && config.output.probe.is_empty() {
        problems.push("no output: neither output.module nor output.probe is set".into());
    }
    if let Some(data) = &config.kernelconfigdata {
        if base64::engine::general_purpose::STANDARD.decode(data.trim()).is_err() {
            problems.push("kernelconfigdata must be a base64 encoded string".into());
        }
    }
    // The builder's own rules: the target exists, the release parses, what the target needs is there.
    let layer = builder_layer(opts, driver_version, &config);
    if let Err(e) = layer.into_build() {
        problems.push(e.to_string());
    }
    problems
}

/// The builder's configuration for a config file of a driver version, built with dbg-go's driver and
/// device name.
pub fn builder_layer(opts: &Options, driver_version: &str, config: &DriverkitYaml) -> builder::config::Layer {
    use builder::config::{Layer, OutputLayer, Scalar};
    let resolve = |p: &str| DriverkitYaml::resolve(opts, p).map(|p| p.display().to_string());
    Layer {
        kernelrelease: Some(config.kernelrelease.clone()),
        kernelversion: Some(Scalar::Text(config.kernelversion.clone())),
        target: Some(config.target.clone()),
        architecture: Some(config.architecture.clone()),
        output: Some(OutputLayer { module: resolve(&config.output.module), probe: resolve(&config.output.probe) }),
        driverversion: Some(Scalar::Text(driver_version.to_owned())),
        kernelurls: (!config.kernelurls.is_empty()).then(|| config.kernelurls.clone()),
        kernelconfigdata: config.kernelconfigdata.clone(),
        moduledrivername: Some(opts.driver_name.clone()),
        moduledevicename: Some(opts.driver_name.clone()),
        ..Layer::default()
    }
}

/// Modules and probes the configs of each driver version ask for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub modules: usize,
    pub probes: usize,
}

/// `configs stats`: by driver version, and by target within each.
pub fn stats(opts: &Options) -> Result<BTreeMap<String, BTreeMap<String, Counts>>, DbgError> {
    let mut by_version: BTreeMap<String, BTreeMap<String, Counts>> = BTreeMap::new();
    for version in &opts.driver_versions {
        by_version.entry(version.clone()).or_default();
    }
    for (version, path) in opts.configs()? {
        let config = DriverkitYaml::read(&path)?;
        let counts = by_version.entry(version).or_default().entry(config.target.clone()).or_default();
        counts.modules += usize::from(!config.output.module.is_empty());
        counts.probes += usize::from(!config.output.probe.is_empty());
    }
    Ok(by_version)
}

/// `configs cleanup`: removes the configs that pass the filter (none with `--dry-run`).
pub fn cleanup(opts: &Options) -> Result<Vec<PathBuf>, DbgError> {
    let files: Vec<PathBuf> = opts.configs()?.into_iter().map(|(_, p)| p).collect();
    if !opts.dry_run {
        for file in &files {
            std::fs::remove_file(file).map_err(io_err(format!("removing {}", file.display())))?;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbg::TargetFilter;
    use builder::kernelrelease::Arch;

    fn options(root: &Path) -> Options {
        Options {
            repo_root: root.to_owned(),
            arch: Arch::Amd64,
            driver_versions: vec!["1.0.0+driver".into()],
            driver_name: "falco".into(),
            filter: TargetFilter::default(),
            dry_run: false,
        }
    }

    const LIST: &str = r#"{
      "debian": [
        {"kernelversion": "1", "kernelrelease": "6.1.170-3-amd64", "target": "debian",
         "headers": ["http://mirror.example/k/linux-kbuild-6.1_6.1.170-3_amd64.deb",
                     "http://mirror.example/k/linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb",
                     "http://mirror.example/k/linux-headers-6.1.0-47-common_6.1.170-3_all.deb"]},
        {"kernelversion": "1", "kernelrelease": "6.12.95-1~bpo12+1-cloud-amd64", "target": "debian",
         "headers": ["http://mirror.example/a.deb", "http://mirror.example/b.deb", "http://mirror.example/c.deb"]}
      ],
      "arch": [{"kernelversion": "1", "kernelrelease": "6.1.arch1-1", "target": "arch", "headers": ["x"]}],
      "ubuntu": [{"kernelversion": 2, "kernelrelease": "5.15.0-1001-aws", "target": "ubuntu-aws", "headers": ["http://mirror.example/u.deb"]}]
    }"#;

    #[test]
    fn auto_generation_writes_dbg_go_configs() {
        let dir = tempfile::tempdir().expect("tmp");
        let opts = options(dir.path());
        let list = serde_json::from_str(LIST).expect("list");
        let generated = generate_auto(&opts, &list).expect("generate");
        assert_eq!(generated.written.len(), 3, "{:?}", generated.written);
        let path = opts.config_dir("1.0.0+driver").join("debian_6.1.170-3-amd64_1.yaml");
        let config = DriverkitYaml::read(&path).expect("written");
        assert_eq!(config.architecture, "amd64");
        assert_eq!(config.output.module, "output/1.0.0+driver/x86_64/falco_debian_6.1.170-3-amd64_1.ko");
        assert_eq!(config.output.probe, "output/1.0.0+driver/x86_64/falco_debian_6.1.170-3-amd64_1.o");
        assert!(config.kernelurls.windows(2).all(|w| w[0] <= w[1]), "URLs sorted: {:?}", config.kernelurls);
        assert!(std::fs::read_to_string(&path).expect("text").contains("kernelurls:"));
        let ubuntu = opts.config_dir("1.0.0+driver").join("ubuntu-aws_5.15.0-1001-aws_2.yaml");
        assert!(ubuntu.is_file(), "a numeric kernelversion is read as text");
        assert!(validate_one(&opts, "1.0.0+driver", &path).is_empty());
        // Nothing changed: nothing rewritten.
        let again = generate_auto(&opts, &list).expect("generate");
        assert_eq!((again.written.len(), again.unchanged), (0, 3));
    }

    #[test]
    fn the_filter_and_dry_run_decide_what_is_written() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut opts = options(dir.path());
        opts.filter = TargetFilter::new("debian", "bpo", "").expect("filter");
        opts.dry_run = true;
        let list = serde_json::from_str(LIST).expect("list");
        let generated = generate_auto(&opts, &list).expect("generate");
        assert_eq!(generated.written.len(), 1);
        assert!(!generated.written[0].exists(), "a dry run writes nothing");
    }

    #[test]
    fn validation_names_every_problem() {
        let dir = tempfile::tempdir().expect("tmp");
        let opts = options(dir.path());
        let path = opts.config_dir("1.0.0+driver").join("debian_6.1.0-47-amd64_1.yaml");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(
            &path,
            "kernelversion: 1\nkernelrelease: 6.1.170-3-amd64\ntarget: debian\narchitecture: arm64\n\
             output:\n  module: output/1.0.0+driver/aarch64/falco_debian_6.1.170-3-amd64_1.ko\n\
             kernelconfigdata: '%%%'\n",
        )
        .expect("write");
        let problems = validate_one(&opts, "1.0.0+driver", &path).join("\n");
        assert!(problems.contains("config filename is wrong (debian_6.1.0-47-amd64_1.yaml); should be debian_6.1.170-3-amd64_1.yaml"), "{problems}");
        assert!(problems.contains("wrong architecture `arm64`"), "{problems}");
        assert!(problems.contains("does not name the architecture x86_64"), "{problems}");
        assert!(problems.contains("base64"), "{problems}");
        std::fs::write(&path, "kernelversion: [").expect("write");
        assert_eq!(validate_one(&opts, "1.0.0+driver", &path).len(), 1);
    }

    #[test]
    fn the_slice_keeps_the_newest_generic_kernel_of_each_series() {
        let entry = |r: &str| DriverkitYaml { kernelrelease: r.into(), target: "debian".into(), kernelversion: "1".into(), ..Default::default() };
        let list = BTreeMap::from([(
            "debian".to_owned(),
            ["6.1.170-3-amd64", "6.1.192-3-amd64", "6.1.192-3-rt-amd64", "6.12.95-1~bpo12+1-amd64", "6.12.117-1-amd64", "6.12.118-1-amd64"]
                .map(entry)
                .to_vec(),
        )]);
        let slice = newest_per_series(&list);
        let names: Vec<&str> = slice["debian"].iter().map(|e| e.kernelrelease.as_str()).collect();
        assert_eq!(names, ["6.1.192-3-amd64", "6.12.95-1~bpo12+1-amd64", "6.12.118-1-amd64"]);
    }

    #[test]
    fn names_split_at_the_first_and_last_underscore() {
        assert_eq!(split_name("debian_6.1.170-3-amd64_1"), Some(("debian", "6.1.170-3-amd64", "1")));
        assert_eq!(split_name("ubuntu-aws_5.15.0-1001-aws_2"), Some(("ubuntu-aws", "5.15.0-1001-aws", "2")));
        assert_eq!(split_name("nounderscore"), None);
    }

    #[test]
    fn stats_and_cleanup_follow_the_filter() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut opts = options(dir.path());
        let list = serde_json::from_str(LIST).expect("list");
        generate_auto(&opts, &list).expect("generate");
        let stats = stats(&opts).expect("stats");
        assert_eq!(stats["1.0.0+driver"]["debian"], Counts { modules: 2, probes: 2 });
        opts.filter = TargetFilter::new("ubuntu", "", "").expect("filter");
        let removed = cleanup(&opts).expect("cleanup");
        assert_eq!(removed.len(), 1);
        opts.filter = TargetFilter::default();
        assert_eq!(opts.configs().expect("configs").len(), 2);
    }
}
