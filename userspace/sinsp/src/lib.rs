//! sinsp: process and fd state, filters and output for scap events.

pub mod filter;
pub mod fields;
pub mod format;
pub mod render;
pub mod state;
