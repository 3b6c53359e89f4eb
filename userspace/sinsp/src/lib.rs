//! sinsp
