//! `drivers test`: one qemu boot per kernel proves its built drivers capture. The module is loaded,
//! captures the guest workload (`guest/workload.c`) with `sinsp --driver kmod -w`, survives a short
//! syscall storm and three unload/reload cycles (each followed by a capture that must see events); the
//! per-kernel eBPF probe, when given, captures the workload and a storm through `sinsp --driver
//! bpf=/probe.o`. Captures come back to the host and are checked here with the `scap` crate: the
//! workload's calls exactly, no drops outside the storm, the storm's drops counted, the kernel healthy.
//!
//! ```no_run
//! use std::path::Path;
//! use test_infra::drivertest::{test_drivers, DriverTestConfig, GuestTools};
//! use test_infra::packages::Kernel;
//! let kernel = Kernel::fetch("6.1.0-47-amd64")?;
//! let tools = GuestTools::new(Path::new("target/release/sinsp"))?;
//! let report = test_drivers(&kernel, Some(Path::new("falco.ko")), None, "falco", &tools,
//!     &DriverTestConfig::default())?;
//! assert!(report.passed(), "{}", report.summary());
//! # Ok::<(), test_infra::Error>(())
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use scap::event::{Event, SockAddr, Value};
use scap::savefile::{Block, Reader};
use scap::schema::ppme;
use serde::Serialize;

use crate::initramfs::Initramfs;
use crate::packages::{cache_dir, Kernel};
use crate::vm::{self, health_problems, VmConfig, VmRun};
use crate::Error;

/// What the guest workload does, compiled into it (`-D` flags) and expected of every capture of it.
pub mod workload {
    /// Successful opens, each followed by a read of the whole payload and a close.
    pub const OPENS: u32 = 20;
    /// Opens of a missing file (ENOENT).
    pub const FAILED_OPENS: u32 = 10;
    /// getppid calls: no event of their own, generic events with the syscall's code.
    pub const GETPPIDS: u32 = 25;
    /// getppid calls of the storm: enough to fill the ring under TCG, few enough to take ~2 s.
    pub const STORM_CALLS: u32 = 60_000;
    /// getppid calls of the capture after each reload.
    pub const PING_CALLS: u32 = 30;
    /// The exit status of the child the workload forks and execs.
    pub const CHILD_STATUS: u32 = 3;
    pub const TCP_PORT: u16 = 4243;
    pub const TCP_MESSAGE: &str = "ping";
    /// Written once to `DATA_FILE`, read back by each open.
    pub const PAYLOAD: &str = "drivertest payload\n";
    pub const DATA_FILE: &str = "/tmp/dt-data";
    pub const RENAMED_FILE: &str = "/tmp/dt-renamed";
    pub const MISSING_FILE: &str = "/nonexistent/dt-missing";
    /// The workload's guest path; its comm is the file name.
    pub const GUEST_PATH: &str = "/dtworkload";
    pub const COMM: &str = "dtworkload";
}

const WORKLOAD_SOURCE: &str = include_str!("../guest/workload.c");

/// The programs that run in the guest.
#[derive(Debug, Clone)]
pub struct GuestTools {
    /// A `sinsp` binary (dynamically linked: its libraries are taken from the host).
    pub sinsp: PathBuf,
    /// The static workload built from `guest/workload.c`.
    pub workload: PathBuf,
}

impl GuestTools {
    /// Uses `sinsp` as given and builds the workload into the cache.
    pub fn new(sinsp: &Path) -> Result<GuestTools, Error> {
        if !sinsp.is_file() {
            return Err(Error::Tool {
                what: "the guest's sinsp".into(),
                detail: format!(
                    "{} does not exist: build it with `cargo build --release -p sinsp`",
                    sinsp.display()
                ),
            });
        }
        let guest = cache_dir().join("guest");
        Ok(GuestTools {
            sinsp: stripped(sinsp, &guest)?,
            workload: build_workload(&guest)?,
        })
    }

    /// Builds sinsp (release) in the workspace at `workspace` and the workload.
    pub fn build(workspace: &Path) -> Result<GuestTools, Error> {
        GuestTools::new(&build_sinsp(workspace)?)
    }
}

/// A copy of `program` without its debug information in `dir` (a third of the size: a smaller
/// initramfs unpacks faster under TCG), or `program` itself when `strip` is not there.
fn stripped(program: &Path, dir: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir)?;
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "program".into());
    let key = crate::packages::sha256_file(program)?;
    let out = dir.join(format!("{name}-{}", &key[..16]));
    if out.is_file() {
        return Ok(out);
    }
    let tmp = dir.join(format!(
        ".{name}-{}.{}",
        &key[..16],
        crate::packages::unique_suffix()
    ));
    match Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&tmp)
        .arg(program)
        .status()
    {
        Ok(status) if status.success() => {
            std::fs::rename(&tmp, &out)?;
            Ok(out)
        }
        _ => {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(program = %program.display(), "strip failed; the guest gets the program with its debug information");
            Ok(program.to_owned())
        }
    }
}

/// `cargo build --release -p sinsp` in `workspace`; returns the binary (under `$CARGO_TARGET_DIR` when
/// set, else `<workspace>/target`).
pub fn build_sinsp(workspace: &Path) -> Result<PathBuf, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "-p", "sinsp"])
        .current_dir(workspace)
        .output()
        .map_err(|e| Error::Tool {
            what: "cargo build --release -p sinsp".into(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::Tool {
            what: "cargo build --release -p sinsp".into(),
            detail: tail(&String::from_utf8_lossy(&out.stderr), 30),
        });
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        workspace.join(target)
    };
    Ok(target.join("release").join("sinsp"))
}

/// The `-D` flags that give the workload its counts.
fn workload_defines() -> Vec<String> {
    use workload::*;
    let quoted = |s: &str| {
        format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    };
    vec![
        format!("-DOPENS={OPENS}"),
        format!("-DFAILED_OPENS={FAILED_OPENS}"),
        format!("-DGETPPIDS={GETPPIDS}"),
        format!("-DSTORM_CALLS={STORM_CALLS}"),
        format!("-DPING_CALLS={PING_CALLS}"),
        format!("-DCHILD_STATUS={CHILD_STATUS}"),
        format!("-DTCP_PORT={TCP_PORT}"),
        format!("-DTCP_MESSAGE={}", quoted(TCP_MESSAGE)),
        format!("-DPAYLOAD={}", quoted(PAYLOAD)),
        format!("-DDATA_FILE={}", quoted(DATA_FILE)),
        format!("-DRENAMED_FILE={}", quoted(RENAMED_FILE)),
        format!("-DMISSING_FILE={}", quoted(MISSING_FILE)),
    ]
}

/// Builds `guest/workload.c` with `gcc -O2 -static` into `dir` (once per source and counts: the file
/// is named by their hash) and returns the binary.
pub fn build_workload(dir: &Path) -> Result<PathBuf, Error> {
    use sha2::{Digest, Sha256};
    let defines = workload_defines();
    let mut key = Sha256::new();
    key.update(WORKLOAD_SOURCE.as_bytes());
    for d in &defines {
        key.update(d.as_bytes());
        key.update([0]);
    }
    let key: String = key.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::create_dir_all(dir)?;
    let bin = dir.join(format!("workload-{key}"));
    if bin.is_file() {
        return Ok(bin);
    }
    let suffix = crate::packages::unique_suffix();
    let src = dir.join(format!(".workload-{key}-{suffix}.c"));
    let tmp = dir.join(format!(".workload-{key}-{suffix}"));
    std::fs::write(&src, WORKLOAD_SOURCE)?;
    let out = Command::new("gcc")
        .args(["-O2", "-static", "-Wall", "-Werror"])
        .args(&defines)
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .output();
    let _ = std::fs::remove_file(&src);
    let out = out.map_err(|e| Error::Tool {
        what: "gcc".into(),
        detail: format!("{e} (install gcc and libc6-dev)"),
    })?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Tool {
            what: "building the guest workload (gcc -O2 -static)".into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    std::fs::rename(&tmp, &bin)?;
    Ok(bin)
}

/// How to test.
#[derive(Debug, Clone)]
pub struct DriverTestConfig {
    pub vm: VmConfig,
    /// Unload/reload cycles of the module after its first capture.
    pub reloads: u32,
    /// A ring of this many bytes per CPU for the storm (the module is reloaded with
    /// `ring_buffer_size=`, sinsp given `--bpf-buffer-bytes`), so that it overflows and its drops are
    /// counted; `None` keeps the drivers' default rings. A power of two multiple of the page size.
    pub storm_ring_bytes: Option<u32>,
}

impl Default for DriverTestConfig {
    fn default() -> Self {
        DriverTestConfig {
            vm: VmConfig {
                timeout: Duration::from_secs(300),
                ..VmConfig::default()
            },
            reloads: 3,
            storm_ring_bytes: None,
        }
    }
}

/// Which artifact an outcome is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    Module,
    Probe,
}

/// One thing checked: what was expected and what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub expected: String,
    pub got: String,
    pub passed: bool,
}

/// Why an artifact failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    /// insmod refused the module: its message and the kernel's lines about it.
    ModuleRefused { insmod: String, dmesg: Vec<String> },
    /// sinsp did not capture (or exited with an error): its messages.
    SinspFailed { stderr: String },
    /// The capture does not hold what the workload did: which counts are off.
    CountsOff { checks: Vec<String> },
    /// The kernel logged an oops, BUG, WARNING, ... or a taint other than O/E.
    KernelUnhealthy { lines: Vec<String> },
    /// The guest hung or never finished its script.
    GuestHung { console_tail: String },
    /// Anything else in the guest script (an rmmod refused, the workload failed).
    Other { detail: String },
}

/// The result for one artifact on one kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub kind: ArtifactKind,
    pub artifact: PathBuf,
    pub passed: bool,
    pub checks: Vec<Check>,
    /// The first cause of failure, `None` when passed.
    pub cause: Option<Cause>,
    /// For people: one line when passed, the cause and the failed checks when not.
    pub detail: String,
    /// Guest time spent on this artifact (from the guest's uptime clock).
    pub seconds: f64,
    /// Events and drops the driver reported during the storm: drops there are expected.
    pub storm: Option<StormStats>,
    /// Each capture's time.
    pub timings: Vec<Timing>,
}

/// How long one capture took in the guest: sinsp's start until it captured (the driver's load, under
/// TCG the costly part for a probe), and the whole step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub step: String,
    pub sinsp_start_seconds: f64,
    pub seconds: f64,
}

/// sinsp's closing counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StormStats {
    pub events: u64,
    pub dropped: u64,
    pub buffer_full: u64,
    /// Values the driver could not read from the user's memory.
    pub page_faults: u64,
    /// The kernel module's preemptions inside its tracepoints.
    pub busy: u64,
    /// The probes' events with no free scratch area on their CPU.
    pub no_scratch: u64,
    /// The probes' runs the kernel skipped (the program already running on that CPU).
    pub skipped: u64,
}

/// What one boot showed.
#[derive(Debug, Clone, Serialize)]
pub struct DriverTestReport {
    /// `uname -r` as the guest reported it.
    pub kernel: String,
    pub module: Option<Outcome>,
    pub probe: Option<Outcome>,
    /// The whole boot, host wall clock.
    pub seconds: f64,
    /// Guest uptime when the test script started (the kernel's boot) and when it ended.
    pub boot_seconds: f64,
    pub guest_seconds: f64,
}

impl DriverTestReport {
    /// Every tested artifact passed (and at least one was tested).
    pub fn passed(&self) -> bool {
        let outcomes: Vec<&Outcome> = self.outcomes().collect();
        !outcomes.is_empty() && outcomes.iter().all(|o| o.passed)
    }

    pub fn outcomes(&self) -> impl Iterator<Item = &Outcome> {
        self.module.iter().chain(self.probe.iter())
    }

    /// A few lines for a log: each artifact's verdict and detail.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "kernel {} ({:.1} s on the host; guest: booted in {:.1} s, script done at {:.1} s)\n",
            self.kernel, self.seconds, self.boot_seconds, self.guest_seconds
        );
        for o in self.outcomes() {
            let verdict = if o.passed { "passed" } else { "FAILED" };
            let _ = writeln!(
                s,
                "  {:?} {}: {verdict} in {:.1} s: {}",
                o.kind,
                o.artifact.display(),
                o.seconds,
                o.detail
            );
            for t in &o.timings {
                let _ = writeln!(
                    s,
                    "    {}: {:.1} s (sinsp ready after {:.1} s)",
                    t.step, t.seconds, t.sinsp_start_seconds
                );
            }
        }
        s
    }
}

const GUEST_MODULE: &str = "/driver.ko";
const GUEST_PROBE: &str = "/probe.o";

/// Boots `kernel` once and tests `module` (loaded as `driver_name`, devices `/dev/<driver_name><cpu>`)
/// and `probe`. An `Err` means the test could not run (qemu missing, the workload not building); what
/// the drivers did, hangs included, is in the report.
pub fn test_drivers(
    kernel: &Kernel,
    module: Option<&Path>,
    probe: Option<&Path>,
    driver_name: &str,
    tools: &GuestTools,
    config: &DriverTestConfig,
) -> Result<DriverTestReport, Error> {
    if module.is_none() && probe.is_none() {
        return Err(Error::Tool {
            what: "drivers test".into(),
            detail: "nothing to test: give a module, a probe or both".into(),
        });
    }
    if driver_name.is_empty()
        || !driver_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::Tool {
            what: "drivers test".into(),
            detail: format!("'{driver_name}' is no module name (letters, digits, '_' and '-')"),
        });
    }
    for artifact in module.iter().chain(probe.iter()) {
        if !artifact.is_file() {
            return Err(Error::Tool {
                what: "drivers test".into(),
                detail: format!("{} does not exist", artifact.display()),
            });
        }
    }
    if let Some(n) = config.storm_ring_bytes {
        if !n.is_power_of_two() || n < 4096 {
            return Err(Error::Tool {
                what: "drivers test".into(),
                detail: format!("a storm ring of {n} bytes: give a power of two of at least 4096"),
            });
        }
    }
    let script = guest_script(module.is_some(), probe.is_some(), driver_name, config);
    let mut fs = Initramfs::new(&script);
    fs.add_file(&tools.workload, workload::GUEST_PATH, 0o755);
    fs.add_program(&tools.sinsp, "/sinsp")?;
    if let Some(m) = module {
        fs.add_file(m, GUEST_MODULE, 0o644);
    }
    if let Some(p) = probe {
        fs.add_file(p, GUEST_PROBE, 0o644);
    }
    let start = Instant::now();
    let run = match vm::run(kernel, &fs, &config.vm) {
        Ok(run) => run,
        Err(Error::Timeout { console_tail, .. }) | Err(Error::NoExit { console_tail }) => {
            return Ok(hung_report(
                kernel,
                module,
                probe,
                &console_tail,
                start.elapsed(),
            ));
        }
        Err(e) => return Err(e),
    };
    let mut report = DriverTestReport {
        kernel: run
            .results
            .get("uname")
            .cloned()
            .unwrap_or_else(|| kernel.release.clone()),
        module: None,
        probe: None,
        seconds: start.elapsed().as_secs_f64(),
        boot_seconds: uptime(&run, "script_start").unwrap_or(0.0),
        guest_seconds: uptime(&run, "script_end").unwrap_or(0.0),
    };
    let module_dmesg = text_file(&run, "dmesg_kmod");
    if let Some(m) = module {
        report.module = Some(check_module(&run, m, driver_name, config, &module_dmesg));
    }
    if let Some(p) = probe {
        report.probe = Some(check_probe(&run, p, &module_dmesg));
    }
    tracing::info!(kernel = %report.kernel, seconds = report.seconds, passed = report.passed(), "drivers tested");
    Ok(report)
}

/// The guest's script. Each capture waits for sinsp to say it captures (loading can take seconds under
/// TCG), runs its action, lets sinsp drain the ring, and stops it with SIGINT. Markers go to the
/// kernel log so that a hang can be placed from the console's tail.
fn guest_script(module: bool, probe: bool, name: &str, config: &DriverTestConfig) -> String {
    let w = workload::GUEST_PATH;
    let reloads = config.reloads;
    // With a small storm ring the module is loaded again with it for the storm; the reloads that
    // follow bring the default back.
    let small_ring = match config.storm_ring_bytes {
        Some(n) => format!(
            "rmmod {name} && insmod {GUEST_MODULE} ring_buffer_size={n} 2> /tmp/insmod.err; r=$?; result storm_insmod $r\n  \
             [ $r -eq 0 ] || sendfile /tmp/insmod.err storm_insmod_err\n  [ $r -eq 0 ] && "
        ),
        None => String::new(),
    };
    let bpf_storm_ring = config
        .storm_ring_bytes
        .map(|n| format!(" --bpf-buffer-bytes {n}"))
        .unwrap_or_default();
    let mut s = String::from(
        r#"ifconfig lo 127.0.0.1 up
result uname $(uname -r)
phase() { echo "<3>drivertest: phase $1" > /dev/kmsg; }
now() { cut -d' ' -f1 /proc/uptime; }
capture() {
  name=$1; settle=$2; drv=$3; shift 3
  result ${name}_t0 $(now)
  /sinsp $drv -w /tmp/$name.scap > /dev/null 2> /tmp/$name.err &
  sp=$!
  n=0
  until grep -q capturing /tmp/$name.err; do
    kill -0 $sp 2>/dev/null || break
    n=$((n+1)); [ $n -lt 1500 ] || break
    sleep 0.1
  done
  if grep -q capturing /tmp/$name.err; then
    result ${name}_t1 $(now)
    "$@" 3>&-; result ${name}_action $?
    sleep $settle
  fi
  kill -INT $sp 2>/dev/null; wait $sp; result ${name}_sinsp $?
  result ${name}_t2 $(now)
  sendfile /tmp/$name.err ${name}_err
}
result script_start $(now)
"#,
    );
    if module {
        let kmod = format!("--driver kmod --driver-name {name}");
        let _ = write!(
            s,
            r#"phase kmod
result kmod_start $(now)
if insmod {GUEST_MODULE} 2> /tmp/insmod.err; then
  result insmod 0
  capture kw 1 "{kmod}" {w}
  sendfile /tmp/kw.scap kw_cap; rm -f /tmp/kw.scap
  {small_ring}capture ks 0.5 "{kmod}" {w} storm
  rm -f /tmp/ks.scap
  i=1
  while [ $i -le {reloads} ]; do
    phase kmod-reload-$i
    rmmod {name} 2> /tmp/rmmod.err; r=$?; result rmmod$i $r
    if [ $r -ne 0 ]; then sendfile /tmp/rmmod.err rmmod_err; break; fi
    if ! insmod {GUEST_MODULE} 2> /tmp/insmod.err; then result insmod$i 1; sendfile /tmp/insmod.err insmod_err; break; fi
    result insmod$i 0
    capture kr$i 0.5 "{kmod}" {w} ping
    sendfile /tmp/kr$i.scap kr${{i}}_cap; rm -f /tmp/kr$i.scap
    i=$((i+1))
  done
  if grep -q '^{name} ' /proc/modules; then
    rmmod {name} 2> /tmp/rmmod.err; r=$?; result rmmod_final $r
    [ $r -eq 0 ] || sendfile /tmp/rmmod.err rmmod_err
  fi
else
  result insmod $?
  sendfile /tmp/insmod.err insmod_err
fi
result kmod_end $(now)
result kmod_tainted $(cat /proc/sys/kernel/tainted)
dmesg > /tmp/dmesg-kmod; sendfile /tmp/dmesg-kmod dmesg_kmod
"#
        );
    }
    if probe {
        let bpf = format!("--driver bpf={GUEST_PROBE}");
        let _ = write!(
            s,
            r#"phase bpf
result bpf_start $(now)
capture bw 1 "{bpf}" {w}
sendfile /tmp/bw.scap bw_cap; rm -f /tmp/bw.scap
capture bs 0.5 "{bpf}{bpf_storm_ring}" {w} storm
rm -f /tmp/bs.scap
result bpf_end $(now)
"#
        );
    }
    s.push_str("result script_end $(now)\n");
    s
}

/// A boot that never finished: the artifact whose phase the console shows last is blamed, the other
/// one (if any) is reported as not reached.
fn hung_report(
    kernel: &Kernel,
    module: Option<&Path>,
    probe: Option<&Path>,
    console_tail: &str,
    elapsed: Duration,
) -> DriverTestReport {
    let last_phase = console_tail
        .lines()
        .rev()
        .find_map(|l| l.split("drivertest: phase ").nth(1))
        .map(|p| p.trim().to_owned());
    let in_probe = last_phase.as_deref() == Some("bpf") || module.is_none();
    // A panic or an oops that stopped the guest is the kernel's health, not a mere hang.
    let problems = health_problems(console_tail);
    let phase = last_phase
        .as_ref()
        .map(|p| format!(" in phase {p}"))
        .unwrap_or_default();
    let hung = |kind, artifact: &Path| Outcome {
        kind,
        artifact: artifact.to_owned(),
        passed: false,
        checks: Vec::new(),
        detail: if problems.is_empty() {
            format!("the guest hung{phase}; last console lines:\n{console_tail}")
        } else {
            format!("the kernel broke down{phase}: {}", problems.join(" | "))
        },
        cause: Some(if problems.is_empty() {
            Cause::GuestHung {
                console_tail: console_tail.to_owned(),
            }
        } else {
            Cause::KernelUnhealthy {
                lines: problems.clone(),
            }
        }),
        seconds: elapsed.as_secs_f64(),
        storm: None,
        timings: Vec::new(),
    };
    let not_reached = |kind, artifact: &Path| Outcome {
        kind,
        artifact: artifact.to_owned(),
        passed: false,
        checks: Vec::new(),
        detail: "not tested: the guest hung before".into(),
        cause: Some(Cause::Other {
            detail: "not reached: the guest hung testing the module".into(),
        }),
        seconds: 0.0,
        storm: None,
        timings: Vec::new(),
    };
    DriverTestReport {
        kernel: kernel.release.clone(),
        module: module.map(|m| {
            if in_probe {
                // The module's phase ended before the hang; its captures are lost with the boot.
                Outcome {
                    detail: "its results were lost: the guest hung later, testing the probe".into(),
                    cause: Some(Cause::Other {
                        detail: "results lost in a later hang".into(),
                    }),
                    ..hung(ArtifactKind::Module, m)
                }
            } else {
                hung(ArtifactKind::Module, m)
            }
        }),
        probe: probe.map(|p| {
            if in_probe {
                hung(ArtifactKind::Probe, p)
            } else {
                not_reached(ArtifactKind::Probe, p)
            }
        }),
        seconds: elapsed.as_secs_f64(),
        boot_seconds: 0.0,
        guest_seconds: 0.0,
    }
}

fn text_file(run: &VmRun, name: &str) -> String {
    run.files
        .get(name)
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default()
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Collects checks; the first failure's cause is kept.
struct Verdict {
    kind: ArtifactKind,
    artifact: PathBuf,
    checks: Vec<Check>,
    cause: Option<Cause>,
    storm: Option<StormStats>,
    timings: Vec<Timing>,
}

impl Verdict {
    /// The workload's capture (files `<prefix>` and `<prefix>_cap`): no drops, and its counts exact.
    fn workload_capture(&mut self, run: &VmRun, prefix: &str) {
        let Some(stats) = self.sinsp_ran(run, prefix, "workload capture") else {
            return;
        };
        self.check("workload capture: dropped events", 0, stats.dropped);
        if stats.dropped != 0 {
            self.fail(Cause::CountsOff {
                checks: vec![format!(
                    "{} events dropped outside the storm ({})",
                    stats.dropped,
                    drop_reasons(&text_file(run, &format!("{prefix}_err"))).unwrap_or_default()
                )],
            });
        }
        if let Some(events) = self.capture(run, &format!("{prefix}_cap"), "workload capture") {
            self.counts(workload_checks(&events));
        }
    }

    fn new(kind: ArtifactKind, artifact: &Path) -> Verdict {
        Verdict {
            kind,
            artifact: artifact.to_owned(),
            checks: Vec::new(),
            cause: None,
            storm: None,
            timings: Vec::new(),
        }
    }

    fn check(
        &mut self,
        name: impl Into<String>,
        expected: impl ToString,
        got: impl ToString,
    ) -> bool {
        let (expected, got) = (expected.to_string(), got.to_string());
        let passed = expected == got;
        self.checks.push(Check {
            name: name.into(),
            expected,
            got,
            passed,
        });
        passed
    }

    fn fail(&mut self, cause: Cause) {
        if self.cause.is_none() {
            self.cause = Some(cause);
        }
    }

    /// sinsp ran, captured, exited 0 after `capture NAME`; its closing counters.
    fn sinsp_ran(&mut self, run: &VmRun, name: &str, what: &str) -> Option<StormStats> {
        if let (Some(t0), Some(t2)) = (
            uptime(run, &format!("{name}_t0")),
            uptime(run, &format!("{name}_t2")),
        ) {
            let t1 = uptime(run, &format!("{name}_t1")).unwrap_or(t2);
            self.timings.push(Timing {
                step: what.to_owned(),
                sinsp_start_seconds: round(t1 - t0),
                seconds: round(t2 - t0),
            });
        }
        let err = text_file(run, &format!("{name}_err"));
        let status = run
            .results
            .get(&format!("{name}_sinsp"))
            .cloned()
            .unwrap_or_default();
        let capturing = err.contains("capturing");
        let ok = self.check(
            format!("{what}: sinsp captured"),
            "yes",
            if capturing { "yes" } else { "no" },
        ) & self.check(format!("{what}: sinsp exit status"), 0, &status);
        if !ok {
            self.fail(Cause::SinspFailed {
                stderr: err.trim().to_owned(),
            });
            return None;
        }
        let action = run
            .results
            .get(&format!("{name}_action"))
            .cloned()
            .unwrap_or_default();
        if !self.check(format!("{what}: workload exit status"), 0, &action) {
            self.fail(Cause::Other {
                detail: format!("the workload exited with {action} during {what}"),
            });
        }
        let stats = parse_stats(&err);
        if stats.is_none() {
            self.check(format!("{what}: sinsp's counters"), "reported", "missing");
            self.fail(Cause::SinspFailed {
                stderr: err.trim().to_owned(),
            });
        }
        stats
    }

    /// A capture sent back as `name`, parsed; a broken one is a failed check.
    fn capture(&mut self, run: &VmRun, name: &str, what: &str) -> Option<Vec<Vec<u8>>> {
        let Some(bytes) = run.files.get(name) else {
            self.check(format!("{what}: capture returned"), "yes", "no");
            self.fail(Cause::Other {
                detail: format!("the guest sent no capture for {what}"),
            });
            return None;
        };
        match capture_events(bytes.clone()) {
            Ok(events) => Some(events),
            Err(e) => {
                self.check(format!("{what}: capture reads"), "yes", &e);
                self.fail(Cause::Other {
                    detail: format!("the capture of {what} does not read: {e}"),
                });
                None
            }
        }
    }

    /// Adds the checks of `checks`; off counts become the cause.
    fn counts(&mut self, checks: Vec<Check>) {
        let off: Vec<String> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: expected {}, got {}", c.name, c.expected, c.got))
            .collect();
        self.checks.extend(checks);
        if !off.is_empty() {
            self.fail(Cause::CountsOff { checks: off });
        }
    }

    fn health(&mut self, lines: Vec<String>) {
        self.check(
            "kernel healthy",
            "no problem lines",
            if lines.is_empty() {
                "no problem lines".to_owned()
            } else {
                format!("{} lines", lines.len())
            },
        );
        if !lines.is_empty() {
            self.fail(Cause::KernelUnhealthy { lines });
        }
    }

    fn finish(self, seconds: f64) -> Outcome {
        let passed = self.cause.is_none() && self.checks.iter().all(|c| c.passed);
        let detail = match &self.cause {
            None => {
                let storm = self
                    .storm
                    .map(|s| format!("; storm: {} events, {} dropped", s.events, s.dropped))
                    .unwrap_or_default();
                format!("{} checks passed{storm}", self.checks.len())
            }
            Some(cause) => describe(cause),
        };
        Outcome {
            kind: self.kind,
            artifact: self.artifact,
            passed,
            checks: self.checks,
            cause: self.cause,
            detail,
            seconds,
            storm: self.storm,
            timings: self.timings,
        }
    }
}

/// A guest uptime the script reported as `key`.
fn uptime(run: &VmRun, key: &str) -> Option<f64> {
    run.results
        .get(key)
        .and_then(|v| v.trim().parse::<f64>().ok())
}

fn round(seconds: f64) -> f64 {
    (seconds * 100.0).round() / 100.0
}

fn describe(cause: &Cause) -> String {
    match cause {
        Cause::ModuleRefused { insmod, dmesg } => {
            let mut s = format!("insmod refused the module: {}", insmod.trim());
            if !dmesg.is_empty() {
                let _ = write!(s, "; kernel log: {}", dmesg.join(" | "));
            }
            s
        }
        Cause::SinspFailed { stderr } => format!("sinsp failed: {}", tail(stderr, 5)),
        Cause::CountsOff { checks } => format!("counts off: {}", checks.join("; ")),
        Cause::KernelUnhealthy { lines } => format!("kernel unhealthy: {}", lines.join(" | ")),
        Cause::GuestHung { console_tail } => format!("the guest hung: {}", tail(console_tail, 5)),
        Cause::Other { detail } => detail.clone(),
    }
}

fn seconds_between(run: &VmRun, start: &str, end: &str) -> f64 {
    match (uptime(run, start), uptime(run, end)) {
        (Some(a), Some(b)) if b >= a => round(b - a),
        _ => 0.0,
    }
}

/// The kernel log lines about a refused module: those naming it, or the loader's usual complaints.
fn refusal_lines(dmesg: &str, name: &str) -> Vec<String> {
    const LOADER: [&str; 6] = [
        "disagrees about version",
        "Unknown symbol",
        "version magic",
        "module verification",
        "invalid module format",
        "module_layout",
    ];
    dmesg
        .lines()
        .filter(|l| l.contains(&format!("{name}:")) || LOADER.iter().any(|m| l.contains(m)))
        .map(|l| l.trim().to_owned())
        .fold(Vec::new(), |mut lines: Vec<String>, l| {
            // The loader may try twice (finit_module, then init_module) and say the same thing.
            let text = |s: &str| s.split_once("] ").map_or(s, |(_, t)| t).to_owned();
            if !lines.iter().any(|seen| text(seen) == text(&l)) {
                lines.push(l);
            }
            lines
        })
}

fn check_module(
    run: &VmRun,
    module: &Path,
    name: &str,
    config: &DriverTestConfig,
    dmesg: &str,
) -> Outcome {
    let reloads = config.reloads;
    let mut v = Verdict::new(ArtifactKind::Module, module);
    let seconds = seconds_between(run, "kmod_start", "kmod_end");
    let insmod = run.results.get("insmod").cloned().unwrap_or_default();
    if !v.check("insmod", 0, &insmod) {
        v.fail(Cause::ModuleRefused {
            insmod: text_file(run, "insmod_err").trim().to_owned(),
            dmesg: refusal_lines(dmesg, name),
        });
        return v.finish(seconds);
    }
    v.workload_capture(run, "kw");
    let storm_loaded = match config.storm_ring_bytes {
        Some(n) => {
            let r = run.results.get("storm_insmod").cloned().unwrap_or_default();
            let ok = v.check(format!("storm: reload with ring_buffer_size={n}"), 0, &r);
            if !ok {
                v.fail(Cause::ModuleRefused {
                    insmod: text_file(run, "storm_insmod_err").trim().to_owned(),
                    dmesg: refusal_lines(dmesg, name),
                });
            }
            ok
        }
        None => true,
    };
    if storm_loaded {
        if let Some(stats) = v.sinsp_ran(run, "ks", "storm") {
            v.counts(vec![storm_check(&stats)]);
            v.storm = Some(stats);
        }
    }
    for i in 1..=reloads {
        let what = format!("reload {i}");
        let rmmod = run
            .results
            .get(&format!("rmmod{i}"))
            .cloned()
            .unwrap_or_default();
        if !v.check(format!("{what}: rmmod"), 0, &rmmod) {
            v.fail(Cause::Other {
                detail: format!(
                    "rmmod {name} failed before {what}: {}",
                    text_file(run, "rmmod_err").trim()
                ),
            });
            break;
        }
        let insmod = run
            .results
            .get(&format!("insmod{i}"))
            .cloned()
            .unwrap_or_default();
        if !v.check(format!("{what}: insmod"), 0, &insmod) {
            v.fail(Cause::ModuleRefused {
                insmod: text_file(run, "insmod_err").trim().to_owned(),
                dmesg: refusal_lines(dmesg, name),
            });
            break;
        }
        if v.sinsp_ran(run, &format!("kr{i}"), &what).is_some() {
            if let Some(events) = v.capture(run, &format!("kr{i}_cap"), &what) {
                v.counts(vec![ping_check(&events, &what)]);
            }
        }
    }
    if run.results.contains_key("rmmod_final") || v.cause.is_none() {
        let r = run.results.get("rmmod_final").cloned().unwrap_or_default();
        if !v.check("final rmmod", 0, &r) {
            v.fail(Cause::Other {
                detail: format!(
                    "rmmod {name} failed at the end: {}",
                    text_file(run, "rmmod_err").trim()
                ),
            });
        }
    }
    let mut problems = health_problems(dmesg);
    let taint = run
        .results
        .get("kmod_tainted")
        .and_then(|t| t.trim().parse::<u64>().ok());
    problems.extend(unexpected_taint(taint));
    v.health(problems);
    v.finish(seconds)
}

fn check_probe(run: &VmRun, probe: &Path, module_dmesg: &str) -> Outcome {
    let mut v = Verdict::new(ArtifactKind::Probe, probe);
    let seconds = seconds_between(run, "bpf_start", "bpf_end");
    v.workload_capture(run, "bw");
    if let Some(stats) = v.sinsp_ran(run, "bs", "storm") {
        v.counts(vec![storm_check(&stats)]);
        v.storm = Some(stats);
    }
    // What the kernel logged after the module's phase is the probe's.
    let whole = run.dmesg();
    let later = whole
        .get(module_dmesg.len().min(whole.len())..)
        .unwrap_or("");
    let mut problems = health_problems(later);
    problems.extend(unexpected_taint(run.tainted));
    v.health(problems);
    v.finish(seconds)
}

fn unexpected_taint(taint: Option<u64>) -> Option<String> {
    // O (out-of-tree module, 4096) and E (unsigned module, 8192) are what loading our module sets.
    let t = taint?;
    let unexpected = t & !(4096 | 8192);
    (unexpected != 0).then(|| format!("kernel tainted with {unexpected:#x} (full value {t})"))
}

/// "sinsp: N events seen by the driver, M dropped (buffer full B, page faults P, busy Q, no scratch
/// area S, skipped by the kernel K)"
pub fn parse_stats(stderr: &str) -> Option<StormStats> {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains("events seen by the driver"))?;
    let number_before = |marker: &str| -> Option<u64> {
        let head = line.split(marker).next()?;
        head.split_whitespace().last()?.parse().ok()
    };
    let number_after = |marker: &str| -> Option<u64> {
        line.split(marker)
            .nth(1)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some(StormStats {
        events: number_before(" events seen")?,
        dropped: number_before(" dropped")?,
        buffer_full: number_after("buffer full ")?,
        page_faults: number_after("page faults ")?,
        busy: number_after("busy ")?,
        no_scratch: number_after("no scratch area ")?,
        skipped: number_after("skipped by the kernel ")?,
    })
}

/// The reasons in sinsp's closing line, as it gives them: "buffer full B, ..., skipped by the kernel K:
/// program N, ...".
fn drop_reasons(stderr: &str) -> Option<String> {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains("events seen by the driver"))?;
    let reasons = line.split_once(" dropped (")?.1;
    Some(reasons.strip_suffix(')').unwrap_or(reasons).to_owned())
}

fn storm_check(stats: &StormStats) -> Check {
    // Each getppid is an enter and an exit event; whether the driver's count includes the dropped ones
    // differs between drivers, so their sum is what must cover the storm.
    let want = 2 * u64::from(workload::STORM_CALLS);
    let seen = stats.events + stats.dropped;
    Check {
        name: "storm: the driver saw every call (events + drops)".into(),
        expected: format!(">= {want}"),
        got: format!(
            "{seen} ({} dropped, {} for a full buffer)",
            stats.dropped, stats.buffer_full
        ),
        passed: seen >= want,
    }
}

/// The events of a capture file's bytes.
pub fn capture_events(bytes: Vec<u8>) -> Result<Vec<Vec<u8>>, String> {
    let mut reader = Reader::from_bytes(bytes).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    while let Some(block) = reader.next_block().map_err(|e| e.to_string())? {
        if let Block::Event { event, .. } = block {
            events.push(event.as_bytes().to_vec());
        }
    }
    Ok(events)
}

fn param<'a>(e: &Event<'a>, name: &str) -> Option<Value<'a>> {
    e.param_by_name(name).and_then(|p| p.value().ok())
}

fn int(e: &Event<'_>, name: &str) -> Option<i64> {
    match param(e, name)? {
        Value::Int(i) => Some(i),
        Value::UInt(u) => i64::try_from(u).ok(),
        _ => None,
    }
}

fn bytes<'a>(e: &Event<'a>, name: &str) -> &'a [u8] {
    match param(e, name) {
        Some(Value::Str(s)) | Some(Value::Bytes(s)) => s,
        _ => &[],
    }
}

fn getppid_code() -> Option<i64> {
    (0..1024u64)
        .find(|c| scap::schema::syscall_name(*c) == Some("getppid"))
        .map(|c| c as i64)
}

/// Threads whose execve gave them the workload's name with arguments `args` (NUL-separated).
fn workload_tids(events: &[Event<'_>], args: &[u8]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| {
            e.event_type() == ppme::SYSCALL_EXECVE_19_X
                && bytes(e, "comm") == workload::COMM.as_bytes()
                && int(e, "res") == Some(0)
                && bytes(e, "args") == args
        })
        .map(|e| e.tid())
        .collect()
}

fn count_check(name: &str, expected: usize, got: usize) -> Check {
    Check {
        name: name.to_owned(),
        expected: expected.to_string(),
        got: got.to_string(),
        passed: expected == got,
    }
}

/// The workload's run, call by call, from its own thread (found by its execve), and its child's exec.
pub fn workload_checks(raw: &[Vec<u8>]) -> Vec<Check> {
    use workload::*;
    let parsed: Vec<Event<'_>> = raw.iter().filter_map(|r| Event::parse(r).ok()).collect();
    let mut checks = vec![count_check("events that parse", raw.len(), parsed.len())];
    let tids = workload_tids(&parsed, b"");
    checks.push(count_check("workload execs", 1, tids.len()));
    let Some(&tid) = tids.first() else {
        return checks;
    };
    let mine: Vec<&Event<'_>> = parsed.iter().filter(|e| e.tid() == tid).collect();
    let count = |pred: &dyn Fn(&Event<'_>) -> bool| mine.iter().filter(|e| pred(e)).count();
    let is = |ty: u16| move |e: &Event<'_>| e.event_type() == ty;
    let (opens, failed) = (OPENS as usize, FAILED_OPENS as usize);
    let payload = PAYLOAD.as_bytes();

    checks.push(count_check(
        "openat enter events",
        opens + failed + 1,
        count(&is(ppme::SYSCALL_OPENAT_2_E)),
    ));
    checks.push(count_check(
        "openat exit events",
        opens + failed + 1,
        count(&is(ppme::SYSCALL_OPENAT_2_X)),
    ));
    checks.push(count_check(
        "opens of the data file that succeeded",
        opens + 1,
        count(&|e| {
            is(ppme::SYSCALL_OPENAT_2_X)(e)
                && bytes(e, "name") == DATA_FILE.as_bytes()
                && int(e, "fd").is_some_and(|fd| fd >= 0)
        }),
    ));
    checks.push(count_check(
        "opens of the missing file that failed with ENOENT",
        failed,
        count(&|e| {
            is(ppme::SYSCALL_OPENAT_2_X)(e)
                && bytes(e, "name") == MISSING_FILE.as_bytes()
                && int(e, "fd") == Some(-2)
        }),
    ));
    checks.push(count_check(
        "read exit events",
        opens + 1,
        count(&is(ppme::SYSCALL_READ_X)),
    ));
    checks.push(count_check(
        "reads returning the payload",
        opens,
        count(&|e| {
            is(ppme::SYSCALL_READ_X)(e)
                && int(e, "res") == Some(payload.len() as i64)
                && bytes(e, "data") == payload
        }),
    ));
    checks.push(count_check(
        "socket reads returning the message",
        1,
        count(&|e| is(ppme::SYSCALL_READ_X)(e) && bytes(e, "data") == TCP_MESSAGE.as_bytes()),
    ));
    checks.push(count_check(
        "write exit events",
        2,
        count(&is(ppme::SYSCALL_WRITE_X)),
    ));
    checks.push(count_check(
        "writes of the payload",
        1,
        count(&|e| is(ppme::SYSCALL_WRITE_X)(e) && int(e, "res") == Some(payload.len() as i64)),
    ));
    checks.push(count_check(
        "close exit events",
        opens + 4,
        count(&is(ppme::SYSCALL_CLOSE_X)),
    ));
    let getppid = getppid_code();
    checks.push(count_check(
        "getppid (generic enter events)",
        GETPPIDS as usize,
        count(&|e| is(ppme::GENERIC_E)(e) && getppid.is_some() && int(e, "ID") == getppid),
    ));
    checks.push(count_check(
        "renames of the data file",
        1,
        count(&|e| {
            is(ppme::SYSCALL_RENAME_X)(e)
                && int(e, "res") == Some(0)
                && bytes(e, "oldpath") == DATA_FILE.as_bytes()
                && bytes(e, "newpath") == RENAMED_FILE.as_bytes()
        }),
    ));
    checks.push(count_check(
        "unlinks of the renamed file",
        1,
        count(&|e| {
            is(ppme::SYSCALL_UNLINK_2_X)(e)
                && int(e, "res") == Some(0)
                && bytes(e, "path") == RENAMED_FILE.as_bytes()
        }),
    ));
    checks.push(count_check(
        "socket exit events",
        2,
        count(&is(ppme::SOCKET_SOCKET_X)),
    ));
    let localhost = std::net::Ipv4Addr::LOCALHOST;
    checks.push(count_check(
        "binds to 127.0.0.1:port",
        1,
        count(&|e| {
            is(ppme::SOCKET_BIND_X)(e)
                && param(e, "addr") == Some(Value::SockAddr(SockAddr::Inet(localhost, TCP_PORT)))
        }),
    ));
    checks.push(count_check(
        "listen exit events",
        1,
        count(&is(ppme::SOCKET_LISTEN_X)),
    ));
    checks.push(count_check(
        "connects that succeeded",
        1,
        count(&|e| is(ppme::SOCKET_CONNECT_X)(e) && int(e, "res") == Some(0)),
    ));
    checks.push(count_check(
        "accepts",
        1,
        count(&|e| {
            (is(ppme::SOCKET_ACCEPT_5_X)(e) || is(ppme::SOCKET_ACCEPT4_5_X)(e))
                && int(e, "fd").is_some_and(|fd| fd >= 0)
        }),
    ));
    // The fork: the parent's clone returns the child's tid, the child execs the workload as "child".
    let children = workload_tids(&parsed, b"child\0");
    checks.push(count_check("child execs", 1, children.len()));
    let child = children.first().copied();
    checks.push(count_check(
        "clone returning the child's tid",
        1,
        count(&|e| {
            is(ppme::SYSCALL_CLONE_20_X)(e)
                && child.is_some()
                && int(e, "res") == child.map(|c| c as i64)
        }),
    ));
    checks.push(count_check(
        "child exit events",
        1,
        parsed
            .iter()
            .filter(|e| Some(e.tid()) == child && e.event_type() == ppme::PROCEXIT_1_E)
            .count(),
    ));
    checks
}

/// The capture after a reload holds the ping run's getppid calls, every one.
fn ping_check(raw: &[Vec<u8>], what: &str) -> Check {
    let parsed: Vec<Event<'_>> = raw.iter().filter_map(|r| Event::parse(r).ok()).collect();
    let tids = workload_tids(&parsed, b"ping\0");
    let getppid = getppid_code();
    let calls = parsed
        .iter()
        .filter(|e| {
            tids.contains(&e.tid())
                && e.event_type() == ppme::GENERIC_E
                && getppid.is_some()
                && int(e, "ID") == getppid
        })
        .count();
    count_check(
        &format!("{what}: getppid calls captured"),
        workload::PING_CALLS as usize,
        calls,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinsp_counters_are_parsed() {
        let err = "sinsp: capturing; Ctrl-C to stop\nsinsp: 120034 events seen by the driver, 3456 dropped (buffer full 3400, page faults 0, busy 50, no scratch area 4, skipped by the kernel 2)\n";
        assert_eq!(
            parse_stats(err),
            Some(StormStats {
                events: 120034,
                dropped: 3456,
                buffer_full: 3400,
                page_faults: 0,
                busy: 50,
                no_scratch: 4,
                skipped: 2
            })
        );
        assert_eq!(
            drop_reasons(err).as_deref(),
            Some("buffer full 3400, page faults 0, busy 50, no scratch area 4, skipped by the kernel 2")
        );
        let named = "sinsp: 9 events seen by the driver, 2 dropped (buffer full 0, page faults 0, busy 0, no scratch area 0, skipped by the kernel 2: sys_exit_backup3 2)";
        assert_eq!(parse_stats(named).map(|s| s.skipped), Some(2));
        assert_eq!(
            drop_reasons(named).as_deref(),
            Some("buffer full 0, page faults 0, busy 0, no scratch area 0, skipped by the kernel 2: sys_exit_backup3 2")
        );
        assert_eq!(parse_stats("sinsp: capturing; Ctrl-C to stop\n"), None);
        assert_eq!(
            parse_stats("sinsp: x events seen by the driver, 1 dropped (buffer full 1, ...)"),
            None
        );
    }

    #[test]
    fn the_guest_script_names_the_driver_and_tests_what_is_given() {
        let both = guest_script(true, true, "falco", &DriverTestConfig::default());
        assert!(both.contains("--driver kmod --driver-name falco"));
        assert!(both.contains("rmmod falco"));
        assert!(both.contains("while [ $i -le 3 ]"));
        assert!(both.contains("--driver bpf=/probe.o"));
        assert!(!both.contains("ring_buffer_size"));
        let small = DriverTestConfig {
            storm_ring_bytes: Some(65536),
            ..DriverTestConfig::default()
        };
        let small = guest_script(true, true, "falco", &small);
        assert!(small.contains("insmod /driver.ko ring_buffer_size=65536"));
        assert!(small.contains("--driver bpf=/probe.o --bpf-buffer-bytes 65536"));
        let probe_only = guest_script(false, true, "falco", &DriverTestConfig::default());
        assert!(!probe_only.contains("insmod"));
        assert!(probe_only.contains("capture bw 1"));
    }

    #[test]
    fn a_broken_capture_is_a_reported_error() {
        let err = capture_events(b"not a capture at all".to_vec()).expect_err("garbage");
        assert!(!err.is_empty());
        let checks = workload_checks(&[]);
        let execs = checks
            .iter()
            .find(|c| c.name == "workload execs")
            .expect("checked");
        assert!(!execs.passed, "an empty capture fails: {checks:?}");
    }

    #[test]
    fn a_hang_is_blamed_on_the_phase_it_happened_in() {
        let kernel = Kernel {
            release: "6.1.0-47-amd64".into(),
            vmlinuz: PathBuf::from("/nonexistent"),
            root: PathBuf::from("/nonexistent"),
        };
        let (m, p) = (Path::new("/m.ko"), Path::new("/p.o"));
        let tail = "[ 5.0] drivertest: phase kmod\n[ 6.0] drivertest: phase bpf\n[ 9.0] rcu: stall";
        let r = hung_report(&kernel, Some(m), Some(p), tail, Duration::from_secs(300));
        assert!(matches!(
            r.probe.as_ref().and_then(|o| o.cause.clone()),
            Some(Cause::GuestHung { .. })
        ));
        assert!(!r.passed());
        let tail = "[ 5.0] drivertest: phase kmod-reload-2\n[ 9.0] rcu: stall";
        let r = hung_report(&kernel, Some(m), Some(p), tail, Duration::from_secs(300));
        assert!(matches!(
            r.module.as_ref().and_then(|o| o.cause.clone()),
            Some(Cause::GuestHung { .. })
        ));
        assert!(r
            .module
            .as_ref()
            .is_some_and(|o| o.detail.contains("phase kmod-reload-2")));
        let tail = "[ 5.0] drivertest: phase kmod\n[ 6.0] BUG: kernel NULL pointer dereference\n[ 6.1] Kernel panic - not syncing";
        let r = hung_report(&kernel, Some(m), None, tail, Duration::from_secs(9));
        let Some(Cause::KernelUnhealthy { lines }) = r.module.and_then(|o| o.cause) else {
            panic!("a panic is the kernel's health")
        };
        assert_eq!(lines.len(), 2);
    }
}
