//! `.scap` capture files: libscap's pcapng-style block format, read (plain or gzip) and written.
//!
//! A file is a sequence of blocks: `u32 type, u32 total length`, a body, padding to 4 bytes, and the total
//! length again as a trailer. The section header comes first; machine info, process, fd, interface and
//! user lists follow; then event blocks. Lists carry a length in front of every entry, and newer versions
//! only append fields, so entries are read field by field while their length lasts.

mod blocks;
mod read;
mod write;

pub use blocks::*;
pub use read::{Block, Meta, Reader};
pub use write::Writer;

use crate::event::EventError;

/// What is wrong with a capture file, and where (the offset counts decompressed bytes).
#[derive(Debug, thiserror::Error)]
pub enum SavefileError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a scap capture: the file starts with {found:#010x}, not a section header block")]
    NotScap { found: u32 },
    #[error("capture format {major}.{minor} is not supported (this reader knows major version 1)")]
    UnsupportedVersion { major: u16, minor: u16 },
    #[error("truncated block at offset {offset}: the block needs {need} bytes, {have} are left")]
    Truncated { offset: u64, need: u64, have: u64 },
    #[error("corrupt block at offset {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    #[error("bad event in the block at offset {offset}: {source}")]
    BadEvent {
        offset: u64,
        #[source]
        source: EventError,
    },
    #[error("the gzip stream is damaged after {offset} decompressed bytes: {reason}")]
    Gzip { offset: u64, reason: String },
}
