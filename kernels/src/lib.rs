//! Which kernels exist and where their headers are.
//!
//! Today: Debian kernels by package name, through the machine's apt (its sources and keys), which is how
//! both the builder (header packages to download, with their sha256) and the VM tests (kernel images and
//! headers to unpack) find them.

pub mod debian;
