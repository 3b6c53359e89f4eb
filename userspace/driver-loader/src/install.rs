//! `driver install`: falcoctl's order of things. Drivers with nothing to download are done at once;
//! otherwise the old driver is cleaned up, the prebuilt one downloaded and verified, then loaded (the
//! kmod) or linked (the probe).

use std::path::PathBuf;

use crate::fetch::{self, Fetched};
use crate::load::{self, Unload};
use crate::settings::Plan;
use crate::{DriverType, Error, Report};

pub struct InstallOptions {
    /// `--download`: try the repositories.
    pub download: bool,
    /// `--compile`: build locally when no prebuilt driver is found.
    pub compile: bool,
    /// The cache, `~/.falco` (`--cache`).
    pub cache: PathBuf,
    pub fetch: fetch::Options,
    pub unload: Unload,
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The driver needs no artifact (modern_ebpf).
    NothingNeeded(DriverType),
    /// Neither download nor compile was allowed.
    NothingToDo,
    /// The kmod was loaded from this file.
    Module(Fetched),
    /// The probe was linked at `link`.
    Probe { fetched: Fetched, link: PathBuf },
}

pub fn install(
    plan: &Plan,
    options: &InstallOptions,
    report: &dyn Report,
) -> Result<Installed, Error> {
    let Some(name) = plan.artifact() else {
        report.info(&format!(
            "{}: no artifacts needed for the selected driver; it is built into the capture program and this kernel runs it, nothing to download",
            plan.driver
        ));
        return Ok(Installed::NothingNeeded(plan.driver));
    };
    if !options.download && !options.compile {
        report.info("nothing to do: download and compile disabled");
        return Ok(Installed::NothingToDo);
    }
    let mut download = options.download;
    if plan.undetermined() {
        if !options.compile {
            return Err(Error::NoDriver(
                "detected an unsupported target system (no usable /etc/os-release under the host root): no prebuilt driver can be named for it".into(),
            ));
        }
        report.warn("detected an unsupported target system: trying to compile anyway");
        download = false;
    }
    load::cleanup(
        plan.driver,
        &plan.settings.name,
        &options.cache,
        options.unload,
        report,
    )?;
    let mut failure = None;
    if download {
        match fetch::fetch(
            &plan.settings.repos,
            &plan.settings.version,
            plan.kernel.arch,
            &name,
            &options.cache,
            &options.fetch,
            report,
        ) {
            Ok(fetched) => return place(plan, options, fetched, report),
            Err(e) if options.compile => {
                report.warn(&e.to_string());
                failure = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    let why = failure.map_or(String::new(), |e| format!("{e}\n"));
    Err(Error::NoDriver(format!(
        "{why}no local build: building {} from /usr/src/{}-{} is not supported by this loader yet; build it with the project's builder (`driverkit local`) or pass --compile=false",
        name.file_name(),
        plan.settings.name,
        plan.settings.version
    )))
}

fn place(
    plan: &Plan,
    options: &InstallOptions,
    fetched: Fetched,
    report: &dyn Report,
) -> Result<Installed, Error> {
    match plan.driver {
        DriverType::Kmod => {
            report.info(&format!("loading {}", fetched.path.display()));
            load::load_module(&fetched.path)?;
            report.info("kernel module loaded");
            Ok(Installed::Module(fetched))
        }
        DriverType::Ebpf => {
            let link = load::place_probe(&options.cache, &plan.settings.name, &fetched.path)?;
            report.info(&format!(
                "eBPF probe linked: {} -> {}",
                link.display(),
                fetched.path.display()
            ));
            Ok(Installed::Probe { fetched, link })
        }
        DriverType::ModernEbpf => Ok(Installed::NothingNeeded(plan.driver)),
    }
}
