//! Debian: every suite of the archive and of its security sibling.
//!
//! Each `linux-headers-<abi>-<flavour>` that has a `linux-image-<abi>-<flavour>` (signed or
//! `-unsigned`) of the same version becomes an entry with three header packages: itself, the
//! `linux-headers-<abi>-common[-rt]` and the `linux-kbuild-*` its `Depends:` names. Those two are looked
//! up across every suite read, by exact version: a point release replaces `linux-kbuild-6.1` in the
//! index while older ABIs' headers stay, so when the index no longer has the version, the file of the
//! same source upload is looked for next to the headers in the pool (where it usually stays while any
//! suite still references that upload), and failing that the oldest indexed version that the headers'
//! own `Depends:` relation accepts (`linux-kbuild-6.1 (>= 6.1.170-3)`), which is what apt would install. Naming follows kernel-crawler: kernelrelease is the package version
//! plus `-<flavour>` (`6.1.170-3-amd64`), kernelversion `"1"`; a release found in several suites is
//! listed once (the first suite read wins, the main archive before the security one).
//!
//! A mirror's indexes can list pool files it does not serve (a partial copy), so after pairing every
//! URL is asked for ([`check_urls`]): an entry whose header package is not served is left out, and a
//! boot image that is not served gives way to the next candidate.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use super::{Arch, Crawl, CrawlError, Distro, Fallback, Progress, SourceError, Unserved, UrlCheck};
use crate::deb::{join, read_suite, relation, satisfies, version_cmp, Package};
use crate::debian::parse_build_dependencies;
use crate::fetch::{exists_all, Fetch, FetchError};
use crate::list::{BootImage, Entry};

/// Codenames tried even when the archive's aliases (`stable`, ...) say nothing about them, oldest first.
pub const CODENAMES: [&str; 5] = ["bullseye", "bookworm", "trixie", "forky", "sid"];

/// Aliases whose Release names the codename currently behind them: how a new release is found.
const ALIASES: [&str; 5] = ["oldoldstable", "oldstable", "stable", "testing", "unstable"];

/// Codenames that only exist as themselves: no -updates, -backports or -security.
const DEVELOPMENT: [&str; 2] = ["sid", "experimental"];

/// How many URLs the check asks about at once.
pub const CHECK_PARALLEL: usize = 16;

pub struct Debian {
    /// The archive (`http://<mirror>/debian`).
    pub mirror: String,
    /// The security archive (`http://<mirror>/debian-security`).
    pub security_mirror: String,
    /// Crawl exactly these suites instead of discovering them (`bookworm`, `bookworm-security`, ...).
    pub suites: Option<Vec<String>>,
    /// Ask the mirror for every URL of the result and leave out what it does not serve ([`check_urls`]).
    pub check_urls: bool,
}

/// One suite to read and the archive it lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub base: String,
}

impl Debian {
    pub fn new(mirror: impl Into<String>, security_mirror: impl Into<String>) -> Debian {
        Debian { mirror: mirror.into(), security_mirror: security_mirror.into(), suites: None, check_urls: true }
    }

    /// The security archive's usual place: the `debian-security` sibling of the archive's URL.
    pub fn security_sibling(mirror: &str) -> String {
        crate::sources::security_sibling(mirror)
    }

    /// Every suite to try: the known codenames and those the aliases point at, each with its
    /// `-updates` and `-backports` on the archive and `-security` on the security archive.
    pub fn suites(&self, web: &dyn Fetch) -> Vec<Suite> {
        if let Some(names) = &self.suites {
            return names
                .iter()
                .map(|n| Suite {
                    name: n.clone(),
                    base: if n.ends_with("-security") { self.security_mirror.clone() } else { self.mirror.clone() },
                })
                .collect();
        }
        let mut codenames: Vec<String> = CODENAMES.iter().map(|s| (*s).to_owned()).collect();
        for alias in ALIASES {
            let url = join(&self.mirror, &format!("dists/{alias}/Release"));
            match web.get(&url) {
                Ok(bytes) => {
                    let rel = crate::deb::parse_release(&String::from_utf8_lossy(&bytes));
                    if let Some(c) = rel.codename {
                        if !codenames.contains(&c) {
                            // A release newer than this code knows: before sid, which stays last.
                            let at = codenames.iter().position(|x| x == "sid").unwrap_or(codenames.len());
                            codenames.insert(at, c);
                        }
                    }
                }
                Err(e) => tracing::debug!(%url, error = %e, "alias not readable"),
            }
        }
        codenames.push("experimental".into());
        let mut out = Vec::new();
        for c in &codenames {
            out.push(Suite { name: c.clone(), base: self.mirror.clone() });
            if DEVELOPMENT.contains(&c.as_str()) {
                continue;
            }
            for tail in ["updates", "backports"] {
                out.push(Suite { name: format!("{c}-{tail}"), base: self.mirror.clone() });
            }
            out.push(Suite { name: format!("{c}-security"), base: self.security_mirror.clone() });
        }
        out
    }
}

impl Distro for Debian {
    fn target(&self) -> &str {
        "debian"
    }

    fn crawl(&self, web: &dyn Fetch, arch: Arch, progress: &mut dyn FnMut(Progress)) -> Crawl {
        let mut crawl = Crawl::default();
        let mut packages = Vec::new();
        for suite in self.suites(web) {
            match read_suite(web, &suite.base, &suite.name, "main", arch.deb()) {
                Ok(Some((_, p))) => {
                    progress(Progress::Read { source: suite.name.clone(), packages: p.len() });
                    crawl.sources_read += 1;
                    packages.extend(p);
                }
                Ok(None) => progress(Progress::Absent { source: suite.name.clone() }),
                Err(error) => {
                    progress(Progress::Failed { source: suite.name.clone() });
                    crawl.errors.push(SourceError { source: suite.name.clone(), error });
                }
            }
        }
        let (entries, candidates) = pair_candidates(&packages, web);
        if self.check_urls {
            let checked = check_urls(web, entries, &candidates, CHECK_PARALLEL);
            crawl.entries = checked.entries;
            crawl.images = checked.images;
            crawl.errors.extend(checked.errors);
            crawl.url_check = Some(checked.report);
        } else {
            crawl.entries = entries;
            crawl.images =
                candidates.into_iter().filter_map(|(r, c)| Some((r, c.into_iter().next()?))).collect();
        }
        crawl
    }
}

/// Why a headers package gave no entry (for the debug log, and for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NoImage,
    NoDependency(String),
}

/// A headers package made into an entry, or why not.
pub struct Paired {
    pub headers: String,
    /// The entry and its boot image candidates, best first (see [`boot_images`]).
    pub result: Result<(Entry, Vec<BootImage>), Skip>,
}

/// Pairs every flavour headers package in `packages` (all suites, in crawl order) with its common and
/// kbuild packages; see the module comment for the rules. Entries come deduplicated by kernelrelease,
/// each with its preferred boot image. No URL is checked: see [`check_urls`].
pub fn pair(packages: &[Package], web: &dyn Fetch) -> (Vec<Entry>, Vec<(String, BootImage)>) {
    let (entries, candidates) = pair_candidates(packages, web);
    (entries, candidates.into_iter().filter_map(|(r, c)| Some((r, c.into_iter().next()?))).collect())
}

/// [`pair`] with every boot image candidate of each kernelrelease, best first.
pub fn pair_candidates(packages: &[Package], web: &dyn Fetch) -> (Vec<Entry>, BTreeMap<String, Vec<BootImage>>) {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut images = BTreeMap::new();
    for p in pair_each(packages, web) {
        match p.result {
            Ok((entry, candidates)) => {
                if entries.contains_key(&entry.kernelrelease) {
                    continue;
                }
                if !candidates.is_empty() {
                    images.insert(entry.kernelrelease.clone(), candidates);
                }
                entries.insert(entry.kernelrelease.clone(), entry);
            }
            Err(skip) => tracing::debug!(headers = %p.headers, ?skip, "no entry"),
        }
    }
    (entries.into_values().collect(), images)
}

/// What [`check_urls`] keeps, and what it found.
#[derive(Debug, Default)]
pub struct Checked {
    pub entries: Vec<Entry>,
    pub images: Vec<(String, BootImage)>,
    pub report: UrlCheck,
    /// URLs that could not be checked (timeouts, 5xx after the fetcher's retries), by kernelrelease.
    pub errors: Vec<SourceError>,
}

/// Asks the mirror (`exists`, a HEAD over HTTP, `parallel` at a time) for every header URL of
/// `entries` and for their boot images. An entry with a header package that is not served (404/410) is
/// left out; a boot image that is not served gives way to the next of its `candidates`, and with none
/// left its line is dropped (the entry stays: it can still be built). A URL that cannot be checked
/// leaves out its entry (or image) and is reported as an error of that kernelrelease.
pub fn check_urls(
    web: &dyn Fetch,
    entries: Vec<Entry>,
    candidates: &BTreeMap<String, Vec<BootImage>>,
    parallel: usize,
) -> Checked {
    let mut answers: HashMap<String, Result<bool, FetchError>> = HashMap::new();
    let ask = |urls: Vec<String>, answers: &mut HashMap<String, Result<bool, FetchError>>| {
        let mut fresh: Vec<String> = urls.into_iter().filter(|u| !answers.contains_key(u)).collect();
        fresh.sort();
        fresh.dedup();
        let got = exists_all(web, &fresh, parallel);
        answers.extend(fresh.into_iter().zip(got));
    };
    // Headers and each image's first candidate at once; later candidates only where needed.
    let first: Vec<String> = entries
        .iter()
        .flat_map(|e| e.headers.iter().cloned())
        .chain(candidates.values().filter_map(|c| c.first().map(|i| i.url.clone())))
        .collect();
    ask(first, &mut answers);
    let mut at: BTreeMap<&str, usize> = candidates.keys().map(|k| (k.as_str(), 0)).collect();
    loop {
        let mut more = Vec::new();
        for (release, i) in at.iter_mut() {
            let list = &candidates[*release];
            while matches!(list.get(*i).and_then(|c| answers.get(&c.url)), Some(Ok(false))) {
                *i += 1;
            }
            if let Some(c) = list.get(*i) {
                if !answers.contains_key(&c.url) {
                    more.push(c.url.clone());
                }
            }
        }
        if more.is_empty() {
            break;
        }
        ask(more, &mut answers);
    }

    let mut out = Checked::default();
    out.report.asked = answers.len();
    let error = |release: &str, e: &FetchError| SourceError {
        source: format!("{release} (URL check)"),
        error: CrawlError::Fetch(e.clone()),
    };
    for entry in entries {
        let release = entry.kernelrelease.clone();
        let failed = entry.headers.iter().find_map(|u| answers.get(u).and_then(|a| a.as_ref().err()));
        if let Some(e) = failed {
            out.errors.push(error(&release, e));
            out.report.unchecked += 1;
            continue;
        }
        if let Some(url) = entry.headers.iter().find(|u| matches!(answers.get(*u), Some(Ok(false)))) {
            out.report.entries_dropped.push(Unserved { kernelrelease: release, url: url.clone() });
            continue;
        }
        out.entries.push(entry);
        let Some(list) = candidates.get(&release) else { continue };
        let Some(&i) = at.get(release.as_str()) else { continue };
        match list.get(i).map(|c| (c, answers.get(&c.url))) {
            Some((c, Some(Ok(true)))) => {
                if i > 0 {
                    out.report.fallbacks.push(Fallback {
                        kernelrelease: release.clone(),
                        missing: list[0].package.clone(),
                        missing_url: list[0].url.clone(),
                        used: c.package.clone(),
                    });
                }
                out.images.push((release, c.clone()));
            }
            Some((_, Some(Err(e)))) => {
                out.errors.push(error(&release, e));
                out.report.unchecked += 1;
            }
            _ => {
                let url = list.last().map(|c| c.url.clone()).unwrap_or_default();
                out.report.images_dropped.push(Unserved { kernelrelease: release, url });
            }
        }
    }
    out
}

pub fn pair_each(packages: &[Package], web: &dyn Fetch) -> Vec<Paired> {
    let mut by_name: HashMap<&str, Vec<&Package>> = HashMap::new();
    for p in packages {
        by_name.entry(p.name.as_str()).or_default().push(p);
    }
    let exists_cache: RefCell<HashMap<String, bool>> = RefCell::new(HashMap::new());
    let exists = |url: &str| -> bool {
        if let Some(&known) = exists_cache.borrow().get(url) {
            return known;
        }
        let found = match web.exists(url) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(%url, error = %e, "cannot tell whether a pool file exists; its entry is left out");
                false
            }
        };
        exists_cache.borrow_mut().insert(url.to_owned(), found);
        found
    };
    let mut out = Vec::new();
    for h in packages {
        let Some(_) = h.name.strip_prefix("linux-headers-") else { continue };
        if h.name.contains("-common") {
            continue;
        }
        let deps = parse_build_dependencies(&h.depends);
        let Some(common) = deps.iter().find(|d| d.starts_with("linux-headers-") && d.contains("-common")) else {
            // Metapackages (`linux-headers-amd64`) name a flavour package, not a common tree.
            continue;
        };
        let Some(abi) = common
            .strip_prefix("linux-headers-")
            .and_then(|c| c.strip_suffix("-common-rt").or_else(|| c.strip_suffix("-common")))
        else {
            continue;
        };
        let Some(flavour) = h.name.strip_prefix(&format!("linux-headers-{abi}-")) else { continue };
        let uname = format!("{abi}-{flavour}");
        let version = h.version_no_epoch();
        let same_version = |name: &str| -> Option<&Package> {
            let all = by_name.get(name)?;
            all.iter()
                .find(|p| p.version == h.version && p.base == h.base)
                .or_else(|| all.iter().find(|p| p.version == h.version))
                .copied()
        };
        let result = (|| {
            let signed = format!("linux-image-{uname}");
            let unsigned = format!("{signed}-unsigned");
            if same_version(&signed).is_none() && same_version(&unsigned).is_none() {
                return Err(Skip::NoImage);
            }
            let mut urls = vec![h.url()];
            for dep in [common, deps.iter().find(|d| d.starts_with("linux-kbuild-")).unwrap_or(&String::new())] {
                if dep.is_empty() {
                    return Err(Skip::NoDependency("linux-kbuild-*".into()));
                }
                if let Some(p) = same_version(dep) {
                    urls.push(p.url());
                    continue;
                }
                // The same upload's file beside the headers in the pool (see the module comment).
                let arch = by_name
                    .get(dep.as_str())
                    .and_then(|v| v.first())
                    .map(|p| p.architecture.clone())
                    .unwrap_or_else(|| if dep.contains("-common") { "all".into() } else { h.architecture.clone() });
                let dir = h.filename.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                let url = join(&h.base, &format!("{dir}/{dep}_{version}_{arch}.deb"));
                if exists(&url) {
                    urls.push(url);
                    continue;
                }
                // As apt would: the oldest indexed version the headers' own relation accepts.
                match satisfying(&by_name, dep, &h.depends) {
                    Some(p) => urls.push(p.url()),
                    None => return Err(Skip::NoDependency(dep.clone())),
                }
            }
            let entry = Entry {
                kernelversion: "1".into(),
                kernelrelease: format!("{version}-{flavour}"),
                target: "debian".into(),
                headers: urls,
                kernelconfigdata: None,
            };
            Ok((entry, boot_images(&uname, &same_version)))
        })();
        out.push(Paired { headers: h.name.clone(), result });
    }
    out
}

/// The lowest version of `name` in the index that the relation in `depends` accepts; none when the
/// relation is absent or pins one exact version (that one was looked for already).
fn satisfying<'a>(by_name: &HashMap<&str, Vec<&'a Package>>, name: &str, depends: &str) -> Option<&'a Package> {
    let (op, version) = relation(depends, name)?;
    if op.is_empty() || op == "=" {
        return None;
    }
    by_name
        .get(name)?
        .iter()
        .filter(|p| satisfies(&p.version, op, version))
        .min_by(|a, b| version_cmp(&a.version, &b.version))
        .copied()
}

/// The packages whose data holds the kernel of `uname`, best first: `linux-binary-*` alone on 7.x
/// (where `linux-image-*` became an empty metapackage, so it is no fallback), else the `-unsigned`
/// image, then the signed one (the same kernel, signed for Secure Boot).
fn boot_images<'a>(uname: &str, same_version: &dyn Fn(&str) -> Option<&'a Package>) -> Vec<BootImage> {
    let binary = format!("linux-binary-{uname}");
    let names = if same_version(&binary).is_some() {
        vec![binary]
    } else {
        vec![format!("linux-image-{uname}-unsigned"), format!("linux-image-{uname}")]
    };
    names
        .iter()
        .filter_map(|name| {
            let p = same_version(name)?;
            Some(BootImage { uname: uname.to_owned(), package: p.name.clone(), url: p.url(), sha256: p.sha256.clone()? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::FetchError;

    /// Answers only the alias Releases named; everything else is absent.
    struct Aliases(Vec<(&'static str, &'static str)>);
    impl Fetch for Aliases {
        fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
            self.0
                .iter()
                .find(|(alias, _)| url.ends_with(&format!("/dists/{alias}/Release")))
                .map(|(_, codename)| format!("Suite: x\nCodename: {codename}\n").into_bytes())
                .ok_or(FetchError::NotFound { url: url.into(), status: 404 })
        }
    }

    #[test]
    fn the_security_archive_is_the_sibling_of_the_archive() {
        assert_eq!(Debian::security_sibling("http://mirror.example/debian/"), "http://mirror.example/debian-security");
        assert_eq!(Debian::security_sibling("http://mirror.example/deb"), "http://mirror.example/deb-security");
    }

    #[test]
    fn suites_are_the_known_codenames_and_what_the_aliases_name() {
        let d = Debian::new("http://a.example/debian", "http://s.example/debian-security");
        let web = Aliases(vec![("stable", "trixie"), ("testing", "duke")]);
        let suites = d.suites(&web);
        let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(&names[..4], ["bullseye", "bullseye-updates", "bullseye-backports", "bullseye-security"]);
        let duke = names.iter().position(|n| *n == "duke").expect("a codename learnt from an alias");
        assert!(duke > names.iter().position(|n| *n == "forky").expect("forky"));
        assert_eq!(&names[names.len() - 2..], ["sid", "experimental"]);
        assert!(!names.contains(&"sid-security") && !names.contains(&"sid-backports"));
        assert_eq!(names.iter().filter(|n| **n == "trixie").count(), 1);
        for s in &suites {
            let security = s.name.ends_with("-security");
            assert_eq!(s.base.starts_with("http://s.example"), security, "{s:?}");
        }
        let fixed = Debian { suites: Some(vec!["bookworm".into(), "bookworm-security".into()]), ..d };
        let bases: Vec<String> = fixed.suites(&web).into_iter().map(|s| s.base).collect();
        assert_eq!(bases, ["http://a.example/debian", "http://s.example/debian-security"]);
    }
}
