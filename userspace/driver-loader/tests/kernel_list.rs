//! For every kernel of `kernels/list` (x86_64 and aarch64), the driver name the loader computes from
//! that kernel's own `uname -r` and `uname -v` is the name `dbg` publishes its drivers under.
//!
//! The `uname` strings are the real ones: `tests/data/kernel_banners.json` holds, for each kernel of
//! the list's `images.json`, the version string its image carries (the x86 boot header's, the arm64
//! `Linux version` banner), which is what the booted kernel reports; `kernel_banners.py` reads them
//! from the image packages. The loader parses them with the same code it reads `/boot` images with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use driver_loader::kernel::{parse_banner, parse_setup_version, Kernel};
use driver_loader::settings::{Plan, Settings};
use driver_loader::target::{parse_os_release, Target};
use driver_loader::{Arch, DriverType};
use kernels::list::{Images, List};
use serde::Deserialize;
use test_infra::dbg::configs::read_kernel_list;
use test_infra::dbg::{Options, TargetFilter};

#[derive(Deserialize)]
struct Banner {
    uname: String,
    image: String,
    banner: String,
}

const DEBIAN_OS_RELEASE: &str = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"#;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn banners() -> BTreeMap<String, BTreeMap<String, Banner>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kernel_banners.json");
    let text = std::fs::read_to_string(&path).expect("kernel_banners.json");
    serde_json::from_str(&text).expect("kernel_banners.json parses")
}

/// The name dbg gives the module it builds for `entry` (the file name of its `output.module`).
fn published(arch: Arch, entry: &mut test_infra::dbg::configs::DriverkitYaml) -> Option<String> {
    let opts = Options {
        repo_root: repo_root(),
        arch: match arch {
            Arch::X86_64 => driver_index::kernelrelease::Arch::Amd64,
            Arch::Aarch64 => driver_index::kernelrelease::Arch::Arm64,
        },
        driver_versions: vec!["8.0.0+driver".into()],
        driver_name: "falco".into(),
        filter: TargetFilter::default(),
        dry_run: true,
    };
    entry.fill_outputs(&opts, "8.0.0+driver");
    let module = &entry.output.module;
    (!module.is_empty()).then(|| module.rsplit('/').next().unwrap_or(module).to_owned())
}

#[test]
fn every_listed_kernel_gets_the_name_dbg_publishes() {
    let banners = banners();
    let mut checked = 0;
    let mut without_image = Vec::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let dir = repo_root().join("kernels/list").join(arch.as_str());
        let list = List::read(dir.join("list.json")).expect("list.json");
        let images = Images::read(dir.join("images.json")).expect("images.json");
        let mut configs =
            read_kernel_list(&dir.join("list.json").to_string_lossy()).expect("dbg reads the list");
        let of_arch = banners.get(arch.as_str()).expect("banners of the arch");
        assert_eq!(
            images.0.len(),
            of_arch.len(),
            "{arch}: a banner for every kernel image (run tests/data/kernel_banners.py after a crawl)"
        );
        assert!(list.len() >= images.0.len());
        for entry in configs.values_mut().flatten() {
            let Some(banner) = of_arch.get(&entry.kernelrelease) else {
                // The mirror serves no image of a few kernels (Debian LTS uploads of 5.10 flavours),
                // so their real `uname -v` cannot be read; images.json leaves them out for the same
                // reason. Every other kernel is checked.
                assert!(
                    !images.0.contains_key(&entry.kernelrelease),
                    "{arch}: no banner for {}: run tests/data/kernel_banners.py",
                    entry.kernelrelease
                );
                without_image.push(entry.kernelrelease.clone());
                continue;
            };
            let (release, version) = match banner.image.as_str() {
                "bzimage" => parse_setup_version(&banner.banner),
                _ => parse_banner(&banner.banner),
            }
            .unwrap_or_else(|| {
                panic!(
                    "{}: unreadable banner {:?}",
                    entry.kernelrelease, banner.banner
                )
            });
            assert_eq!(release, banner.uname, "the image's uname -r");
            assert_eq!(
                images.0.get(&entry.kernelrelease).map(|i| i.uname.as_str()),
                Some(release.as_str()),
                "images.json agrees"
            );
            let kernel = Kernel {
                release,
                version,
                arch,
            };
            let fields = parse_os_release(DEBIAN_OS_RELEASE);
            let target =
                Target::from_fields("debian", &fields, &kernel, Path::new("/etc/os-release"))
                    .expect("target");
            let settings = Settings {
                types: vec![DriverType::Kmod],
                name: "falco".into(),
                repos: vec!["http://127.0.0.1/driver".into()],
                version: "8.0.0+driver".into(),
                host_root: "/".into(),
            };
            let plan = Plan::new(settings, kernel.clone(), target, &|| false).expect("plan");
            let computed = plan.artifact().expect("a kmod artifact").file_name();
            let want = published(arch, entry).expect("dbg builds a module for every listed kernel");
            assert_eq!(
                computed, want,
                "{arch}: uname -r {:?}, uname -v {:?}",
                kernel.release, kernel.version
            );
            checked += 1;
        }
    }
    // 100 of 105 x86_64 and all 115 aarch64 Debian kernels when this was written.
    assert!(checked >= 200, "only {checked} kernels checked");
    assert!(
        without_image.len() <= 10,
        "too many kernels without an image: {without_image:?}"
    );
}
