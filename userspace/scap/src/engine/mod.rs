//! The interface every event source implements: the kernel module, the eBPF probes and `.scap` files.
//!
//! Consumers (sinsp) pull one event at a time; the event borrows the engine's buffer until the next call,
//! which is what lets the kmod and eBPF engines hand out events straight from their ring buffers.

use crate::event::Event;

/// One event and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct CapturedEvent<'a> {
    /// The CPU whose buffer held the event.
    pub cpu: u16,
    /// Event flags recorded by files with flagged event blocks.
    pub flags: Option<u32>,
    pub event: Event<'a>,
}

/// What [`Engine::next`] found.
#[derive(Debug)]
pub enum Next<'a> {
    Event(CapturedEvent<'a>),
    /// No event is ready now (live engines); call again.
    Timeout,
    /// The source is exhausted (end of file, or the engine was stopped and drained).
    Eof,
}

/// Capture counters, the ones libscap reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events the driver saw.
    pub events: u64,
    /// Events lost because a buffer was full.
    pub drops_buffer: u64,
    /// Events lost to page faults while reading user memory.
    pub drops_pf: u64,
    /// Events lost for other reasons (the eBPF probe found no free scratch area on its CPU).
    pub drops_other: u64,
    /// Events lost because the kernel skipped a probe program's run (and every backup copy's): that
    /// program was already running on the CPU (`bpf_prog_info.recursion_misses`), e.g. in a task
    /// preempted inside it.
    pub drops_skipped: u64,
    /// Events the kernel module lost because the task was preempted inside the tracepoint.
    pub preemptions: u64,
}

impl Stats {
    pub fn drops(&self) -> u64 {
        self.drops_buffer + self.drops_pf + self.drops_other + self.drops_skipped
    }
}

/// An engine error: what failed and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
    /// The kernel's verifier refused a program of the eBPF probe (its log's end included).
    #[error("the eBPF verifier refused the probe: {0}")]
    Verifier(String),
}

/// An event source.
pub trait Engine {
    /// Starts (or resumes) capture.
    fn start(&mut self) -> Result<(), EngineError>;
    /// Stops capture; events already buffered can still be read.
    fn stop(&mut self) -> Result<(), EngineError>;
    /// The next event, in timestamp order across CPUs.
    fn next(&mut self) -> Result<Next<'_>, EngineError>;
    /// Counters so far.
    fn stats(&self) -> Stats;
    /// The events lost so far because the kernel skipped the driver's programs (the eBPF probes),
    /// by what was lost: by kind of event where the probe has backup copies of its programs, by
    /// program where not; nonzero ones only. `Stats::drops_skipped` is their sum.
    fn skipped_runs(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}

#[cfg(target_os = "linux")]
pub mod bpf;
#[cfg(target_os = "linux")]
pub mod features;
#[cfg(target_os = "linux")]
pub mod kmod;
