//! A driverkit-compatible builder: the kernel module and the eBPF probe of this repository's driver for any
//! kernel, built inside a container (or on the host) from exactly the source tree driverkit reads.
//!
//! The flow of one build: [`config`] (YAML, flags and `DRIVERKIT_*` variables, validated) →
//! [`targets`] (where the kernel's headers are) → [`headers`] (found, downloaded, verified, unpacked) →
//! [`toolchain`] (the builder image with the gcc the headers name, among [`images`], one per Debian
//! suite) → [`script`] (driverkit's recipe) →
//! [`executor`] (Docker or the host) → [`outputs`] (written with a `.sha256`, vermagic checked).

pub mod apt;
pub mod config;
pub mod executor;
pub mod headers;
pub mod images;
pub mod kernelrelease;
pub mod outputs;
pub mod script;
pub mod source;
pub mod targets;
pub mod toolchain;
