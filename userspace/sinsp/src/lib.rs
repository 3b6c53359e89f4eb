//! sinsp: process and fd state, filters and output for scap events.

pub mod filter;
pub mod state;
