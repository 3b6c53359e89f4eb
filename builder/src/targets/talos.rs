//! Talos Linux's kernel, built from kernel.org's sources.

use super::vanilla::FromSources;

pub static TALOS: FromSources = FromSources { name: "talos", gcc: |_| None };

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::urls;

    #[test]
    fn talos_builds_from_sources() {
        assert_eq!(urls(&TALOS, "6.1.58-talos", "1"), ["https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.1.58.tar.xz"]);
    }
}
