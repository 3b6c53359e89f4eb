//! CentOS (and any rpm-md repository laid out like it): `repodata/repomd.xml` names the `primary`
//! package list, whose `kernel-devel` (and elrepo's `kernel-ml-devel`) packages are the headers.
//! As in kernel-crawler, kernelrelease is `<version>-<release>.<arch>` (`4.18.0-372.9.1.el8.x86_64`),
//! kernelversion `"1"`, and the entry's one header URL is the devel package.
//!
//! CentOS mirrors cannot be reached from here; the tests feed this crawler a repository written in the
//! published repomd/primary formats.

use std::collections::BTreeMap;

use super::{Arch, Crawl, CrawlError, Distro, Progress, SourceError};
use crate::deb::{fetch_verified, join};
use crate::fetch::Fetch;
use crate::list::Entry;

const DEVEL: [&str; 2] = ["kernel-devel", "kernel-ml-devel"];

pub struct Centos {
    /// Repository roots, each with `repodata/repomd.xml` (`.../8/BaseOS/x86_64/os`).
    pub repos: Vec<String>,
}

impl Centos {
    pub fn new(repos: Vec<String>) -> Centos {
        Centos { repos }
    }
}

/// The `primary` record of a `repomd.xml`: its path, sha256 and size (when given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryRef {
    pub href: String,
    pub sha256: Option<String>,
    pub size: Option<u64>,
}

pub fn parse_repomd(url: &str, xml: &str) -> Result<PrimaryRef, CrawlError> {
    let perr = |reason: String| CrawlError::Parse { url: url.to_owned(), reason };
    let doc = roxmltree::Document::parse(xml).map_err(|e| perr(e.to_string()))?;
    let data = doc
        .descendants()
        .find(|n| n.has_tag_name("data") && n.attribute("type") == Some("primary"))
        .ok_or_else(|| perr("no <data type=\"primary\">".into()))?;
    let child = |name: &str| data.children().find(|n| n.has_tag_name(name));
    let href = child("location")
        .and_then(|n| n.attribute("href"))
        .ok_or_else(|| perr("the primary record has no <location href>".into()))?;
    let sha256 = child("checksum")
        .filter(|n| n.attribute("type") == Some("sha256"))
        .and_then(|n| n.text())
        .map(|t| t.trim().to_ascii_lowercase());
    let size = child("size").and_then(|n| n.text()).and_then(|t| t.trim().parse().ok());
    Ok(PrimaryRef { href: href.to_owned(), sha256, size })
}

/// Entries for the devel packages of `arch` in a primary.xml, their URLs under `base`.
pub fn parse_primary(url: &str, xml: &str, base: &str, arch: Arch) -> Result<Vec<Entry>, CrawlError> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| CrawlError::Parse { url: url.to_owned(), reason: e.to_string() })?;
    let mut out = Vec::new();
    for pkg in doc.root_element().children().filter(|n| n.has_tag_name("package")) {
        let text = |name: &str| pkg.children().find(|n| n.has_tag_name(name)).and_then(|n| n.text());
        let (Some(name), Some(pkg_arch)) = (text("name"), text("arch")) else { continue };
        if !DEVEL.contains(&name.trim()) || pkg_arch.trim() != arch.as_str() {
            continue;
        }
        let version = pkg.children().find(|n| n.has_tag_name("version"));
        let (Some(ver), Some(rel)) =
            (version.and_then(|v| v.attribute("ver")), version.and_then(|v| v.attribute("rel")))
        else {
            continue;
        };
        let Some(href) = pkg.children().find(|n| n.has_tag_name("location")).and_then(|n| n.attribute("href"))
        else {
            continue;
        };
        out.push(Entry {
            kernelversion: "1".into(),
            kernelrelease: format!("{ver}-{rel}.{}", arch.as_str()),
            target: "centos".into(),
            headers: vec![join(base, href)],
            kernelconfigdata: None,
        });
    }
    Ok(out)
}

fn read_repo(web: &dyn Fetch, base: &str, arch: Arch) -> Result<Vec<Entry>, CrawlError> {
    let repomd_url = join(base, "repodata/repomd.xml");
    let repomd = web.get(&repomd_url)?;
    let primary = parse_repomd(&repomd_url, &String::from_utf8_lossy(&repomd))?;
    let url = join(base, &primary.href);
    let bytes = match (&primary.sha256, primary.size) {
        (Some(sha), Some(size)) => fetch_verified(web, &url, sha, size)?,
        (Some(sha), None) => {
            let raw = web.get(&url)?;
            let actual = crate::deb::sha256_hex(&raw);
            if &actual != sha {
                return Err(CrawlError::Checksum { url, expected: format!("sha256 {sha}"), actual: format!("sha256 {actual}") });
            }
            crate::deb::decompress(&url, &raw)?
        }
        (None, _) => crate::deb::decompress(&url, &web.get(&url)?)?,
    };
    let xml = String::from_utf8(bytes).map_err(|_| CrawlError::Parse { url: url.clone(), reason: "not UTF-8".into() })?;
    parse_primary(&url, &xml, base, arch)
}

impl Distro for Centos {
    fn target(&self) -> &str {
        "centos"
    }

    fn crawl(&self, web: &dyn Fetch, arch: Arch, progress: &mut dyn FnMut(Progress)) -> Crawl {
        let mut crawl = Crawl::default();
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for repo in &self.repos {
            match read_repo(web, repo, arch) {
                Ok(found) => {
                    progress(Progress::Read { source: repo.clone(), packages: found.len() });
                    crawl.sources_read += 1;
                    for e in found {
                        entries.entry(e.kernelrelease.clone()).or_insert(e);
                    }
                }
                Err(error) if matches!(&error, CrawlError::Fetch(f) if f.is_not_found()) => {
                    progress(Progress::Absent { source: repo.clone() })
                }
                Err(error) => {
                    progress(Progress::Failed { source: repo.clone() });
                    crawl.errors.push(SourceError { source: repo.clone(), error });
                }
            }
        }
        crawl.entries = entries.into_values().collect();
        crawl
    }
}
