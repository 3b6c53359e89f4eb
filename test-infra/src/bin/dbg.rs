//! `dbg`: dbg-go's CLI for this project's drivers: build configs from the kernel-crawler list, build
//! them with the builder, boot-test every artifact, publish a signed repository.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use builder::kernelrelease::Arch;
use test_infra::dbg::build::{self as matrix, BuildOptions, Executor, JobResult, Outcome, Sources};
use test_infra::dbg::configs::{self, DriverkitYaml};
use test_infra::dbg::test as dbgtest;
use test_infra::dbg::{Options, TargetFilter};
use test_infra::publish;

const EXAMPLES: &str = "\
Examples:
  # Configs for every Debian kernel of the committed kernel-crawler list, for the driver at HEAD:
  dbg --repo-root /srv/dbg --driver-version master configs generate --auto \\
      --kernel-list kernels/list/x86_64/list.json --target-distro debian
  # Build them all, two at a time, past failures, then boot-test and publish what passed:
  dbg --repo-root /srv/dbg configs build -j 2 --ignore-errors --driver-repo .
  dbg --repo-root /srv/dbg drivers test
  dbg --repo-root /srv/dbg drivers publish --repo /srv/drivers --key /srv/keys/dbg.key
  # Only the 6.1 kernels:
  dbg --repo-root /srv/dbg --target-kernelrelease '^6\\.1\\.' configs build

Layout (dbg-go's): <repo-root>/driverkit/config/<driverversion>/<arch>/<target>_<kernelrelease>_<kernelversion>.yaml
and <repo-root>/driverkit/output/<driverversion>/<arch>/<drv>_<target>_<kernelrelease>_<kernelversion>.{ko,o}.";

#[derive(Parser)]
#[command(name = "dbg", version, about = "Prebuilt drivers for every kernel: configs, builds, boot tests, a signed repository", after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Root of the dbg tree (holds driverkit/config and driverkit/output)
    #[arg(long, global = true, default_value = ".")]
    repo_root: PathBuf,
    /// Architecture: amd64 or arm64 (x86_64/aarch64 accepted)
    #[arg(short = 'a', long, global = true, default_value = "amd64")]
    architecture: String,
    /// Driver versions to work on (repeatable); default every folder under driverkit/config/
    #[arg(long = "driver-version", global = true, value_delimiter = ',')]
    driver_versions: Vec<String>,
    /// Driver name (module name and device name)
    #[arg(long, global = true, default_value = "falco")]
    driver_name: String,
    /// Only targets matching this regex
    #[arg(long, global = true, default_value = "")]
    target_distro: String,
    /// Only kernel releases matching this regex
    #[arg(long, global = true, default_value = "")]
    target_kernelrelease: String,
    /// Only kernel versions matching this regex
    #[arg(long, global = true, default_value = "")]
    target_kernelversion: String,
    /// Say what would be done, do nothing
    #[arg(long, global = true)]
    dry_run: bool,
    /// Log level: debug, info, warn, error (each build's own log goes to driverkit/logs/ when it fails)
    #[arg(short = 'l', long, global = true, default_value = "warn")]
    log_level: String,
}

#[derive(Subcommand)]
enum Command {
    /// Work with the build configs
    #[command(subcommand)]
    Configs(ConfigsCmd),
    /// Work with the built drivers: boot-test, publish, verify, count, remove
    #[command(subcommand)]
    Drivers(DriversCmd),
}

#[derive(Subcommand)]
enum DriversCmd {
    /// Boot each built driver's kernel in qemu: load the module, capture a workload and a storm, reload
    /// it three times; the same for the probe. Each artifact's result goes beside it (<file>.test.json)
    Test {
        /// Boots at a time (each takes one core under TCG)
        #[arg(short = 'j', long, default_value_t = 2)]
        jobs: usize,
        /// The crawled kernels' boot images; default kernels/list/<arch>/images.json of this checkout
        #[arg(long, value_name = "FILE")]
        kernel_images: Option<PathBuf>,
        /// The sinsp binary run in the guests (default: built from --workspace)
        #[arg(long, value_name = "FILE")]
        sinsp: Option<PathBuf>,
        /// This project's workspace, to build sinsp from
        #[arg(long, value_name = "DIR", default_value = ".")]
        workspace: PathBuf,
        /// Test again the drivers that passed before
        #[arg(long)]
        retest: bool,
    },
    /// Copy the built drivers that passed their boot test into a repository in the download layout,
    /// with a .sha256 beside each, and write index.json (signed with minisign) and index.html
    Publish {
        /// The repository directory
        #[arg(long, value_name = "DIR")]
        repo: PathBuf,
        /// The minisign secret key (`dbg drivers keygen`); an encrypted one takes its password from DBG_KEY_PASSWORD
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Publish drivers whose boot test failed too
        #[arg(long)]
        include_failed: bool,
        /// Publish drivers that were never boot-tested too
        #[arg(long)]
        include_untested: bool,
    },
    /// Check a repository: the index's signature, then every file's size and sha256
    Verify {
        #[arg(long, value_name = "DIR")]
        repo: PathBuf,
        /// The minisign public key
        #[arg(long, value_name = "FILE")]
        pubkey: PathBuf,
    },
    /// Make a minisign key pair (dbg.key, dbg.pub) in a directory
    Keygen {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Encrypt the secret key with the password in DBG_KEY_PASSWORD
        #[arg(long)]
        encrypt: bool,
    },
    /// Count the built (or, with --repo, the published) drivers by version, target, kind and test status
    Stats {
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
    /// Remove the drivers that match the filters from the output tree, or (with --repo and --key) from
    /// a repository, whose index is re-signed first
    Cleanup {
        #[arg(long, value_name = "DIR", requires = "key")]
        repo: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ConfigsCmd {
    /// Write configs: from the kernel-crawler list (--auto), or one for the exact --target-* given
    Generate {
        /// From the kernel-crawler list, filtered by the --target-* regexes
        #[arg(long)]
        auto: bool,
        /// The kernel-crawler list (file or http(s) URL); default kernels/list/<arch>/list.json of this checkout
        #[arg(long, value_name = "FILE|URL")]
        kernel_list: Option<String>,
        /// With --auto, only the newest kernel of each series, generic flavour (a slice of the matrix)
        #[arg(long, requires = "auto")]
        one_per_series: bool,
        /// Header package URLs of the one kernel (without --auto); default: the builder's target rules
        #[arg(long, value_delimiter = ',')]
        kernelurls: Vec<String>,
    },
    /// Check every config: file name, architecture, output names, and the builder's own rules
    Validate,
    /// Count the modules and probes the configs ask for
    Stats,
    /// Remove the configs that match the filters
    Cleanup,
    /// Build the configs with the builder (Docker, or a Kubernetes cluster)
    Build(BuildArgs),
}

#[derive(Args)]
struct BuildArgs {
    /// Builds at a time
    #[arg(short = 'j', long, default_value_t = 2)]
    jobs: usize,
    /// Skip outputs already built (checksum matching) or published
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    skip_existing: bool,
    /// Keep going past failed builds (the exit status is still non-zero)
    #[arg(long)]
    ignore_errors: bool,
    /// Append one line per failed build to this file
    #[arg(long, value_name = "FILE")]
    redirect_errors: Option<PathBuf>,
    /// A published repository: what it holds counts as built
    #[arg(long, value_name = "DIR")]
    published: Option<PathBuf>,
    /// The git repository whose tags, branches and commits are the driver versions
    #[arg(long, value_name = "DIR", default_value = ".", conflicts_with = "src_dir")]
    driver_repo: PathBuf,
    /// Build this working tree as it is, whatever the driver version
    #[arg(long, value_name = "DIR")]
    src_dir: Option<PathBuf>,
    /// docker or kubernetes
    #[arg(long, default_value = "docker")]
    executor: String,
    /// Namespace of the build pods (kubernetes)
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Kubeconfig (kubernetes; default $KUBECONFIG or ~/.kube/config)
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (kubernetes)
    #[arg(long)]
    context: Option<String>,
    /// Timeout of each build in seconds
    #[arg(long)]
    timeout: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.global.log_level).unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn options(global: &Global, need_versions: bool) -> Result<Options> {
    let arch = Arch::parse(&global.architecture)
        .with_context(|| format!("architecture `{}` is not supported: use amd64 or arm64", global.architecture))?;
    let opts = Options {
        repo_root: global.repo_root.clone(),
        arch,
        driver_versions: global.driver_versions.clone(),
        driver_name: global.driver_name.clone(),
        filter: TargetFilter::new(&global.target_distro, &global.target_kernelrelease, &global.target_kernelversion)?,
        dry_run: global.dry_run,
    };
    Ok(if need_versions { opts.resolve_driver_versions()? } else { opts })
}

fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Configs(ConfigsCmd::Generate { auto, kernel_list, one_per_series, kernelurls }) => {
            let opts = options(g, true)?;
            let generated = if auto {
                let source = kernel_list.unwrap_or_else(|| format!("kernels/list/{}/list.json", opts.arch.non_deb()));
                let mut list = configs::read_kernel_list(&source)?;
                if one_per_series {
                    list = configs::newest_per_series(&list);
                }
                configs::generate_auto(&opts, &list)?
            } else {
                if g.target_distro.is_empty() || g.target_kernelrelease.is_empty() || g.target_kernelversion.is_empty() {
                    bail!("either --auto, or all of --target-distro, --target-kernelrelease and --target-kernelversion (exact values)");
                }
                let kernel = DriverkitYaml {
                    kernelversion: g.target_kernelversion.clone(),
                    kernelrelease: g.target_kernelrelease.clone(),
                    target: g.target_distro.clone(),
                    kernelurls: if kernelurls.is_empty() { header_urls(&opts, g)? } else { kernelurls },
                    ..DriverkitYaml::default()
                };
                let mut generated = configs::Generated::default();
                configs::generate_one(&opts, kernel, &mut generated)?;
                generated
            };
            for path in &generated.written {
                println!("{} {}", if opts.dry_run { "would write" } else { "wrote" }, path.display());
            }
            println!("{} configs written, {} unchanged", generated.written.len(), generated.unchanged);
            Ok(ExitCode::SUCCESS)
        }
        Command::Configs(ConfigsCmd::Validate) => {
            let opts = options(g, true)?;
            let configs = opts.configs()?;
            let mut bad = 0;
            for (version, path) in &configs {
                let problems = configs::validate_one(&opts, version, path);
                if !problems.is_empty() {
                    bad += 1;
                    println!("{}:", path.display());
                    for p in problems {
                        println!("  {p}");
                    }
                }
            }
            println!("{} configs, {bad} invalid", configs.len());
            Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Configs(ConfigsCmd::Stats) => {
            let opts = options(g, true)?;
            let stats = configs::stats(&opts)?;
            println!("{:<24} {:<16} {:>8} {:>8}", "VERSION", "TARGET", "MODULES", "PROBES");
            let (mut modules, mut probes) = (0, 0);
            for (version, targets) in &stats {
                for (target, c) in targets {
                    println!("{version:<24} {target:<16} {:>8} {:>8}", c.modules, c.probes);
                    modules += c.modules;
                    probes += c.probes;
                }
            }
            println!("{:<24} {:<16} {modules:>8} {probes:>8}", "TOTALS", "");
            Ok(ExitCode::SUCCESS)
        }
        Command::Configs(ConfigsCmd::Cleanup) => {
            let opts = options(g, true)?;
            let removed = configs::cleanup(&opts)?;
            for path in &removed {
                println!("{} {}", if opts.dry_run { "would remove" } else { "removed" }, path.display());
            }
            println!("{} configs {}", removed.len(), if opts.dry_run { "would be removed" } else { "removed" });
            Ok(ExitCode::SUCCESS)
        }
        Command::Configs(ConfigsCmd::Build(args)) => configs_build(g, args),
        Command::Drivers(cmd) => drivers(g, cmd),
    }
}

fn publish_options(opts: &Options, include_failed: bool, include_untested: bool) -> publish::PublishOptions {
    publish::PublishOptions {
        include_failed,
        include_untested,
        dry_run: opts.dry_run,
        key_password: publish::password_from_env(),
        driver_name: opts.driver_name.clone(),
    }
}

fn drivers(g: &Global, cmd: DriversCmd) -> Result<ExitCode> {
    let opts = options(g, false)?;
    let selection = opts.selection();
    match cmd {
        DriversCmd::Test { jobs, kernel_images, sinsp, workspace, retest } => {
            let images = kernel_images.unwrap_or_else(|| PathBuf::from(format!("kernels/list/{}/images.json", opts.arch.non_deb())));
            let tools = dbgtest::guest_tools(sinsp.as_deref(), &workspace)?;
            let progress = Progress::new();
            let test = dbgtest::TestOptions { jobs, images, retest };
            let report = dbgtest::run(&opts, &test, &tools, &progress)?;
            progress.bar.finish_and_clear();
            print_test_report(&report);
            return Ok(if report.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        DriversCmd::Publish { repo, key, include_failed, include_untested } => {
            let built = publish::scan(publish::Tree::Output(&opts.repo_root), &selection)?;
            let report = publish::publish(&built, &repo, &key, &publish_options(&opts, include_failed, include_untested))?;
            println!("{report}");
        }
        DriversCmd::Verify { repo, pubkey } => {
            let report = publish::verify(&repo, &pubkey)?;
            println!(
                "{}: signature good ({}); {} artifacts, {} bytes, every sha256 matches",
                repo.display(),
                report.trusted_comment,
                report.artifacts,
                report.bytes
            );
            for path in &report.unlisted {
                println!("not in the index (no loader is told about it): {path}");
            }
        }
        DriversCmd::Keygen { dir, encrypt } => {
            let password = if encrypt {
                Some(publish::password_from_env().context("--encrypt: set the password in DBG_KEY_PASSWORD")?)
            } else {
                None
            };
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let keys = publish::keygen(&dir, password.as_deref())?;
            println!("secret key: {}\npublic key: {}\nkey id: {}", keys.secret.display(), keys.public.display(), keys.key_id);
        }
        DriversCmd::Stats { repo } => {
            let tree = match &repo {
                Some(dir) => publish::Tree::Repository(dir),
                None => publish::Tree::Output(&opts.repo_root),
            };
            println!("{}", publish::stats(tree, &selection)?);
        }
        DriversCmd::Cleanup { repo, key } => {
            let report = match (repo, key) {
                (Some(repo), Some(key)) => {
                    publish::cleanup_repository(&repo, &selection, &key, &publish_options(&opts, false, false))?
                }
                _ => publish::cleanup_output(&opts.repo_root, &selection, opts.dry_run)?,
            };
            println!("{report}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Header URLs for one kernel by the builder's target rules (dbg-go asks driverkit's libraries).
fn header_urls(opts: &Options, g: &Global) -> Result<Vec<String>> {
    let target = builder::targets::find(&g.target_distro)?;
    let kernel = builder::kernelrelease::KernelRelease::parse(&g.target_kernelrelease, opts.arch, &g.target_kernelversion)?;
    let fetcher = builder::headers::Fetcher::new(builder::executor::cache_dir().join("headers"), None)?;
    let (candidates, needed) = builder::headers::candidates(target, &kernel, &[], &fetcher)?;
    match fetcher.resolve(&candidates, needed, target.single_package()) {
        Ok(found) => Ok(found.into_iter().map(|p| p.url).collect()),
        Err(e) => {
            tracing::warn!("no header packages found ({e}); the config is written without kernelurls");
            Ok(Vec::new())
        }
    }
}

/// Draws the run: a progress bar on a terminal, one line per build elsewhere.
struct Progress {
    bar: indicatif::ProgressBar,
    tty: bool,
}

impl Progress {
    fn new() -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = if tty { indicatif::ProgressBar::new(0) } else { indicatif::ProgressBar::hidden() };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Progress { bar, tty }
    }

    fn say(&self, line: String) {
        if self.tty {
            self.bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}

impl matrix::Observer for Progress {
    fn planned(&self, builds: usize, skipped: usize) {
        self.bar.set_length(builds as u64);
        self.say(format!("{builds} builds to run, {skipped} already built or published"));
    }

    fn headers(&self, done: usize, total: usize) {
        self.bar.set_message(format!("headers {done}/{total}"));
        if !self.tty && (done == total || done.is_multiple_of(25)) {
            eprintln!("header packages: {done}/{total}");
        }
    }

    fn started(&self, job: &matrix::Job) {
        self.bar.set_message(job.name());
    }

    fn finished(&self, r: &JobResult) {
        self.bar.inc(1);
        let line = match &r.outcome {
            Outcome::Built { module, probe, .. } => {
                let what = [(*module, "kmod"), (*probe, "probe")].iter().filter(|(b, _)| *b).map(|(_, w)| *w).collect::<Vec<_>>().join("+");
                format!("built   {} ({what}, {:.1}s)", r.job.name(), r.seconds)
            }
            Outcome::Skipped { reason } => format!("skipped {} ({reason})", r.job.name()),
            Outcome::Failed { cause, log } => format!(
                "FAILED  {} after {:.1}s: {}{}",
                r.job.name(),
                r.seconds,
                cause.lines().next().unwrap_or_default(),
                log.as_ref().map(|l| format!(" (log: {})", l.display())).unwrap_or_default()
            ),
        };
        self.say(line);
    }
}

impl dbgtest::TestObserver for Progress {
    fn planned(&self, boots: usize, skipped: usize) {
        self.bar.set_length(boots as u64);
        self.say(format!("{boots} kernels to boot, {skipped} passed before"));
    }

    fn finished(&self, r: &dbgtest::TestResult) {
        self.bar.inc(1);
        let line = match &r.outcome {
            dbgtest::TestOutcome::Tested { passed: true, .. } => format!("passed  {} ({:.1}s)", r.drivers.name(), r.seconds),
            dbgtest::TestOutcome::Tested { passed: false, summary, .. } => {
                format!("FAILED  {} ({:.1}s)\n{summary}", r.drivers.name(), r.seconds)
            }
            dbgtest::TestOutcome::Skipped { reason } => format!("skipped {} ({reason})", r.drivers.name()),
            dbgtest::TestOutcome::Error { cause } => format!("ERROR   {}: {cause}", r.drivers.name()),
        };
        self.say(line);
    }
}

fn print_test_report(report: &dbgtest::TestReport) {
    let mut table: std::collections::BTreeMap<(String, String), [usize; 3]> = Default::default();
    let (mut vm, mut boot, mut guest) = (0.0, 0.0, 0.0);
    for r in &report.results {
        let key = matrix::series_and_flavour(&r.drivers.target, &r.drivers.kernelrelease);
        let row = table.entry(key).or_default();
        match &r.outcome {
            dbgtest::TestOutcome::Tested { passed: true, vm_seconds, boot_seconds, guest_seconds, .. } => {
                row[0] += 1;
                vm += vm_seconds;
                boot += boot_seconds;
                guest += guest_seconds;
            }
            dbgtest::TestOutcome::Skipped { .. } => row[1] += 1,
            _ => row[2] += 1,
        }
    }
    println!("{:<28} {:<14} {:>6} {:>8} {:>7}", "SERIES", "FLAVOUR", "PASSED", "SKIPPED", "FAILED");
    for ((series, flavour), row) in &table {
        println!("{series:<28} {flavour:<14} {:>6} {:>8} {:>7}", row[0], row[1], row[2]);
    }
    for r in &report.results {
        match &r.outcome {
            dbgtest::TestOutcome::Error { cause } => println!("error: {}: {cause}", r.drivers.name()),
            dbgtest::TestOutcome::Tested { passed: false, summary, .. } => println!("failed: {}\n{summary}", r.drivers.name()),
            _ => {}
        }
    }
    println!(
        "time: {:.1}s wall, setup {:.1}s; summed over passed kernels: {vm:.1}s in qemu (boot {boot:.1}s, tests in the guest {guest:.1}s)",
        report.wall.as_secs_f64(),
        report.setup.as_secs_f64()
    );
}

fn configs_build(g: &Global, args: BuildArgs) -> Result<ExitCode> {
    let opts = options(g, true)?;
    let executor = match args.executor.as_str() {
        "docker" => Executor::Docker,
        "kubernetes" => Executor::Kubernetes { namespace: args.namespace, kubeconfig: args.kubeconfig, context: args.context },
        other => bail!("executor `{other}`: use docker or kubernetes"),
    };
    let sources = match args.src_dir {
        Some(dir) => Sources::Dir(dir),
        None => Sources::Repo(args.driver_repo),
    };
    let build = BuildOptions {
        jobs: args.jobs.max(1),
        skip_existing: args.skip_existing,
        ignore_errors: args.ignore_errors,
        redirect_errors: args.redirect_errors,
        published: args.published,
        sources,
        executor,
        timeout: args.timeout,
        cache: builder::executor::cache_dir(),
    };
    let progress = Progress::new();
    let report = matrix::run(&opts, &build, &progress)?;
    progress.bar.finish_and_clear();
    print_build_report(&report, opts.dry_run);
    Ok(if report.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_build_report(report: &matrix::Report, dry_run: bool) {
    println!("{:<28} {:<14} {:>6} {:>8} {:>7}", "SERIES", "FLAVOUR", "BUILT", "SKIPPED", "FAILED");
    let mut totals = [0usize; 3];
    for ((series, flavour), row) in report.summary() {
        println!("{series:<28} {flavour:<14} {:>6} {:>8} {:>7}", row[0], row[1], row[2]);
        for (t, n) in totals.iter_mut().zip(row) {
            *t += n;
        }
    }
    println!("{:<28} {:<14} {:>6} {:>8} {:>7}", "TOTAL", "", totals[0], totals[1], totals[2]);
    if report.not_started > 0 {
        println!("{} builds not started after a failure (use --ignore-errors to go on)", report.not_started);
    }
    for r in &report.results {
        if let Outcome::Failed { cause, log } = &r.outcome {
            println!("failed: {} — {}", r.job.config_path.display(), cause.lines().next().unwrap_or_default());
            if let Some(log) = log {
                println!("        log: {}", log.display());
            }
        }
    }
    if dry_run {
        println!("dry run: nothing was built");
        return;
    }
    let t = report.time_split();
    println!(
        "time: plan {:.1}s, headers {:.1}s ({} packages, {:.0} MB), builds {:.1}s wall \
         (summed over builds: prepare {:.1}s, container start {:.1}s, compile {:.1}s, finish {:.1}s)",
        report.plan.as_secs_f64(),
        report.headers.as_secs_f64(),
        report.header_packages,
        report.header_bytes as f64 / 1e6,
        report.builds.as_secs_f64(),
        t.prepare.as_secs_f64(),
        t.container_start.as_secs_f64(),
        t.compile.as_secs_f64(),
        t.finish.as_secs_f64()
    );
}
