//! The Debian crawler against a loopback archive laid out like Debian's: suites with Release and
//! Packages.xz, a security archive beside it, a pool, one suite that answers 500 and one whose index
//! does not match its checksum.

mod common;

use std::process::Command;

use common::{serve_suite, stanza, Reply, Server};
use kernels::crawl::debian::Debian;
use kernels::crawl::{Arch, Distro, Progress};
use kernels::fetch::HttpFetch;
use kernels::list::{Images, List};

const POOL: &str = "pool/main/l/linux";
const SPOOL: &str = "pool/updates/main/l/linux";

fn headers(abi: &str, flavour: &str, version: &str, common: &str, kbuild: &str, pool: &str) -> String {
    let name = format!("linux-headers-{abi}-{flavour}");
    stanza(
        &name,
        version,
        "amd64",
        &format!("linux-headers-{abi}-{common} (= {version}), {kbuild} (>= {version}), linux-compiler-gcc-12-x86"),
        &format!("{pool}/{name}_{version}_amd64.deb"),
    )
}

fn pkg(name: &str, version: &str, arch: &str, pool: &str) -> String {
    stanza(name, version, arch, "kmod, linux-base (>= 4.3~)", &format!("{pool}/{name}_{version}_{arch}.deb"))
}

/// A whole fake archive; returns the server and the archive and security roots.
fn archive() -> (Server, String, String) {
    let s = Server::start();
    // bookworm: ABI 47 (6.1.170-3) whose kbuild the index no longer has (it lists 6.1.176-1): the pool has it.
    let mut bookworm = String::new();
    for (flavour, common) in [("amd64", "common"), ("cloud-amd64", "common"), ("rt-amd64", "common-rt")] {
        bookworm += &headers("6.1.0-47", flavour, "6.1.170-3", common, "linux-kbuild-6.1", POOL);
        bookworm += &pkg(&format!("linux-image-6.1.0-47-{flavour}"), "6.1.170-3", "amd64", "pool/main/l/linux-signed-amd64");
        bookworm += &pkg(&format!("linux-image-6.1.0-47-{flavour}-unsigned"), "6.1.170-3", "amd64", POOL);
    }
    bookworm += &pkg("linux-headers-6.1.0-47-common", "6.1.170-3", "all", POOL);
    bookworm += &pkg("linux-headers-6.1.0-47-common-rt", "6.1.170-3", "all", POOL);
    // ABI 50: the amd64 flavour has an image, the cloud one has none and must be left out.
    bookworm += &headers("6.1.0-50", "amd64", "6.1.176-1", "common", "linux-kbuild-6.1", POOL);
    bookworm += &headers("6.1.0-50", "cloud-amd64", "6.1.176-1", "common", "linux-kbuild-6.1", POOL);
    bookworm += &pkg("linux-image-6.1.0-50-amd64", "6.1.176-1", "amd64", "pool/main/l/linux-signed-amd64");
    bookworm += &pkg("linux-headers-6.1.0-50-common", "6.1.176-1", "all", POOL);
    bookworm += &pkg("linux-kbuild-6.1", "6.1.176-1", "amd64", POOL);
    // ABI 48: neither the index nor the pool has kbuild 6.1.172-1; `>= 6.1.172-1` accepts 6.1.176-1.
    bookworm += &headers("6.1.0-48", "amd64", "6.1.172-1", "common", "linux-kbuild-6.1", POOL);
    bookworm += &pkg("linux-image-6.1.0-48-amd64", "6.1.172-1", "amd64", "pool/main/l/linux-signed-amd64");
    bookworm += &pkg("linux-headers-6.1.0-48-common", "6.1.172-1", "all", POOL);
    // A metapackage: depends on a flavour package, names no common tree.
    bookworm += &stanza("linux-headers-amd64", "6.1.176-1", "amd64", "linux-headers-6.1.0-50-amd64 (= 6.1.176-1)", "pool/main/l/linux-signed-amd64/linux-headers-amd64_6.1.176-1_amd64.deb");
    serve_suite(&s, "/debian", "bookworm", "bookworm", "amd64", &bookworm);
    s.put(&format!("/debian/{POOL}/linux-kbuild-6.1_6.1.170-3_amd64.deb"), Reply::Ok(b"deb".to_vec()));

    // bookworm-updates: kbuild 6.1.180-1, which ABI 51 in the security archive needs; the same
    // ABI-47 headers again (listed once).
    let mut updates = pkg("linux-kbuild-6.1", "6.1.180-1", "amd64", POOL);
    updates += &headers("6.1.0-47", "amd64", "6.1.170-3", "common", "linux-kbuild-6.1", POOL);
    updates += &pkg("linux-image-6.1.0-47-amd64", "6.1.170-3", "amd64", "pool/main/l/linux-signed-amd64");
    serve_suite(&s, "/debian", "bookworm-updates", "bookworm-updates", "amd64", &updates);

    // bookworm-security: ABI 51 (kbuild from bookworm-updates, though this suite's own kbuild is
    // another version and is read later); ABI 53 whose common package exists nowhere.
    let mut security = headers("6.1.0-51", "amd64", "6.1.180-1", "common", "linux-kbuild-6.1", SPOOL);
    security += &pkg("linux-image-6.1.0-51-amd64-unsigned", "6.1.180-1", "amd64", SPOOL);
    security += &pkg("linux-headers-6.1.0-51-common", "6.1.180-1", "all", SPOOL);
    security += &headers("6.1.0-53", "amd64", "6.1.187-1", "common", "linux-kbuild-6.1", SPOOL);
    security += &pkg("linux-image-6.1.0-53-amd64", "6.1.187-1", "amd64", SPOOL);
    security += &pkg("linux-kbuild-6.1", "6.1.192-3", "amd64", SPOOL);
    serve_suite(&s, "/debian-security", "bookworm-security", "bookworm-security", "amd64", &security);

    // bookworm-backports: the ~bpo version names the release.
    let mut bpo = String::new();
    for (flavour, common) in [("amd64", "common"), ("cloud-amd64", "common"), ("rt-amd64", "common-rt")] {
        bpo += &stanza(
            &format!("linux-headers-6.12.95+deb12-{flavour}"),
            "6.12.95-1~bpo12+1",
            "amd64",
            &format!("linux-base (>= 4.12~), linux-headers-6.12.95+deb12-{common} (= 6.12.95-1~bpo12+1), linux-image-6.12.95+deb12-{flavour} (= 6.12.95-1~bpo12+1) | linux-image-6.12.95+deb12-{flavour}-unsigned (= 6.12.95-1~bpo12+1), linux-kbuild-6.12.95+deb12, gcc-12"),
            &format!("{POOL}/linux-headers-6.12.95+deb12-{flavour}_6.12.95-1~bpo12+1_amd64.deb"),
        );
        bpo += &pkg(&format!("linux-image-6.12.95+deb12-{flavour}-unsigned"), "6.12.95-1~bpo12+1", "amd64", POOL);
    }
    bpo += &pkg("linux-headers-6.12.95+deb12-common", "6.12.95-1~bpo12+1", "all", POOL);
    bpo += &pkg("linux-headers-6.12.95+deb12-common-rt", "6.12.95-1~bpo12+1", "all", POOL);
    bpo += &pkg("linux-kbuild-6.12.95+deb12", "6.12.95-1~bpo12+1", "amd64", POOL);
    serve_suite(&s, "/debian", "bookworm-backports", "bookworm-backports", "amd64", &bpo);

    // sid: 7.x, whose rt flavour uses the plain common tree and whose vmlinuz is in linux-binary-*.
    let mut sid = String::new();
    for flavour in ["amd64", "rt-amd64"] {
        sid += &headers("7.2.13+deb14", flavour, "7.2.13-1", "common", "linux-kbuild-7.2.13+deb14", POOL);
        sid += &pkg(&format!("linux-image-7.2.13+deb14-{flavour}"), "7.2.13-1", "amd64", "pool/main/l/linux-signed-amd64");
        sid += &pkg(&format!("linux-binary-7.2.13+deb14-{flavour}"), "7.2.13-1", "amd64", "pool/main/l/linux-signed-amd64");
    }
    sid += &pkg("linux-headers-7.2.13+deb14-common", "7.2.13-1", "all", POOL);
    sid += &pkg("linux-kbuild-7.2.13+deb14", "7.2.13-1", "amd64", POOL);
    serve_suite(&s, "/debian", "sid", "sid", "amd64", &sid);

    // trixie: the alias `stable` points at it; its index answers 500.
    let trixie = headers("6.12.117+deb13", "amd64", "6.12.117-1", "common", "linux-kbuild-6.12.117+deb13", POOL);
    let release = serve_suite(&s, "/debian", "trixie", "trixie", "amd64", &trixie);
    s.put("/debian/dists/stable/Release", Reply::Ok(release.into_bytes()));
    s.put("/debian/dists/trixie/main/binary-amd64/Packages.xz", Reply::Status(500));
    // trixie-security: an index that is not what its Release says.
    serve_suite(&s, "/debian-security", "trixie-security", "trixie-security", "amd64", &trixie);
    s.put("/debian-security/dists/trixie-security/main/binary-amd64/Packages.xz", Reply::Ok(b"<html>garbage</html>".to_vec()));

    let (a, sec) = (format!("{}/debian", s.base), format!("{}/debian-security", s.base));
    (s, a, sec)
}

fn names(h: &[String]) -> Vec<&str> {
    h.iter().map(|u| u.rsplit('/').next().unwrap_or_default()).collect()
}

#[test]
fn the_crawl_pairs_names_and_reports_failing_suites() {
    let (server, mirror, security) = archive();
    let web = HttpFetch::new(std::time::Duration::from_secs(20), 2).expect("client");
    let debian = Debian::new(mirror.clone(), security.clone());
    let mut seen = Vec::new();
    let crawl = debian.crawl(&web, Arch::X86_64, &mut |p| seen.push(p));

    let rels: Vec<&str> = crawl.entries.iter().map(|e| e.kernelrelease.as_str()).collect();
    assert_eq!(
        rels,
        [
            "6.1.170-3-amd64",
            "6.1.170-3-cloud-amd64",
            "6.1.170-3-rt-amd64",
            "6.1.172-1-amd64",
            "6.1.176-1-amd64",
            "6.1.180-1-amd64",
            "6.12.95-1~bpo12+1-amd64",
            "6.12.95-1~bpo12+1-cloud-amd64",
            "6.12.95-1~bpo12+1-rt-amd64",
            "7.2.13-1-amd64",
            "7.2.13-1-rt-amd64",
        ],
        "ABI 50 cloud (no image) and ABI 53 (no common package) are left out; ABI 47 is listed once"
    );
    for e in &crawl.entries {
        assert_eq!(e.kernelversion, "1");
        assert_eq!(e.target, "debian");
        assert_eq!(e.headers.len(), 3, "{}: {:?}", e.kernelrelease, e.headers);
    }
    let get = |r: &str| crawl.entries.iter().find(|e| e.kernelrelease == r).expect(r);
    assert_eq!(
        names(&get("6.1.170-3-amd64").headers),
        [
            "linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb",
            "linux-headers-6.1.0-47-common_6.1.170-3_all.deb",
            "linux-kbuild-6.1_6.1.170-3_amd64.deb"
        ]
    );
    assert_eq!(get("6.1.170-3-amd64").headers[2], format!("{mirror}/{POOL}/linux-kbuild-6.1_6.1.170-3_amd64.deb"));
    assert_eq!(names(&get("6.1.170-3-rt-amd64").headers)[1], "linux-headers-6.1.0-47-common-rt_6.1.170-3_all.deb");
    assert_eq!(names(&get("6.1.170-3-cloud-amd64").headers)[1], "linux-headers-6.1.0-47-common_6.1.170-3_all.deb");
    // The kbuild of the exact version, from another suite, though the security suite's own comes later.
    let abi51 = get("6.1.180-1-amd64");
    assert_eq!(abi51.headers[0], format!("{security}/{SPOOL}/linux-headers-6.1.0-51-amd64_6.1.180-1_amd64.deb"));
    assert_eq!(abi51.headers[2], format!("{mirror}/{POOL}/linux-kbuild-6.1_6.1.180-1_amd64.deb"));
    // The oldest kbuild the relation accepts, not the newest (6.1.192-3) nor the last read.
    assert_eq!(names(&get("6.1.172-1-amd64").headers)[2], "linux-kbuild-6.1_6.1.176-1_amd64.deb");
    assert_eq!(names(&get("6.12.95-1~bpo12+1-rt-amd64").headers)[1], "linux-headers-6.12.95+deb12-common-rt_6.12.95-1~bpo12+1_all.deb");
    assert_eq!(names(&get("7.2.13-1-rt-amd64").headers)[1], "linux-headers-7.2.13+deb14-common_7.2.13-1_all.deb");

    // Boot images: linux-binary on 7.x, -unsigned when there is one, else the signed image.
    let images: std::collections::BTreeMap<_, _> = crawl.images.iter().cloned().collect();
    assert_eq!(images.len(), crawl.entries.len());
    assert_eq!(images["7.2.13-1-amd64"].package, "linux-binary-7.2.13+deb14-amd64");
    assert_eq!(images["6.1.170-3-amd64"].package, "linux-image-6.1.0-47-amd64-unsigned");
    assert_eq!(images["6.1.170-3-amd64"].uname, "6.1.0-47-amd64");
    assert_eq!(images["6.1.176-1-amd64"].package, "linux-image-6.1.0-50-amd64");
    assert_eq!(images["6.1.176-1-amd64"].sha256.len(), 64);

    // Errors: exactly the two broken suites, each named, with its reason.
    let errors: Vec<String> = crawl.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("trixie: ") && errors[0].contains("HTTP 500"), "{}", errors[0]);
    assert!(errors[1].starts_with("trixie-security: ") && errors[1].contains("checksum mismatch"), "{}", errors[1]);
    assert_eq!(crawl.sources_read, 5);
    // Suites the archive does not have are skipped silently, not errors.
    assert!(seen.contains(&Progress::Absent { source: "bullseye-backports".into() }));
    assert!(seen.contains(&Progress::Failed { source: "trixie".into() }));
    // A 500 is retried (two attempts here), a 404 is not.
    assert_eq!(server.requests("GET /debian/dists/trixie/main/binary-amd64/Packages.xz"), 2);
    assert_eq!(server.requests("GET /debian/dists/bullseye-backports/Release"), 1);
}

fn crawler(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kernel-crawler")).args(args).output().expect("runs kernel-crawler")
}

#[test]
fn the_cli_writes_list_and_images_and_warns_per_suite() {
    let (_server, mirror, security) = archive();
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf-8");
    let run = crawler(&["crawl", "--arch", "x86_64", "--mirror", &mirror, "--security-mirror", &security, "--out", o]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("warning: debian x86_64: trixie: "), "{stderr}");
    assert!(stderr.contains("warning: debian x86_64: trixie-security: "), "{stderr}");
    assert!(stderr.contains("debian x86_64: bookworm: "), "a progress line per suite: {stderr}");
    let list = List::read(out.path().join("x86_64/list.json")).expect("list written");
    assert_eq!(list.0["debian"].len(), 11);
    let images = Images::read(out.path().join("x86_64/images.json")).expect("images written");
    assert_eq!(images.0.len(), 11);
    assert!(!out.path().join("aarch64").exists());
}

#[test]
fn when_every_source_fails_nothing_is_written_and_the_exit_is_non_zero() {
    let server = Server::start();
    for suite in ["bookworm", "trixie"] {
        server.put(&format!("/debian/dists/{suite}/Release"), Reply::Status(503));
    }
    let mirror = format!("{}/debian", server.base);
    let out = tempfile::tempdir().expect("tempdir");
    let list_path = out.path().join("x86_64/list.json");
    std::fs::create_dir_all(list_path.parent().expect("dir")).expect("mkdir");
    let before = "{\n  \"debian\": []\n}\n";
    std::fs::write(&list_path, before).expect("write");
    let o = out.path().to_str().expect("utf-8");
    let run = crawler(&["crawl", "--arch", "x86_64", "--mirror", &mirror, "--suite", "bookworm", "--suite", "trixie", "--out", o]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bookworm: ") && stderr.contains("HTTP 503"), "{stderr}");
    assert!(stderr.contains("every source failed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&list_path).expect("still there"), before);
    assert!(!out.path().join("x86_64/images.json").exists());
}

#[test]
fn a_malformed_existing_list_stops_the_run_and_is_kept() {
    let (_server, mirror, security) = archive();
    let out = tempfile::tempdir().expect("tempdir");
    let list_path = out.path().join("x86_64/list.json");
    std::fs::create_dir_all(list_path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&list_path, "{\"debian\": [").expect("write");
    let o = out.path().to_str().expect("utf-8");
    let run = crawler(&["crawl", "--arch", "x86_64", "--mirror", &mirror, "--security-mirror", &security, "--out", o]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("list.json:1:12"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&list_path).expect("kept"), "{\"debian\": [");
}

/// The archive above with some pool files gone, as on a partial mirror whose indexes list them.
fn partial_archive() -> (Server, String, String) {
    let (s, mirror, security) = archive();
    // ABI 51's common headers: its one entry cannot be built.
    s.put(&format!("/debian-security/{SPOOL}/linux-headers-6.1.0-51-common_6.1.180-1_all.deb"), Reply::Status(404));
    // The cloud flavour's unsigned image: the signed one of the same kernel boots as well.
    s.put(&format!("/debian/{POOL}/linux-image-6.1.0-47-cloud-amd64-unsigned_6.1.170-3_amd64.deb"), Reply::Status(410));
    // 7.x rt: no linux-binary, and the (empty) signed image is no fallback there.
    s.put("/debian/pool/main/l/linux-signed-amd64/linux-binary-7.2.13+deb14-rt-amd64_7.2.13-1_amd64.deb", Reply::Status(404));
    // A kbuild that cannot be checked (5xx after the retries): its entry is left out and reported.
    s.put(&format!("/debian/{POOL}/linux-kbuild-6.12.95+deb12_6.12.95-1~bpo12+1_amd64.deb"), Reply::Status(503));
    (s, mirror, security)
}

#[test]
fn urls_the_mirror_does_not_serve_drop_entries_and_fall_back_images() {
    let (server, mirror, security) = partial_archive();
    let web = HttpFetch::new(std::time::Duration::from_secs(20), 2).expect("client");
    let crawl = Debian::new(mirror.clone(), security).crawl(&web, Arch::X86_64, &mut |_| {});

    let rels: Vec<&str> = crawl.entries.iter().map(|e| e.kernelrelease.as_str()).collect();
    assert_eq!(
        rels,
        ["6.1.170-3-amd64", "6.1.170-3-cloud-amd64", "6.1.170-3-rt-amd64", "6.1.172-1-amd64", "6.1.176-1-amd64", "7.2.13-1-amd64", "7.2.13-1-rt-amd64"],
        "ABI 51 (common not served) and the three 6.12 backports (kbuild unchecked) are left out"
    );
    let check = crawl.url_check.as_ref().expect("the check ran");
    assert_eq!(check.entries_dropped.len(), 1, "{check:?}");
    assert_eq!(check.entries_dropped[0].kernelrelease, "6.1.180-1-amd64");
    assert!(check.entries_dropped[0].url.ends_with("/linux-headers-6.1.0-51-common_6.1.180-1_all.deb"), "{check:?}");
    assert_eq!(check.unchecked, 3);
    let unchecked: Vec<String> = crawl.errors.iter().skip(2).map(|e| e.to_string()).collect();
    assert_eq!(unchecked.len(), 3, "{unchecked:?}");
    assert!(unchecked[0].starts_with("6.12.95-1~bpo12+1-amd64 (URL check): ") && unchecked[0].contains("HTTP 503"), "{unchecked:?}");

    let images: std::collections::BTreeMap<_, _> = crawl.images.iter().cloned().collect();
    assert_eq!(images["6.1.170-3-cloud-amd64"].package, "linux-image-6.1.0-47-cloud-amd64", "the signed image");
    assert_eq!(images["6.1.170-3-amd64"].package, "linux-image-6.1.0-47-amd64-unsigned", "still the unsigned one");
    assert_eq!(
        check.fallbacks,
        [kernels::crawl::Fallback {
            kernelrelease: "6.1.170-3-cloud-amd64".into(),
            missing: "linux-image-6.1.0-47-cloud-amd64-unsigned".into(),
            missing_url: format!("{mirror}/{POOL}/linux-image-6.1.0-47-cloud-amd64-unsigned_6.1.170-3_amd64.deb"),
            used: "linux-image-6.1.0-47-cloud-amd64".into(),
        }]
    );
    assert!(!images.contains_key("7.2.13-1-rt-amd64"), "no linux-binary: no image line, though the entry stays");
    assert_eq!(check.images_dropped.len(), 1);
    assert_eq!(images.len(), 6);
    // One HEAD per distinct URL (the signed 7.x image is never asked about), the 503 twice.
    assert_eq!(server.requests("HEAD /debian/pool/main/l/linux-signed-amd64/linux-image-7.2.13+deb14-rt-amd64_"), 0);
    assert_eq!(server.requests("HEAD /debian/pool/main/l/linux-signed-amd64/linux-image-6.1.0-47-cloud-amd64_"), 1);
    assert_eq!(server.requests(&format!("HEAD /debian/{POOL}/linux-kbuild-6.12.95+deb12_")), 2);
    assert_eq!(server.requests(&format!("HEAD /debian/{POOL}/linux-headers-6.1.0-47-common_")), 1);
}

#[test]
fn the_cli_names_what_is_left_out_and_can_skip_the_check() {
    let (server, mirror, security) = partial_archive();
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf-8");
    let args = ["crawl", "--arch", "x86_64", "--mirror", &mirror, "--security-mirror", &security, "--out", o];
    let run = crawler(&args);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: debian x86_64: 6.1.180-1-amd64 left out: the mirror does not serve {security}/{SPOOL}/linux-headers-6.1.0-51-common_6.1.180-1_all.deb"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("warning: debian x86_64: 6.12.95-1~bpo12+1-rt-amd64 (URL check): "), "{stderr}");
    assert!(stderr.contains("6.1.170-3-cloud-amd64: boot image linux-image-6.1.0-47-cloud-amd64 instead of"), "{stderr}");
    assert!(stderr.contains("warning: debian x86_64: 7.2.13-1-rt-amd64: no boot image is served"), "{stderr}");
    assert!(
        stderr.contains("1 kernels left out (header package not served), 1 boot images from the next candidate, 1 boot images left out, 3 left out unchecked"),
        "{stderr}"
    );
    let list = List::read(out.path().join("x86_64/list.json")).expect("list written");
    assert_eq!(list.0["debian"].len(), 7);
    assert_eq!(Images::read(out.path().join("x86_64/images.json")).expect("images").0.len(), 6);

    let heads = server.requests("HEAD ");
    let run = crawler(&[&args[..], &["--no-check-urls"]].concat());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(!String::from_utf8_lossy(&run.stderr).contains("URL check"));
    // Without the check only the pool lookups ask (HEAD): the kbuild of ABIs 47 and 48, ABI 53's common.
    assert_eq!(server.requests("HEAD ") - heads, 3);
    assert_eq!(List::read(out.path().join("x86_64/list.json")).expect("list").0["debian"].len(), 11);
}
