use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};

use kernels::crawl::centos::Centos;
use kernels::crawl::debian::Debian;
use kernels::crawl::ubuntu::Ubuntu;
use kernels::crawl::{Arch, Distro, Progress, UrlCheck};
use kernels::fetch::HttpFetch;
use kernels::list::{Images, List, ListError};

#[derive(Parser)]
#[command(
    name = "kernel-crawler",
    about = "Lists the kernels of Linux distributions and where their headers are, in kernel-crawler's JSON format",
    after_help = "Examples:\n  \
kernel-crawler crawl                                    # Debian, both architectures, into kernels/list\n  \
kernel-crawler crawl --arch x86_64 --out /tmp/list      # one architecture elsewhere\n  \
kernel-crawler crawl --mirror http://mirror.example/debian --security-mirror http://mirror.example/debian-security\n  \
kernel-crawler crawl --distro ubuntu --ubuntu-mirror http://mirror.example/ubuntu\n  \
kernel-crawler crawl --distro centos --centos-repo http://mirror.example/centos/8/BaseOS/x86_64/os"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Crawl the distributions' archives and write <out>/<arch>/list.json (and images.json for Debian).
    #[command(after_help = "Examples:\n  \
kernel-crawler crawl\n  \
kernel-crawler crawl --distro debian --arch aarch64 --suite bookworm --suite bookworm-security\n  \
kernel-crawler crawl --no-check-urls                    # trust the indexes, no HEAD per URL\n\n\
The list is written only once the whole crawl is done, through a temporary file; a target whose\n\
sources all failed keeps the entries it had. Exit status 1 when every source failed.\n\
Debian: every header and boot image URL is asked for (HEAD, 16 at a time); a kernel whose header\n\
package the mirror does not serve is left out with a warning, a boot image that is not served gives\n\
way to the next candidate (-unsigned, then the signed image).")]
    Crawl(CrawlArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DistroName {
    Debian,
    Ubuntu,
    Centos,
}

#[derive(clap::Args)]
struct CrawlArgs {
    /// Distributions to crawl (repeatable).
    #[arg(long = "distro", value_enum, default_values_t = [DistroName::Debian])]
    distros: Vec<DistroName>,
    /// Architectures to crawl (repeatable): x86_64, aarch64.
    #[arg(long = "arch", default_values_t = Arch::ALL)]
    arches: Vec<Arch>,
    /// Debian archive URL (default: $DRIVERKIT_DEBIAN_MIRROR, else the Debian archive in /etc/apt's sources).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// Debian security archive URL (default: apt's security source, else the `debian-security` sibling of the archive).
    #[arg(long, value_name = "URL")]
    security_mirror: Option<String>,
    /// Crawl only these Debian suites instead of discovering them (repeatable).
    #[arg(long = "suite", value_name = "SUITE")]
    suites: Vec<String>,
    /// Ubuntu archive URLs (repeatable; the archive and its ports/security siblings).
    #[arg(long = "ubuntu-mirror", value_name = "URL")]
    ubuntu_mirrors: Vec<String>,
    /// CentOS repository URLs, each holding repodata/repomd.xml (repeatable).
    #[arg(long = "centos-repo", value_name = "URL")]
    centos_repos: Vec<String>,
    /// Output folder: <out>/<arch>/list.json.
    #[arg(long, default_value = "kernels/list")]
    out: PathBuf,
    /// Do not ask the mirror whether every listed URL is served (Debian).
    #[arg(long)]
    no_check_urls: bool,
    /// Seconds allowed per download.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crawl(args) => crawl(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn distros(args: &CrawlArgs) -> anyhow::Result<Vec<Box<dyn Distro>>> {
    let mut out: Vec<Box<dyn Distro>> = Vec::new();
    for d in &args.distros {
        match d {
            DistroName::Debian => {
                let (mirror, apt_security) = match &args.mirror {
                    Some(m) => (m.clone(), Debian::security_sibling(m)),
                    None => {
                        let apt = kernels::sources::apt_mirror()?;
                        let security = apt.security_or_sibling();
                        (apt.debian, security)
                    }
                };
                let security = args.security_mirror.clone().unwrap_or(apt_security);
                let mut debian = Debian::new(mirror, security);
                if !args.suites.is_empty() {
                    debian.suites = Some(args.suites.clone());
                }
                debian.check_urls = !args.no_check_urls;
                out.push(Box::new(debian));
            }
            DistroName::Ubuntu => {
                if args.ubuntu_mirrors.is_empty() {
                    bail!("--distro ubuntu needs --ubuntu-mirror URL (an Ubuntu archive)");
                }
                out.push(Box::new(Ubuntu::new(args.ubuntu_mirrors.clone())));
            }
            DistroName::Centos => {
                if args.centos_repos.is_empty() {
                    bail!("--distro centos needs --centos-repo URL (a folder holding repodata/repomd.xml)");
                }
                out.push(Box::new(Centos::new(args.centos_repos.clone())));
            }
        }
    }
    Ok(out)
}

fn crawl(args: CrawlArgs) -> anyhow::Result<ExitCode> {
    let distros = distros(&args)?;
    let web = HttpFetch::new(Duration::from_secs(args.timeout), 3).context("setting up HTTP")?;
    let mut arches = args.arches.clone();
    arches.sort();
    arches.dedup();

    // Read every existing list first: a malformed one stops the run before any crawling, and
    // nothing is overwritten that could not be read back.
    let mut lists = Vec::new();
    for &arch in &arches {
        let dir = args.out.join(arch.as_str());
        let list = read_or_default(List::read(dir.join("list.json")))?;
        let images = read_or_default(Images::read(dir.join("images.json")))?;
        lists.push((arch, dir, list, images));
    }

    let mut sources_read = 0;
    let mut sources_failed = 0;
    for (arch, _, list, images) in &mut lists {
        for d in &distros {
            let target = d.target().to_owned();
            let mut progress = |p: Progress| match p {
                Progress::Read { source, packages } => {
                    eprintln!("{target} {arch}: {source}: {packages} packages")
                }
                Progress::Absent { source } => eprintln!("{target} {arch}: {source}: not on the mirror, skipped"),
                Progress::Failed { source } => eprintln!("{target} {arch}: {source}: failed"),
            };
            let crawl = d.crawl(&web, *arch, &mut progress);
            for e in &crawl.errors {
                eprintln!("warning: {target} {arch}: {e}");
            }
            if let Some(check) = &crawl.url_check {
                report_url_check(&format!("{target} {arch}"), check);
            }
            sources_read += crawl.sources_read;
            sources_failed += crawl.errors.len();
            if crawl.sources_read == 0 {
                eprintln!("warning: {target} {arch}: no source could be read; its entries in the list are kept");
                continue;
            }
            eprintln!("{target} {arch}: {} kernels", crawl.entries.len());
            list.0.insert(target.clone(), crawl.entries);
            if target == "debian" {
                images.0 = crawl.images.into_iter().collect();
            }
        }
    }
    if sources_read == 0 {
        eprintln!("error: every source failed ({sources_failed}); nothing written");
        return Ok(ExitCode::FAILURE);
    }
    for (arch, dir, list, images) in &lists {
        let path = dir.join("list.json");
        list.write_atomic(&path)?;
        images.write_atomic(dir.join("images.json"))?;
        eprintln!("{arch}: {} kernels written to {}", list.len(), path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn report_url_check(what: &str, check: &UrlCheck) {
    for u in &check.entries_dropped {
        eprintln!("warning: {what}: {} left out: the mirror does not serve {}", u.kernelrelease, u.url);
    }
    for f in &check.fallbacks {
        eprintln!("{what}: {}: boot image {} instead of {} (the mirror does not serve {})", f.kernelrelease, f.used, f.missing, f.missing_url);
    }
    for u in &check.images_dropped {
        eprintln!("warning: {what}: {}: no boot image is served (last tried {}); its images.json line is left out", u.kernelrelease, u.url);
    }
    eprintln!(
        "{what}: URL check: {} URLs asked; {} kernels left out (header package not served), {} boot images from the next candidate, {} boot images left out, {} left out unchecked (errors above)",
        check.asked,
        check.entries_dropped.len(),
        check.fallbacks.len(),
        check.images_dropped.len(),
        check.unchecked
    );
}

fn read_or_default<T: Default>(read: Result<T, ListError>) -> anyhow::Result<T> {
    match read {
        Ok(v) => Ok(v),
        Err(ListError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(anyhow::Error::new(e).context("the existing file is kept; move it away to crawl afresh")),
    }
}
