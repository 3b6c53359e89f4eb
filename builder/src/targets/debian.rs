//! Debian: `linux-headers-<release>`, its `-common` tree and `linux-kbuild-<major.minor>`, found in the
//! pool's directory listing of the mirror apt's sources name (and its security sibling). Flavours
//! (`cloud`, `rt`, `rpi`) have their own headers package; `rt` and `rpi` also their own common package.
//! A mirror that serves no directory listings finds nothing: then `kernelurls` names the packages.

use regex::Regex;

use super::{Target, TargetError, Web};
use crate::apt::AptMirror;
use crate::kernelrelease::{DebianName, KernelRelease};

pub struct Debian;

/// Pools searched for headers, in order: the security archive's first (its kernels are the newest).
fn pools(mirror: &AptMirror) -> Vec<String> {
    let mut pools = Vec::new();
    if let Some(security) = &mirror.security {
        pools.push(format!("{security}/pool/main/l/linux/"));
        pools.push(format!("{security}/pool/updates/main/l/linux/"));
    }
    pools.push(format!("{}/pool/main/l/linux/", mirror.debian));
    pools
}

/// Where `linux-kbuild` is: with the kernel's sources from 4.x on, in `linux-tools` before.
fn kbuild_pool(mirror: &AptMirror, kr: &KernelRelease) -> String {
    let source = if kr.major == 3 { "linux-tools" } else { "linux" };
    format!("{}/pool/main/l/{source}/", mirror.debian)
}

impl Target for Debian {
    fn name(&self) -> &'static str {
        "debian"
    }

    fn header_urls(&self, kr: &KernelRelease, web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let mirror = crate::apt::apt_mirror().map_err(|e| TargetError::NoUrls {
            target: "debian",
            reason: format!("{e}; or pass the package URLs with `kernelurls`"),
        })?;
        urls_on(&mirror, kr, web)
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
        } else if let Some(name) = DebianName::parse(&kr.to_string()) {
            // The flavour's own tree when several are unpacked (`-cloud-amd64` beside `-amd64`); for the
            // plain flavour, its tree sorts before the others of the same kernel.
            format!("usr/src/linux-headers-*-{}", name.flavour)
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

/// The header packages of `kr` in the pools of `mirror`.
fn urls_on(mirror: &AptMirror, kr: &KernelRelease, web: &dyn Web) -> Result<Vec<String>, TargetError> {
    let mut last = String::from("no pool answered");
    let mut headers = None;
    for pool in &pools(mirror) {
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
    let kbuild_pool = kbuild_pool(mirror, kr);
    let listing = web.get_text(&kbuild_pool).map_err(|reason| TargetError::NoUrls {
        target: "debian",
        reason: format!("{reason}; pass the package URLs with `kernelurls`"),
    })?;
    urls.push(kbuild_in_listing(kr, &kbuild_pool, &listing).ok_or_else(|| TargetError::NoUrls {
        target: "debian",
        reason: format!("no linux-kbuild-{}.{} in {kbuild_pool}; pass the package URLs with `kernelurls`", kr.major, kr.minor),
    })?);
    Ok(urls)
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

    /// A mirror with the listing in its security pool and main pool; any other page is missing.
    struct Pool;
    impl Web for Pool {
        fn get_text(&self, url: &str) -> Result<String, String> {
            match url {
                "http://mirror.example/debian-security/pool/main/l/linux/" | "http://mirror.example/debian/pool/main/l/linux/" => {
                    Ok(LISTING.to_owned())
                }
                _ => Err(format!("{url}: 404")),
            }
        }
    }

    fn mirror() -> AptMirror {
        AptMirror {
            debian: "http://mirror.example/debian".into(),
            security: Some("http://mirror.example/debian-security".into()),
        }
    }

    #[test]
    fn flavours_pick_their_headers_and_common_packages() {
        let urls = urls_on(&mirror(), &kr("6.1.0-47-amd64", "1"), &Pool)
            .expect("found");
        assert_eq!(
            urls,
            [
                "http://mirror.example/debian-security/pool/main/l/linux/linux-headers-6.1.0-47-amd64_6.1.158-1_amd64.deb",
                "http://mirror.example/debian-security/pool/main/l/linux/linux-headers-6.1.0-47-common_6.1.158-1_all.deb",
                "http://mirror.example/debian/pool/main/l/linux/linux-kbuild-6.1_6.1.158-1_amd64.deb",
            ]
        );
        let rt = urls_on(&mirror(), &kr("6.1.0-47-rt-amd64", "1"), &Pool)
            .expect("found");
        assert!(rt[0].ends_with("linux-headers-6.1.0-47-rt-amd64_6.1.158-1_amd64.deb"), "{rt:?}");
        assert!(rt[1].ends_with("linux-headers-6.1.0-47-common-rt_6.1.158-1_all.deb"), "{rt:?}");
        let cloud = urls_on(&mirror(), &kr("6.1.0-47-cloud-amd64", "1"), &Pool)
            .expect("found");
        assert!(cloud[0].contains("6.1.0-47-cloud-amd64"), "{cloud:?}");
        assert!(cloud[1].ends_with("linux-headers-6.1.0-47-common_6.1.158-1_all.deb"), "{cloud:?}");
    }

    #[test]
    fn a_missing_release_says_to_use_kernelurls() {
        let err = urls_on(&mirror(), &kr("6.1.0-99-amd64", "1"), &Pool)
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
    fn without_a_security_source_only_the_archive_is_searched() {
        let plain = AptMirror { debian: "http://mirror.example/debian".into(), security: None };
        assert_eq!(pools(&plain), ["http://mirror.example/debian/pool/main/l/linux/"]);
        let urls = urls_on(&plain, &kr("6.1.0-47-amd64", "1"), &Pool).expect("found");
        assert!(urls.iter().all(|u| u.starts_with("http://mirror.example/debian/pool/")), "{urls:?}");
        // A mirror without directory listings (every page missing) says what to do.
        struct Down;
        impl Web for Down {
            fn get_text(&self, url: &str) -> Result<String, String> {
                Err(format!("{url}: 404"))
            }
        }
        let err = urls_on(&plain, &kr("6.1.0-47-amd64", "1"), &Down).expect_err("nothing").to_string();
        assert!(err.contains("404") && err.contains("kernelurls"), "{err}");
    }

    #[test]
    fn kerneldir_is_the_flavour_tree() {
        assert_eq!(Debian.kerneldir(&kr("6.1.0-47-amd64", "1")), "usr/src/linux-headers-*-amd64");
        // Three flavours of one kernel unpacked together, named either way: each finds its own tree.
        let dir = tempfile::tempdir().expect("tmp");
        for tree in ["6.12.95+deb12-amd64", "6.12.95+deb12-cloud-amd64", "6.12.95+deb12-common", "6.12.95+deb12-rt-amd64"] {
            std::fs::create_dir_all(dir.path().join(format!("usr/src/linux-headers-{tree}"))).expect("mkdir");
        }
        let found = |release: &str| {
            let dir = crate::headers::find_kerneldir(dir.path(), &Debian.kerneldir(&kr(release, "1"))).expect("found");
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        };
        assert_eq!(found("6.12.95-1~bpo12+1-cloud-amd64"), "linux-headers-6.12.95+deb12-cloud-amd64");
        assert_eq!(found("6.12.95+deb12-rt-amd64"), "linux-headers-6.12.95+deb12-rt-amd64");
        assert_eq!(found("6.12.95-1~bpo12+1-amd64"), "linux-headers-6.12.95+deb12-amd64");
        assert_eq!(found("6.12.95+deb12-amd64"), "linux-headers-6.12.95+deb12-amd64");
    }
}
