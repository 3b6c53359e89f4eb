//! `test-infra`: boot a Debian kernel in qemu with files and a script, and report what happened.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use test_infra::initramfs::Initramfs;
use test_infra::packages::Kernel;
use test_infra::vm::{run, VmConfig};

#[derive(Parser)]
#[command(
    about = "Boot Debian kernels under qemu (TCG) to test drivers",
    after_help = "Example:\n  test-infra vm-run --kernel 6.1.0-47-amd64 --file target/scap.ko:/scap.ko \\\n      --program target/release/sinsp:/sinsp --script test.sh\n  # test.sh may call: result KEY VALUE; sendfile PATH NAME (files come back into --out)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Boot a kernel, run a script in the guest, print its results and check the kernel's health.
    VmRun {
        /// Kernel release, e.g. 6.1.0-47-amd64 (the package linux-image-RELEASE is fetched with apt).
        #[arg(long)]
        kernel: String,
        /// HOST:GUEST file to put in the guest (repeatable).
        #[arg(long = "file", value_name = "HOST:GUEST")]
        files: Vec<String>,
        /// HOST:GUEST dynamically linked program to put in the guest with its libraries (repeatable).
        #[arg(long = "program", value_name = "HOST:GUEST")]
        programs: Vec<String>,
        /// Shell script run in the guest (busybox sh).
        #[arg(long)]
        script: PathBuf,
        /// Directory to write the files the guest sends back.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        #[arg(long, default_value_t = 180)]
        timeout_secs: u64,
    },
}

fn main() -> Result<ExitCode> {
    let Cmd::VmRun {
        kernel,
        files,
        programs,
        script,
        out,
        timeout_secs,
    } = Cli::parse().command;
    let kernel = Kernel::fetch(&kernel).with_context(|| format!("getting kernel {kernel}"))?;
    let script = std::fs::read_to_string(&script)
        .with_context(|| format!("reading {}", script.display()))?;
    let mut fs = Initramfs::new(&script);
    for spec in &files {
        let (host, guest) = spec
            .split_once(':')
            .with_context(|| format!("--file {spec}: expected HOST:GUEST"))?;
        fs.add_file(host, guest, 0o755);
    }
    for spec in &programs {
        let (host, guest) = spec
            .split_once(':')
            .with_context(|| format!("--program {spec}: expected HOST:GUEST"))?;
        fs.add_program(host, guest)
            .with_context(|| format!("adding {host} and its libraries"))?;
    }
    let config = VmConfig {
        timeout: Duration::from_secs(timeout_secs),
        ..VmConfig::default()
    };
    eprintln!("booting {} under qemu (TCG)...", kernel.release);
    let result = run(&kernel, &fs, &config)?;
    for (k, v) in &result.results {
        println!("{k}: {v}");
    }
    for (name, data) in &result.files {
        let path = out.join(name);
        std::fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
        println!("file {name}: {} bytes -> {}", data.len(), path.display());
    }
    println!(
        "exit status: {:?}, tainted: {:?}, {:.1}s",
        result.exit_status,
        result.tainted,
        result.elapsed.as_secs_f64()
    );
    result.check_health()?;
    Ok(if result.exit_status == Some(0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
