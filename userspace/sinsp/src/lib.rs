//! sinsp: process and fd state, filters and output for scap events, and the `sinsp` CLI's engine.

pub mod capture;
pub mod fields;
pub mod filter_fields;
pub mod format;
pub mod inspector;
pub mod live;
pub mod render;
pub mod seed;
pub mod state;
