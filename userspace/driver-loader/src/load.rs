//! Loading and unloading: the kmod through `finit_module` (an older module of the same name unloaded
//! first, retried as falcoctl does), the per-kernel probe through the `<cache>/<name>-bpf.o` link that
//! `sinsp --driver bpf` (and Falco) look for, and `cleanup`, which undoes both.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{DriverType, Error, Report};

/// How often and how long an unload is retried while the module is busy (falcoctl: 10 times, 5 s).
#[derive(Debug, Clone, Copy)]
pub struct Unload {
    pub attempts: u32,
    pub wait: Duration,
}

impl Default for Unload {
    fn default() -> Self {
        Unload {
            attempts: 10,
            wait: Duration::from_secs(5),
        }
    }
}

/// The name the kernel lists a module under: `-` becomes `_`.
pub fn module_name(driver_name: &str) -> String {
    driver_name.replace('-', "_")
}

/// Whether `/proc/modules` (under `proc`) lists `name`.
pub fn module_loaded(proc_modules: &Path, name: &str) -> bool {
    std::fs::read_to_string(proc_modules)
        .map(|t| t.lines().any(|l| l.split_whitespace().next() == Some(name)))
        .unwrap_or(false)
}

/// Unloads module `name` if it is loaded, retrying while it is in use. `Ok(false)`: it was not loaded.
pub fn unload_module(name: &str, unload: Unload, report: &dyn Report) -> Result<bool, Error> {
    let name = module_name(name);
    if !module_loaded(Path::new("/proc/modules"), &name) {
        return Ok(false);
    }
    let c_name = CString::new(name.clone())
        .map_err(|_| Error::Invalid(format!("module name {name:?} has a NUL byte")))?;
    let mut last = String::new();
    for attempt in 1..=unload.attempts.max(1) {
        // SAFETY: delete_module reads the NUL-terminated name we own; O_NONBLOCK fails instead of
        // waiting for users of the module to go away.
        let rc =
            unsafe { libc::syscall(libc::SYS_delete_module, c_name.as_ptr(), libc::O_NONBLOCK) };
        if rc == 0 {
            report.info(&format!("unloaded the kernel module {name}"));
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        last = err.to_string();
        if err.raw_os_error() == Some(libc::ENOENT) {
            return Ok(false);
        }
        report.warn(&format!(
            "cannot unload {name} yet ({err}); attempt {attempt} of {}",
            unload.attempts
        ));
        if attempt < unload.attempts {
            std::thread::sleep(unload.wait);
        }
    }
    Err(Error::Load(format!(
        "the kernel module {name} is loaded and could not be unloaded after {} attempts ({last}): stop what uses it (Falco, sinsp) and run cleanup again",
        unload.attempts
    )))
}

/// What the kernel's refusal of a module means, from `finit_module`'s errno.
pub fn explain_load_error(errno: i32) -> &'static str {
    match errno {
        libc::ENOEXEC => "the module is not for this kernel: its vermagic or ELF format does not match (the kernel log, dmesg, names the difference)",
        libc::EINVAL => "the module does not match this kernel: vermagic or symbol version (modversions) mismatch, or bad module parameters (see dmesg)",
        libc::ENOENT => "the module uses a symbol this kernel does not export (unknown symbol; see dmesg)",
        libc::EKEYREJECTED => "module signature enforcement: the module's signature was rejected by this kernel (Secure Boot or module.sig_enforce)",
        libc::ENOKEY => "module signature enforcement: the module is not signed with a key this kernel trusts (Secure Boot or module.sig_enforce)",
        libc::EBADMSG => "module signature enforcement: the module's signature is malformed",
        libc::EPERM => "the kernel refuses to load modules: kernel lockdown, kernel.modules_disabled=1, or no CAP_SYS_MODULE (run as root)",
        libc::EEXIST => "a module of this name is already loaded (run cleanup first)",
        libc::ENOSYS => "this kernel has no loadable module support (CONFIG_MODULES is off): use the modern_ebpf or ebpf driver",
        libc::ENOMEM => "the kernel is out of memory for the module",
        _ => "the kernel refused the module",
    }
}

/// Loads the module file at `path` with `finit_module`, naming the kernel's reason on failure.
pub fn load_module(path: &Path) -> Result<(), Error> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let params = c"";
    // SAFETY: finit_module reads the module from a descriptor we own and the NUL-terminated
    // parameter string; it keeps neither.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    let errno = err.raw_os_error().unwrap_or(0);
    Err(Error::Load(format!(
        "finit_module({}) failed: {err}: {}",
        path.display(),
        explain_load_error(errno)
    )))
}

/// Where the probe is linked for `sinsp --driver bpf` and Falco: `<cache>/<name>-bpf.o`
/// (`~/.falco/falco-bpf.o` by default).
pub fn probe_link(cache: &Path, driver_name: &str) -> PathBuf {
    scap::engine::bpf::probe_link(cache, driver_name)
}

/// Points `<cache>/<name>-bpf.o` at `probe` (replacing an older link).
pub fn place_probe(cache: &Path, driver_name: &str, probe: &Path) -> Result<PathBuf, Error> {
    let link = probe_link(cache, driver_name);
    std::fs::create_dir_all(cache).map_err(Error::io(cache))?;
    match std::fs::remove_file(&link) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&link)(e)),
    }
    std::os::unix::fs::symlink(probe, &link).map_err(Error::io(&link))?;
    Ok(link)
}

/// What [`cleanup`] undid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub module_unloaded: bool,
    pub probe_link_removed: Option<PathBuf>,
}

/// falcoctl's `Cleanup` for `driver`: the kmod unloaded, or the probe link removed; nothing for
/// modern_ebpf, which leaves nothing behind.
pub fn cleanup(
    driver: DriverType,
    driver_name: &str,
    cache: &Path,
    unload: Unload,
    report: &dyn Report,
) -> Result<Cleaned, Error> {
    let mut cleaned = Cleaned::default();
    match driver {
        DriverType::ModernEbpf => report.info("modern_ebpf: nothing to clean up"),
        DriverType::Kmod => {
            cleaned.module_unloaded = unload_module(driver_name, unload, report)?;
            if !cleaned.module_unloaded {
                report.info(&format!(
                    "the kernel module {} is not loaded",
                    module_name(driver_name)
                ));
            }
        }
        DriverType::Ebpf => {
            let link = probe_link(cache, driver_name);
            match std::fs::symlink_metadata(&link) {
                Ok(_) => {
                    std::fs::remove_file(&link).map_err(Error::io(&link))?;
                    report.info(&format!("removed the eBPF probe link {}", link.display()));
                    cleaned.probe_link_removed = Some(link);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    report.info(&format!("no eBPF probe link at {}", link.display()))
                }
                Err(e) => return Err(Error::io(&link)(e)),
            }
        }
    }
    Ok(cleaned)
}
