//! The builder image and gcc come from the kernel's own headers: real Debian header packages (fetched
//! with apt, served over loopback), the local builder images (`driverkit images build`), kernel-crawler's
//! package-version names checked against the release the headers are for.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// bookworm-security's 6.12: driverkit's rule by kernel series says gcc 14; it was built with gcc 12.
const R612: &str = "6.12.117+deb12-amd64";
const R61: &str = "6.1.0-47-amd64";
const BOOKWORM_IMAGE: &str = "falcosecurity/driverkit-builder:any-x86_64_gcc12.0.0_gcc11.0.0-latest";

/// kernel-crawler's name of a Debian kernel: its headers package's version plus the flavour
/// (`linux-headers-6.12.117+deb12-amd64_6.12.117-1~deb12u1_amd64.deb` gives `6.12.117-1~deb12u1-amd64`).
fn crawler_name(debs: &[PathBuf], release: &str) -> String {
    let prefix = format!("linux-headers-{release}_");
    let file = debs
        .iter()
        .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .find(|n| n.starts_with(&prefix))
        .expect("the flavour's headers package");
    let version = file[prefix.len()..].split('_').next().expect("a version").to_owned();
    format!("{version}-amd64")
}

/// A config for `release` named `name` from the served `debs`, with module and probe outputs in `work`.
fn config(work: &Path, name: &str, server: &FileServer, debs: &[PathBuf]) -> (PathBuf, PathBuf) {
    let urls: Vec<String> = debs.iter().map(|d| server.url(d)).collect();
    let module = work.join("out").join("scap.ko");
    let body = debian_config(name, &urls, &module);
    (write_config(work, "0.1.0", "debian", name, &body), module)
}

#[test]
fn the_gcc_comes_from_the_headers_not_from_the_kernel_series() {
    ensure_builder_image();
    let work = tempfile::tempdir().expect("tmp");
    let debs = header_debs(R612);
    let server = FileServer::start(&debs);
    let name = crawler_name(&debs, R612);
    assert!(name.starts_with("6.12.117-") && name.contains("deb12"), "{name}");
    let (config, _) = config(work.path(), &name, &server, &debs);
    let config = config.to_string_lossy().into_owned();
    let src = repo().to_string_lossy().into_owned();

    let out = driverkit(&["docker", "-c", &config, "--src-dir", &src, "--dryrun"], &repo());
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("the kernel's headers name its compiler gcc=12.") && log.contains("gcc-12 (Debian 12."), "{log}");
    assert!(log.contains(&format!("builder image chosen image={BOOKWORM_IMAGE} gcc=12.0.0 wanted=12.0.0 from=Headers")), "{log}");
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("make CC=/usr/bin/gcc-12.0.0 driver"), "{script}");
    assert!(log.contains("dry run: nothing was built"), "{log}");

    // `gccversion` still wins over the headers.
    let out = driverkit(&["docker", "-c", &config, "--src-dir", &src, "--dryrun", "--gccversion", "11"], &repo());
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(&format!("builder image chosen image={BOOKWORM_IMAGE} gcc=11.0.0 wanted=11.0.0 from=Config")), "{log}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("make CC=/usr/bin/gcc-11.0.0 driver"));

    // A gcc no local image has is an error that says how to make one.
    let out = driverkit(&["docker", "-c", &config, "--src-dir", &src, "--dryrun", "--gccversion", "7"], &repo());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("driverkit images build"), "{}", text(&out));
}

#[test]
fn a_crawler_named_kernel_builds_in_the_bookworm_image_with_the_headers_vermagic() {
    ensure_builder_image();
    let work = tempfile::tempdir().expect("tmp");
    let debs = header_debs(R61);
    let server = FileServer::start(&debs);
    let name = crawler_name(&debs, R61);
    assert!(name.starts_with("6.1.") && !name.starts_with("6.1.0-"), "{name}");
    let (config, module) = config(work.path(), &name, &server, &debs);
    let src = repo().to_string_lossy().into_owned();
    let out = driverkit(&["docker", "-c", &config.to_string_lossy(), "--src-dir", &src], &repo());
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(&format!("builder image chosen image={BOOKWORM_IMAGE} gcc=12.0.0")), "{log}");
    assert!(log.contains(&format!("the configured name is the package version of the headers' kernel configured={name} headers={R61}")), "{log}");
    let magic = builder::outputs::vermagic(&std::fs::read(&module).expect("the module")).expect("a module");
    assert!(magic.starts_with(&format!("{R61} ")), "the vermagic is the headers' release: {magic}");

    // The same headers under another package version's name are another kernel: refused, nothing left.
    let (major_minor, rest) = name.split_at(4);
    let patch: u64 = rest.split('-').next().and_then(|p| p.parse().ok()).expect("a patch level");
    let wrong = format!("{major_minor}{}-1-amd64", patch + 1);
    let other = tempfile::tempdir().expect("tmp");
    let (config, module) = self::config(other.path(), &wrong, &server, &debs);
    let out = driverkit(&["docker", "-c", &config.to_string_lossy(), "--src-dir", &src], &repo());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains(&format!("the module was built for `{R61}`, not for kernel {wrong}")), "{log}");
    assert!(!module.exists());
}

#[test]
fn images_build_keeps_an_image_made_from_the_same_recipe() {
    ensure_builder_image();
    let out = driverkit(&["images", "build", "--suite", "bookworm"], &repo());
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(&format!("{BOOKWORM_IMAGE} exists (use --force to rebuild)")), "{log}");
    assert!(log.contains("exists with the same recipe: not rebuilt"), "{log}");

    let out = driverkit(&["images", "build", "--suite", "bookworm", "--suite", "buster"], &repo());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no builder image recipe for suite `buster`: use one of bullseye, bookworm, trixie, sid"), "{}", text(&out));

    let out = driverkit(&["images"], &repo());
    let listing = text(&out);
    assert!(out.status.success(), "{listing}");
    let line = listing.lines().find(|l| l.starts_with(BOOKWORM_IMAGE)).unwrap_or_else(|| panic!("listed:\n{listing}"));
    assert!(line.ends_with("12.0.0, 11.0.0"), "{line}");

    // The image is bookworm with both gccs behind driverkit's names.
    let run = std::process::Command::new("docker")
        .args(["run", "--rm", "--network", "none", BOOKWORM_IMAGE, "sh", "-c"])
        .arg("cat /etc/debian_version; /usr/bin/gcc-12.0.0 -dumpversion; /usr/bin/gcc-11.0.0 -dumpversion; for t in pahole clang make cmake; do command -v $t; done")
        .output()
        .expect("docker run");
    let said = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{said}{}", String::from_utf8_lossy(&run.stderr));
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].starts_with("12."), "bookworm: {said}");
    assert_eq!((lines[1], lines[2]), ("12", "11"), "{said}");
    assert_eq!(lines.len(), 7, "pahole, clang, make and cmake are there: {said}");
}

#[test]
fn a_failing_debootstrap_shows_its_log_and_keeps_the_image_there_is() {
    ensure_builder_image();
    // A loopback port nobody listens on: the mirror is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mirror = format!("http://127.0.0.1:{port}/debian");
    let out = driverkit(&["images", "build", "--suite", "bookworm", "--force", "--mirror", &mirror], &repo());
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains(&format!("debootstrap of bookworm from {mirror} failed")), "{log}");
    assert!(log.contains(&format!("E: Failed getting release file {mirror}/dists/bookworm/Release")), "the log's tail is shown:\n{log}");
    let inspect = std::process::Command::new("docker").args(["image", "inspect", BOOKWORM_IMAGE]).output().expect("docker");
    assert!(inspect.status.success(), "the image made before is still there");
}

#[test]
fn a_cloud_kernel_finds_its_own_tree_beside_the_plain_one() {
    ensure_builder_image();
    let work = tempfile::tempdir().expect("tmp");
    let cloud = "6.12.117+deb12-cloud-amd64";
    // The plain flavour's headers package served and unpacked too: its tree sorts first.
    let mut debs = header_debs(cloud);
    debs.push(test_infra::packages::fetch_deb(&format!("linux-headers-{R612}")).expect("apt-get download"));
    let server = FileServer::start(&debs);
    let name = crawler_name(&debs, cloud).replace("-amd64", "-cloud-amd64");
    assert!(name.ends_with("deb12u1-cloud-amd64"), "{name}");
    let (config, module) = config(work.path(), &name, &server, &debs);
    let src = repo().to_string_lossy().into_owned();
    let out = driverkit(&["docker", "-c", &config.to_string_lossy(), "--src-dir", &src], &repo());
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(&format!("usr/src/linux-headers-{cloud}")), "the cloud tree is KERNELDIR:\n{log}");
    let magic = builder::outputs::vermagic(&std::fs::read(&module).expect("the module")).expect("a module");
    assert!(magic.starts_with(&format!("{cloud} ")), "{magic}");
}
