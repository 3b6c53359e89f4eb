//! Which drivers this kernel can run: the probe `sinsp` (and the loader) use to pick one.

use std::path::Path;

/// What the running kernel offers the drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `/sys/kernel/btf/vmlinux`: the kernel describes its own types (CO-RE relocations, BTF tracepoints).
    pub btf: bool,
    /// BPF ring buffer maps (Linux 5.8).
    pub ringbuf: bool,
    /// Tracing programs (BTF tracepoints, Linux 5.5).
    pub tracing: bool,
    /// Raw tracepoint programs, what the per-kernel probe attaches with.
    pub raw_tracepoint: bool,
    /// Loadable kernel modules.
    pub modules: bool,
}

/// A driver, by sinsp's `--driver` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// The CO-RE probe built into the binary.
    ModernBpf,
    /// A per-kernel `probe.o`.
    Bpf,
    /// The kernel module.
    Kmod,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::ModernBpf => "modern-bpf",
            Driver::Bpf => "bpf",
            Driver::Kmod => "kmod",
        }
    }
}

impl Features {
    /// Probes the running kernel. Needs the privileges loading would need (the BPF checks create and
    /// discard a map and a program); without them the BPF answers are `false`.
    pub fn probe() -> Features {
        use aya::maps::MapType;
        use aya::programs::ProgramType;
        use aya::sys::{is_map_supported, is_program_supported};
        let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
        Features {
            btf,
            ringbuf: is_map_supported(MapType::RingBuf).unwrap_or(false),
            // A tracing program cannot be test-loaded without a BTF target to attach to; BTF tracepoints
            // came with Linux 5.5, so the version and BTF together answer.
            tracing: btf && kernel_version() >= (5, 5),
            raw_tracepoint: is_program_supported(ProgramType::RawTracePoint).unwrap_or(false),
            modules: Path::new("/proc/modules").exists(),
        }
    }

    /// Why `driver` cannot run here, or `None` when it can.
    pub fn missing_for(&self, driver: Driver) -> Option<&'static str> {
        match driver {
            Driver::ModernBpf if !self.btf => Some("the kernel has no BTF (/sys/kernel/btf/vmlinux)"),
            Driver::ModernBpf if !self.ringbuf => Some("the kernel has no BPF ring buffer (Linux 5.8+)"),
            Driver::ModernBpf if !self.tracing => Some("the kernel cannot load BTF tracing programs"),
            Driver::Bpf if !self.raw_tracepoint => Some("the kernel cannot load raw tracepoint programs"),
            Driver::Kmod if !self.modules => Some("the kernel cannot load modules (no /proc/modules)"),
            _ => None,
        }
    }

    /// The drivers that can run here, best first: the CO-RE probe needs nothing built for this kernel.
    pub fn usable(&self) -> Vec<Driver> {
        [Driver::ModernBpf, Driver::Kmod, Driver::Bpf]
            .into_iter()
            .filter(|d| self.missing_for(*d).is_none())
            .collect()
    }
}

/// The running kernel's (major, minor).
fn kernel_version() -> (u32, u32) {
    // SAFETY: uname fills the struct we own.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return (0, 0);
    }
    let release: String = uts.release.iter().take_while(|&&c| c != 0).map(|&c| c as u8 as char).collect();
    let mut parts = release.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok());
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_features_name_the_reason() {
        let none = Features { btf: false, ringbuf: false, tracing: false, raw_tracepoint: false, modules: false };
        assert!(none.usable().is_empty());
        assert!(none.missing_for(Driver::ModernBpf).expect("no BTF").contains("BTF"));
        let old = Features { btf: true, ringbuf: false, tracing: true, raw_tracepoint: true, modules: true };
        assert_eq!(old.usable(), [Driver::Kmod, Driver::Bpf]);
        assert!(old.missing_for(Driver::ModernBpf).expect("no ringbuf").contains("ring buffer"));
    }

    #[test]
    fn this_kernel_is_probed() {
        // The machine the tests run on has BTF; whether BPF loads depends on privileges.
        let f = Features::probe();
        assert_eq!(f.btf, Path::new("/sys/kernel/btf/vmlinux").exists());
    }
}
