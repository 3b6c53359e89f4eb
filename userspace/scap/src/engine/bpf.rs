//! The eBPF engine: the CO-RE probe (`bpf/probe.bpf.c`, built with this crate and shipped inside it) or a
//! per-kernel `probe.o` of the same source, loaded with aya, attached to BTF (or raw) tracepoints, read
//! from its BPF ring buffer.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use aya::maps::{Array, MapData, PerCpuArray, RingBuf};
use aya::{Btf, Ebpf, EbpfLoader, Pod};

use super::{CapturedEvent, Engine, EngineError, Next, Stats};
use crate::event::Event;

/// Where a loader links the per-kernel probe of driver `driver_name` in its cache: `<cache>/<name>-bpf.o`,
/// falcoctl's and Falco's place (`~/.falco/falco-bpf.o`).
pub fn probe_link(cache: &std::path::Path, driver_name: &str) -> std::path::PathBuf {
    cache.join(format!("{driver_name}-bpf.o"))
}

/// The probe `--driver bpf` loads when given no path, as Falco finds it: `$FALCO_BPF_PROBE` when set
/// and not empty, else `$HOME/.falco/falco-bpf.o`. `None` without either variable.
pub fn default_probe_path() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("FALCO_BPF_PROBE").filter(|p| !p.is_empty()) {
        return Some(path.into());
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(probe_link(&std::path::Path::new(&home).join(".falco"), "falco"))
}

/// The probe object, compiled by build.rs, and its build for older verifiers (offsets laundered
/// through memory, a little slower).
static PROBE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/probe.bpf.o"));
static PROBE_COMPAT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/probe_compat.bpf.o"));

/// The first kernel whose verifier is known to accept the faster build (6.1's gives up on it; 6.12's
/// and later accept it). Older kernels get the compat build first.
const FAST_VERIFIER: (u32, u32) = (6, 12);

/// The probe's programs and the tracepoint each attaches to, in attach order (a tracepoint calls its
/// programs in that order, which the backups rely on).
const PROGRAMS: &[(&str, &str)] = &[
    ("sys_enter", "sys_enter"),
    ("sys_exit", "sys_exit"),
    ("sched_process_exit", "sched_process_exit"),
    ("sched_process_fork", "sched_process_fork"),
    ("sched_process_exec", "sched_process_exec"),
];

/// Backup copies of the programs, in builds that have them (where tracepoints may be preemptible),
/// attached after the first copies: each records what the kernel made the copies before it skip
/// (`handoff` in the probe). System calls, the busiest, have three; process events two (with one, a
/// process event went unrecorded in a boot of 7.3-rc7). The tally
/// programs, attached last, count what no copy recorded.
const BACKUPS: &[(&str, &str)] = &[
    ("sys_enter_backup1", "sys_enter"),
    ("sys_exit_backup1", "sys_exit"),
    ("sys_enter_backup2", "sys_enter"),
    ("sys_exit_backup2", "sys_exit"),
    ("sys_enter_backup3", "sys_enter"),
    ("sys_exit_backup3", "sys_exit"),
    ("sched_process_exit_backup1", "sched_process_exit"),
    ("sched_process_fork_backup1", "sched_process_fork"),
    ("sched_process_exec_backup1", "sched_process_exec"),
    ("sched_process_exit_backup2", "sched_process_exit"),
    ("sched_process_fork_backup2", "sched_process_fork"),
    ("sched_process_exec_backup2", "sched_process_exec"),
    ("sys_enter_tally", "sys_enter"),
    ("sys_exit_tally", "sys_exit"),
    ("sched_process_exit_tally", "sched_process_exit"),
    ("sched_process_fork_tally", "sched_process_fork"),
    ("sched_process_exec_tally", "sched_process_exec"),
];

/// The first kernel whose syscall tracepoints are faultable (`DEFINE_TRACE_SYSCALL`), and so may
/// run the probe preemptibly: the CO-RE probe attaches its backups from there on.
const FAULTABLE_SYSCALL_TRACEPOINTS: (u32, u32) = (6, 13);

/// Words of the probe's events-of-interest bitmap (`EVENTS_MASK_WORDS`: 512 event types).
const EVENTS_MASK_WORDS: usize = 8;

/// The probe's scratch areas per CPU (`SCRATCH_SLOTS`): on kernels whose syscall tracepoints are
/// preemptible (7.x) a preempted task keeps its area and the next task on that CPU takes another.
const SCRATCH_SLOTS: u32 = 4;

/// `struct settings` of the probe.
#[repr(C)]
#[derive(Clone, Copy)]
struct Settings {
    capturing: u32,
    snaplen: u32,
    consumer_tgid: u32,
    handoff: u32,
    boot_to_realtime_ns: u64,
    events: [u64; EVENTS_MASK_WORDS],
}

// SAFETY: plain integers with no padding (the C struct is laid out the same).
unsafe impl Pod for Settings {}

/// `struct counters` of the probe (one per CPU).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Counters {
    n_evts: u64,
    n_drops_buffer: u64,
    n_drops_pf: u64,
    n_drops_scratch: u64,
    n_lost_enter: u64,
    n_lost_exit: u64,
    n_lost_process: u64,
}

// SAFETY: plain integers.
unsafe impl Pod for Counters {}

pub struct BpfEngine {
    // Owns the programs and their links: dropping it detaches them.
    _ebpf: Ebpf,
    ring: RingBuf<MapData>,
    settings_map: Array<MapData, Settings>,
    counters: PerCpuArray<MapData, Counters>,
    settings: Settings,
    event: Vec<u8>,
    stopped: bool,
    /// Which probe build runs, for the user.
    build: String,
    /// Whether the backup programs are attached.
    handoff: bool,
    /// Whether the programs turn preemption off while they run (their kfunc calls were linked).
    preemption_off: bool,
}

fn other(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Other(format!("{what}: {e}"))
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl BpfEngine {
    /// Loads and attaches the CO-RE probe built into this binary: the faster build where the verifier
    /// is known to take it, else (or when it is refused) the build for older verifiers. Capture starts
    /// with [`Engine::start`].
    pub fn open(ring_bytes: u32) -> Result<BpfEngine, EngineError> {
        let btf = || {
            Btf::from_sys_fs().map_err(|e| {
                other("reading the kernel's BTF (/sys/kernel/btf/vmlinux; the CO-RE probe needs a kernel built with CONFIG_DEBUG_INFO_BTF)", e)
            })
        };
        let release = kernel_release();
        if kernel_version(&release).is_some_and(|v| v < FAST_VERIFIER) {
            let mut engine = Self::load(PROBE_COMPAT, Some(btf()?), ring_bytes, false)?;
            engine.build =
                format!("the CO-RE probe's build for older verifiers (kernel {release})");
            return Ok(engine);
        }
        let backups = kernel_version(&release).is_none_or(|v| v >= FAULTABLE_SYSCALL_TRACEPOINTS);
        match Self::load(PROBE, Some(btf()?), ring_bytes, backups) {
            Err(EngineError::Verifier(why)) => {
                let mut engine = Self::load(PROBE_COMPAT, Some(btf()?), ring_bytes, false)?;
                engine.build = format!(
                    "the CO-RE probe's build for older verifiers (kernel {release} refused the faster one: {})",
                    first_line(&why)
                );
                Ok(engine)
            }
            other => other,
        }
    }

    /// Loads and attaches a per-kernel probe (`probe.o` from bpf/Makefile or driverkit), whose programs
    /// attach to raw tracepoints and need no BTF.
    pub fn open_object(path: &std::path::Path, ring_bytes: u32) -> Result<BpfEngine, EngineError> {
        let data = std::fs::read(path).map_err(|source| EngineError::Io {
            what: format!("reading the eBPF probe {}", path.display()),
            source,
        })?;
        // An aligned copy: object parsing reads ELF structures in place.
        let mut aligned = vec![0u64; data.len().div_ceil(8)];
        // SAFETY: the u64 buffer has at least data.len() bytes; u8 has no alignment needs.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(aligned.as_mut_ptr().cast::<u8>(), data.len())
        };
        bytes.copy_from_slice(&data);
        // Its build has the backups only for kernels whose syscall tracepoints are faultable.
        let mut engine = Self::load(bytes, Btf::from_sys_fs().ok(), ring_bytes, true)?;
        engine.build = format!("the per-kernel probe {}", path.display());
        Ok(engine)
    }

    /// Loads `object` and attaches its programs, and its backups where it has them and `backups`.
    fn load(
        object: &[u8],
        btf: Option<Btf>,
        ring_bytes: u32,
        backups: bool,
    ) -> Result<BpfEngine, EngineError> {
        if object.is_empty() {
            return Err(EngineError::Other(
                "this binary was built without the eBPF probe (SCAP_SKIP_BPF); rebuild it without that variable".into(),
            ));
        }
        mount_if_missing("tracefs", "/sys/kernel/tracing");
        let cpus = possible_cpus()?;
        let linked = link_kfuncs(object, btf.as_ref());
        let preemption_off = linked.as_ref().is_some_and(|l| l.linked);
        let object = linked.as_ref().map_or(object, |l| l.bytes());
        let mut ebpf = EbpfLoader::new()
            .btf(btf.as_ref())
            .map_max_entries("events", ring_bytes)
            .map_max_entries("scratch", cpus.saturating_mul(SCRATCH_SLOTS))
            .load(object)
            .map_err(|e| {
                other(
                    "loading the eBPF probe (root or CAP_BPF+CAP_PERFMON is needed)",
                    e,
                )
            })?;
        let handoff = backups && BACKUPS.iter().all(|(name, _)| ebpf.program(name).is_some());
        let attached = PROGRAMS.iter().chain(if handoff { BACKUPS } else { &[] });
        for &(name, tracepoint) in attached {
            let program = ebpf
                .program_mut(name)
                .ok_or_else(|| EngineError::Other(format!("the probe has no program {name}")))?;
            match program {
                aya::programs::Program::BtfTracePoint(p) => {
                    let btf = btf.as_ref().ok_or_else(|| {
                        EngineError::Other("BTF tracepoints need the kernel's BTF".into())
                    })?;
                    p.load(tracepoint, btf)
                        .map_err(|e| verifier_error(name, e))?;
                    p.attach()
                        .map_err(|e| other(&format!("attaching {name}"), e))?;
                }
                aya::programs::Program::RawTracePoint(p) => {
                    p.load().map_err(|e| verifier_error(name, e))?;
                    p.attach(tracepoint)
                        .map_err(|e| other(&format!("attaching {name}"), e))?;
                }
                _ => {
                    return Err(EngineError::Other(format!(
                        "program {name} is neither a BTF nor a raw tracepoint"
                    )))
                }
            }
        }
        let take = |ebpf: &mut Ebpf, name: &str| {
            ebpf.take_map(name)
                .ok_or_else(|| EngineError::Other(format!("the probe has no map {name}")))
        };
        let ring =
            RingBuf::try_from(take(&mut ebpf, "events")?).map_err(|e| other("ring buffer", e))?;
        let settings_map =
            Array::try_from(take(&mut ebpf, "settings")?).map_err(|e| other("settings", e))?;
        let counters = PerCpuArray::try_from(take(&mut ebpf, "counters")?)
            .map_err(|e| other("counters", e))?;
        let settings = Settings {
            capturing: 0,
            snaplen: 80,
            consumer_tgid: std::process::id(),
            handoff: u32::from(handoff),
            boot_to_realtime_ns: clock_ns(libc::CLOCK_REALTIME)
                .saturating_sub(clock_ns(libc::CLOCK_BOOTTIME)),
            events: [u64::MAX; EVENTS_MASK_WORDS],
        };
        let mut engine = BpfEngine {
            _ebpf: ebpf,
            ring,
            settings_map,
            counters,
            settings,
            event: Vec::with_capacity(64 * 1024),
            stopped: false,
            build: "the CO-RE probe".to_owned(),
            handoff,
            preemption_off,
        };
        engine.push_settings()?;
        Ok(engine)
    }

    /// Which probe build was loaded (and why, when it is not the first choice), and whether its
    /// backup programs run.
    pub fn build(&self) -> String {
        match (self.handoff, self.preemption_off) {
            (false, _) => self.build.clone(),
            (true, false) => format!(
                "{}, with backup programs (tracepoints may be preemptible here)",
                self.build
            ),
            (true, true) => format!(
                "{}, with backup programs and preemption off inside them (tracepoints may be preemptible here)",
                self.build
            ),
        }
    }

    fn push_settings(&mut self) -> Result<(), EngineError> {
        self.settings_map
            .set(0, self.settings, 0)
            .map_err(|e| other("updating the probe's settings", e))
    }

    pub fn set_snaplen(&mut self, snaplen: u32) -> Result<(), EngineError> {
        self.settings.snaplen = snaplen;
        self.push_settings()
    }

    /// Records only the given event types (all by default).
    pub fn set_events(&mut self, types: &[u16]) -> Result<(), EngineError> {
        self.settings.events = [0; EVENTS_MASK_WORDS];
        for &t in types {
            if let Some(word) = self.settings.events.get_mut(usize::from(t) / 64) {
                *word |= 1 << (t % 64);
            }
        }
        self.push_settings()
    }

    /// Waits for the ring (the probe does not wake readers, so this is mostly a short sleep).
    fn wait(&self, timeout_ms: i32) {
        let mut pfd = libc::pollfd {
            fd: self.ring.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd we own; the ring's fd stays open for the call.
        unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    }
}

impl Engine for BpfEngine {
    fn start(&mut self) -> Result<(), EngineError> {
        self.stopped = false;
        self.settings.capturing = 1;
        self.push_settings()
    }

    fn stop(&mut self) -> Result<(), EngineError> {
        self.stopped = true;
        self.settings.capturing = 0;
        self.push_settings()
    }

    fn next(&mut self) -> Result<Next<'_>, EngineError> {
        let mut found = false;
        for attempt in 0..2 {
            if let Some(item) = self.ring.next() {
                self.event.clear();
                self.event.extend_from_slice(&item);
                found = true;
                break;
            }
            if attempt == 0 {
                if self.stopped {
                    return Ok(Next::Eof);
                }
                self.wait(2);
            }
        }
        if !found {
            return Ok(Next::Timeout);
        }
        let event =
            Event::parse(&self.event).map_err(|e| other("a malformed event from the probe", e))?;
        Ok(Next::Event(CapturedEvent {
            cpu: 0,
            flags: None,
            event,
        }))
    }

    fn stats(&self) -> Stats {
        let mut stats = Stats::default();
        if let Ok(per_cpu) = self.counters.get(&0, 0) {
            for c in per_cpu.iter() {
                stats.events += c.n_evts;
                stats.drops_buffer += c.n_drops_buffer;
                stats.drops_pf += c.n_drops_pf;
                stats.drops_other += c.n_drops_scratch;
            }
        }
        stats.drops_skipped = self.skipped_runs().iter().map(|(_, n)| n).sum();
        stats
    }

    fn skipped_runs(&self) -> Vec<(String, u64)> {
        if self.handoff {
            // What no copy recorded, as the tally programs counted it. The copies' own skipped runs
            // are no measure of that: most were made needless by an earlier copy.
            let mut lost = [0u64; 3];
            if let Ok(per_cpu) = self.counters.get(&0, 0) {
                for c in per_cpu.iter() {
                    lost[0] += c.n_lost_enter;
                    lost[1] += c.n_lost_exit;
                    lost[2] += c.n_lost_process;
                }
            }
            return ["system call entries", "system call exits", "process events"]
                .iter()
                .zip(lost)
                .filter(|(_, n)| *n > 0)
                .map(|(what, n)| (what.to_string(), n))
                .collect();
        }
        // Without copies every run the kernel skipped is an event lost: where tracepoints are
        // preemptible, a task hitting one while another task on its CPU is inside the same program.
        self._ebpf
            .programs()
            .filter_map(|(name, program)| {
                let misses = recursion_misses(program.fd().ok()?.as_fd());
                (misses > 0).then(|| (name.to_string(), misses))
            })
            .collect()
    }
}

/// The probe's placeholder kfunc calls (`KFUNC_CALL` in probe.bpf.c): the placeholder id and the
/// kernel function it stands for.
const KFUNCS: &[(u32, &str)] = &[
    (0x7fff_fd01, "bpf_preempt_disable"),
    (0x7fff_fd02, "bpf_preempt_enable"),
];

/// A call instruction to a kernel function (`BPF_JMP | BPF_CALL`, `src_reg` BPF_PSEUDO_KFUNC_CALL),
/// without its id.
const KFUNC_CALL_HEAD: [u8; 4] = [0x85, 0x20, 0, 0];

/// A probe object whose kfunc calls were given their ids.
struct LinkedObject {
    /// The object, 8-byte aligned (object parsing reads ELF structures in place).
    words: Vec<u64>,
    len: usize,
    /// Every call got its function's BTF id; false when the kernel lacks one of them and each call
    /// became a no-op (`ja +0`).
    linked: bool,
}

impl LinkedObject {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialised bytes; u8 has no alignment needs.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

/// Links the object's placeholder kfunc calls to the running kernel's functions (aya resolves no
/// `__ksym` externs): each gets its function's id in `btf`, or, where the kernel has not all of
/// them (older than 6.10, or no BTF), each becomes a no-op, so the programs run as they would
/// without them. `None` when the object has no such calls.
fn link_kfuncs(object: &[u8], btf: Option<&Btf>) -> Option<LinkedObject> {
    let is_placeholder = |insn: &[u8]| {
        insn[..4] == KFUNC_CALL_HEAD && KFUNCS.iter().any(|(id, _)| insn[4..] == id.to_le_bytes())
    };
    if !object.chunks_exact(8).any(is_placeholder) {
        return None;
    }
    let ids: Option<Vec<(u32, u32)>> = KFUNCS
        .iter()
        .map(|&(placeholder, name)| {
            let id = btf?
                .id_by_type_name_kind(name, aya_obj::btf::BtfKind::Func)
                .ok()?;
            Some((placeholder, id))
        })
        .collect();
    let mut words = vec![0u64; object.len().div_ceil(8)];
    // SAFETY: the u64 buffer has at least object.len() bytes; u8 has no alignment needs.
    let bytes =
        unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), object.len()) };
    bytes.copy_from_slice(object);
    for insn in bytes.chunks_exact_mut(8) {
        if !is_placeholder(insn) {
            continue;
        }
        match &ids {
            Some(ids) => {
                let placeholder = u32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
                if let Some((_, id)) = ids.iter().find(|(p, _)| *p == placeholder) {
                    insn[4..].copy_from_slice(&id.to_le_bytes());
                }
            }
            // `ja +0`.
            None => insn.copy_from_slice(&[0x05, 0, 0, 0, 0, 0, 0, 0]),
        }
    }
    Some(LinkedObject {
        words,
        len: object.len(),
        linked: ids.is_some(),
    })
}

/// A program the kernel refused: the verifier's log is in the error's source chain; its end, where
/// the reason is, goes into the error.
fn verifier_error(name: &str, e: aya::programs::ProgramError) -> EngineError {
    let text = format!("{e:?}");
    let tail: String = text
        .chars()
        .rev()
        .take(2000)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    EngineError::Verifier(format!("loading program {name}: {tail}"))
}

/// `bpf_prog_info.recursion_misses` of a program: its runs the kernel skipped because the program
/// was already running on that CPU (kernel 5.12 and later; 0 where the kernel does not report it).
fn recursion_misses(fd: BorrowedFd<'_>) -> u64 {
    /// `BPF_OBJ_GET_INFO_BY_FD`'s attribute.
    #[repr(C)]
    struct GetInfo {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }
    const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
    /// `struct bpf_prog_info` up to and including `recursion_misses`, at byte 208.
    const WORDS: usize = 27;
    let mut info = [0u64; WORDS];
    let Ok(bpf_fd) = u32::try_from(fd.as_raw_fd()) else {
        return 0;
    };
    let mut attr = GetInfo {
        bpf_fd,
        info_len: (WORDS * 8) as u32,
        info: info.as_mut_ptr() as u64,
    };
    // SAFETY: the attribute and the info buffer it points to are ours and as long as info_len says;
    // the kernel writes at most info_len bytes and updates info_len.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET_INFO_BY_FD,
            &mut attr as *mut GetInfo,
            std::mem::size_of::<GetInfo>() as u32,
        )
    };
    // A kernel whose prog_info ends before the field reports a shorter info_len.
    if rc != 0 || (attr.info_len as usize) < WORDS * 8 {
        return 0;
    }
    info[WORDS - 1]
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// `6.1.0-47-amd64` → (6, 1).
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn possible_cpus() -> Result<u32, EngineError> {
    let cpus = aya::util::nr_cpus().map_err(|(path, e)| other(&format!("reading {path}"), e))?;
    Ok(u32::try_from(cpus).unwrap_or(u32::MAX))
}

fn mount_if_missing(fstype: &str, target: &str) {
    if std::path::Path::new(target).join("events").exists() {
        return;
    }
    let (Ok(src), Ok(dst)) = (
        std::ffi::CString::new(fstype),
        std::ffi::CString::new(target),
    ) else {
        return;
    };
    // SAFETY: mounting a pseudo filesystem with valid C strings; failure is harmless (BTF tracepoints
    // do not need tracefs, it only helps diagnostics).
    unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            src.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_bitmap_covers_every_event() {
        let events = crate::schema::EVENT_INFO.len();
        assert!(super::EVENTS_MASK_WORDS * 64 >= events);
    }

    #[test]
    fn kernel_versions_choose_the_probe_build() {
        assert_eq!(kernel_version("6.1.0-47-amd64"), Some((6, 1)));
        assert_eq!(kernel_version("6.12.117+deb12-amd64"), Some((6, 12)));
        assert_eq!(kernel_version("6.18.0"), Some((6, 18)));
        assert_eq!(kernel_version("not-a-release"), None);
        assert!(kernel_version("6.1.0-47-amd64").is_some_and(|v| v < FAST_VERIFIER));
        assert!(kernel_version("6.12.117+deb12-amd64").is_none_or(|v| v >= FAST_VERIFIER));
    }

    fn placeholder_call(id: u32) -> Vec<u8> {
        let mut insn = KFUNC_CALL_HEAD.to_vec();
        insn.extend_from_slice(&id.to_le_bytes());
        insn
    }

    #[test]
    fn kfunc_placeholders_become_no_ops_without_the_kernels_functions() {
        let other = [0xb7, 0, 0, 0, 0, 0, 0, 0];
        assert!(link_kfuncs(&other, None).is_none());
        let object = [
            other.to_vec(),
            placeholder_call(0x7fff_fd01),
            placeholder_call(0x7fff_fd02),
            placeholder_call(0x1234),
        ]
        .concat();
        let linked = link_kfuncs(&object, None).expect("placeholders found");
        assert!(!linked.linked);
        let ja = [0x05, 0, 0, 0, 0, 0, 0, 0];
        let bytes = linked.bytes();
        assert_eq!(bytes.len(), object.len());
        assert_eq!(bytes[..8], other);
        assert_eq!(bytes[8..16], ja);
        assert_eq!(bytes[16..24], ja);
        // A kfunc call that is no placeholder of ours is left alone.
        assert_eq!(bytes[24..], placeholder_call(0x1234)[..]);
    }

    #[test]
    fn kfunc_placeholders_get_the_running_kernels_ids() {
        let Ok(btf) = Btf::from_sys_fs() else {
            eprintln!("no /sys/kernel/btf/vmlinux here: nothing to link against");
            return;
        };
        let object = [placeholder_call(0x7fff_fd01), placeholder_call(0x7fff_fd02)].concat();
        let linked = link_kfuncs(&object, Some(&btf)).expect("placeholders found");
        if !linked.linked {
            eprintln!("this kernel has no bpf_preempt_disable (older than 6.10)");
            return;
        }
        let ids: Vec<u32> = linked
            .bytes()
            .chunks_exact(8)
            .map(|insn| {
                assert_eq!(insn[..4], KFUNC_CALL_HEAD);
                u32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]])
            })
            .collect();
        // Two distinct functions, neither id a placeholder.
        assert_ne!(ids[0], ids[1]);
        assert!(ids.iter().all(|id| *id < 0x7fff_0000 && *id > 0), "{ids:?}");
    }
}
