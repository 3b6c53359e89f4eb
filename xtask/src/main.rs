//! Development chores. `cargo xtask --help` lists them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ppm_schema::{fillers, Schema};

mod bench_bpf;
mod bench_kmod;

#[derive(Parser)]
#[command(
    about = "Development chores for this repository",
    after_help = "Examples:\n  cargo xtask codegen          # rewrite driver/*.h, *.c from driver/schema/events.schema\n  cargo xtask codegen --check  # exit 1 if the committed files are stale"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the C headers and tables of driver/ and bpf/ from the event schema.
    Codegen {
        /// Only check that the committed files are current; change nothing.
        #[arg(long)]
        check: bool,
    },
    /// Print which events the drivers fill, per system call the schema routes: the kernel module and both
    /// eBPF probes compile the same fillers (driver/ppm_fillers.h), so one column holds for all three.
    #[command(
        after_help = "Examples:\n  cargo xtask syscalls-report            # every routed event\n  cargo xtask syscalls-report --pending  # only what is not filled yet"
    )]
    SyscallsReport {
        /// Only events whose parameters past the first are not filled yet.
        #[arg(long)]
        pending: bool,
    },
    /// Benchmark the CO-RE eBPF probe: nanoseconds it adds per getppid and per open/close pair, beside a
    /// floor probe that only submits a 24-byte record per call (needs root and a kernel with BTF).
    BenchBpf {
        /// getppid calls per round (open/close pairs: a quarter of this).
        #[arg(long, default_value_t = 1_000_000)]
        calls: u64,
    },
    /// Benchmark the kernel module against Debian's reference module (falcosecurity-scap-dkms) with
    /// Debian's sysdig, in one qemu boot of Debian's 6.1.0-47 kernel.
    BenchKmod {
        /// getppid calls per round (open/close pairs: a quarter of this).
        #[arg(long, default_value_t = 100_000)]
        calls: u64,
    },
    /// Make a big capture for benchmarks: the input's lists once, then its events COPIES times, each copy
    /// shifted in time after the previous one.
    BigCapture {
        input: PathBuf,
        output: PathBuf,
        #[arg(long, default_value_t = 100)]
        copies: u32,
    },
}

fn big_capture(input: &Path, output: &Path, copies: u32) -> Result<()> {
    use scap::savefile::{Block, Reader, Writer};
    let mut reader = Reader::open(input).with_context(|| format!("reading {}", input.display()))?;
    let mut events: Vec<(u16, Option<u32>, Vec<u8>)> = Vec::new();
    let mut writer =
        Writer::create(output, false).with_context(|| format!("creating {}", output.display()))?;
    while let Some(block) = reader.next_block()? {
        match block {
            Block::Event { cpu, flags, event } => {
                events.push((cpu, flags, event.as_bytes().to_vec()))
            }
            meta @ Block::Meta { .. } => writer.write_block(&meta)?,
        }
    }
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        anyhow::bail!("{} has no events", input.display());
    };
    let ts = |raw: &[u8]| u64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8]));
    let span = ts(&last.2) - ts(&first.2) + 1;
    for copy in 0..u64::from(copies) {
        for (cpu, flags, raw) in &events {
            let mut raw = raw.clone();
            let shifted = ts(&raw) + copy * span;
            raw[..8].copy_from_slice(&shifted.to_le_bytes());
            let event = scap::event::Event::parse(&raw)?;
            writer.write_event(*cpu, *flags, &event)?;
        }
    }
    writer.finish()?;
    eprintln!(
        "wrote {} events to {}",
        events.len() as u64 * u64::from(copies),
        output.display()
    );
    Ok(())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load_schema() -> Result<Schema> {
    let schema_path = Schema::default_path();
    Schema::load(&schema_path).with_context(|| format!("reading {}", schema_path.display()))
}

fn filler_coverage(schema: &Schema) -> Result<Vec<fillers::Row>> {
    let path = fillers::default_path();
    let source =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(fillers::coverage(schema, &source))
}

fn syscalls_report(pending_only: bool) -> Result<()> {
    let rows = filler_coverage(&load_schema()?)?;
    println!(
        "{:<28} {:<7} {:<32} kmod, bpf (per-kernel), bpf (CO-RE)",
        "system calls", "params", "event"
    );
    for row in &rows {
        if pending_only && row.filling != fillers::Filling::Pending {
            continue;
        }
        println!(
            "{:<28} {:<7} {:<32} {}",
            row.syscalls.join(","),
            row.nparams,
            row.event,
            row.filling.label()
        );
    }
    let count = |f: fillers::Filling| rows.iter().filter(|r| r.filling == f).count();
    println!(
        "\n{} routed events: {} filled by their own filler, {} whole by the rule, {} pending, {} missing",
        rows.len(),
        count(fillers::Filling::Filler),
        count(fillers::Filling::Rule),
        count(fillers::Filling::Pending),
        count(fillers::Filling::Missing)
    );
    Ok(())
}

fn codegen(check: bool) -> Result<bool> {
    let schema = load_schema()?;
    let mut current = true;
    let missing: Vec<String> = filler_coverage(&schema)?
        .into_iter()
        .filter(|r| r.filling == fillers::Filling::Missing)
        .map(|r| r.event)
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "driver/ppm_fillers.h has no case for these routed events (their parameters would be sent as zeros): {}\n\
             add a filler, or list them under a `return false;` as not read yet",
            missing.join(", ")
        );
    }
    for (path, contents) in ppm_schema::c::generate(&schema) {
        let full = repo_root().join(path);
        let existing = std::fs::read_to_string(&full).unwrap_or_default();
        if existing == contents {
            continue;
        }
        current = false;
        if check {
            eprintln!("stale: {path}");
        } else {
            std::fs::write(&full, contents)
                .with_context(|| format!("writing {}", full.display()))?;
            eprintln!("wrote {path}");
        }
    }
    Ok(current)
}

fn main() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Codegen { check } => {
            let current = codegen(check)?;
            if check && !current {
                eprintln!("run `cargo xtask codegen` and commit the result");
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::SyscallsReport { pending } => {
            syscalls_report(pending)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchBpf { calls } => {
            bench_bpf::run(&repo_root(), calls)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchKmod { calls } => {
            bench_kmod::run_bench(&repo_root(), calls)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::BigCapture {
            input,
            output,
            copies,
        } => {
            big_capture(&input, &output, copies)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
