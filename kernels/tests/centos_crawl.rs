//! The CentOS crawler. CentOS mirrors cannot be reached from this machine, so it reads loopback
//! repositories written in the published rpm-md formats (repomd.xml naming a gzip'd primary.xml).

mod common;

use common::{gz, sha256, Reply, Server};
use kernels::crawl::centos::{parse_repomd, Centos};
use kernels::crawl::{Arch, Distro, Progress};

fn package(name: &str, arch: &str, ver: &str, rel: &str) -> String {
    format!(
        r#"<package type="rpm">
  <name>{name}</name>
  <arch>{arch}</arch>
  <version epoch="0" ver="{ver}" rel="{rel}"/>
  <checksum type="sha256" pkgid="YES">{sum}</checksum>
  <summary>Development package for building kernel modules to match the kernel</summary>
  <location href="Packages/{name}-{ver}-{rel}.{arch}.rpm"/>
  <format><rpm:license>GPLv2</rpm:license><rpm:provides><rpm:entry name="{name}" flags="EQ" epoch="0" ver="{ver}" rel="{rel}"/></rpm:provides></format>
</package>
"#,
        sum = sha256(name.as_bytes())
    )
}

fn primary(packages: &str, n: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" \
xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{n}\">\n{packages}</metadata>\n"
    )
}

fn repomd(href: &str, compressed: &[u8]) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1652800000</revision>
  <data type="primary_db">
    <checksum type="sha256">{other}</checksum>
    <location href="repodata/abc-primary.sqlite.bz2"/>
  </data>
  <data type="primary">
    <checksum type="sha256">{sum}</checksum>
    <open-checksum type="sha256">{other}</open-checksum>
    <location href="{href}"/>
    <timestamp>1652800000</timestamp>
    <size>{size}</size>
    <open-size>1</open-size>
  </data>
</repomd>
"#,
        sum = sha256(compressed),
        other = sha256(b"other"),
        size = compressed.len()
    )
}

#[test]
fn repomd_names_the_primary_list() {
    let p = parse_repomd("u", &repomd("repodata/x-primary.xml.gz", b"zz")).expect("parses");
    assert_eq!(p.href, "repodata/x-primary.xml.gz");
    assert_eq!(p.size, Some(2));
    assert_eq!(p.sha256.as_deref(), Some(sha256(b"zz").as_str()));
    let err = parse_repomd("http://mirror.example/repomd.xml", "<repomd><data type=").expect_err("malformed");
    assert!(err.to_string().contains("http://mirror.example/repomd.xml"), "{err}");
}

#[test]
fn kernel_devel_packages_become_entries_and_a_bad_repository_is_reported() {
    let s = Server::start();
    let mut pkgs = package("kernel-devel", "x86_64", "4.18.0", "372.9.1.el8");
    pkgs += &package("kernel-devel", "x86_64", "4.18.0", "348.el8");
    pkgs += &package("kernel-devel", "aarch64", "4.18.0", "372.9.1.el8");
    pkgs += &package("kernel", "x86_64", "4.18.0", "372.9.1.el8");
    pkgs += &package("kernel-headers", "x86_64", "4.18.0", "372.9.1.el8");
    let body = gz(primary(&pkgs, 5).as_bytes());
    s.put("/centos/8/BaseOS/x86_64/os/repodata/repomd.xml", Reply::Ok(repomd("repodata/1f-primary.xml.gz", &body).into_bytes()));
    s.put("/centos/8/BaseOS/x86_64/os/repodata/1f-primary.xml.gz", Reply::Ok(body.clone()));

    // elrepo's mainline kernels, with the same 348 kernel again (listed once).
    let ml = package("kernel-ml-devel", "x86_64", "6.8.9", "1.el8.elrepo") + &package("kernel-devel", "x86_64", "4.18.0", "348.el8");
    let ml = gz(primary(&ml, 2).as_bytes());
    s.put("/elrepo/x86_64/repodata/repomd.xml", Reply::Ok(repomd("repodata/2-primary.xml.gz", &ml).into_bytes()));
    s.put("/elrepo/x86_64/repodata/2-primary.xml.gz", Reply::Ok(ml));

    // A repository whose primary is not what its repomd says.
    s.put("/broken/repodata/repomd.xml", Reply::Ok(repomd("repodata/3-primary.xml.gz", &body).into_bytes()));
    s.put("/broken/repodata/3-primary.xml.gz", Reply::Ok(b"<html>proxy error</html>".to_vec()));

    let repos: Vec<String> = ["/centos/8/BaseOS/x86_64/os", "/elrepo/x86_64", "/broken", "/absent"]
        .iter()
        .map(|r| format!("{}{r}", s.base))
        .collect();
    let web = kernels::fetch::HttpFetch::new(std::time::Duration::from_secs(20), 1).expect("client");
    let centos = Centos::new(repos.clone());
    let mut seen = Vec::new();
    let crawl = centos.crawl(&web, Arch::X86_64, &mut |p| seen.push(p));

    let got: Vec<(&str, &str, &str)> =
        crawl.entries.iter().map(|e| (e.kernelrelease.as_str(), e.kernelversion.as_str(), e.target.as_str())).collect();
    assert_eq!(
        got,
        [
            ("4.18.0-348.el8.x86_64", "1", "centos"),
            ("4.18.0-372.9.1.el8.x86_64", "1", "centos"),
            ("6.8.9-1.el8.elrepo.x86_64", "1", "centos"),
        ]
    );
    assert_eq!(
        crawl.entries[1].headers,
        [format!("{}/Packages/kernel-devel-4.18.0-372.9.1.el8.x86_64.rpm", repos[0])]
    );
    assert_eq!(crawl.entries[0].headers[0], format!("{}/Packages/kernel-devel-4.18.0-348.el8.x86_64.rpm", repos[0]));
    assert_eq!(crawl.sources_read, 2);
    assert_eq!(crawl.errors.len(), 1);
    let err = crawl.errors[0].to_string();
    assert!(err.starts_with(&repos[2]) && err.contains("checksum mismatch"), "{err}");
    assert!(seen.contains(&Progress::Absent { source: repos[3].clone() }));

    let arm = centos.crawl(&web, Arch::Aarch64, &mut |_| {});
    assert_eq!(arm.entries.len(), 1);
    assert_eq!(arm.entries[0].kernelrelease, "4.18.0-372.9.1.el8.aarch64");
}
