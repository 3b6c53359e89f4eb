//! Proves drivers on real Debian kernels: fetches kernel packages by name, builds an initramfs, boots it
//! under `qemu-system-x86_64 -accel tcg`, collects results from a second serial port and checks the
//! kernel's health.
//!
//! ```no_run
//! use test_infra::{packages::Kernel, vm::{run_script, VmConfig}};
//! let kernel = Kernel::fetch("6.1.0-47-amd64")?;
//! let run = run_script(&kernel, &[], "result uname $(uname -r)", &VmConfig::default())?;
//! assert_eq!(run.results["uname"], "6.1.0-47-amd64");
//! run.check_health()?;
//! # Ok::<(), test_infra::Error>(())
//! ```

pub mod artifacts;
pub mod dbg;
pub mod drivertest;
pub mod initramfs;
pub mod packages;
pub mod publish;
pub mod vm;

use std::time::Duration;

/// What went wrong, with enough to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} failed: {detail}")]
    Tool { what: String, detail: String },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("the guest did not power off within {after:?}; last console lines:\n{console_tail}")]
    Timeout {
        after: Duration,
        console_tail: String,
    },
    #[error("the guest stopped without reporting its test's exit status; last console lines:\n{console_tail}")]
    NoExit { console_tail: String },
    #[error("the kernel is unhealthy:\n  {}", problems.join("\n  "))]
    Unhealthy { problems: Vec<String> },
}
