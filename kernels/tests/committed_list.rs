//! The committed lists, crawled from the live mirror (`kernel-crawler crawl`, see kernels/README.md):
//! known kernels are named as kernel-crawler names them and carry their three header packages.

use std::path::PathBuf;

use kernels::list::{natural_cmp, Images, List};

fn dir(arch: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("list").join(arch)
}

fn file(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

#[test]
fn the_x86_64_list_holds_the_known_debian_kernels() {
    let list = List::read(dir("x86_64").join("list.json")).expect("committed x86_64 list");
    let debian = &list.0["debian"];
    assert!(debian.len() >= 80, "{} Debian kernels", debian.len());
    for series in ["5.10.", "6.1.", "6.12.", "7."] {
        assert!(debian.iter().any(|e| e.kernelrelease.starts_with(series)), "no {series} kernel");
    }
    for e in debian {
        assert_eq!((e.target.as_str(), e.kernelversion.as_str()), ("debian", "1"), "{}", e.kernelrelease);
        assert_eq!(e.headers.len(), 3, "{}: {:?}", e.kernelrelease, e.headers);
        assert!(file(&e.headers[0]).starts_with("linux-headers-"), "{:?}", e.headers);
        assert!(file(&e.headers[1]).contains("-common"), "{:?}", e.headers);
        assert!(file(&e.headers[2]).starts_with("linux-kbuild-"), "{:?}", e.headers);
        assert!(e.headers.iter().all(|h| h.starts_with("http") && h.ends_with(".deb")));
    }
    let get = |r: &str| debian.iter().find(|e| e.kernelrelease == r).unwrap_or_else(|| panic!("{r} listed"));
    let names = |r: &str| get(r).headers.iter().map(|h| file(h).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        names("6.1.170-3-amd64"),
        [
            "linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb",
            "linux-headers-6.1.0-47-common_6.1.170-3_all.deb",
            "linux-kbuild-6.1_6.1.170-3_amd64.deb"
        ]
    );
    assert_eq!(names("6.1.170-3-rt-amd64")[1], "linux-headers-6.1.0-47-common-rt_6.1.170-3_all.deb");
    assert_eq!(names("6.12.95-1~bpo12+1-cloud-amd64")[0], "linux-headers-6.12.95+deb12-cloud-amd64_6.12.95-1~bpo12+1_amd64.deb");
    assert_eq!(names("7.2.13-1-rt-amd64")[1], "linux-headers-7.2.13+deb14-common_7.2.13-1_all.deb");
    // Listed once, sorted by release.
    let rels: Vec<&str> = debian.iter().map(|e| e.kernelrelease.as_str()).collect();
    assert!(rels.windows(2).all(|w| natural_cmp(w[0], w[1]).is_lt()), "sorted and unique");
}

#[test]
fn listed_debian_kernels_have_their_boot_images() {
    for (arch, flavour) in [("x86_64", "amd64"), ("aarch64", "arm64")] {
        let list = List::read(dir(arch).join("list.json")).expect("committed list");
        let images = Images::read(dir(arch).join("images.json")).expect("committed images");
        let debian = &list.0["debian"];
        // Every image is of a listed kernel; the crawl leaves an image line out only when the mirror
        // serves no candidate (cloud and rt flavours of some bullseye-security kernels here), never
        // for the plain flavour, which the VM tests boot.
        for release in images.0.keys() {
            assert!(debian.iter().any(|e| &e.kernelrelease == release), "{arch}: {release} has an image, no entry");
        }
        assert!(images.0.len() * 100 >= debian.len() * 90, "{arch}: {} images for {} kernels", images.0.len(), debian.len());
        for e in debian {
            let plain = e.kernelrelease.ends_with(&format!("-{}", flavour)) && !e.kernelrelease.contains("-cloud-") && !e.kernelrelease.contains("-rt-");
            let Some(img) = images.0.get(&e.kernelrelease) else {
                assert!(!plain, "{arch}: {} (the plain flavour) has no boot image", e.kernelrelease);
                continue;
            };
            assert!(e.kernelrelease.contains(&format!("-{flavour}")), "{}", e.kernelrelease);
            // The ABI name is what the headers package is named after.
            assert!(file(&e.headers[0]).starts_with(&format!("linux-headers-{}_", img.uname)), "{img:?}");
            assert_eq!(img.sha256.len(), 64);
            let expect_binary = e.kernelrelease.starts_with("7.");
            assert_eq!(img.package.starts_with("linux-binary-"), expect_binary, "{img:?}");
            assert!(file(&img.url).starts_with(&format!("{}_", img.package)), "{img:?}");
        }
    }
    let x86 = Images::read(dir("x86_64").join("images.json")).expect("images");
    let img = &x86.0["6.1.170-3-amd64"];
    assert_eq!((img.uname.as_str(), img.package.as_str()), ("6.1.0-47-amd64", "linux-image-6.1.0-47-amd64-unsigned"));
}
