//! `drivers test`: every built driver booted on its own kernel in qemu ([`crate::drivertest`]), the
//! module and the probe of one kernel in the same boot, `jobs` boots at a time; each artifact's result
//! is recorded beside it (`<artifact>.test.json`), where `drivers publish` reads it.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kernels::list::Images;

use super::{DbgError, Options};
use crate::artifacts::{Artifact, Kind, TestRecord, TestStatus};
use crate::drivertest::{self, DriverTestConfig, GuestTools};
use crate::packages::Kernel;

#[derive(Debug, Clone)]
pub struct TestOptions {
    pub jobs: usize,
    /// The boot images of the crawled kernels (`kernels/list/<arch>/images.json`).
    pub images: PathBuf,
    /// Test again what already passed.
    pub retest: bool,
}

/// The drivers of one kernel, tested in one boot.
#[derive(Debug, Clone)]
pub struct KernelDrivers {
    pub driver_version: String,
    pub target: String,
    pub kernelrelease: String,
    pub kernelversion: String,
    pub module: Option<Artifact>,
    pub probe: Option<Artifact>,
}

impl KernelDrivers {
    pub fn name(&self) -> String {
        format!("{}_{}_{}", self.target, self.kernelrelease, self.kernelversion)
    }

    fn artifacts(&self) -> impl Iterator<Item = &Artifact> {
        self.module.iter().chain(&self.probe)
    }
}

#[derive(Debug, Clone)]
pub enum TestOutcome {
    /// Every artifact's result, recorded.
    Tested { passed: bool, summary: String, vm_seconds: f64, boot_seconds: f64, guest_seconds: f64 },
    Skipped { reason: String },
    /// The test could not run (no boot image for the kernel, the download failed, qemu missing).
    Error { cause: String },
}

#[derive(Debug, Clone)]
pub struct TestResult {
    pub drivers: KernelDrivers,
    pub outcome: TestOutcome,
    pub seconds: f64,
}

#[derive(Debug, Default)]
pub struct TestReport {
    pub results: Vec<TestResult>,
    pub wall: Duration,
    /// Getting kernels and building the guest programs, before the first boot.
    pub setup: Duration,
}

impl TestReport {
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, TestOutcome::Error { .. } | TestOutcome::Tested { passed: false, .. }))
            .count()
    }
}

pub trait TestObserver: Sync {
    fn planned(&self, _boots: usize, _skipped: usize) {}
    fn finished(&self, _result: &TestResult) {}
}

/// Groups the built artifacts by kernel; what already passed is left out unless `retest`.
pub fn plan(opts: &Options, retest: bool) -> Result<(Vec<KernelDrivers>, Vec<TestResult>), DbgError> {
    let built = crate::artifacts::scan_output(&opts.repo_root, &opts.selection())
        .map_err(|e| DbgError::Usage(e.to_string()))?;
    let mut by_kernel: BTreeMap<(String, String, String, String), KernelDrivers> = BTreeMap::new();
    for artifact in built {
        let n = &artifact.name;
        let key = (artifact.driver_version.clone(), n.target.clone(), n.kernelrelease.clone(), n.kernelversion.clone());
        let entry = by_kernel.entry(key).or_insert_with(|| KernelDrivers {
            driver_version: artifact.driver_version.clone(),
            target: n.target.clone(),
            kernelrelease: n.kernelrelease.clone(),
            kernelversion: n.kernelversion.clone(),
            module: None,
            probe: None,
        });
        match n.kind {
            Kind::Module => entry.module = Some(artifact),
            Kind::Probe => entry.probe = Some(artifact),
        }
    }
    let (mut todo, mut skipped) = (Vec::new(), Vec::new());
    for drivers in by_kernel.into_values() {
        let passed = drivers.artifacts().all(|a| a.test.as_ref().is_some_and(|t| t.status == TestStatus::Passed));
        if passed && !retest {
            skipped.push(TestResult {
                drivers,
                outcome: TestOutcome::Skipped { reason: "passed before (use --retest)".into() },
                seconds: 0.0,
            });
        } else {
            todo.push(drivers);
        }
    }
    Ok((todo, skipped))
}

/// The whole run: the guest programs built once, then the boots.
pub fn run(opts: &Options, test: &TestOptions, tools: &GuestTools, observer: &dyn TestObserver) -> Result<TestReport, DbgError> {
    let started = Instant::now();
    let (todo, skipped) = plan(opts, test.retest)?;
    observer.planned(todo.len(), skipped.len());
    let mut report = TestReport { results: skipped, ..TestReport::default() };
    if todo.is_empty() || opts.dry_run {
        report.wall = started.elapsed();
        return Ok(report);
    }
    let images = Images::read(&test.images).map_err(|e| DbgError::KernelList {
        source_name: test.images.display().to_string(),
        detail: format!("{e}; the crawler writes it beside list.json (`kernel-crawler crawl`)"),
    })?;
    report.setup = started.elapsed();
    let queue = Mutex::new(todo.into_iter().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    let config = DriverTestConfig::default();
    std::thread::scope(|s| {
        for _ in 0..test.jobs.max(1) {
            s.spawn(|| loop {
                let Some(drivers) = queue.lock().ok().and_then(|mut q| q.pop_front()) else { return };
                let t0 = Instant::now();
                let outcome = test_kernel(opts, (&images, &test.images), &drivers, tools, &config);
                let result = TestResult { drivers, outcome, seconds: t0.elapsed().as_secs_f64() };
                observer.finished(&result);
                if let Ok(mut r) = results.lock() {
                    r.push(result);
                }
            });
        }
    });
    report.results.extend(results.into_inner().unwrap_or_default());
    report.results.sort_by_key(|r| r.drivers.name());
    report.wall = started.elapsed();
    Ok(report)
}

fn test_kernel(
    opts: &Options,
    (images, images_path): (&Images, &Path),
    drivers: &KernelDrivers,
    tools: &GuestTools,
    config: &DriverTestConfig,
) -> TestOutcome {
    let Some(image) = images.0.get(&drivers.kernelrelease) else {
        return TestOutcome::Error {
            cause: format!(
                "no boot image for {} in {}: the crawl found no package with its kernel that the mirror serves, \
                 so it cannot be booted here (crawl again when the mirror has it)",
                drivers.kernelrelease,
                images_path.display()
            ),
        };
    };
    let kernel = match Kernel::from_package(&image.uname, &image.url, &image.sha256) {
        Ok(k) => k,
        Err(e) => return TestOutcome::Error { cause: format!("getting kernel {}: {e}", image.uname) },
    };
    let module = drivers.module.as_ref().map(|a| a.path.as_path());
    let probe = drivers.probe.as_ref().map(|a| a.path.as_path());
    let report = match drivertest::test_drivers(&kernel, module, probe, &opts.driver_name, tools, config) {
        Ok(r) => r,
        Err(e) => return TestOutcome::Error { cause: e.to_string() },
    };
    for outcome in report.outcomes() {
        let status = if outcome.passed { TestStatus::Passed } else { TestStatus::Failed };
        let record = TestRecord::now(status, &report.kernel, outcome.seconds, &outcome.detail);
        if let Err(e) = record.write_atomic(&outcome.artifact) {
            return TestOutcome::Error { cause: format!("recording the result of {}: {e}", outcome.artifact.display()) };
        }
    }
    TestOutcome::Tested {
        passed: report.passed(),
        summary: report.summary(),
        vm_seconds: report.seconds,
        boot_seconds: report.boot_seconds,
        guest_seconds: report.guest_seconds,
    }
}

/// The sinsp binary for the guests: the one given, else built from the workspace at `workspace`.
pub fn guest_tools(sinsp: Option<&Path>, workspace: &Path) -> Result<GuestTools, DbgError> {
    match sinsp {
        Some(path) => GuestTools::new(path),
        None => GuestTools::build(workspace),
    }
    .map_err(|e| DbgError::Usage(format!("preparing the guest programs: {e}")))
}
