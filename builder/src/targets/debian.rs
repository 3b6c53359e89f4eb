//! Debian: `linux-headers-<release>`, its `-common` tree and `linux-kbuild-<major.minor>`, found in the
//! pool's directory listing. Flavours (`cloud`, `rt`, `rpi`) have their own headers package; `rt` and `rpi`
//! also their own common package.

use regex::Regex;

use super::{Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub struct Debian;

/// Pools searched for headers, in order.
const POOLS: &[&str] = &[
    "http://security-cdn.debian.org/pool/main/l/linux/",
    "http://security-cdn.debian.org/pool/updates/main/l/linux/",
    "https://mirrors.edge.kernel.org/debian/pool/main/l/linux/",
];
const KBUILD_POOL: &str = "http://mirrors.kernel.org/debian/pool/main/l/linux/";
const KBUILD_POOL_3X: &str = "http://mirrors.kernel.org/debian/pool/main/l/linux-tools/";

impl Target for Debian {
    fn name(&self) -> &'static str {
        "debian"
    }

    fn header_urls(&self, kr: &KernelRelease, web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let mut last = String::from("no pool answered");
        let mut headers = None;
        for pool in POOLS {
            match web.get_text(pool) {
                Ok(listing) => match headers_in_listing(kr, pool, &listing) {
                    Some(found) => {
                        headers = Some(found);
                        break;
                    }
                    None => last = format!("no linux-headers for {kr} in {pool}"),
                },
                Err(e) => last = e,
            }
        }
        let mut urls = headers.ok_or_else(|| TargetError::NoUrls {
            target: "debian",
            reason: format!("{last}; pass the package URLs with `kernelurls`"),
        })?;
        let kbuild_pool = if kr.major == 3 { KBUILD_POOL_3X } else { KBUILD_POOL };
        let listing = web.get_text(kbuild_pool).map_err(|reason| TargetError::NoUrls {
            target: "debian",
            reason,
        })?;
        urls.push(kbuild_in_listing(kr, kbuild_pool, &listing).ok_or_else(|| TargetError::NoUrls {
            target: "debian",
            reason: format!("no linux-kbuild-{}.{} in {kbuild_pool}", kr.major, kr.minor),
        })?);
        Ok(urls)
    }

    /// Headers, their common tree and kbuild.
    fn minimum_urls(&self) -> usize {
        3
    }

    fn kerneldir(&self, kr: &KernelRelease) -> String {
        if kr.extraversion.ends_with("pve") {
            "usr/src/linux-headers-*pve".into()
        } else if kr.full_extraversion.contains("rpi") {
            "usr/src/linux-headers-*-rpi-v*".into()
        } else {
            format!("usr/src/linux-headers-*{}", kr.arch.deb())
        }
    }

    /// The flavour's Makefile includes its common tree by the absolute `/usr/src` path: make it
    /// relative, so the tree works wherever it was unpacked (and mounted read-only).
    fn fix_tree(&self, kerneldir: &std::path::Path) -> std::io::Result<()> {
        let makefile = kerneldir.join("Makefile");
        let text = std::fs::read_to_string(&makefile)?;
        let fixed = text.replace("/usr/src/", "../");
        if fixed != text {
            std::fs::write(&makefile, fixed)?;
        }
        Ok(())
    }
}

/// The flavour's headers package and its common package, as `[headers, common]` URLs.
fn headers_in_listing(kr: &KernelRelease, pool: &str, listing: &str) -> Option<Vec<String>> {
    let arch = kr.arch.deb();
    let mut partial = kr
        .full_extraversion
        .strip_suffix(&format!("-{arch}"))
        .unwrap_or(&kr.full_extraversion)
        .to_owned();
    let mut flavour = arch.to_owned();
    let mut common = String::from("common");
    for extra in ["cloud", "rt", "rpi"] {
        if kr.full_extraversion.contains(&format!("-{extra}")) {
            partial = partial
                .strip_suffix(&format!("-{extra}"))
                .unwrap_or(&partial)
                .to_owned();
            flavour = format!("{extra}-{flavour}");
            if extra != "cloud" {
                common = format!("common-{extra}");
            }
            break;
        }
    }
    let find = |group: &str| -> Option<String> {
        let (major, minor, patch) = kr.version();
        let by_release = format!(
            r#"href="(linux-headers-{major}\.{minor}\.{patch}{}-({})_.*({arch}|all)\.deb)""#,
            regex::escape(&partial),
            regex::escape(group)
        );
        // Listings where the kernel's package version is given instead: 5.10.103-1 for 5.10.0-12.
        let by_version = format!(
            r#"href="(linux-headers-[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-({})_{major}\.{minor}\.{patch}{}_({arch}|all)\.deb)""#,
            regex::escape(group),
            regex::escape(&partial)
        );
        [by_release, by_version].iter().find_map(|pattern| {
            let re = Regex::new(pattern).ok()?;
            re.captures(listing)
                .and_then(|c| c.get(1))
                .map(|m| format!("{pool}{}", m.as_str()))
        })
    };
    Some(vec![find(&flavour)?, find(&common)?])
}

fn kbuild_in_listing(kr: &KernelRelease, pool: &str, listing: &str) -> Option<String> {
    let re = Regex::new(&format!(
        r#"href="(linux-kbuild-{}\.{}[^"]*{}\.deb)""#,
        kr.major,
        kr.minor,
        kr.arch.deb()
    ))
    .ok()?;
    re.captures(listing)
        .and_then(|c| c.get(1))
        .map(|m| format!("{pool}{}", m.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::kr;

    /// Lines as the pool's directory listing serves them (names of real bookworm packages).
    const LISTING: &str = r#"
<a href="linux-headers-6.1.0-47-amd64_6.1.158-1_amd64.deb">linux-headers-6.1.0-47-amd64_6.1.158-1_amd64.deb</a>
<a href="linux-headers-6.1.0-47-cloud-amd64_6.1.158-1_amd64.deb">x</a>
<a href="linux-headers-6.1.0-47-common_6.1.158-1_all.deb">x</a>
<a href="linux-headers-6.1.0-47-common-rt_6.1.158-1_all.deb">x</a>
<a href="linux-headers-6.1.0-47-rt-amd64_6.1.158-1_amd64.deb">x</a>
<a href="linux-kbuild-6.1_6.1.158-1_amd64.deb">x</a>
"#;

    struct Pool;
    impl Web for Pool {
        fn get_text(&self, _url: &str) -> Result<String, String> {
            Ok(LISTING.to_owned())
        }
    }

    #[test]
    fn flavours_pick_their_headers_and_common_packages() {
        let urls = Debian
            .header_urls(&kr("6.1.0-47-amd64", "1"), &Pool)
            .expect("found");
        assert_eq!(
            urls,
            [
                "http://security-cdn.debian.org/pool/main/l/linux/linux-headers-6.1.0-47-amd64_6.1.158-1_amd64.deb",
                "http://security-cdn.debian.org/pool/main/l/linux/linux-headers-6.1.0-47-common_6.1.158-1_all.deb",
                "http://mirrors.kernel.org/debian/pool/main/l/linux/linux-kbuild-6.1_6.1.158-1_amd64.deb",
            ]
        );
        let rt = Debian
            .header_urls(&kr("6.1.0-47-rt-amd64", "1"), &Pool)
            .expect("found");
        assert!(rt[0].ends_with("linux-headers-6.1.0-47-rt-amd64_6.1.158-1_amd64.deb"), "{rt:?}");
        assert!(rt[1].ends_with("linux-headers-6.1.0-47-common-rt_6.1.158-1_all.deb"), "{rt:?}");
        let cloud = Debian
            .header_urls(&kr("6.1.0-47-cloud-amd64", "1"), &Pool)
            .expect("found");
        assert!(cloud[0].contains("6.1.0-47-cloud-amd64"), "{cloud:?}");
        assert!(cloud[1].ends_with("linux-headers-6.1.0-47-common_6.1.158-1_all.deb"), "{cloud:?}");
    }

    #[test]
    fn a_missing_release_says_to_use_kernelurls() {
        let err = Debian
            .header_urls(&kr("6.1.0-99-amd64", "1"), &Pool)
            .expect_err("not in the listing")
            .to_string();
        assert!(err.contains("kernelurls") && err.contains("6.1.0-99-amd64"), "{err}");
    }

    #[test]
    fn the_flavour_makefile_is_made_relative() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("Makefile"),
            "MAKEARGS := -C /usr/src/linux-headers-6.1.0-47-common O=/usr/src/linux-headers-6.1.0-47-amd64/\n\
             include /usr/src/linux-headers-6.1.0-47-common/Makefile\n",
        )
        .expect("write");
        Debian.fix_tree(dir.path()).expect("fixed");
        let text = std::fs::read_to_string(dir.path().join("Makefile")).expect("read");
        assert_eq!(
            text,
            "MAKEARGS := -C ../linux-headers-6.1.0-47-common O=../linux-headers-6.1.0-47-amd64/\n\
             include ../linux-headers-6.1.0-47-common/Makefile\n"
        );
    }

    #[test]
    fn kerneldir_is_the_flavour_tree() {
        assert_eq!(Debian.kerneldir(&kr("6.1.0-47-amd64", "1")), "usr/src/linux-headers-*amd64");
    }
}
