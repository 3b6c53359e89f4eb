//! Which kernels exist and where their headers are.
//!
//! - [`list`]: the kernel list in falcosecurity/kernel-crawler's JSON format (`kernels/list/<arch>/list.json`)
//!   and the boot images beside it (`images.json`), which the VM tests use to fetch kernels.
//! - [`crawl`]: one crawler per distribution (Debian from the live mirror; Ubuntu and CentOS from their
//!   published formats), behind the [`crawl::Distro`] trait; [`fetch`] is how they download.
//! - [`debian`]: Debian kernels by package name through the machine's apt (its sources and keys), which
//!   is how the builder and the VM tests find single packages with their sha256.

pub mod crawl;
pub mod deb;
pub mod debian;
pub mod fetch;
pub mod files;
pub mod list;
pub mod sources;
