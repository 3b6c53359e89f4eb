//! Development chores. `cargo xtask --help` lists them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ppm_schema::Schema;

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
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn codegen(check: bool) -> Result<bool> {
    let schema_path = Schema::default_path();
    let schema =
        Schema::load(&schema_path).with_context(|| format!("reading {}", schema_path.display()))?;
    let mut current = true;
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
    }
}
