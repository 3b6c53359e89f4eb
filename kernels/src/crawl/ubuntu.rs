//! Ubuntu, by kernel-crawler's rules.
//!
//! In each suite, every `linux-headers-<rel>` that has a `linux-modules-<rel>` or `linux-image-<rel>`
//! contributes itself and the kernel packages it depends on (transitively, so the flavour's
//! `linux-<flavour>-headers-<abi>` tree comes along); a package whose kernel dependency is missing
//! from its suite contributes nothing. The version `5.15.0-1001.2` splits into kernelrelease base
//! `5.15.0-1001` and kernelversion `2`. Each header package's flavour is the source folder of its pool
//! path (`pool/main/l/linux-aws/` gives `aws`, `linux-aws-5.19` gives `aws` too, plain `linux` gives
//! `generic`): target `ubuntu-<flavour>`, kernelrelease `<base>-<flavour>`. The same release in several
//! suites or archives is listed once, with each header file once.
//!
//! Ubuntu's archive cannot be reached from here; the tests feed this crawler indexes written in the
//! published `Release`/`Packages` formats.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Arch, Crawl, Distro, Progress, SourceError};
use crate::deb::{join, read_suite, Package};
use crate::fetch::Fetch;
use crate::list::Entry;

pub struct Ubuntu {
    /// Archives (`http://<mirror>/ubuntu`, the ports archive for arm64, the security archive).
    pub mirrors: Vec<String>,
    /// Suites to read on every archive; by default those the archive's `dists/` listing shows.
    pub suites: Option<Vec<String>>,
}

impl Ubuntu {
    pub fn new(mirrors: Vec<String>) -> Ubuntu {
        Ubuntu { mirrors, suites: None }
    }

    fn suites_of(&self, web: &dyn Fetch, mirror: &str) -> Result<Vec<String>, crate::crawl::CrawlError> {
        if let Some(s) = &self.suites {
            return Ok(s.clone());
        }
        let listing = web.get(&join(mirror, "dists/"))?;
        Ok(directory_links(&String::from_utf8_lossy(&listing)))
    }
}

/// The sub-folders an HTML directory listing links to (`<a href="jammy-updates/">`).
pub fn directory_links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in html.split("href=\"").skip(1) {
        let Some(link) = part.split('"').next() else { continue };
        if link.ends_with('/')
            && !link.starts_with('/')
            && !link.starts_with('?')
            && !link.starts_with("http")
            && !link.starts_with("..")
        {
            let name = link.trim_end_matches('/').to_owned();
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// `5.15.0-1001.2` → (`5.15.0-1001`, `2`); `5.19.0-1025.26~22.04.1` → (`5.19.0-1025`, `26~22.04.1`).
pub fn split_version(version: &str) -> Option<(&str, &str)> {
    let version = crate::deb::strip_epoch(version);
    let (upstream, abi_rest) = version.split_once('-')?;
    let (abi, kver) = abi_rest.split_once('.')?;
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let mut up = upstream.split('.');
    let ok = (0..3).all(|_| up.next().is_some_and(numeric)) && up.next().is_none() && numeric(abi);
    ok.then(|| (&version[..upstream.len() + 1 + abi.len()], kver))
}

/// The flavour named by a header URL's pool folder: `.../l/linux-aws-5.19/...` → `aws`.
pub fn flavour_of(url: &str) -> String {
    let Some(at) = url.rfind("l/linux-") else { return "generic".into() };
    let rest = &url[at + "l/linux-".len()..];
    match rest.split_once('/') {
        Some((folder, _)) if !folder.is_empty() => folder.split('-').next().unwrap_or(folder).to_owned(),
        _ => "generic".into(),
    }
}

/// kernel-crawler's test for a kernel package name: `linux-<something>-<x.y.z>...`, or kbuild.
fn is_kernel_package(name: &str) -> bool {
    let looks = name.strip_prefix("linux-").is_some_and(|rest| {
        rest.match_indices('-').any(|(i, _)| {
            let tail = &rest[i + 1..];
            let mut parts = tail.splitn(3, '.');
            let a = parts.next().unwrap_or("");
            let b = parts.next().unwrap_or("");
            let c = parts.next().unwrap_or("");
            a.len() == 1
                && a.chars().all(|ch| ch.is_ascii_digit())
                && b.chars().next().is_some_and(|ch| ch.is_ascii_digit())
                && b.chars().all(|ch| ch.is_ascii_digit())
                && c.chars().next().is_some_and(|ch| ch.is_ascii_digit())
        })
    });
    (looks
        && !name.ends_with("-dbg")
        && !name.contains("modules-extra")
        && !name.contains("linux-source")
        && !name.contains("tools"))
        || name.contains("linux-kbuild")
}

fn dep_names(depends: &str) -> impl Iterator<Item = &str> {
    depends
        .split(',')
        .filter_map(|alt| alt.split('|').next())
        .filter_map(|d| d.split_whitespace().next())
}

/// The package and its kernel dependencies, transitively, within one suite; `None` when one is missing.
fn closure<'a>(by_name: &HashMap<&str, &'a Package>, root: &'a Package) -> Option<Vec<&'a Package>> {
    let mut seen: HashSet<&str> = HashSet::from([root.name.as_str()]);
    let mut out = vec![root];
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for dep in dep_names(&p.depends).filter(|d| is_kernel_package(d)) {
            let found = by_name.get(dep)?;
            if seen.insert(found.name.as_str()) {
                out.push(found);
                todo.push(found);
            }
        }
    }
    Some(out)
}

/// Entries from the packages of one suite, keyed by (kernelrelease base, kernelversion) → header URLs.
pub fn suite_headers(packages: &[Package], acc: &mut BTreeMap<(String, String), Vec<String>>) {
    let by_name: HashMap<&str, &Package> = packages.iter().map(|p| (p.name.as_str(), p)).collect();
    for h in packages {
        let Some(rel) = h.name.strip_prefix("linux-headers-") else { continue };
        let partner = [format!("linux-modules-{rel}"), format!("linux-image-{rel}")]
            .into_iter()
            .find_map(|n| by_name.get(n.as_str()).copied());
        let Some(partner) = partner else { continue };
        for root in [h, partner] {
            let Some((base, kver)) = split_version(&root.version) else { continue };
            let Some(all) = closure(&by_name, root) else {
                tracing::debug!(package = %root.name, "a kernel dependency is missing from its suite");
                continue;
            };
            let urls = acc.entry((base.to_owned(), kver.to_owned())).or_default();
            for p in all {
                let url = p.url();
                let file = p.filename.rsplit('/').next().unwrap_or_default();
                if url.contains("headers") && !urls.iter().any(|u| u.ends_with(&format!("/{file}"))) {
                    urls.push(url);
                }
            }
        }
    }
}

/// Splits the accumulated header URLs by flavour into entries.
pub fn entries(acc: BTreeMap<(String, String), Vec<String>>) -> Vec<Entry> {
    let mut out = Vec::new();
    for ((base, kver), urls) in acc {
        let mut by_flavour: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for u in urls {
            by_flavour.entry(flavour_of(&u)).or_default().push(u);
        }
        for (flavour, mut headers) in by_flavour {
            headers.sort();
            out.push(Entry {
                kernelversion: kver.clone(),
                kernelrelease: format!("{base}-{flavour}"),
                target: format!("ubuntu-{flavour}"),
                headers,
                kernelconfigdata: None,
            });
        }
    }
    out
}

impl Distro for Ubuntu {
    fn target(&self) -> &str {
        "ubuntu"
    }

    fn crawl(&self, web: &dyn Fetch, arch: Arch, progress: &mut dyn FnMut(Progress)) -> Crawl {
        let mut crawl = Crawl::default();
        let mut acc = BTreeMap::new();
        for mirror in &self.mirrors {
            let suites = match self.suites_of(web, mirror) {
                Ok(s) => s,
                Err(error) => {
                    crawl.errors.push(SourceError { source: format!("{mirror} (suite list)"), error });
                    continue;
                }
            };
            for suite in suites {
                let source = format!("{mirror} {suite}");
                match read_suite(web, mirror, &suite, "main", arch.deb()) {
                    Ok(Some((_, packages))) => {
                        progress(Progress::Read { source: suite.clone(), packages: packages.len() });
                        crawl.sources_read += 1;
                        suite_headers(&packages, &mut acc);
                    }
                    Ok(None) => progress(Progress::Absent { source: suite.clone() }),
                    Err(error) => {
                        progress(Progress::Failed { source: suite.clone() });
                        crawl.errors.push(SourceError { source, error });
                    }
                }
            }
        }
        crawl.entries = entries(acc);
        crawl
    }
}
