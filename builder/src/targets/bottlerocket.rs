//! Bottlerocket's kernel, built from kernel.org's sources.

use super::vanilla::FromSources;

pub static BOTTLEROCKET: FromSources = FromSources { name: "bottlerocket", gcc: |_| None };

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::urls;

    #[test]
    fn bottlerocket_builds_from_sources() {
        assert_eq!(urls(&BOTTLEROCKET, "5.10.165", "1"), ["https://cdn.kernel.org/pub/linux/kernel/v5.x/linux-5.10.165.tar.xz"]);
    }
}
