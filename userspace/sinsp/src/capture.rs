//! Reading a capture file through the inspector, and writing the events that pass the filter.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
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

/// Reads `options.input`, printing to `out` and writing to `options.write`.
pub fn read_file(
    options: &CaptureOptions,
    filter: Option<EventFilter>,
    output: Output,
    out: &mut impl Write,
) -> Result<Summary> {
    let mut reader = Reader::open(&options.input)
        .with_context(|| format!("cannot read {}", options.input.display()))?;
    let mut writer = match &options.write {
        Some(path) => Some(
            Writer::create(path, options.compress)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => None,
    };
    let mut inspector = Inspector::new(output, filter, options.render);
    let mut summary = Summary::default();
    let mut line = String::with_capacity(512);
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
                line.clear();
                summary.events_read += 1;
                if inspector.process(cpu, &event, &mut line) != Verdict::Accepted {
                    continue;
                }
                summary.events_accepted += 1;
                if !line.is_empty() {
                    line.push('\n');
                    out.write_all(line.as_bytes()).context("writing output")?;
                }
                if let Some(w) = writer.as_mut() {
                    w.write_event(cpu, flags, &event)
                        .context("writing the capture file")?;
                }
                if options
                    .max_events
                    .is_some_and(|max| summary.events_accepted >= max)
                {
                    break;
                }
            }
            other @ Block::Meta { .. } => {
                seed::apply_block(&mut inspector.state, &other);
                if let Some(w) = writer.as_mut() {
                    w.write_block(&other).context("writing the capture file")?;
                }
            }
        }
    }
    if let Some(w) = writer {
        w.finish().context("finishing the capture file")?;
    }
    Ok(summary)
}
