//! The driver loader: finds the prebuilt driver that matches this kernel in a repository, checks it
//! against the repository's signed index, and loads it, with falcoctl `driver`'s interface (its
//! subcommands, flags, `FALCOCTL_DRIVER_*` variables, the `driver:` block of
//! `/etc/falcoctl/falcoctl.yaml`, and `printenv`'s output).
//!
//! - [`settings`]: flags over environment over `falcoctl.yaml` over defaults;
//! - [`kernel`] and [`target`]: which kernel, which distribution, and the name its drivers have;
//! - [`fetch`]: downloads from the repositories in order, verified by the signed `index.json`;
//! - [`load`]: the kmod through `finit_module`, the probe through `~/.falco/<name>-bpf.o`, and cleanup.
//!
//! Nothing here prints: progress goes to a [`Report`], results come back as values.
//!
//! ```
//! use driver_loader::{kernel::Kernel, target::Target, Arch};
//! let kernel = Kernel {
//!     release: "6.12.95+deb12-cloud-amd64".into(),
//!     version: "#1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1 (2026-07-05)".into(),
//!     arch: Arch::X86_64,
//! };
//! let fields = driver_loader::target::parse_os_release("ID=debian\nVERSION_ID=\"12\"\n");
//! let target = Target::from_fields("debian", &fields, &kernel, "/etc/os-release".as_ref()).unwrap();
//! let fixed = target.fixup(&kernel);
//! assert_eq!((target.id.as_str(), fixed.release.as_str()), ("debian", "6.12.95-1~bpo12+1-cloud-amd64"));
//! ```

pub mod fetch;
pub mod install;
pub mod kernel;
pub mod load;
pub mod settings;
pub mod target;

use std::fmt;
use std::path::PathBuf;

pub use driver_index::Arch;
use driver_index::Kind;

/// What went wrong, naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {detail}")]
    OsRelease { path: PathBuf, detail: String },
    #[error("kernel: {0}")]
    Kernel(String),
    #[error("{0}")]
    NoDriver(String),
    #[error("{0}")]
    Download(String),
    #[error("{0}")]
    Verify(String),
    #[error("{0}")]
    Load(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// A driver, by falcoctl's `--type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriverType {
    /// The CO-RE probe built into the capture program: nothing to download.
    ModernEbpf,
    /// The kernel module.
    Kmod,
    /// The per-kernel eBPF probe (`probe.o`).
    Ebpf,
}

impl DriverType {
    pub const ALL: [DriverType; 3] = [DriverType::ModernEbpf, DriverType::Kmod, DriverType::Ebpf];

    pub fn as_str(self) -> &'static str {
        match self {
            DriverType::ModernEbpf => "modern_ebpf",
            DriverType::Kmod => "kmod",
            DriverType::Ebpf => "ebpf",
        }
    }

    pub fn parse(text: &str) -> Result<DriverType, Error> {
        DriverType::ALL
            .into_iter()
            .find(|t| t.as_str() == text.trim())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unsupported driver type specified: {text} (use modern_ebpf, kmod or ebpf)"
                ))
            })
    }

    /// The artifact this driver downloads, if any.
    pub fn artifact(self) -> Option<Kind> {
        match self {
            DriverType::ModernEbpf => None,
            DriverType::Kmod => Some(Kind::Module),
            DriverType::Ebpf => Some(Kind::Probe),
        }
    }
}

impl fmt::Display for DriverType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the library's progress goes; the CLI writes it to stderr.
pub trait Report {
    fn info(&self, message: &str);
    fn warn(&self, message: &str);
}

/// A [`Report`] that keeps nothing.
pub struct Quiet;

impl Report for Quiet {
    fn info(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}

/// A [`Report`] that keeps every line (`info: ...`, `warn: ...`), for tests and for callers that
/// show progress their own way.
#[derive(Default)]
pub struct Collect(pub std::sync::Mutex<Vec<String>>);

impl Collect {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Report for Collect {
    fn info(&self, message: &str) {
        if let Ok(mut l) = self.0.lock() {
            l.push(format!("info: {message}"));
        }
    }
    fn warn(&self, message: &str) {
        if let Ok(mut l) = self.0.lock() {
            l.push(format!("warn: {message}"));
        }
    }
}
