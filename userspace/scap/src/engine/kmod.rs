//! The kernel module engine: one device per online CPU (`/dev/<name><cpu>`), each mapping an info page
//! (head, tail, counters) and its ring buffer twice in a row, so an event that wraps around the end is
//! still one contiguous slice. Events from all CPUs are merged in timestamp order.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::sync::atomic::{fence, Ordering};

use super::{CapturedEvent, Engine, EngineError, Next, Stats};
use crate::event::{Event, HEADER_LEN};

/// The ioctl numbers of the libs kmod interface (`_IO('s', n)`).
pub mod ioctl {
    const fn io(nr: u64) -> u64 {
        (b's' as u64) << 8 | nr
    }
    pub const DISABLE_CAPTURE: u64 = io(0);
    pub const ENABLE_CAPTURE: u64 = io(1);
    pub const SET_SNAPLEN: u64 = io(4);
    pub const MASK_ZERO_EVENTS: u64 = io(5);
    pub const MASK_SET_EVENT: u64 = io(6);
    pub const GET_API_VERSION: u64 = io(24);
    pub const GET_SCHEMA_VERSION: u64 = io(25);
}

/// `struct ppm_ring_buffer_info`, as the driver lays it out in the mapped page.
#[repr(C)]
struct RingInfo {
    head: u32,
    tail: u32,
    n_evts: u64,
    n_drops_buffer: u64,
    n_drops_pf: u64,
    n_preemptions: u64,
    n_context_switches: u64,
}

struct Device {
    cpu: u16,
    file: File,
    info: *mut RingInfo,
    buffer: *const u8,
    size: usize,
    /// Head seen at the last refresh: events up to it can be read without looking again.
    head: u32,
}

// SAFETY: the mappings belong to the device and are only touched through &mut self.
unsafe impl Send for Device {}

impl Device {
    fn open(path: &str, cpu: u16, size: usize) -> Result<Device, EngineError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| EngineError::Io {
                what: format!("opening {path} (is the driver loaded?)"),
                source,
            })?;
        let page = 4096;
        let fd = file.as_raw_fd();
        // SAFETY: mapping a device the driver sized; failures are checked below.
        let info = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if info == libc::MAP_FAILED {
            return Err(EngineError::Io {
                what: format!("mapping the info page of {path}"),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: as above; the buffer is mapped read-only, twice its size.
        let buffer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if buffer == libc::MAP_FAILED {
            let source = std::io::Error::last_os_error();
            // SAFETY: unmapping what was mapped just above.
            unsafe { libc::munmap(info, page) };
            return Err(EngineError::Io {
                what: format!("mapping the ring of {path} ({size} bytes twice)"),
                source,
            });
        }
        Ok(Device {
            cpu,
            file,
            info: info.cast(),
            buffer: buffer.cast(),
            size,
            head: 0,
        })
    }

    fn info(&self) -> &RingInfo {
        // SAFETY: the page stays mapped for the device's life.
        unsafe { &*self.info }
    }

    fn tail(&self) -> u32 {
        // SAFETY: as above; the driver never writes the tail.
        unsafe { std::ptr::read_volatile(&(*self.info).tail) }
    }

    fn set_tail(&mut self, tail: u32) {
        // SAFETY: the consumer owns the tail.
        unsafe { std::ptr::write_volatile(&mut (*self.info).tail, tail) };
    }

    fn refresh(&mut self) {
        // SAFETY: the driver publishes the head after the event's bytes (smp_wmb); acquire pairs with it.
        self.head = unsafe { std::ptr::read_volatile(&(*self.info).head) };
        fence(Ordering::Acquire);
    }

    /// The next event's bytes, if one is buffered.
    fn peek(&self) -> Option<&[u8]> {
        let tail = self.tail() as usize;
        if tail == self.head as usize {
            return None;
        }
        // SAFETY: `tail < size` and the mapping holds `2 * size` bytes, so any event starting at tail
        // (at most `size` long) is readable in one piece.
        let rest =
            unsafe { std::slice::from_raw_parts(self.buffer.add(tail), 2 * self.size - tail) };
        let len = u32::from_le_bytes(rest.get(16..20)?.try_into().ok()?) as usize;
        (len >= HEADER_LEN && len <= self.size).then(|| &rest[..len])
    }

    fn ioctl(&self, request: u64, arg: u64) -> Result<i64, std::io::Error> {
        // SAFETY: the requests used here take their argument by value or as a pointer to a u64.
        let r = unsafe { libc::ioctl(self.file.as_raw_fd(), request as _, arg) };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(i64::from(r))
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `open` mapped.
        unsafe {
            libc::munmap(self.buffer as *mut libc::c_void, 2 * self.size);
            libc::munmap(self.info.cast(), 4096);
        }
    }
}

/// Reads the driver's rings.
pub struct KmodEngine {
    devices: Vec<Device>,
    /// The device and length of the event handed out last: consumed when the next one is asked for.
    pending: Option<(usize, u32)>,
}

/// The online CPUs, from `/sys/devices/system/cpu/online` (e.g. `0-3,6`).
pub fn online_cpus() -> Result<Vec<u16>, EngineError> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
        what: format!("reading {path}"),
        source,
    })?;
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let bad = || EngineError::Other(format!("{path}: cannot read '{part}'"));
        let a: u16 = a.parse().map_err(|_| bad())?;
        let b: u16 = b.parse().map_err(|_| bad())?;
        cpus.extend(a..=b);
    }
    Ok(cpus)
}

impl KmodEngine {
    /// Opens `/dev/<device_name><cpu>` for every online CPU. The ring size is read from the module's
    /// `ring_buffer_size` parameter.
    pub fn open(driver_name: &str, device_name: &str) -> Result<KmodEngine, EngineError> {
        let param = format!("/sys/module/{driver_name}/parameters/ring_buffer_size");
        let size = match std::fs::read_to_string(&param) {
            Ok(text) => text
                .trim()
                .parse::<usize>()
                .map_err(|_| EngineError::Other(format!("{param}: not a number")))?,
            Err(source) => {
                return Err(EngineError::Io {
                    what: format!("reading {param}: is the {driver_name} module loaded?"),
                    source,
                })
            }
        };
        let devices = online_cpus()?
            .into_iter()
            .map(|cpu| Device::open(&format!("/dev/{device_name}{cpu}"), cpu, size))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KmodEngine {
            devices,
            pending: None,
        })
    }

    /// The driver's API version as (major, minor, patch).
    pub fn api_version(&self) -> Result<(u64, u64, u64), EngineError> {
        let mut v: u64 = 0;
        let dev = self
            .devices
            .first()
            .ok_or_else(|| EngineError::Other("no devices".into()))?;
        dev.ioctl(ioctl::GET_API_VERSION, &mut v as *mut u64 as u64)
            .map_err(|source| EngineError::Io {
                what: "reading the driver's API version".into(),
                source,
            })?;
        Ok((v >> 44, (v >> 24) & 0xfffff, v & 0xffffff))
    }

    /// Bytes kept of I/O buffers.
    pub fn set_snaplen(&self, snaplen: u32) -> Result<(), EngineError> {
        self.ioctl_first(
            ioctl::SET_SNAPLEN,
            u64::from(snaplen),
            "setting the snaplen",
        )
    }

    fn ioctl_first(&self, request: u64, arg: u64, what: &str) -> Result<(), EngineError> {
        let dev = self
            .devices
            .first()
            .ok_or_else(|| EngineError::Other("no devices".into()))?;
        dev.ioctl(request, arg)
            .map(|_| ())
            .map_err(|source| EngineError::Io {
                what: what.into(),
                source,
            })
    }

    fn consume_pending(&mut self) {
        if let Some((index, len)) = self.pending.take() {
            let dev = &mut self.devices[index];
            let tail = (dev.tail() + len) % dev.size as u32;
            dev.set_tail(tail);
        }
    }
}

impl Engine for KmodEngine {
    fn start(&mut self) -> Result<(), EngineError> {
        self.ioctl_first(ioctl::ENABLE_CAPTURE, 0, "enabling capture")
    }

    fn stop(&mut self) -> Result<(), EngineError> {
        self.ioctl_first(ioctl::DISABLE_CAPTURE, 0, "disabling capture")
    }

    fn next(&mut self) -> Result<Next<'_>, EngineError> {
        self.consume_pending();
        let mut best: Option<(usize, u64)> = None;
        for pass in 0..2 {
            for (i, dev) in self.devices.iter().enumerate() {
                if let Some(ev) = dev.peek() {
                    let ts = u64::from_le_bytes(ev[..8].try_into().unwrap_or([0; 8]));
                    if best.is_none_or(|(_, b)| ts < b) {
                        best = Some((i, ts));
                    }
                }
            }
            if best.is_some() || pass == 1 {
                break;
            }
            for dev in &mut self.devices {
                dev.refresh();
            }
        }
        let Some((index, _)) = best else {
            return Ok(Next::Timeout);
        };
        let dev = &self.devices[index];
        let bytes = dev
            .peek()
            .ok_or_else(|| EngineError::Other("event vanished".into()))?;
        let event = Event::parse(bytes).map_err(|e| {
            EngineError::Other(format!("CPU {}: bad event in the ring: {e}", dev.cpu))
        })?;
        self.pending = Some((index, event.len()));
        Ok(Next::Event(CapturedEvent {
            cpu: dev.cpu,
            flags: None,
            event,
        }))
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for d in &self.devices {
            let i = d.info();
            s.events += i.n_evts;
            s.drops_buffer += i.n_drops_buffer;
            s.drops_pf += i.n_drops_pf;
            s.preemptions += i.n_preemptions;
        }
        s
    }
}

impl Drop for KmodEngine {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
