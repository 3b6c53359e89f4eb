//! Debian-style archives (Debian, Ubuntu): `dists/<suite>/Release` and the `Packages` index it lists.

use std::collections::BTreeMap;
use std::io::Read;


use crate::crawl::CrawlError;
use crate::fetch::Fetch;

/// One binary package of a `Packages` index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// As written, epoch included (`1:2.3-4`).
    pub version: String,
    pub architecture: String,
    /// Pool path relative to the archive root.
    pub filename: String,
    /// The raw `Depends:` value (empty when absent).
    pub depends: String,
    pub sha256: Option<String>,
    /// Which archive and suite it was read from, so its URL can be made and its origin reported.
    pub base: String,
    pub suite: String,
}

impl Package {
    pub fn url(&self) -> String {
        join(&self.base, &self.filename)
    }

    /// The version without its epoch, as it appears in pool file names and in kernel releases.
    pub fn version_no_epoch(&self) -> &str {
        strip_epoch(&self.version)
    }
}

pub fn strip_epoch(version: &str) -> &str {
    match version.split_once(':') {
        Some((epoch, rest)) if epoch.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => version,
    }
}

/// Compares two Debian versions as dpkg does: epoch, then upstream version, then revision, each
/// compared by alternating non-digit runs (where `~` sorts before everything, even the end) and
/// numeric runs.
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((up, rev)) => (epoch, up, rev),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }
    fn part(mut a: &[u8], mut b: &[u8]) -> std::cmp::Ordering {
        while !a.is_empty() || !b.is_empty() {
            while a.first().is_some_and(|c| !c.is_ascii_digit()) || b.first().is_some_and(|c| !c.is_ascii_digit()) {
                let (ca, cb) = (order(a.first().copied()), order(b.first().copied()));
                if ca != cb {
                    return ca.cmp(&cb);
                }
                a = a.get(1..).unwrap_or_default();
                b = b.get(1..).unwrap_or_default();
            }
            let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
            let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
            let num = |d: &[u8]| d.iter().fold(0u128, |n, c| n.saturating_mul(10).saturating_add(u128::from(c - b'0')));
            let ord = num(&a[..da]).cmp(&num(&b[..db]));
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
            a = &a[da..];
            b = &b[db..];
        }
        std::cmp::Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| part(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| part(ra.as_bytes(), rb.as_bytes()))
}

/// Whether `version` satisfies the relation `op other` of a `Depends:` clause (`>=`, `=`, `<<`, ...).
pub fn satisfies(version: &str, op: &str, other: &str) -> bool {
    use std::cmp::Ordering::*;
    let ord = version_cmp(version, other);
    match op {
        ">=" => ord != Less,
        "<=" => ord != Greater,
        ">>" | ">" => ord == Greater,
        "<<" | "<" => ord == Less,
        "=" => ord == Equal,
        _ => false,
    }
}

/// The version relation a `Depends:` value puts on `name`: `linux-kbuild-6.1 (>= 6.1.170-3)` gives
/// `Some((">=", "6.1.170-3"))`; `Some(("", ""))` when the name is there without one.
pub fn relation<'a>(depends: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    depends.split(',').filter_map(|alt| alt.split('|').next()).find_map(|clause| {
        let clause = clause.trim();
        let rest = clause.strip_prefix(name)?;
        let rest = rest.trim_start();
        if rest.is_empty() {
            return Some(("", ""));
        }
        let inner = rest.strip_prefix('(')?.strip_suffix(')')?.trim();
        let op_len = inner.find(|c: char| !"<>=".contains(c)).unwrap_or(inner.len());
        Some((&inner[..op_len], inner[op_len..].trim()))
    })
}

/// `base` and `path` with exactly one slash between them.
pub fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// The parts of a `Release` file a crawl needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub components: Vec<String>,
    /// Path relative to `dists/<suite>/` → (lower-case sha256, size).
    pub sha256: BTreeMap<String, (String, u64)>,
}

impl Release {
    /// The best compressed form of `<component>/binary-<arch>/Packages` the Release lists.
    pub fn packages_index(&self, component: &str, arch: &str) -> Option<(&str, &str, u64)> {
        let stem = format!("{component}/binary-{arch}/Packages");
        [".xz", ".gz", ""].iter().find_map(|ext| {
            let path = format!("{stem}{ext}");
            self.sha256.get_key_value(&path).map(|(p, (h, s))| (p.as_str(), h.as_str(), *s))
        })
    }
}

pub fn parse_release(text: &str) -> Release {
    let mut rel = Release::default();
    let mut in_sha256 = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(' ') {
            if in_sha256 {
                let mut f = rest.split_whitespace();
                if let (Some(hash), Some(size), Some(path)) = (f.next(), f.next(), f.next()) {
                    if let Ok(size) = size.parse() {
                        rel.sha256.insert(path.to_owned(), (hash.to_ascii_lowercase(), size));
                    }
                }
            }
            continue;
        }
        in_sha256 = false;
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match key {
            "Suite" => rel.suite = Some(value.to_owned()),
            "Codename" => rel.codename = Some(value.to_owned()),
            "Components" => rel.components = value.split_whitespace().map(str::to_owned).collect(),
            "SHA256" => in_sha256 = true,
            _ => {}
        }
    }
    rel
}

/// Parses a `Packages` index. Stanzas without `Package`, `Version` or `Filename` are skipped:
/// they cannot be downloaded, so they cannot be part of an entry.
pub fn parse_packages(text: &str, base: &str, suite: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for line in stanza.lines() {
            // Continuation lines belong to multi-line fields (Description) that a crawl does not read.
            if line.starts_with(' ') || line.starts_with('\t') {
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                fields.insert(k, v.trim());
            }
        }
        let (Some(name), Some(version), Some(filename)) =
            (fields.get("Package"), fields.get("Version"), fields.get("Filename"))
        else {
            continue;
        };
        out.push(Package {
            name: (*name).to_owned(),
            version: (*version).to_owned(),
            architecture: fields.get("Architecture").copied().unwrap_or_default().to_owned(),
            filename: (*filename).to_owned(),
            depends: fields.get("Depends").copied().unwrap_or_default().to_owned(),
            sha256: fields.get("SHA256").map(|s| s.to_ascii_lowercase()),
            base: base.to_owned(),
            suite: suite.to_owned(),
        });
    }
    out
}

pub use crate::files::sha256_hex;

/// Decompresses by the file name's extension (`.xz`, `.gz`, none).
pub fn decompress(url: &str, bytes: &[u8]) -> Result<Vec<u8>, CrawlError> {
    let mut out = Vec::new();
    let res = if url.ends_with(".xz") {
        xz2::read::XzDecoder::new(bytes).read_to_end(&mut out)
    } else if url.ends_with(".gz") {
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)
    } else {
        out.extend_from_slice(bytes);
        Ok(out.len())
    };
    res.map_err(|e| CrawlError::Decompress { url: url.to_owned(), reason: e.to_string() })?;
    Ok(out)
}

/// Downloads `url`, checks it against the Release's size and sha256, and decompresses it.
pub fn fetch_verified(web: &dyn Fetch, url: &str, sha256: &str, size: u64) -> Result<Vec<u8>, CrawlError> {
    let bytes = web.get(url)?;
    let actual = sha256_hex(&bytes);
    if actual != sha256 || bytes.len() as u64 != size {
        return Err(CrawlError::Checksum {
            url: url.to_owned(),
            expected: format!("sha256 {sha256}, {size} bytes"),
            actual: format!("sha256 {actual}, {} bytes", bytes.len()),
        });
    }
    decompress(url, &bytes)
}

/// Reads one suite of an archive: its Release, then the verified `Packages` index of `component`.
/// `Ok(None)` when the suite's Release is not on the archive at all (404).
pub fn read_suite(
    web: &dyn Fetch,
    base: &str,
    suite: &str,
    component: &str,
    arch: &str,
) -> Result<Option<(Release, Vec<Package>)>, CrawlError> {
    let release_url = join(base, &format!("dists/{suite}/Release"));
    let release = match web.get(&release_url) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let release = String::from_utf8(release).map_err(|_| CrawlError::Parse {
        url: release_url.clone(),
        reason: "not UTF-8 text".into(),
    })?;
    let release = parse_release(&release);
    if release.sha256.is_empty() {
        return Err(CrawlError::Parse { url: release_url, reason: "no SHA256 section".into() });
    }
    let Some((path, sha, size)) = release.packages_index(component, arch) else {
        return Err(CrawlError::MissingIndex {
            url: release_url,
            wanted: format!("{component}/binary-{arch}/Packages{{.xz,.gz,}}"),
        });
    };
    let url = join(base, &format!("dists/{suite}/{path}"));
    let text = fetch_verified(web, &url, sha, size)?;
    let text = String::from_utf8(text).map_err(|_| CrawlError::Parse { url, reason: "not UTF-8 text".into() })?;
    let packages = parse_packages(&text, base, suite);
    Ok(Some((release, packages)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = concat!(
        "Origin: Debian\nLabel: Debian\nSuite: oldstable\nCodename: bookworm\n",
        "Components: main contrib non-free-firmware non-free\nMD5Sum:\n",
        " 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all\n",
        " b838d31986207780a596ce3e8010f90f  8790396 main/binary-amd64/Packages.xz\n",
        "SHA256:\n",
        " 515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f 50060337 main/binary-amd64/Packages\n",
        " 6777ea16514725f9427f48c240d92e0a6b8496138e37a1491d8597e66774e309 12084798 main/binary-amd64/Packages.gz\n",
        " 9E0B5AABB2465B3D2E7A7FE27F9913846277833F7A2826E7767ACCCFF5B588C5  8790396 main/binary-amd64/Packages.xz\n",
        " c49617c0b30619d7403f5e66de60aeeb47c6488262e4327418830d0d6e83500a   383968 main/binary-arm64/Packages.gz\n",
    );

    #[test]
    fn release_gives_codename_components_and_the_best_index() {
        let r = parse_release(RELEASE);
        assert_eq!(r.codename.as_deref(), Some("bookworm"));
        assert_eq!(r.suite.as_deref(), Some("oldstable"));
        assert_eq!(r.components, ["main", "contrib", "non-free-firmware", "non-free"]);
        assert_eq!(r.sha256.len(), 4, "MD5Sum lines are not taken as sha256");
        assert_eq!(
            r.packages_index("main", "amd64"),
            Some(("main/binary-amd64/Packages.xz", "9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5", 8790396))
        );
        assert_eq!(r.packages_index("main", "arm64").map(|p| p.0), Some("main/binary-arm64/Packages.gz"));
        assert_eq!(r.packages_index("main", "i386"), None);
    }

    #[test]
    fn packages_stanzas_give_name_version_file_and_depends() {
        let text = "Package: linux-headers-6.1.0-47-rt-amd64\nSource: linux\nVersion: 6.1.170-3\nInstalled-Size: 4050\n\
Depends: linux-headers-6.1.0-47-common-rt (= 6.1.170-3), linux-kbuild-6.1 (>= 6.1.170-3), linux-compiler-gcc-12-x86\n\
Architecture: amd64\nDescription: Header files for Linux 6.1.0-47-rt-amd64\n This package provides the architecture-specific\n \
kernel header files.\nFilename: pool/main/l/linux/linux-headers-6.1.0-47-rt-amd64_6.1.170-3_amd64.deb\nSize: 1\n\
SHA256: ABCD\n\nPackage: broken-no-filename\nVersion: 1\n\nPackage: epoch\nVersion: 2:1.0-1\nFilename: pool/e.deb\n";
        let p = parse_packages(text, "http://mirror.example/debian/", "bookworm");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "linux-headers-6.1.0-47-rt-amd64");
        assert_eq!(p[0].version, "6.1.170-3");
        assert!(p[0].depends.starts_with("linux-headers-6.1.0-47-common-rt (= 6.1.170-3), linux-kbuild-6.1"));
        assert_eq!(p[0].sha256.as_deref(), Some("abcd"));
        assert_eq!(
            p[0].url(),
            "http://mirror.example/debian/pool/main/l/linux/linux-headers-6.1.0-47-rt-amd64_6.1.170-3_amd64.deb"
        );
        assert_eq!(p[1].version_no_epoch(), "1.0-1");
        assert_eq!(p[1].depends, "");
    }

    #[test]
    fn versions_compare_as_dpkg_compares_them() {
        use std::cmp::Ordering::*;
        for (a, b, want) in [
            ("6.1.170-3", "6.1.176-1", Less),
            ("6.12.95-1~bpo12+1", "6.12.95-1", Less),
            ("7.3~rc7-1~exp1", "7.3-1", Less),
            ("6.12.117-1~deb12u1", "6.12.117-1", Less),
            ("1:1.0-1", "2.0-1", Greater),
            ("6.1.192-3", "6.1.192-3", Equal),
            ("1.0a-1", "1.0-1", Greater),
            ("1.0+b1", "1.0", Greater),
        ] {
            assert_eq!(version_cmp(a, b), want, "{a} vs {b}");
        }
        assert!(satisfies("6.1.176-1", ">=", "6.1.170-3"));
        assert!(!satisfies("6.1.170-3", ">>", "6.1.170-3"));
        let dep = "linux-headers-6.1.0-47-common (= 6.1.170-3), linux-kbuild-6.1 (>= 6.1.170-3), gcc-12";
        assert_eq!(relation(dep, "linux-kbuild-6.1"), Some((">=", "6.1.170-3")));
        assert_eq!(relation(dep, "gcc-12"), Some(("", "")));
        assert_eq!(relation(dep, "linux-kbuild-6"), None);
    }

    #[test]
    fn decompression_follows_the_extension_and_reports_garbage() {
        let mut xz = Vec::new();
        {
            use std::io::Write;
            let mut w = xz2::write::XzEncoder::new(&mut xz, 6);
            w.write_all(b"Package: a\n").expect("xz");
            w.finish().expect("xz");
        }
        assert_eq!(decompress("x/Packages.xz", &xz).expect("xz"), b"Package: a\n");
        let err = decompress("x/Packages.gz", b"not gzip").expect_err("garbage");
        assert!(err.to_string().contains("x/Packages.gz"), "{err}");
        assert_eq!(decompress("x/Packages", b"plain").expect("plain"), b"plain");
    }
}
