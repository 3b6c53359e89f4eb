//! The Ubuntu crawler. Ubuntu's archive cannot be reached from this machine, so it reads a loopback
//! archive written in the published formats (an HTML `dists/` listing, Release, Packages.xz, a pool
//! split by source package as Ubuntu's is).

mod common;

use common::{serve_suite, stanza, Reply, Server};
use kernels::crawl::ubuntu::{flavour_of, split_version, Ubuntu};
use kernels::crawl::{Arch, Distro};

fn p(name: &str, version: &str, arch: &str, depends: &str, folder: &str) -> String {
    stanza(name, version, arch, depends, &format!("pool/main/l/{folder}/{name}_{version}_{arch}.deb"))
}

#[test]
fn version_and_pool_folder_give_release_version_and_flavour() {
    assert_eq!(split_version("5.15.0-1001.2"), Some(("5.15.0-1001", "2")));
    assert_eq!(split_version("5.19.0-1025.26~22.04.1"), Some(("5.19.0-1025", "26~22.04.1")));
    assert_eq!(split_version("6.1.170-3"), None, "a Debian-style version has no ABI.upload split");
    assert_eq!(flavour_of("http://mirror.example/ubuntu/pool/main/l/linux-aws/linux-headers-5.15.0-1001-aws_5.15.0-1001.2_amd64.deb"), "aws");
    assert_eq!(flavour_of("http://mirror.example/ubuntu/pool/main/l/linux-aws-5.19/x.deb"), "aws");
    assert_eq!(flavour_of("http://mirror.example/ubuntu/pool/main/l/linux/linux-headers-5.15.0-25_5.15.0-25.25_all.deb"), "generic");
}

#[test]
fn suites_of_the_listing_become_flavoured_entries() {
    let s = Server::start();
    s.put(
        "/ubuntu/dists/",
        Reply::Ok(
            b"<html><body><a href=\"../\">../</a><a href=\"jammy/\">jammy/</a> <a href=\"jammy-updates/\">jammy-updates/</a>\n\
<a href=\"jammy-security/\">jammy-security/</a><a href=\"?C=M\">sort</a></body></html>"
                .to_vec(),
        ),
    );
    let mut jammy = String::new();
    jammy += &p("linux-headers-5.15.0-25-generic", "5.15.0-25.25", "amd64", "linux-headers-5.15.0-25, libc6 (>= 2.34)", "linux");
    jammy += &p("linux-headers-5.15.0-25", "5.15.0-25.25", "all", "", "linux");
    jammy += &p("linux-modules-5.15.0-25-generic", "5.15.0-25.25", "amd64", "", "linux");
    jammy += &p("linux-headers-5.15.0-1001-aws", "5.15.0-1001.2", "amd64", "linux-aws-headers-5.15.0-1001, libc6 (>= 2.34)", "linux-aws");
    jammy += &p("linux-aws-headers-5.15.0-1001", "5.15.0-1001.2", "all", "", "linux-aws");
    jammy += &p("linux-image-5.15.0-1001-aws", "5.15.0-1001.2", "amd64", "", "linux-signed-aws");
    // Its common headers are missing from the suite: no entry.
    jammy += &p("linux-headers-5.15.0-1002-azure", "5.15.0-1002.3", "amd64", "linux-azure-headers-5.15.0-1002", "linux-azure");
    jammy += &p("linux-modules-5.15.0-1002-azure", "5.15.0-1002.3", "amd64", "", "linux-azure");
    // No modules or image: no entry.
    jammy += &p("linux-headers-5.15.0-1003-gcp", "5.15.0-1003.6", "amd64", "linux-gcp-headers-5.15.0-1003", "linux-gcp");
    jammy += &p("linux-gcp-headers-5.15.0-1003", "5.15.0-1003.6", "all", "", "linux-gcp");
    serve_suite(&s, "/ubuntu", "jammy", "jammy", "amd64", &jammy);

    let mut updates = p("linux-headers-5.19.0-1025-aws", "5.19.0-1025.26~22.04.1", "amd64", "linux-aws-5.19-headers-5.19.0-1025", "linux-aws-5.19");
    updates += &p("linux-aws-5.19-headers-5.19.0-1025", "5.19.0-1025.26~22.04.1", "all", "", "linux-aws-5.19");
    updates += &p("linux-modules-5.19.0-1025-aws", "5.19.0-1025.26~22.04.1", "amd64", "", "linux-aws-5.19");
    // The generic kernel again: listed once, each file once.
    updates += &p("linux-headers-5.15.0-25-generic", "5.15.0-25.25", "amd64", "linux-headers-5.15.0-25", "linux");
    updates += &p("linux-headers-5.15.0-25", "5.15.0-25.25", "all", "", "linux");
    updates += &p("linux-modules-5.15.0-25-generic", "5.15.0-25.25", "amd64", "", "linux");
    serve_suite(&s, "/ubuntu", "jammy-updates", "jammy", "amd64", &updates);
    s.put("/ubuntu/dists/jammy-security/Release", Reply::Status(500));

    let web = kernels::fetch::HttpFetch::new(std::time::Duration::from_secs(20), 1).expect("client");
    let ubuntu = Ubuntu::new(vec![format!("{}/ubuntu", s.base)]);
    assert_eq!(ubuntu.target(), "ubuntu");
    let crawl = ubuntu.crawl(&web, Arch::X86_64, &mut |_| {});

    let got: Vec<(&str, &str, &str, Vec<&str>)> = crawl
        .entries
        .iter()
        .map(|e| {
            let files = e.headers.iter().map(|h| h.rsplit('/').next().unwrap_or_default()).collect();
            (e.target.as_str(), e.kernelrelease.as_str(), e.kernelversion.as_str(), files)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ubuntu-aws", "5.15.0-1001-aws", "2", vec![
                "linux-aws-headers-5.15.0-1001_5.15.0-1001.2_all.deb",
                "linux-headers-5.15.0-1001-aws_5.15.0-1001.2_amd64.deb",
            ]),
            ("ubuntu-generic", "5.15.0-25-generic", "25", vec![
                "linux-headers-5.15.0-25-generic_5.15.0-25.25_amd64.deb",
                "linux-headers-5.15.0-25_5.15.0-25.25_all.deb",
            ]),
            ("ubuntu-aws", "5.19.0-1025-aws", "26~22.04.1", vec![
                "linux-aws-5.19-headers-5.19.0-1025_5.19.0-1025.26~22.04.1_all.deb",
                "linux-headers-5.19.0-1025-aws_5.19.0-1025.26~22.04.1_amd64.deb",
            ]),
        ]
    );
    assert_eq!(crawl.sources_read, 2);
    assert_eq!(crawl.errors.len(), 1);
    let err = crawl.errors[0].to_string();
    assert!(err.contains("jammy-security") && err.contains("HTTP 500"), "{err}");
}
