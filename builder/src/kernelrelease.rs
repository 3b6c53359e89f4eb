//! Kernel releases as driverkit reads them. The model lives in the `driver-index` crate, which the loader
//! shares, so that the builder and the loader name a kernel the same way.

pub use driver_index::kernelrelease::*;
