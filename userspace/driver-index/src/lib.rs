//! The prebuilt driver repository as its publisher (`dbg drivers publish`) writes it and the loader
//! reads it, in one place so the two cannot drift apart:
//!
//! - [`name`]: artifact file names (`<drv>_<target>_<kernelrelease>_<kernelversion>.{ko,o}`) and the
//!   repository layout (`<driverversion, URL-escaped>/<arch>/<file>`);
//! - [`index`]: the `index.json` model and its minisign signature `index.json.minisig`;
//! - [`kernelrelease`]: kernel releases as driverkit splits them, and Debian's two name forms.
//!
//! ```
//! use driver_index::name::{repository_path, ArtifactName, Kind};
//! use driver_index::Arch;
//! let name = ArtifactName::parse("falco_debian_6.12.95-1~bpo12+1-cloud-amd64_1.o", "falco").unwrap();
//! assert_eq!(name.kernelrelease, "6.12.95-1~bpo12+1-cloud-amd64");
//! assert_eq!(name.kind, Kind::Probe);
//! assert_eq!(
//!     repository_path("8.0.0+driver", Arch::X86_64, &name),
//!     "8.0.0%2Bdriver/x86_64/falco_debian_6.12.95-1~bpo12+1-cloud-amd64_1.o"
//! );
//! ```

pub mod index;
pub mod kernelrelease;
pub mod name;

pub use kernels::crawl::Arch;
pub use kernels::files::{hex, sha256_file};

pub use index::{Entry, Index, Kernel, Outcome, FORMAT, HTML_FILE, INDEX_FILE, SIGNATURE_FILE};
pub use name::{
    escape_driver_version, percent_encode, unescape_driver_version, ArtifactName, Kind,
    DEFAULT_DRIVER_NAME,
};
