//! `driverkit`: builds this repository's kernel module and eBPF probe for a given kernel, with
//! driverkit's configs, flags and environment variables.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use builder::config::{default_config_file, BuildConfig, Layer, OutputLayer, Scalar};
use builder::executor;
use builder::images::{self, ImageRecipe};
use builder::kernelrelease::Arch;
use builder::source::Source;
use builder::toolchain;

const EXAMPLES: &str = "\
Examples:
  # The module for a Debian kernel, built in a container from this checkout's HEAD:
  driverkit docker --target debian --kernelrelease 6.1.0-47-amd64 --output-module /tmp/scap.ko \\
      --moduledrivername scap --moduledevicename scap --src-dir .
  # The same from a driverkit config file (test-infra's layout):
  driverkit docker -c config/0.1.0/x86_64/debian_6.1.0-47-amd64_1.yaml
  # Make the builder images first, one per Debian suite (no registry is needed; the mirror is
  # read from apt's sources):
  driverkit images build
  # Only the bookworm and trixie images, from another mirror, remade even if they exist:
  driverkit images build --suite bookworm --suite trixie --mirror http://mirror.example/debian --force
  # Build on this host with its own toolchain, against headers already unpacked:
  driverkit local -c build.yaml --kerneldir /usr/src/linux-headers-6.1.0-47-amd64

Every flag can also be set in the config file (same name; outputs under `output:`) or as an environment
variable DRIVERKIT_<FLAG> (upper case, `-` as `_`). Flags win over the environment, which wins over the file.";

const KUBERNETES_EXAMPLES: &str = "\
Examples:
  # Build in namespace `builds` of the current kubeconfig context; the nodes must be able to pull the
  # builder image (push the one `driverkit images build` made, or name yours with --builderimage):
  driverkit kubernetes -n builds -c config/0.1.0/x86_64/debian_6.1.0-47-amd64_1.yaml \\
      --builderimage registry.example.com/driverkit-builder:any-x86_64_gcc12.0.0_gcc11.0.0-latest

The pod is deleted when the build ends, fails, times out (`timeout`, also the pod's deadline) or is
interrupted. Its log streams here; the outputs are copied back and checked against their sha256.";

#[derive(Parser)]
#[command(
    name = "driverkit",
    version,
    about = "Builds the Falco capture stack's kernel module and eBPF probe for any kernel, inside a container",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build inside a container of a local builder image (Docker engine, no network in the container)
    #[command(after_help = EXAMPLES)]
    Docker {
        #[command(flatten)]
        options: BuildOptions,
    },
    /// Build on this host with its own compiler and make
    #[command(after_help = EXAMPLES)]
    Local {
        #[command(flatten)]
        options: BuildOptions,
        /// Use this kernel build tree instead of fetching headers
        #[arg(long, value_name = "DIR")]
        kerneldir: Option<PathBuf>,
    },
    /// Build in a pod of a Kubernetes cluster (sources and headers are sent from here; the pod needs
    /// no network, only the builder image)
    #[command(after_help = KUBERNETES_EXAMPLES)]
    Kubernetes {
        #[command(flatten)]
        options: BuildOptions,
        /// Namespace of the build pod and its ConfigMap
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        /// Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the in-cluster account)
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<PathBuf>,
        /// The kubeconfig context to use (default: its current context)
        #[arg(long)]
        context: Option<String>,
        /// User id the build pod runs as
        #[arg(long, default_value_t = 0)]
        run_as_user: i64,
        /// Secret the cluster pulls the builder image with
        #[arg(long, value_name = "NAME")]
        image_pull_secret: Option<String>,
    },
    /// List the builder images a build could use, or make one
    Images {
        #[command(subcommand)]
        action: Option<ImagesAction>,
        #[command(flatten)]
        options: BuildOptions,
    },
}

#[derive(Subcommand)]
enum ImagesAction {
    /// Make the builder images locally, one per Debian suite (bullseye: gcc 10 and 9, bookworm: 12
    /// and 11, trixie: 14 and 13, sid: 16 and 15), each a debootstrap of its suite with make, cmake,
    /// clang/llvm, kmod, libelf, pahole, imported into the Docker engine. An image made from the same
    /// recipe is kept.
    #[command(after_help = EXAMPLES)]
    Build {
        /// Repository part of the image name
        #[arg(long, default_value = builder::config::DEFAULT_BUILDER_REPO)]
        repo: String,
        /// Tag suffix (driverkit's `latest`, `master` or a version)
        #[arg(long, default_value = "latest")]
        tag: String,
        /// Debian mirror debootstrap downloads from (default: the one in apt's sources)
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
        /// Only this suite's image (repeatable; default all: bullseye, bookworm, trixie, sid)
        #[arg(long = "suite", value_name = "NAME")]
        suites: Vec<String>,
        /// Keyring debootstrap verifies the suite with (default: the host's debian-archive-keyring)
        #[arg(long, value_name = "FILE")]
        keyring: Option<PathBuf>,
        /// Rebuild even when the image exists
        #[arg(long)]
        force: bool,
    },
}

/// driverkit's flags. All optional here: the config file and the environment fill the rest.
#[derive(Args, Default, Clone)]
struct BuildOptions {
    /// Config file (default $HOME/.driverkit.yaml if it exists)
    #[arg(short = 'c', long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Log level: debug, info, warn, error
    #[arg(short = 'l', long, global = true)]
    loglevel: Option<String>,
    /// Timeout of the build in seconds (at least 30; default 120)
    #[arg(long, global = true)]
    timeout: Option<u64>,
    /// Proxy for downloads (http://host:port)
    #[arg(long, global = true)]
    proxy: Option<String>,
    /// Resolve everything and print the build script, without building
    #[arg(long, global = true)]
    dryrun: bool,
    /// Where to write the kernel module (must end in .ko)
    #[arg(long, global = true)]
    output_module: Option<String>,
    /// Where to write the eBPF probe (must end in .o)
    #[arg(long, global = true)]
    output_probe: Option<String>,
    /// Target architecture: amd64 or arm64 (default: this machine's)
    #[arg(long, global = true)]
    architecture: Option<String>,
    /// Driver version: master, a commit or a tag of this repository
    #[arg(long, global = true)]
    driverversion: Option<String>,
    /// The number after `#` in `uname -v` (required by ubuntu)
    #[arg(long, global = true)]
    kernelversion: Option<String>,
    /// What `uname -r` prints on the target machine, e.g. 6.1.0-47-amd64
    #[arg(long, global = true)]
    kernelrelease: Option<String>,
    /// The distribution: debian, ubuntu, centos, amazonlinux2, vanilla, ... (see the README)
    #[arg(short = 't', long, global = true)]
    target: Option<String>,
    /// The kernel's .config, base64 (required by vanilla, minikube, flatcar)
    #[arg(long, global = true)]
    kernelconfigdata: Option<String>,
    /// Module device name: devices are /dev/<name><cpu> (default falco)
    #[arg(long, global = true)]
    moduledevicename: Option<String>,
    /// Module name as lsmod shows it (default falco)
    #[arg(long, global = true)]
    moduledrivername: Option<String>,
    /// Builder image to use instead of choosing one (`auto:<tag>` chooses among tag <tag>)
    #[arg(long, global = true)]
    builderimage: Option<String>,
    /// Builder image repositories or YAML index files, in priority order (repeatable)
    #[arg(long, global = true, value_delimiter = ',')]
    builderrepo: Vec<String>,
    /// Use this gcc version instead of the one chosen by kernel version
    #[arg(long, global = true)]
    gccversion: Option<String>,
    /// Kernel header package URLs (repeatable or comma-separated); `URL#sha256=HEX` pins a checksum
    #[arg(long, global = true, value_delimiter = ',')]
    kernelurls: Vec<String>,
    /// Organization of the driver repository (kept for driverkit compatibility)
    #[arg(long, global = true)]
    repo_org: Option<String>,
    /// Name of the driver repository (kept for driverkit compatibility)
    #[arg(long, global = true)]
    repo_name: Option<String>,
    /// Build this source tree as it is on disk instead of the driverversion's git archive
    #[arg(long, global = true, value_name = "DIR")]
    src_dir: Option<PathBuf>,
}

impl BuildOptions {
    fn as_layer(&self) -> Layer {
        let nonempty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        Layer {
            kernelrelease: self.kernelrelease.clone(),
            kernelversion: self.kernelversion.clone().map(Scalar::Text),
            target: self.target.clone(),
            architecture: self.architecture.clone(),
            output: (self.output_module.is_some() || self.output_probe.is_some()).then(|| OutputLayer {
                module: self.output_module.clone(),
                probe: self.output_probe.clone(),
            }),
            driverversion: self.driverversion.clone().map(Scalar::Text),
            kernelurls: nonempty(&self.kernelurls),
            kernelconfigdata: self.kernelconfigdata.clone(),
            builderimage: self.builderimage.clone(),
            builderrepo: nonempty(&self.builderrepo),
            gccversion: self.gccversion.clone().map(Scalar::Text),
            moduledrivername: self.moduledrivername.clone(),
            moduledevicename: self.moduledevicename.clone(),
            repo_org: self.repo_org.clone(),
            repo_name: self.repo_name.clone(),
            timeout: self.timeout,
            proxy: self.proxy.clone(),
            dryrun: self.dryrun.then_some(true),
            loglevel: self.loglevel.clone(),
            ..Layer::default()
        }
    }

    /// File, then environment, then flags.
    fn merged(&self) -> Result<Layer> {
        let file = match self.config.clone().or_else(default_config_file) {
            Some(path) => {
                tracing::info!(file = %path.display(), "using config file");
                Layer::from_file(&path)?
            }
            None => Layer::default(),
        };
        let env = Layer::from_env(std::env::vars())?;
        Ok(file.overridden_by(env).overridden_by(self.as_layer()))
    }

    fn build_config(&self) -> Result<BuildConfig> {
        Ok(self.merged()?.into_build()?)
    }

    fn source(&self, build: &BuildConfig) -> Result<Source> {
        match &self.src_dir {
            Some(dir) => Ok(Source::Dir(dir.clone())),
            None => Ok(Source::from_version(Path::new("."), &build.driver_version)?),
        }
    }
}

fn init_logging(level: Option<&str>) {
    let filter = match level.or(std::env::var("DRIVERKIT_LOGLEVEL").ok().as_deref()) {
        Some(l) => l.to_owned(),
        None => "info".to_owned(),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match &cli.command {
        Command::Docker { options } | Command::Local { options, .. } | Command::Kubernetes { options, .. } | Command::Images { options, .. } => {
            options.loglevel.clone()
        }
    };
    init_logging(level.as_deref());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Docker { options } => {
            let build = options.build_config()?;
            log_build(&build);
            let source = options.source(&build)?;
            let rt = runtime()?;
            let docker = images::docker::connect()?;
            let cache = executor::cache_dir();
            let prepared = executor::prepare(&build, &source, &cache, None)?;
            // The headers name the kernel's compiler: the image is chosen once they are unpacked.
            let tools = rt.block_on(toolchain::choose(Some(&docker), &build, Some(&prepared.kerneldir), false))?;
            if build.dry_run {
                return dry_run(&build, &prepared, &tools.cc);
            }
            let built = rt.block_on(executor::docker::run(&docker, &build, &prepared, &tools, &mut print_line))?;
            report(executor::finish(&build, &prepared, &built)?);
            Ok(())
        }
        Command::Local { options, kerneldir } => {
            let build = options.build_config()?;
            log_build(&build);
            let source = options.source(&build)?;
            let cache = executor::cache_dir();
            let prepared = executor::prepare(&build, &source, &cache, kerneldir.as_deref())?;
            if build.dry_run {
                return dry_run(&build, &prepared, "gcc");
            }
            let built = executor::local::run(&build, &prepared, &mut print_line)?;
            report(executor::finish(&build, &prepared, &built)?);
            Ok(())
        }
        Command::Kubernetes { options, namespace, kubeconfig, context, run_as_user, image_pull_secret } => {
            let build = options.build_config()?;
            log_build(&build);
            let source = options.source(&build)?;
            let rt = runtime()?;
            let docker = images::docker::connect().ok();
            // The cluster is found before anything is downloaded for it.
            let client = match build.dry_run {
                true => None,
                false => Some(rt.block_on(executor::kubernetes::connect(kubeconfig.as_deref(), context.as_deref()))?),
            };
            let cache = executor::cache_dir();
            let prepared = executor::prepare(&build, &source, &cache, None)?;
            let tools = rt.block_on(toolchain::choose(docker.as_ref(), &build, Some(&prepared.kerneldir), true))?;
            let Some(client) = client else {
                return dry_run(&build, &prepared, &tools.cc);
            };
            let cluster = executor::kubernetes::Cluster { namespace, run_as_user, image_pull_secret };
            let built = rt.block_on(executor::kubernetes::run(client, &cluster, &build, &prepared, &tools, &mut print_line))?;
            report(executor::finish(&build, &prepared, &built)?);
            Ok(())
        }
        Command::Images { action: None, options } => list_images(&options),
        Command::Images { action: Some(ImagesAction::Build { repo, tag, mirror, suites, keyring, force }), .. } => {
            build_images(&repo, &tag, mirror, &suites, keyring, force)
        }
    }
}

/// The build log goes to standard output as it streams, as driverkit's does.
fn print_line(line: &str) {
    println!("{line}");
}

fn log_build(build: &BuildConfig) {
    let summary: Vec<String> = build.summary().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    tracing::info!("building {}", summary.join(" "));
}

fn dry_run(build: &BuildConfig, prepared: &executor::Prepared, cc: &str) -> Result<()> {
    let script = builder::script::render(
        build,
        &builder::script::Layout {
            driver_dir: Path::new("/tmp/driver"),
            kerneldir: &prepared.kerneldir,
            kernel_config: prepared.kernel_config.as_deref(),
            cc,
            tree_is_ready: prepared.tree_is_ready,
        },
    )?;
    println!("{script}");
    tracing::info!("dry run: nothing was built");
    Ok(())
}

fn report(report: executor::Report) {
    if let Some((path, sum)) = &report.module {
        println!("module: {} sha256:{sum} vermagic: {}", path.display(), report.vermagic.as_deref().unwrap_or(""));
    }
    if let Some((path, sum)) = &report.probe {
        println!("probe: {} sha256:{sum}", path.display());
    }
}

fn list_images(options: &BuildOptions) -> Result<()> {
    let layer = options.merged()?;
    let repos = layer.builderrepo.clone().unwrap_or_else(|| vec![builder::config::DEFAULT_BUILDER_REPO.to_owned()]);
    let target = layer.target.clone().unwrap_or_else(|| "any".to_owned());
    let arch = match layer.architecture.as_deref() {
        Some(a) => Arch::parse(a).with_context(|| format!("architecture `{a}`: use amd64 or arm64"))?,
        None => Arch::host(),
    };
    let tag = match layer.builderimage.as_deref() {
        Some(img) if img.starts_with("auto:") => img["auto:".len()..].to_owned(),
        _ => "latest".to_owned(),
    };
    let rt = runtime()?;
    let docker = images::docker::connect()?;
    let found = rt.block_on(images::docker::available(&docker, &repos, &target, arch, &tag))?;
    if found.is_empty() {
        println!("no builder images for {} (tag {tag}) in {}; make one with `driverkit images build`", arch.non_deb(), repos.join(", "));
        return Ok(());
    }
    println!("{:<80} {:<10} GCC", "IMAGE", "TARGET");
    for (name, (target, gccs)) in images::by_name(&found) {
        let gccs: Vec<String> = gccs.iter().map(ToString::to_string).collect();
        println!("{name:<80} {target:<10} {}", gccs.join(", "));
    }
    Ok(())
}

/// Makes the images of `suites` (all when empty), in order; one failing stops the rest, since the
/// cause (mirror, keyring, disk) is usually shared.
fn build_images(repo: &str, tag: &str, mirror: Option<String>, suites: &[String], keyring: Option<PathBuf>, force: bool) -> Result<()> {
    let mirror = match mirror {
        Some(m) => m,
        None => images::apt_mirror()?.debian,
    };
    let known: Vec<&str> = images::SUITES.iter().map(|(s, _)| *s).collect();
    let wanted: Vec<&str> = if suites.is_empty() { known.clone() } else { suites.iter().map(String::as_str).collect() };
    let mut recipes = Vec::new();
    for suite in wanted {
        let mut recipe = ImageRecipe::for_suite(suite, &mirror)
            .with_context(|| format!("no builder image recipe for suite `{suite}`: use one of {}", known.join(", ")))?;
        recipe.keyring = keyring.clone();
        recipes.push(recipe);
    }
    let rt = runtime()?;
    let docker = images::docker::connect()?;
    for (n, recipe) in recipes.iter().enumerate() {
        tracing::info!(suite = %recipe.suite, "image {} of {}", n + 1, recipes.len());
        build_image(&rt, &docker, repo, tag, recipe, force)?;
    }
    Ok(())
}

fn build_image(rt: &tokio::runtime::Runtime, docker: &bollard::Docker, repo: &str, tag: &str, recipe: &ImageRecipe, force: bool) -> Result<()> {
    let image_tag = recipe.tag(Arch::host(), tag);
    let name = format!("{}:{image_tag}", images::normalize_repo(repo));
    let fingerprint = recipe.fingerprint();
    match rt.block_on(images::docker::recipe_of(docker, &name)) {
        Some(Some(made)) if made == fingerprint && !force => {
            tracing::info!(image = %name, suite = %recipe.suite, "exists with the same recipe: not rebuilt (use --force to rebuild)");
            println!("{name} exists (use --force to rebuild)");
            return Ok(());
        }
        Some(_) if !force => tracing::info!(image = %name, "the image was made from another recipe: making it again"),
        Some(_) => tracing::info!(image = %name, "--force: making it again"),
        None => {}
    }
    let cache = executor::cache_dir();
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let work = tempfile::Builder::new().prefix("image-").tempdir_in(&cache)?;
    let rootfs = work.path().join("rootfs");
    let log = cache.join(format!("images-build-{}.log", recipe.suite));
    let started = std::time::Instant::now();
    images::debootstrap(recipe, &rootfs, &log)?;
    tracing::info!(image = %name, secs = started.elapsed().as_secs(), "debootstrap done; importing into the Docker engine");
    let labels = [(images::RECIPE_LABEL, fingerprint.as_str()), (images::SUITE_LABEL, recipe.suite.as_str())];
    rt.block_on(images::docker::import(docker, &rootfs, images::normalize_repo(repo), &image_tag, &labels))?;
    tracing::info!(image = %name, secs = started.elapsed().as_secs(), "image made");
    println!("{name}");
    Ok(())
}
