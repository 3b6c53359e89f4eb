//! `cargo xtask bench-kmod`: what the kernel module adds to a system call while `sinsp` consumes its
//! events, against Debian's reference module (`falcosecurity-scap-dkms`) with Debian's sysdig, in the same
//! qemu boot of Debian's 6.1.0-47 kernel. Under TCG emulation absolute times are slow; the ratios are
//! what to read.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use crate::bench_bpf::reported;
use test_infra::initramfs::Initramfs;
use test_infra::packages::{fetch_deb, kernel_headers, unpack, Kernel};
use test_infra::vm::{run, VmConfig};

const RELEASE: &str = "6.1.0-47-amd64";

fn make_module(src: &Path, kerneldir: &Path, args: &[&str]) -> Result<PathBuf> {
    let out = Command::new("make")
        .arg("-C")
        .arg(kerneldir)
        .arg(format!("M={}", src.display()))
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!("building {}: {}", src.display(), String::from_utf8_lossy(&out.stderr));
    }
    Ok(src.join("scap.ko"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let status = Command::new("cp").arg("-r").arg(from).arg(to).status()?;
    if !status.success() {
        bail!("cp {} {}", from.display(), to.display());
    }
    Ok(())
}

pub fn run_bench(repo: &Path, calls: u64) -> Result<()> {
    let work = tempfile_dir(repo)?;
    let kerneldir = kernel_headers(RELEASE).context("kernel headers")?;

    let ours_src = work.join("ours");
    copy_dir(&repo.join("driver"), &ours_src)?;
    let status = Command::new("make").arg(format!("KERNELDIR={}", kerneldir.display())).current_dir(&ours_src).status()?;
    if !status.success() {
        bail!("building driver/");
    }
    let ours = ours_src.join("scap.ko");

    let deb = fetch_deb("falcosecurity-scap-dkms").context("apt-get download falcosecurity-scap-dkms")?;
    let unpacked = work.join("ref-deb");
    unpack(&[deb], &unpacked)?;
    let src = std::fs::read_dir(unpacked.join("usr/src"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("scap-")))
        .context("the package holds /usr/src/scap-*")?;
    let ref_src = work.join("ref");
    copy_dir(&src, &ref_src)?;
    let reference = make_module(&ref_src, &kerneldir, &["modules"])?;

    let syscalls = work.join("syscalls");
    let status = Command::new("gcc")
        .args(["-O2", "-static", "-o"])
        .arg(&syscalls)
        .arg(repo.join("bpf/bench/syscalls.c"))
        .status()?;
    if !status.success() {
        bail!("gcc bpf/bench/syscalls.c");
    }
    let status = Command::new("cargo").args(["build", "--release", "-q", "-p", "sinsp"]).current_dir(repo).status()?;
    if !status.success() {
        bail!("building sinsp");
    }

    // Both consumers read every event and print none (a filter that matches nothing). The drivers take
    // turns, twice, so that drift in the guest hits both alike; the best of each counts.
    let mut script = format!("ifconfig lo 127.0.0.1 up\n/syscalls {calls} 3 > /tmp/base1.txt 3>&-\n");
    for round in 1..=2 {
        script += &format!(
            "insmod /ref.ko || exit 10\n\
             /usr/bin/sysdig proc.name=no-such-process > /tmp/ref.out 2>&1 &\n\
             sp=$!\n\
             sleep 8\n\
             /syscalls {calls} 3 > /tmp/ref{round}.txt 3>&-\n\
             kill -INT $sp; wait $sp\n\
             rmmod scap || exit 11\n\
             insmod /ours.ko || exit 12\n\
             /sinsp --driver kmod proc.name=no-such-process > /dev/null 2> /tmp/ours.err &\n\
             sp=$!\n\
             sleep 8\n\
             /syscalls {calls} 3 > /tmp/ours{round}.txt 3>&-\n\
             kill -INT $sp; wait $sp\n\
             rmmod scap || exit 13\n"
        );
    }
    script += &format!(
        "/syscalls {calls} 3 > /tmp/base2.txt 3>&-\n\
         for f in base1 ref1 ours1 ref2 ours2 base2; do sendfile /tmp/$f.txt $f; done\n\
         sendfile /tmp/ours.err ours.err\n\
         sendfile /tmp/ref.out ref.out\n"
    );
    let mut fs = Initramfs::new(&script);
    fs.add_file(&ours, "/ours.ko", 0o644);
    fs.add_file(&reference, "/ref.ko", 0o644);
    fs.add_file(&syscalls, "/syscalls", 0o755);
    fs.add_program(repo.join("target/release/sinsp"), "/sinsp")?;
    fs.add_program("/usr/bin/sysdig", "/usr/bin/sysdig")?;
    let kernel = Kernel::fetch(RELEASE)?;
    let vm = run(&kernel, &fs, &VmConfig { timeout: Duration::from_secs(1200), ..VmConfig::default() })?;
    if vm.exit_status != Some(0) {
        bail!("the guest script failed ({:?}): {}", vm.exit_status, vm.console);
    }
    vm.check_health()?;
    let text = |name: &str| String::from_utf8_lossy(vm.files.get(name).map(Vec::as_slice).unwrap_or_default()).into_owned();
    let get = |name: &str, key: &str| reported(&text(name), key).with_context(|| format!("{key} in {name}: {}", text(name)));
    let best = |a: &str, b: &str, key: &str| -> Result<f64> { Ok(get(a, key)?.min(get(b, key)?)) };
    let base_g = best("base1", "base2", "getppid_ns ")?;
    let base_o = best("base1", "base2", "open_close_ns ")?;
    let (ref_g, ref_o) = (best("ref1", "ref2", "getppid_ns ")?, best("ref1", "ref2", "open_close_ns ")?);
    let (our_g, our_o) = (best("ours1", "ours2", "getppid_ns ")?, best("ours1", "ours2", "open_close_ns ")?);
    println!(
        "Debian {RELEASE} under qemu TCG, {calls} getppid and {} open/close pairs per round, best of 3 rounds, \
         drivers taking turns twice (best of 2)",
        calls / 4
    );
    println!("| driver + consumer | getppid ns | added | open+close ns | added |");
    println!("|---|---:|---:|---:|---:|");
    println!("| none | {base_g:.0} | | {base_o:.0} | |");
    println!("| reference scap.ko + sysdig 0.29.3 | {ref_g:.0} | {:.0} | {ref_o:.0} | {:.0} |", ref_g - base_g, ref_o - base_o);
    println!("| this module + sinsp | {our_g:.0} | {:.0} | {our_o:.0} | {:.0} |", our_g - base_g, our_o - base_o);
    println!(
        "\nadded cost, this module / reference: getppid {:.2}x, open+close {:.2}x",
        (our_g - base_g) / (ref_g - base_g),
        (our_o - base_o) / (ref_o - base_o)
    );
    println!("sinsp: {}", text("ours.err").trim().replace('\n', " | "));
    Ok(())
}

fn tempfile_dir(repo: &Path) -> Result<PathBuf> {
    let dir = repo.join("target/bench-kmod");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
