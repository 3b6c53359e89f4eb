//! The CO-RE eBPF probe, live on this machine's kernel: `sinsp --driver modern-bpf -w` captures the
//! reference workload, which is then checked event by event with the same checks as the kernel
//! module's, and read back by sinsp and Debian's sysdig alike. A storm into a small ring buffer is
//! counted as drops and capture goes on. The second workload gets the checks the module passes.
//!
//! The tests capture system-wide, so they take turns.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use scap::schema::ppme;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A running `sinsp --driver modern-bpf -w CAP ...` and what it has said so far.
struct Capture {
    child: Child,
    stderr: std::sync::mpsc::Receiver<String>,
    /// What it said before it was capturing.
    said: String,
}

/// Starts sinsp and returns once it says it is capturing (the probe is loaded and attached).
fn start_capture(cap: &Path, extra: &[&str]) -> Capture {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sinsp"))
        .args(["--driver", "modern-bpf", "-w"])
        .arg(cap)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sinsp runs");
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut said = String::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains("capturing") => break,
            Ok(line) => {
                said.push_str(&line);
                said.push('\n');
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("sinsp exited early ({status}): {said}");
                }
                if started.elapsed() > Duration::from_secs(30) {
                    let _ = child.kill();
                    panic!("the probe did not start: {said}");
                }
            }
        }
    }
    Capture {
        child,
        stderr: rx,
        said,
    }
}

/// Stops a capture with SIGINT, as a user's Ctrl-C; returns what sinsp said.
fn stop_capture(mut capture: Capture) -> String {
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(capture.child.id() as i32, libc::SIGINT) };
    let status = capture.child.wait().expect("sinsp exits");
    let mut err = capture.said;
    for line in capture.stderr.iter() {
        err.push('\n');
        err.push_str(&line);
    }
    assert!(status.success(), "sinsp failed: {err}");
    err
}

fn counter(err: &str, label: &str) -> u64 {
    err.split(label)
        .nth(1)
        .and_then(|rest| rest.split([',', ')']).next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("sinsp reports `{label}`: {err}"))
}

#[test]
fn modern_bpf_captures_the_reference_workload_exactly() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let work = tempfile::tempdir().expect("tempdir");
    let workload = build_workload(work.path());
    let hostname = std::fs::read_to_string("/etc/hostname").expect("/etc/hostname");
    assert!(hostname.len() <= 64, "the workload reads 64 bytes");
    let cap = work.path().join("cap.scap");
    let sinsp = start_capture(&cap, &[]);
    let status = Command::new(&workload).status().expect("workload runs");
    assert!(status.success());
    let err = stop_capture(sinsp);
    assert_eq!(
        counter(&err, "buffer full "),
        0,
        "no drops at this rate: {err}"
    );
    // This kernel's syscall tracepoints are faultable (6.13 and later): the backup copies of the
    // programs run beside the first ones, and the exact counts below show that an event every copy
    // sees is recorded once. It has bpf_preempt_disable (6.10 and later), which the loader linked.
    assert!(
        err.contains("with backup programs and preemption off inside them"),
        "{err}"
    );
    assert_eq!(counter(&err, "skipped by the kernel "), 0, "{err}");

    let raw = capture_file_events(&cap);
    let parsed = parse_all(&raw);
    check_reference_workload(&parsed, &hostname);
    let out = read_alike(&cap, "proc.name=workload");
    assert!(out.lines().count() > 900, "{}", out.lines().count());
}

#[test]
fn modern_bpf_storm_into_a_small_ring_counts_drops_and_capture_goes_on() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let work = tempfile::tempdir().expect("tempdir");
    let workload = build_workload(work.path());
    let cap = work.path().join("cap.scap");
    // 64 KiB of ring, and sinsp busy writing every event to a file: a storm outruns it.
    let sinsp = start_capture(&cap, &["--bpf-buffer-bytes", "65536"]);
    let storm = Command::new("dd")
        .args(["if=/dev/zero", "of=/dev/null", "bs=1", "count=300000"])
        .stderr(Stdio::null())
        .status()
        .expect("dd");
    assert!(storm.success());
    std::thread::sleep(Duration::from_secs(1));
    let status = Command::new(&workload).status().expect("workload runs");
    assert!(status.success());
    let err = stop_capture(sinsp);
    let dropped = counter(&err, "buffer full ");
    assert!(
        dropped > 1000,
        "a 300,000-call storm into a 64 KiB ring drops events: {err}"
    );

    let raw = capture_file_events(&cap);
    let parsed = parse_all(&raw);
    let tid = exec_tid(&parsed, "workload").expect("the workload after the storm is captured");
    let opens = parsed
        .iter()
        .filter(|e| {
            e.tid() == tid
                && e.event_type() == ppme::SYSCALL_OPENAT_2_X
                && text(param(e, "name")) == "/etc/hostname"
        })
        .count();
    assert_eq!(opens, 100, "capture went on after the storm: {err}");
}

#[test]
fn modern_bpf_fills_the_second_workload_as_the_module_does() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let work = tempfile::tempdir().expect("tempdir");
    let workload = build_second_workload(work.path());
    let cap = work.path().join("cap.scap");
    let sinsp = start_capture(&cap, &[]);
    let out = Command::new(&workload).output().expect("workload runs");
    assert!(out.status.success());
    let err = stop_capture(sinsp);
    assert_eq!(
        counter(&err, "buffer full "),
        0,
        "no drops at this rate: {err}"
    );
    let raw = capture_file_events(&cap);
    check_second_workload(&parse_all(&raw), &String::from_utf8_lossy(&out.stdout));
}
