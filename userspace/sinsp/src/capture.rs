//! Reading a capture file through the inspector, and writing the events that pass the filter.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use scap::event::Event;
use scap::savefile::{Block, Reader, Writer};

use crate::filter_fields::EventFilter;
use crate::inspector::{Inspector, Output, Verdict};
use crate::render::RenderOptions;
use crate::seed;

/// What to read and what to do with it.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub input: PathBuf,
    pub write: Option<PathBuf>,
    pub compress: bool,
    /// Stop after this many events passed the filter (sysdig's `-n`).
    pub max_events: Option<u64>,
    pub render: RenderOptions,
}

/// How a read ended.
#[derive(Debug, Default)]
pub struct Summary {
    pub events_read: u64,
    pub events_accepted: u64,
    /// Damage found in the input after the events counted above.
    pub error: Option<String>,
}

/// Where the events that pass the filter go, for files and live capture alike: their printed lines,
/// the capture file being written, and the count that `-n` stops at.
pub struct EventSink<'o, W: Write> {
    out: &'o mut W,
    pub writer: Option<Writer>,
    line: String,
    pub accepted: u64,
    max: Option<u64>,
}

impl<'o, W: Write> EventSink<'o, W> {
    pub fn new(out: &'o mut W, writer: Option<Writer>, max: Option<u64>) -> Self {
        EventSink {
            out,
            writer,
            line: String::with_capacity(512),
            accepted: 0,
            max,
        }
    }

    /// Runs one event through the inspector and sends it on if it passes; true once `-n` is reached.
    pub fn handle(
        &mut self,
        inspector: &mut Inspector,
        cpu: u16,
        flags: Option<u32>,
        event: &Event<'_>,
    ) -> Result<bool> {
        self.line.clear();
        if inspector.process(cpu, event, &mut self.line) != Verdict::Accepted {
            return Ok(false);
        }
        self.accepted += 1;
        if !self.line.is_empty() {
            self.line.push('\n');
            self.out
                .write_all(self.line.as_bytes())
                .context("writing output")?;
        }
        if let Some(w) = self.writer.as_mut() {
            w.write_event(cpu, flags, event)
                .context("writing the capture file")?;
        }
        Ok(self.max.is_some_and(|max| self.accepted >= max))
    }

    pub fn flush(&mut self) {
        self.out.flush().ok();
    }

    /// Completes the capture file, if one is being written.
    pub fn finish(self) -> Result<()> {
        if let Some(w) = self.writer {
            w.finish().context("finishing the capture file")?;
        }
        Ok(())
    }
}

/// Reads `options.input`, printing to `out` and writing to `options.write`.
pub fn read_file(
    options: &CaptureOptions,
    filter: Option<EventFilter>,
    output: Output,
    out: &mut impl Write,
) -> Result<Summary> {
    let mut reader = Reader::open(&options.input)
        .with_context(|| format!("cannot read {}", options.input.display()))?;
    let writer = match &options.write {
        Some(path) => Some(
            Writer::create(path, options.compress)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => None,
    };
    let mut inspector = Inspector::new(output, filter, options.render);
    let mut summary = Summary::default();
    let mut sink = EventSink::new(out, writer, options.max_events);
    loop {
        let block = match reader.next_block() {
            Ok(Some(block)) => block,
            Ok(None) => break,
            Err(e) => {
                summary.error = Some(format!("{}: {e}", options.input.display()));
                break;
            }
        };
        match block {
            Block::Event { cpu, flags, event } => {
                summary.events_read += 1;
                if sink.handle(&mut inspector, cpu, flags, &event)? {
                    break;
                }
            }
            other @ Block::Meta { .. } => {
                seed::apply_block(&mut inspector.state, &other);
                if let Some(w) = sink.writer.as_mut() {
                    w.write_block(&other).context("writing the capture file")?;
                }
            }
        }
    }
    summary.events_accepted = sink.accepted;
    sink.finish()?;
    Ok(summary)
}
