//! The Debian mirror this machine's apt is configured with. Read by [`kernels::sources`], the one
//! reader of apt's sources in the tree (deb822 and one-line files, the security sibling, the
//! `DRIVERKIT_DEBIAN_MIRROR` / `DRIVERKIT_DEBIAN_SECURITY_MIRROR` overrides); re-exported here under the
//! names the builder has always used.

pub use kernels::sources::{
    apt_mirror, mirror_in, mirror_of, parse_deb822, parse_one_line, AptMirror, AptSource, SourcesError as AptError,
};
