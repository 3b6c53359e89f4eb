//! `cargo xtask bench-bpf`: what the CO-RE probe adds to a system call, against the floor of a probe that
//! only reserves and submits a fixed 24-byte record per call, measured in the same run.

use std::io::BufRead;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// One timing of `bpf/bench/syscalls.c`.
#[derive(Debug, Clone, Copy)]
struct Timing {
    getppid_ns: f64,
    open_close_ns: f64,
    seconds: f64,
    syscalls: u64,
}

/// The number `bpf/bench/syscalls.c` printed after `key` (a line `KEY VALUE`).
pub(crate) fn reported(text: &str, key: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().parse().ok())
}

fn run_syscalls(bin: &Path, calls: u64) -> Result<Timing> {
    let started = Instant::now();
    let out = Command::new(bin).arg(calls.to_string()).arg("3").output().context("running the syscall loop")?;
    let seconds = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |key: &str| reported(&text, key).with_context(|| format!("no {key} in {text}"));
    Ok(Timing {
        getppid_ns: get("getppid_ns ")?,
        open_close_ns: get("open_close_ns ")?,
        seconds,
        syscalls: get("syscalls ")? as u64,
    })
}

/// `syscalls pace`: getppid at `rate` calls a second for `seconds`; returns the rate achieved.
fn run_paced(bin: &Path, rate: u64, seconds: u64) -> Result<f64> {
    let out = Command::new(bin)
        .args(["pace", &rate.to_string(), &seconds.to_string()])
        .output()
        .context("running the paced loop")?;
    let text = String::from_utf8_lossy(&out.stdout);
    reported(&text, "paced_rate ").with_context(|| format!("no paced_rate in {text}"))
}

/// One eBPF object from `src` (relative to the repository), built as scap's build script builds the probe.
fn clang_bpf(repo: &Path, src: &str, defines: &[&str], out: &Path) -> Result<()> {
    let status = Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86"])
        .args(defines)
        .args(["-I/usr/include/x86_64-linux-gnu", "-c"])
        .arg(repo.join(src))
        .arg("-o")
        .arg(out)
        .status()?;
    if !status.success() {
        bail!("clang failed on {src}");
    }
    Ok(())
}

/// The loop, the floor probe, and the CO-RE probe's build for older verifiers, to measure what its
/// laundered offsets cost.
fn compile(repo: &Path, out: &Path) -> Result<(PathBuf, PathBuf, PathBuf)> {
    std::fs::create_dir_all(out)?;
    let bin = out.join("syscalls");
    let status = Command::new("gcc")
        .args(["-O2", "-Wall", "-o"])
        .arg(&bin)
        .arg(repo.join("bpf/bench/syscalls.c"))
        .status()?;
    if !status.success() {
        bail!("gcc failed on bpf/bench/syscalls.c");
    }
    let floor = out.join("floor.bpf.o");
    clang_bpf(repo, "bpf/bench/floor.bpf.c", &[], &floor)?;
    let compat = out.join("probe_compat.bpf.o");
    clang_bpf(repo, "bpf/probe.bpf.c", &["-DPPM_LAUNDER_OFFSETS"], &compat)?;
    Ok((bin, floor, compat))
}

/// The floor probe, attached, with a thread draining its ring.
fn with_floor<T>(object: &Path, body: impl FnOnce() -> Result<T>) -> Result<(T, u64, u64)> {
    use aya::maps::{PerCpuArray, RingBuf};
    use aya::programs::BtfTracePoint;
    let btf = aya::Btf::from_sys_fs()?;
    let data = std::fs::read(object)?;
    let mut ebpf = aya::Ebpf::load(&data)?;
    for name in ["sys_enter", "sys_exit"] {
        let program: &mut BtfTracePoint = ebpf.program_mut(name).context("program")?.try_into()?;
        program.load(name, &btf)?;
        program.attach()?;
    }
    let mut ring = RingBuf::try_from(ebpf.take_map("events").context("events map")?)?;
    let drops: PerCpuArray<_, u64> = PerCpuArray::try_from(ebpf.take_map("drops").context("drops map")?)?;
    let stop = Arc::new(AtomicBool::new(false));
    let consumed = Arc::new(AtomicU64::new(0));
    let (stop2, consumed2) = (stop.clone(), consumed.clone());
    let drainer = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            let mut n = 0;
            while let Some(item) = ring.next() {
                std::hint::black_box(&*item);
                n += 1;
            }
            consumed2.fetch_add(n, Ordering::Relaxed);
            if n == 0 {
                let mut pfd = libc::pollfd { fd: ring.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                // SAFETY: one pollfd we own.
                unsafe { libc::poll(&mut pfd, 1, 2) };
            }
        }
    });
    let result = body();
    stop.store(true, Ordering::Relaxed);
    let _ = drainer.join();
    let dropped = drops.get(&0, 0).map(|v| v.iter().sum()).unwrap_or(0);
    drop(ebpf);
    Ok((result?, consumed.load(Ordering::Relaxed), dropped))
}

/// `sinsp --driver DRIVER` consuming every event (a filter that matches none, so nothing is printed),
/// around `body`; returns sinsp's event and drop counts.
fn with_sinsp<T>(sinsp: &Path, driver: &str, body: impl FnOnce() -> Result<T>) -> Result<(T, u64, u64)> {
    let mut child = Command::new(sinsp)
        .args(["--driver", driver, "proc.name=no-such-process"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting sinsp")?;
    let mut lines = std::io::BufReader::new(child.stderr.take().context("stderr")?).lines();
    for line in lines.by_ref() {
        if line?.contains("capturing") {
            break;
        }
    }
    let result = body();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    child.wait()?;
    let stats = rest.join("\n");
    // "sinsp: N events seen by the driver, M dropped (...)"
    let number = |after: &str| -> u64 {
        stats
            .split(after)
            .next()
            .and_then(|s| s.split_whitespace().last())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok((result?, number(" events seen"), number(" dropped")))
}

pub fn run(repo: &Path, calls: u64) -> Result<()> {
    let out = repo.join("target/bench-bpf");
    let (bin, floor, compat) = compile(repo, &out)?;
    let compat_driver = format!("bpf={}", compat.display());
    let status = Command::new("cargo")
        .args(["build", "--release", "-q", "-p", "sinsp"])
        .current_dir(repo)
        .status()?;
    if !status.success() {
        bail!("building sinsp failed");
    }
    let sinsp = repo.join("target/release/sinsp");
    let mut base = Vec::new();
    let mut floors = Vec::new();
    let mut cores = Vec::new();
    let mut compats = Vec::new();
    // Interleaved, twice, so that drift on the machine hits every mode alike; the best of each counts.
    for _ in 0..2 {
        base.push(run_syscalls(&bin, calls)?);
        floors.push(with_floor(&floor, || run_syscalls(&bin, calls))?);
        cores.push(with_sinsp(&sinsp, "modern-bpf", || run_syscalls(&bin, calls))?);
        compats.push(with_sinsp(&sinsp, &compat_driver, || run_syscalls(&bin, calls))?);
    }
    let best = |v: &[Timing]| -> (f64, f64) {
        (
            v.iter().map(|t| t.getppid_ns).fold(f64::MAX, f64::min),
            v.iter().map(|t| t.open_close_ns).fold(f64::MAX, f64::min),
        )
    };
    let b = best(&base);
    let f = best(&floors.iter().map(|x| x.0).collect::<Vec<_>>());
    let c = best(&cores.iter().map(|x| x.0).collect::<Vec<_>>());
    // During the getppid loop every call makes two events, one per `getppid_ns`: the rate the consumer
    // had to keep up with.
    println!("| mode | getppid ns | added | open+close ns | added | events/s in the getppid loop | events/s read overall | drops |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!("| no probe | {:.1} | | {:.1} | | | | |", b.0, b.1);
    let rate = |t: &Timing, events: u64| events as f64 / t.seconds / 1e6;
    let (ft, fe, fd) = floors.iter().max_by_key(|x| x.1).copied().context("floor runs")?;
    println!(
        "| floor (24-byte record) | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} M | {:.2} M | {fd} |",
        f.0, f.0 - b.0, f.1, f.1 - b.1, 2e3 / f.0, rate(&ft, fe)
    );
    let (ct, ce, cd) = cores.iter().max_by_key(|x| x.1).copied().context("core runs")?;
    println!(
        "| CO-RE probe + sinsp | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} M | {:.2} M | {cd} |",
        c.0, c.0 - b.0, c.1, c.1 - b.1, 2e3 / c.0, rate(&ct, ce)
    );
    let k = best(&compats.iter().map(|x| x.0).collect::<Vec<_>>());
    let (kt, ke, kd) = compats.iter().max_by_key(|x| x.1).copied().context("compat runs")?;
    println!(
        "| CO-RE build for older verifiers + sinsp | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} M | {:.2} M | {kd} |",
        k.0, k.0 - b.0, k.1, k.1 - b.1, 2e3 / k.0, rate(&kt, ke)
    );
    println!(
        "\nadded cost, CO-RE / floor: getppid {:.2}x, open+close {:.2}x; its build for older verifiers / floor: \
         getppid {:.2}x, open+close {:.2}x ({} calls per round, 3 rounds, best of 2 runs)",
        (c.0 - b.0) / (f.0 - b.0),
        (c.1 - b.1) / (f.1 - b.1),
        (k.0 - b.0) / (f.0 - b.0),
        (k.1 - b.1) / (f.1 - b.1),
        calls
    );
    let _ = ct.syscalls;

    // Keeping up: getppid paced at 1.1 M calls a second (2.2 M events) for 3 s, each consumer in turn.
    const PACED_RATE: u64 = 1_100_000;
    const PACED_SECONDS: u64 = 3;
    println!("\n| consumer, getppid paced at {:.1} M calls/s for {PACED_SECONDS} s | events/s offered | events read | drops |", PACED_RATE as f64 / 1e6);
    println!("|---|---:|---:|---:|");
    let (r, read, dropped) = with_floor(&floor, || run_paced(&bin, PACED_RATE, PACED_SECONDS))?;
    println!("| floor (24-byte record) | {:.2} M | {read} | {dropped} |", 2.0 * r / 1e6);
    for (name, driver) in [("CO-RE probe + sinsp", "modern-bpf"), ("CO-RE build for older verifiers + sinsp", compat_driver.as_str())] {
        let (r, events, dropped) = with_sinsp(&sinsp, driver, || run_paced(&bin, PACED_RATE, PACED_SECONDS))?;
        println!("| {name} | {:.2} M | {events} | {dropped} |", 2.0 * r / 1e6);
    }
    Ok(())
}
