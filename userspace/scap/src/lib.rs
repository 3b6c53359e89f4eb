//! scap: events, `.scap` files and capture engines, wire-compatible with falcosecurity/libs.
//!
//! - [`schema`]: the event tables generated from `driver/schema/events.schema`.
//! - [`event`]: a zero-copy view of one event (header, parameter lengths, typed parameters).
//! - [`savefile`]: the `.scap` block format, read (plain or gzip) and written.
//! - [`engine`]: the trait that live capture engines (kmod, eBPF) and file readers implement.

pub mod engine;
pub mod event;
pub mod savefile;
pub mod schema;
