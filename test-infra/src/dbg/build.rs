//! `configs build`: every config that passes the filter, built with the builder as a library.
//!
//! Three phases, each timed: plan (what is already built or published is skipped without contacting
//! anything), headers (every distinct package of the planned builds downloaded once, in parallel, into
//! the builder's cache), builds (`jobs` at a time, each in its own container). A failed build keeps its
//! whole log in `driverkit/logs/`, and the run goes on past it with `ignore_errors`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use builder::config::BuildConfig;
use builder::executor::{self, BuildError};
use builder::headers::{Fetcher, Package};
use builder::source::Source;

use super::configs::{builder_layer, DriverkitYaml};
use super::{io_err, DbgError, Options};
pub use super::series_and_flavour;

/// Where the builds run.
#[derive(Debug, Clone)]
pub enum Executor {
    Docker,
    Kubernetes { namespace: String, kubeconfig: Option<PathBuf>, context: Option<String> },
}

/// Where the driver sources come from: a git repository holding every driver version (tags, branches,
/// commits), or one working tree built as it is for every version.
#[derive(Debug, Clone)]
pub enum Sources {
    Repo(PathBuf),
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub jobs: usize,
    pub skip_existing: bool,
    pub ignore_errors: bool,
    pub redirect_errors: Option<PathBuf>,
    /// A published repository (`drivers publish`'s layout): what it holds counts as built.
    pub published: Option<PathBuf>,
    pub sources: Sources,
    pub executor: Executor,
    /// Per-build timeout in seconds (the builder's default when `None`).
    pub timeout: Option<u64>,
    /// The builder's cache (headers, unpacked trees, work directories).
    pub cache: PathBuf,
}

/// One config to build, with what of it is still to be made.
#[derive(Debug, Clone)]
pub struct Job {
    pub driver_version: String,
    pub config_path: PathBuf,
    pub config: DriverkitYaml,
    pub series: String,
    pub flavour: String,
    pub module: Option<PathBuf>,
    pub probe: Option<PathBuf>,
}

impl Job {
    pub fn name(&self) -> String {
        self.config.name()
    }
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Built { module: bool, probe: bool, timing: Timing },
    Skipped { reason: String },
    Failed { cause: String, log: Option<PathBuf> },
}

/// Where one build's time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// Unpacking (and, when the headers phase missed one, downloading) the headers; the source archive.
    pub prepare: Duration,
    /// From asking for the container to its first log line: create, upload, start.
    pub container_start: Duration,
    /// From the first log line to the container's exit: cmake, make driver, make bpf.
    pub compile: Duration,
    /// Copying out, vermagic check, install.
    pub finish: Duration,
}

#[derive(Debug, Clone)]
pub struct JobResult {
    pub job: Job,
    pub outcome: Outcome,
    pub seconds: f64,
}

/// What a run did, and how long each phase took.
#[derive(Debug, Default)]
pub struct Report {
    pub results: Vec<JobResult>,
    pub plan: Duration,
    pub headers: Duration,
    pub header_packages: usize,
    pub header_bytes: u64,
    pub builds: Duration,
    /// Builds not started because an earlier one failed without `ignore_errors`.
    pub not_started: usize,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| matches!(r.outcome, Outcome::Failed { .. })).count() + self.not_started
    }

    /// Counts by (series, flavour): built, skipped, failed.
    pub fn summary(&self) -> BTreeMap<(String, String), [usize; 3]> {
        let mut table: BTreeMap<(String, String), [usize; 3]> = BTreeMap::new();
        for r in &self.results {
            let row = table.entry((r.job.series.clone(), r.job.flavour.clone())).or_default();
            match r.outcome {
                Outcome::Built { .. } => row[0] += 1,
                Outcome::Skipped { .. } => row[1] += 1,
                Outcome::Failed { .. } => row[2] += 1,
            }
        }
        table
    }

    /// Summed over the builds that ran.
    pub fn time_split(&self) -> Timing {
        let mut t = Timing::default();
        for r in &self.results {
            if let Outcome::Built { timing, .. } = &r.outcome {
                t.prepare += timing.prepare;
                t.container_start += timing.container_start;
                t.compile += timing.compile;
                t.finish += timing.finish;
            }
        }
        t
    }
}

/// Told what happens as it happens (the CLI draws a progress bar from it).
pub trait Observer: Sync {
    fn planned(&self, _builds: usize, _skipped: usize) {}
    fn headers(&self, _done: usize, _total: usize) {}
    fn started(&self, _job: &Job) {}
    fn finished(&self, _result: &JobResult) {}
}

/// Whether an output is already there: a file with a `.sha256` beside it that matches its bytes.
fn already_built(path: &Path) -> bool {
    let Ok(recorded) = std::fs::read_to_string(builder::outputs::checksum_path(path)) else { return false };
    let Some(want) = recorded.split_whitespace().next() else { return false };
    builder::headers::sha256_file(path).is_ok_and(|got| got == want)
}

/// `<repo>/<driverversion, + as %2B>/<arch>/<file>`: the download layout.
pub fn published_path(repo: &Path, driver_version: &str, arch: &str, file: &str) -> PathBuf {
    repo.join(driver_version.replace('+', "%2B")).join(arch).join(file)
}

/// Reads the configs and decides what each still needs.
pub fn plan(opts: &Options, build: &BuildOptions) -> Result<Vec<Result<Job, JobResult>>, DbgError> {
    let mut planned = Vec::new();
    for (version, path) in opts.configs()? {
        let config = DriverkitYaml::read(&path)?;
        let (series, flavour) = series_and_flavour(&config.target, &config.kernelrelease);
        let mut job = Job {
            driver_version: version.clone(),
            config_path: path,
            module: DriverkitYaml::resolve(opts, &config.output.module),
            probe: DriverkitYaml::resolve(opts, &config.output.probe),
            config,
            series,
            flavour,
        };
        if build.skip_existing {
            let is_done = |out: &Option<PathBuf>| {
                out.as_ref().is_some_and(|p| {
                    let file = p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                    already_built(p)
                        || build
                            .published
                            .as_ref()
                            .is_some_and(|repo| published_path(repo, &version, opts.arch.non_deb(), &file).is_file())
                })
            };
            if is_done(&job.module) {
                job.module = None;
            }
            if is_done(&job.probe) {
                job.probe = None;
            }
            if job.module.is_none() && job.probe.is_none() {
                planned.push(Err(JobResult {
                    job,
                    outcome: Outcome::Skipped { reason: "already built or published".into() },
                    seconds: 0.0,
                }));
                continue;
            }
        }
        planned.push(Ok(job));
    }
    Ok(planned)
}

/// The whole run.
pub fn run(opts: &Options, build: &BuildOptions, observer: &dyn Observer) -> Result<Report, DbgError> {
    let started = Instant::now();
    let mut report = Report::default();
    let mut jobs = Vec::new();
    for p in plan(opts, build)? {
        match p {
            Ok(job) => jobs.push(job),
            Err(skipped) => report.results.push(skipped),
        }
    }
    report.plan = started.elapsed();
    observer.planned(jobs.len(), report.results.len());
    if jobs.is_empty() || opts.dry_run {
        return Ok(report);
    }

    let fetcher = Fetcher::new(build.cache.join("headers"), None)
        .map_err(|e| DbgError::Usage(format!("setting up downloads: {e}")))?;
    let headers_started = Instant::now();
    let (packages, bytes) = prefetch_headers(&fetcher, &jobs, build.jobs.max(1) * 2, observer);
    report.headers = headers_started.elapsed();
    report.header_packages = packages;
    report.header_bytes = bytes;

    let builds_started = Instant::now();
    let (results, not_started) = build_all(opts, build, jobs, observer)?;
    report.builds = builds_started.elapsed();
    report.results.extend(results);
    report.not_started = not_started;
    Ok(report)
}

/// Downloads every distinct header package the jobs name, `parallel` at a time. A package that fails
/// here is not an error yet: its build fetches it again and reports why it cannot.
fn prefetch_headers(fetcher: &Fetcher, jobs: &[Job], parallel: usize, observer: &dyn Observer) -> (usize, u64) {
    let urls: BTreeSet<&String> = jobs.iter().flat_map(|j| &j.config.kernelurls).collect();
    let total = urls.len();
    let queue = Mutex::new(urls.into_iter().collect::<VecDeque<_>>());
    let done = Mutex::new((0usize, 0u64));
    std::thread::scope(|s| {
        for _ in 0..parallel.min(total.max(1)) {
            s.spawn(|| loop {
                let Some(url) = queue.lock().ok().and_then(|mut q| q.pop_front()) else { return };
                let size = match fetcher.fetch(&Package::parse(url)) {
                    Ok(path) => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
                    Err(e) => {
                        tracing::warn!(%url, "header package: {e}");
                        0
                    }
                };
                if let Ok(mut d) = done.lock() {
                    d.0 += 1;
                    d.1 += size;
                    observer.headers(d.0, total);
                }
            });
        }
    });
    let (_, bytes) = done.into_inner().unwrap_or_default();
    (total, bytes)
}

struct Shared<'a> {
    queue: Mutex<VecDeque<Job>>,
    results: Mutex<Vec<JobResult>>,
    stop: std::sync::atomic::AtomicBool,
    errors_file: Option<Mutex<std::fs::File>>,
    /// Builds of the same kernel unpack the same header tree: one at a time.
    kernel_locks: Mutex<BTreeMap<String, std::sync::Arc<Mutex<()>>>>,
    opts: &'a Options,
    build: &'a BuildOptions,
    observer: &'a dyn Observer,
}

fn build_all(
    opts: &Options,
    build: &BuildOptions,
    jobs: Vec<Job>,
    observer: &dyn Observer,
) -> Result<(Vec<JobResult>, usize), DbgError> {
    let errors_file = match &build.redirect_errors {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(io_err(format!("opening {}", path.display())))?,
        )),
        None => None,
    };
    let workers = build.jobs.max(1).min(jobs.len());
    let shared = Shared {
        queue: Mutex::new(jobs.into()),
        results: Mutex::new(Vec::new()),
        stop: Default::default(),
        errors_file,
        kernel_locks: Default::default(),
        opts,
        build,
        observer,
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| worker(&shared));
        }
    });
    let not_started = shared.queue.lock().map(|q| q.len()).unwrap_or(0);
    let mut results = shared.results.into_inner().unwrap_or_default();
    results.sort_by(|a, b| a.job.config_path.cmp(&b.job.config_path));
    Ok((results, not_started))
}

fn worker(shared: &Shared<'_>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("starting a build thread's runtime: {e}");
            return;
        }
    };
    loop {
        if shared.stop.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let Some(job) = shared.queue.lock().ok().and_then(|mut q| q.pop_front()) else { return };
        shared.observer.started(&job);
        let started = Instant::now();
        let outcome = build_one(shared, &runtime, &job);
        let result = JobResult { job, outcome, seconds: started.elapsed().as_secs_f64() };
        if let Outcome::Failed { cause, .. } = &result.outcome {
            if let Some(file) = &shared.errors_file {
                if let Ok(mut f) = file.lock() {
                    let first = cause.lines().next().unwrap_or_default();
                    let _ = writeln!(f, "config: {} | error: {first}", result.job.config_path.display());
                }
            }
            if !shared.build.ignore_errors {
                shared.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        shared.observer.finished(&result);
        if let Ok(mut r) = shared.results.lock() {
            r.push(result);
        }
    }
}

/// The build's log file while it runs: kept under `driverkit/logs/` when the build fails.
struct BuildLog {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    first_line: Option<Instant>,
    last_line: Option<Instant>,
}

impl BuildLog {
    /// A line of dbg's own, which does not count as the build's output.
    fn note(&mut self, line: &str) {
        let _ = writeln!(self.file, "# {line}");
    }

    fn line(&mut self, line: &str) {
        let now = Instant::now();
        self.first_line.get_or_insert(now);
        self.last_line = Some(now);
        let _ = writeln!(self.file, "{line}");
    }
}

fn build_one(shared: &Shared<'_>, runtime: &tokio::runtime::Runtime, job: &Job) -> Outcome {
    let opts = shared.opts;
    let log_dir = opts.log_dir(&job.driver_version);
    let log_path = log_dir.join(format!("{}.log", job.name()));
    let log = std::fs::create_dir_all(&log_dir)
        .and_then(|()| std::fs::File::create(&log_path))
        .map(|f| BuildLog { file: std::io::BufWriter::new(f), path: log_path.clone(), first_line: None, last_line: None });
    let mut log = match log {
        Ok(l) => l,
        Err(e) => return Outcome::Failed { cause: format!("creating {}: {e}", log_path.display()), log: None },
    };
    let result = build_logged(shared, runtime, job, &mut log);
    let _ = log.file.flush();
    match result {
        Ok(outcome) => {
            let _ = std::fs::remove_file(&log.path);
            outcome
        }
        Err(e) => {
            let cause = e.to_string();
            log.note(&format!("error: {cause}"));
            let _ = log.file.flush();
            Outcome::Failed { cause, log: Some(log.path.clone()) }
        }
    }
}

fn build_logged(
    shared: &Shared<'_>,
    runtime: &tokio::runtime::Runtime,
    job: &Job,
    log: &mut BuildLog,
) -> Result<Outcome, BuildError> {
    let opts = shared.opts;
    let mut layer = builder_layer(opts, &job.driver_version, &job.config);
    let output = layer.output.get_or_insert_with(Default::default);
    output.module = job.module.as_ref().map(|p| p.display().to_string());
    output.probe = job.probe.as_ref().map(|p| p.display().to_string());
    layer.timeout = shared.build.timeout;
    let config: BuildConfig = layer.into_build().map_err(|e| BuildError::Io {
        context: format!("config {}", job.config_path.display()),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    })?;
    let source = match &shared.build.sources {
        Sources::Repo(repo) => Source::from_version(repo, &job.driver_version)?,
        Sources::Dir(dir) => Source::Dir(dir.clone()),
    };
    for out in job.module.iter().chain(&job.probe) {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).map_err(|e| BuildError::Io { context: format!("creating {}", dir.display()), source: e })?;
        }
    }

    let t0 = Instant::now();
    let prepared = {
        let lock = shared
            .kernel_locks
            .lock()
            .map(|mut m| m.entry(job.config.kernelrelease.clone()).or_default().clone())
            .ok();
        let _held = lock.as_ref().and_then(|l| l.lock().ok());
        executor::prepare(&config, &source, &shared.build.cache, None)?
    };
    let prepare = t0.elapsed();
    log.note(&format!("kernel tree: {}", prepared.kerneldir.display()));

    let t1 = Instant::now();
    let built = match &shared.build.executor {
        Executor::Docker => {
            let docker = builder::images::docker::connect()?;
            runtime.block_on(async {
                let tools = builder::toolchain::choose(Some(&docker), &config, Some(&prepared.kerneldir), false).await?;
                log.note(&format!("builder image {} with {}", tools.image, tools.cc));
                executor::docker::run(&docker, &config, &prepared, &tools, &mut |l| log.line(l)).await
            })?
        }
        Executor::Kubernetes { namespace, kubeconfig, context } => runtime.block_on(async {
            let tools = builder::toolchain::choose(None, &config, Some(&prepared.kerneldir), true).await?;
            log.note(&format!("builder image {} with {}", tools.image, tools.cc));
            let client = executor::kubernetes::connect(kubeconfig.as_deref(), context.as_deref()).await?;
            let cluster = executor::kubernetes::Cluster {
                namespace: namespace.clone(),
                run_as_user: 0,
                image_pull_secret: None,
            };
            executor::kubernetes::run(client, &cluster, &config, &prepared, &tools, &mut |l| log.line(l)).await
        })?,
    };
    let ran = t1.elapsed();
    let t2 = Instant::now();
    let report = executor::finish(&config, &prepared, &built)?;
    let container_start = log.first_line.map_or(ran, |first| first.saturating_duration_since(t1));
    let compile = match (log.first_line, log.last_line) {
        (Some(a), Some(b)) => b.saturating_duration_since(a),
        _ => Duration::ZERO,
    };
    Ok(Outcome::Built {
        module: report.module.is_some(),
        probe: report.probe.is_some(),
        timing: Timing { prepare, container_start, compile, finish: t2.elapsed() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_layout_escapes_plus() {
        assert_eq!(
            published_path(Path::new("/repo"), "1.0.0+driver", "x86_64", "falco_debian_6.1.170-3-amd64_1.ko"),
            Path::new("/repo/1.0.0%2Bdriver/x86_64/falco_debian_6.1.170-3-amd64_1.ko")
        );
    }
}
