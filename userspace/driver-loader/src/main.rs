//! `driver-loader`: falcoctl `driver` under another name.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use driver_loader::fetch::{self, Options};
use driver_loader::install::{install, InstallOptions, Installed};
use driver_loader::load::{self, Unload};
use driver_loader::settings::{self, FileDriver, Given, Plan};
use driver_loader::target::Target;
use driver_loader::Report;

const EXAMPLES: &str = "Examples:
  driver-loader printenv                                  what would be installed here, as variables
  driver-loader install --version 8.0.0+driver            the first of modern_ebpf, kmod, ebpf this kernel runs
  driver-loader install --type kmod --repo http://127.0.0.1:8000/driver --version 8.0.0+driver
  driver-loader install --type ebpf --kernelrelease 6.1.0-13-amd64 --kernelversion '#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)'
  driver-loader install --type kmod --http-headers 'x-emc-namespace: default' --http-timeout 30s
  driver-loader config --type kmod --update-falco=false   store the choice in /etc/falcoctl/falcoctl.yaml
  driver-loader cleanup --type kmod                       unload the module (or remove the probe link)
  FALCOCTL_DRIVER_TYPE='kmod;ebpf' FALCOCTL_DRIVER_REPOS=http://mirror/driver driver-loader printenv

Options come from flags, then FALCOCTL_DRIVER_TYPE|VERSION|REPOS|NAME|HOSTROOT (and HOST_ROOT; lists
split on ',' or ';'), then the driver: block of --config, then the defaults.";

/// Finds, verifies and loads the prebuilt Falco driver matching this kernel (falcoctl `driver`).
#[derive(Parser, Debug)]
#[command(name = "driver-loader", about, after_help = EXAMPLES, disable_version_flag = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Global {
    /// falcoctl's config file; its driver: block is read (and written by `config`).
    #[arg(long, global = true, default_value = settings::CONFIG_PATH, value_name = "FILE")]
    config: PathBuf,
    /// Driver types allowed, in descending priority order: modern_ebpf, kmod, ebpf
    /// [default: modern_ebpf,kmod,ebpf].
    #[arg(
        long = "type",
        global = true,
        value_delimiter = ',',
        value_name = "TYPE"
    )]
    types: Option<Vec<String>>,
    /// Driver version to be used (e.g. 8.0.0+driver) [default: the greatest /usr/src/<name>-<version>].
    #[arg(long, global = true)]
    version: Option<String>,
    /// Driver repository, tried in order (repeat or separate with ',') [default: none; a repository made by `dbg drivers publish`].
    #[arg(
        long = "repo",
        global = true,
        value_delimiter = ',',
        value_name = "URL"
    )]
    repos: Option<Vec<String>>,
    /// Driver name to be used [default: falco].
    #[arg(long, global = true)]
    name: Option<String>,
    /// Root of the host's filesystem, when run in a container [default: /].
    #[arg(long = "host-root", global = true, value_name = "DIR")]
    host_root: Option<String>,
    /// The kernel release to install for, as `uname -r` prints it (e.g. 6.1.0-10-cloud-amd64).
    #[arg(long, global = true, value_name = "RELEASE")]
    kernelrelease: Option<String>,
    /// The kernel version, as `uname -v` prints it (e.g. '#1 SMP PREEMPT_DYNAMIC Debian 6.1.38-2
    /// (2023-07-27)'); read from the kernel's image when only --kernelrelease is given.
    #[arg(long, global = true, value_name = "VERSION")]
    kernelversion: Option<String>,
    /// Where drivers are kept and the probe is linked [default: $HOME/.falco].
    #[arg(long, global = true, value_name = "DIR")]
    cache: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the variables the driver commands use, as NAME="value" lines.
    Printenv,
    /// Store the chosen driver in the config file and tell Falco to use it.
    Config(ConfigArgs),
    /// Install the chosen driver: download and verify it, then load it (kmod) or link it (ebpf).
    Install(InstallArgs),
    /// Undo install: unload the kmod, or remove the probe link.
    Cleanup,
}

#[derive(Args, Debug)]
struct ConfigArgs {
    /// Whether to overwrite Falco's configuration (<falco-config-dir>/config.d/engine-kind-falcoctl.yaml).
    #[arg(long = "update-falco", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    update_falco: bool,
    /// Kubernetes namespace (configmaps are not supported by this loader).
    #[arg(long, default_value = "")]
    namespace: String,
    /// Kubernetes config.
    #[arg(long, default_value = "")]
    kubeconfig: String,
    /// Falco configmap name.
    #[arg(long, default_value = "")]
    configmap: String,
    /// Falco configuration directory.
    #[arg(
        long = "falco-config-dir",
        default_value = "/etc/falco",
        value_name = "DIR"
    )]
    falco_config_dir: PathBuf,
}

#[derive(Args, Debug)]
struct InstallArgs {
    /// Whether to enable download of prebuilt drivers.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    download: bool,
    /// Whether to enable local compilation of drivers.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    compile: bool,
    /// Whether to enable automatic kernel headers download where supported.
    #[arg(long = "download-headers", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    download_headers: bool,
    /// Accept any TLS certificate from the repositories.
    #[arg(long = "http-insecure")]
    http_insecure: bool,
    /// Timeout for each http try (e.g. 60s, 1m30s).
    #[arg(long = "http-timeout", default_value = "60s", value_parser = humantime::parse_duration)]
    http_timeout: Duration,
    /// Optional comma-separated list of headers for the http GET request
    /// (e.g. --http-headers='x-emc-namespace: default,Proxy-Authenticate: Basic').
    #[arg(long = "http-headers", default_value = "")]
    http_headers: String,
    /// Attempts per download for failures that may pass (connection errors, 5xx, short reads).
    #[arg(long = "http-attempts", default_value_t = 3)]
    http_attempts: u32,
    /// Load what is downloaded without checking the repository's signature or the driver's sha256.
    #[arg(long = "insecure-skip-verify")]
    insecure_skip_verify: bool,
    /// The minisign public key that must sign the repositories' index.json [default: the shipped key].
    #[arg(long = "public-key", value_name = "FILE")]
    public_key: Option<PathBuf>,
}

struct Stderr;

impl Report for Stderr {
    fn info(&self, message: &str) {
        eprintln!("driver-loader: {message}");
    }
    fn warn(&self, message: &str) {
        eprintln!("driver-loader: WARNING: {message}");
    }
}

fn cache_dir(global: &Global) -> Result<PathBuf> {
    if let Some(dir) = &global.cache {
        return Ok(dir.clone());
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("HOME is not set: pass --cache DIR for where drivers are kept")?;
    Ok(Path::new(&home).join(".falco"))
}

fn plan(global: &Global, report: &dyn Report) -> Result<Plan> {
    let given = Given {
        types: global.types.clone(),
        name: global.name.clone(),
        repos: global.repos.clone(),
        version: global.version.clone(),
        host_root: global.host_root.clone(),
    };
    let file = FileDriver::read(&global.config)?;
    let env = |key: &str| std::env::var(key).ok();
    let settings = settings::resolve(&given, &env, &file, Path::new("/usr/src"))?;
    let kernel = settings::kernel_for(
        global.kernelrelease.as_deref(),
        global.kernelversion.as_deref(),
        &settings.host_root,
        report,
    )?;
    let target = Target::discover(&settings.host_root, &kernel)?;
    let modern = || {
        use scap::engine::features::{Driver, Features};
        let features = Features::probe();
        match features.missing_for(Driver::ModernBpf) {
            None => true,
            Some(why) => {
                report.info(&format!("modern_ebpf cannot run here: {why}"));
                false
            }
        }
    };
    Ok(Plan::new(settings, kernel, target, &modern)?)
}

fn run(cli: Cli) -> Result<()> {
    let report = Stderr;
    let plan = plan(&cli.global, &report)?;
    match cli.command {
        Command::Printenv => print!("{}", plan.printenv()),
        Command::Cleanup => {
            let cache = cache_dir(&cli.global)?;
            load::cleanup(
                plan.driver,
                &plan.settings.name,
                &cache,
                Unload::default(),
                &report,
            )?;
        }
        Command::Config(args) => {
            if !args.namespace.is_empty() {
                anyhow::bail!(
                    "--namespace {}: updating a Kubernetes configmap is not supported by this loader; run it with --update-falco=false, or where Falco's /etc/falco is mounted",
                    args.namespace
                );
            }
            if args.update_falco {
                let changed = settings::update_falco(&args.falco_config_dir, plan.driver)
                    .context("checking whether Falco runs a driver engine (pass --update-falco=false to leave Falco alone)")?;
                if changed {
                    report.info(&format!(
                        "Falco set to engine.kind {} in {}",
                        plan.driver,
                        args.falco_config_dir.join("config.d").display()
                    ));
                } else {
                    report.info(
                        "Falco is not configured to run with a driver, no need to set driver type",
                    );
                }
            }
            settings::store(&plan, &cli.global.config)?;
            report.info(&format!(
                "stored the driver config in {}",
                cli.global.config.display()
            ));
        }
        Command::Install(args) => {
            let mut options = Options::new()?;
            options.timeout = args.http_timeout;
            options.headers = fetch::parse_headers(&args.http_headers)?;
            options.insecure_tls = args.http_insecure;
            options.skip_verify = args.insecure_skip_verify;
            options.attempts = args.http_attempts;
            if let Some(path) = &args.public_key {
                options.public_key = (fetch::read_key(path)?, path.display().to_string());
            }
            let _ = args.download_headers;
            let options = InstallOptions {
                download: args.download,
                compile: args.compile,
                cache: cache_dir(&cli.global)?,
                fetch: options,
                unload: Unload::default(),
            };
            match install(&plan, &options, &report)? {
                Installed::NothingNeeded(driver) => {
                    println!("{driver}: nothing to download or load; the capture program loads it itself")
                }
                Installed::NothingToDo => println!("nothing to do: download and compile disabled"),
                Installed::Module(f) => println!("kmod loaded from {}", f.path.display()),
                Installed::Probe { fetched, link } => println!(
                    "ebpf probe {} linked at {}",
                    fetched.path.display(),
                    link.display()
                ),
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("driver-loader: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "driver-loader",
            "--type",
            "kmod,ebpf",
            "install",
            "--download=false",
            "--repo",
            "http://a/driver",
            "--repo",
            "http://b/driver",
            "--version",
            "8.0.0+driver",
        ])
        .expect("parses");
        assert_eq!(cli.global.types, Some(vec!["kmod".into(), "ebpf".into()]));
        assert_eq!(cli.global.repos.as_ref().map(Vec::len), Some(2));
        assert_eq!(cli.global.version.as_deref(), Some("8.0.0+driver"));
        let Command::Install(args) = cli.command else {
            panic!("install");
        };
        assert!(!args.download && args.compile);
        assert_eq!(args.http_timeout, Duration::from_secs(60));
    }
}
