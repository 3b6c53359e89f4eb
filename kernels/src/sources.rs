//! The Debian archive this machine's apt uses, read from its sources, so no mirror is written into
//! code. The one reader of apt's sources for the whole tree: the crawler, the builder (debootstrap, the
//! header pools) and the VM tests all ask [`apt_mirror`] (or [`mirror_in`] for another `/etc/apt`).

use std::path::{Path, PathBuf};

/// Variables that name the Debian archive instead of apt's sources, first set wins (the builder's and
/// the VM tests' names, kept so existing scripts go on working).
pub const MIRROR_ENV: [&str; 2] = ["DRIVERKIT_DEBIAN_MIRROR", "TEST_INFRA_MIRROR"];
/// Variables that name the Debian security archive instead of apt's sources.
pub const SECURITY_MIRROR_ENV: [&str; 1] = ["DRIVERKIT_DEBIAN_SECURITY_MIRROR"];

/// The Debian archive and its security sibling, as apt's sources name them (no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptMirror {
    /// `http://mirror.example/debian`.
    pub debian: String,
    /// `http://mirror.example/debian-security`, when apt has a security source.
    pub security: Option<String>,
}

impl AptMirror {
    /// The security archive: apt's, else the `debian-security` sibling of the archive's URL.
    pub fn security_or_sibling(&self) -> String {
        self.security.clone().unwrap_or_else(|| security_sibling(&self.debian))
    }
}

/// The security archive's usual place: the `debian-security` sibling of the archive's URL.
pub fn security_sibling(mirror: &str) -> String {
    let trimmed = mirror.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((host, "debian")) => format!("{host}/debian-security"),
        _ => format!("{trimmed}-security"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("no Debian mirror in apt's sources under {0} (no http(s) `deb` source with a Debian suite): pass the mirror explicitly (`--mirror URL`) or set DRIVERKIT_DEBIAN_MIRROR=http://.../debian")]
    NoMirror(PathBuf),
}

/// One `deb` entry of apt's sources: a URI and its suites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptSource {
    pub uri: String,
    pub suites: Vec<String>,
}

/// The `deb` sources of deb822 text (`Types:`/`URIs:`/`Suites:` stanzas, field names in any case,
/// values continued on indented lines; comments, `deb-src` and `Enabled: no` stanzas skipped).
pub fn parse_deb822(text: &str) -> Vec<AptSource> {
    let mut found = Vec::new();
    for stanza in text.split("\n\n") {
        let (mut types, mut uris, mut suites, mut enabled) = (Vec::new(), Vec::new(), Vec::new(), true);
        let mut field: Option<&str> = None;
        for line in stanza.lines() {
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (name, value) = match line.split_once(':') {
                Some((name, value)) if !line.starts_with(' ') && !line.starts_with('\t') => {
                    field = Some(name.trim());
                    (name.trim(), value)
                }
                // A continuation line: more values of the previous field.
                _ => match field {
                    Some(name) => (name, line),
                    None => continue,
                },
            };
            let words = value.split_whitespace().map(str::to_owned);
            match name.to_ascii_lowercase().as_str() {
                "types" => types.extend(words),
                "uris" => uris.extend(words),
                "suites" => suites.extend(words),
                "enabled" => enabled = !value.trim().eq_ignore_ascii_case("no"),
                _ => {}
            }
        }
        if enabled && types.iter().any(|t| t == "deb") {
            found.extend(uris.into_iter().map(|uri| AptSource { uri, suites: suites.clone() }));
        }
    }
    found
}

/// The `deb` lines of one-line `sources.list` text (`deb [opts] URI SUITE COMPONENTS...`).
pub fn parse_one_line(text: &str) -> Vec<AptSource> {
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        if words.next() != Some("deb") {
            continue;
        }
        let mut rest: Vec<&str> = words.collect();
        if rest.first().is_some_and(|w| w.starts_with('[')) {
            match rest.iter().position(|w| w.ends_with(']')) {
                Some(close) => {
                    rest.drain(..=close);
                }
                None => continue,
            }
        }
        if let [uri, suite, ..] = rest.as_slice() {
            found.push(AptSource { uri: (*uri).to_owned(), suites: vec![(*suite).to_owned()] });
        }
    }
    found
}

/// The mirror among `sources` (http and https ones only: `file:` and `cdrom:` sources cannot be
/// crawled or debootstrapped from): the first URI serving a non-security suite is the archive, the
/// first serving a `-security` suite (or a `-security` path) its security sibling. With no security
/// source, `security` is `None` ([`AptMirror::security_or_sibling`] guesses).
pub fn mirror_of(sources: &[AptSource]) -> Option<AptMirror> {
    let http = |s: &&AptSource| s.uri.starts_with("http://") || s.uri.starts_with("https://");
    let is_security = |s: &AptSource| {
        s.uri.trim_end_matches('/').ends_with("-security")
            || s.suites.iter().any(|x| x.ends_with("-security") || x.ends_with("/updates"))
    };
    let trim = |s: &AptSource| s.uri.trim_end_matches('/').to_owned();
    let debian = sources.iter().filter(http).find(|s| !is_security(s)).map(trim)?;
    let security = sources.iter().filter(http).find(|s| is_security(s)).map(trim);
    Some(AptMirror { debian, security })
}

/// The archive of apt sources text in either format: the first non-security http(s) URI.
pub fn mirror_in_sources(text: &str) -> Option<String> {
    let mut sources = parse_deb822(text);
    sources.extend(parse_one_line(text));
    mirror_of(&sources).map(|m| m.debian)
}

/// The mirror of the apt configuration under `etc_apt` (normally `/etc/apt`): the `*.sources` (deb822)
/// and `*.list` files of `sources.list.d/` in name order, then `sources.list`.
pub fn mirror_in(etc_apt: &Path) -> Result<AptMirror, SourcesError> {
    let mut sources = Vec::new();
    let mut parts: Vec<PathBuf> = std::fs::read_dir(etc_apt.join("sources.list.d"))
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    parts.sort();
    for path in parts {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        match path.extension().and_then(|e| e.to_str()) {
            Some("sources") => sources.extend(parse_deb822(&text)),
            Some("list") => sources.extend(parse_one_line(&text)),
            _ => {}
        }
    }
    if let Ok(text) = std::fs::read_to_string(etc_apt.join("sources.list")) {
        sources.extend(parse_one_line(&text));
    }
    mirror_of(&sources).ok_or_else(|| SourcesError::NoMirror(etc_apt.to_owned()))
}

/// [`mirror_in`] with the overrides of [`MIRROR_ENV`] and [`SECURITY_MIRROR_ENV`] as `env` gives
/// them (an archive override does not need apt's sources at all).
pub fn mirror_with_env(etc_apt: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<AptMirror, SourcesError> {
    let first = |names: &[&str]| {
        names
            .iter()
            .filter_map(|n| env(n))
            .map(|v| v.trim().trim_end_matches('/').to_owned())
            .find(|v| !v.is_empty())
    };
    let security = first(&SECURITY_MIRROR_ENV);
    let apt = mirror_in(etc_apt);
    let mut mirror = match first(&MIRROR_ENV) {
        Some(debian) => AptMirror { debian, security: apt.ok().and_then(|m| m.security) },
        None => apt?,
    };
    if security.is_some() {
        mirror.security = security;
    }
    Ok(mirror)
}

/// This machine's Debian mirror: `$DRIVERKIT_DEBIAN_MIRROR` or `$TEST_INFRA_MIRROR` (and
/// `$DRIVERKIT_DEBIAN_SECURITY_MIRROR`) when set, else apt's sources under `/etc/apt`.
pub fn apt_mirror() -> Result<AptMirror, SourcesError> {
    mirror_with_env(Path::new("/etc/apt"), &|name| std::env::var(name).ok())
}

/// The Debian archive of the apt configuration under `dir`, without overrides.
pub fn apt_debian_mirror(dir: &Path) -> Option<String> {
    mirror_in(dir).ok().map(|m| m.debian)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEB822: &str = "Types: deb\n# a comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\
                          Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                          Types: deb deb-src\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n\
                          Types: deb\nEnabled: no\nURIs: http://other.example/debian\nSuites: sid\n";

    #[test]
    fn deb822_sources_give_the_archive_and_its_security_sibling() {
        let sources = parse_deb822(DEB822);
        assert_eq!(sources.len(), 2, "the disabled stanza is skipped: {sources:?}");
        assert_eq!(sources[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(
            mirror_of(&sources),
            Some(AptMirror {
                debian: "http://mirror.example/debian".into(),
                security: Some("http://mirror.example/debian-security".into())
            })
        );
    }

    #[test]
    fn deb822_security_first_deb_src_disabled_and_continuation_lines() {
        let text = "Types: deb\n# a comment\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\
Components: main\n\nTypes: deb-src deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n";
        assert_eq!(mirror_in_sources(text).as_deref(), Some("http://mirror.example/debian"));
        assert_eq!(mirror_in_sources("Types: deb-src\nURIs: http://mirror.example/debian\nSuites: sid\n"), None);
        assert_eq!(mirror_in_sources("Enabled: no\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: sid\n"), None);
        let continued = "types: deb\nURIs:\n cdrom:/media/\n http://mirror.example/debian\nSuites: sid\n";
        let sources = parse_deb822(continued);
        assert_eq!(sources.len(), 2, "{sources:?}");
        assert_eq!(mirror_in_sources(continued).as_deref(), Some("http://mirror.example/debian"), "cdrom: is skipped");
    }

    #[test]
    fn one_line_sources_with_options_parse() {
        let text = "# deb http://old.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\n\
                    deb http://mirror.example/debian-security bookworm-security main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib\n\
                    deb [broken http://nowhere.example/debian sid main\n";
        let sources = parse_one_line(text);
        assert_eq!(sources.len(), 2, "{sources:?}");
        let mirror = mirror_of(&sources).expect("a mirror");
        assert_eq!(mirror.debian, "http://mirror.example/debian");
        assert_eq!(mirror.security.as_deref(), Some("http://mirror.example/debian-security"));
        assert_eq!(mirror_in_sources(text).as_deref(), Some("http://mirror.example/debian"));
        assert_eq!(mirror_in_sources("nothing here"), None);
    }

    #[test]
    fn the_security_archive_is_apts_or_the_sibling() {
        assert_eq!(security_sibling("http://mirror.example/debian/"), "http://mirror.example/debian-security");
        assert_eq!(security_sibling("http://mirror.example/deb"), "http://mirror.example/deb-security");
        let m = AptMirror { debian: "http://mirror.example/debian".into(), security: None };
        assert_eq!(m.security_or_sibling(), "http://mirror.example/debian-security");
        let m = AptMirror { security: Some("http://sec.example/ds".into()), ..m };
        assert_eq!(m.security_or_sibling(), "http://sec.example/ds");
    }

    #[test]
    fn the_sources_folder_is_read_before_sources_list_and_other_files_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = mirror_in(dir.path()).expect_err("no sources").to_string();
        assert!(err.contains("--mirror") && err.contains("DRIVERKIT_DEBIAN_MIRROR"), "{err}");
        std::fs::create_dir(dir.path().join("sources.list.d")).expect("mkdir");
        std::fs::write(dir.path().join("sources.list"), "deb http://two.example/debian sid main\n").expect("w");
        assert_eq!(apt_debian_mirror(dir.path()).as_deref(), Some("http://two.example/debian"));
        std::fs::write(dir.path().join("sources.list.d/notes.txt"), "deb http://ignored.example/x sid main\n").expect("w");
        assert_eq!(apt_debian_mirror(dir.path()).as_deref(), Some("http://two.example/debian"));
        std::fs::write(dir.path().join("sources.list.d/debian.sources"), DEB822).expect("w");
        let mirror = mirror_in(dir.path()).expect("read");
        assert_eq!(mirror.debian, "http://mirror.example/debian");
        assert_eq!(mirror.security.as_deref(), Some("http://mirror.example/debian-security"));
        assert_eq!(apt_debian_mirror(&dir.path().join("absent")), None);
    }

    #[test]
    fn environment_overrides_win_and_need_no_sources() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sources.list.d")).expect("mkdir");
        std::fs::write(dir.path().join("sources.list.d/debian.sources"), DEB822).expect("w");
        let none = |_: &str| None;
        assert_eq!(mirror_with_env(dir.path(), &none).expect("apt").debian, "http://mirror.example/debian");
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let m = mirror_with_env(dir.path(), &vars(&[("TEST_INFRA_MIRROR", "http://env.example/debian/")])).expect("env");
        assert_eq!(m.debian, "http://env.example/debian");
        assert_eq!(m.security.as_deref(), Some("http://mirror.example/debian-security"), "apt's security source stays");
        let both = vars(&[
            ("DRIVERKIT_DEBIAN_MIRROR", "http://one.example/debian"),
            ("TEST_INFRA_MIRROR", "http://two.example/debian"),
            ("DRIVERKIT_DEBIAN_SECURITY_MIRROR", "http://one.example/debian-security"),
        ]);
        let m = mirror_with_env(&dir.path().join("absent"), &both).expect("no sources needed");
        assert_eq!(
            m,
            AptMirror {
                debian: "http://one.example/debian".into(),
                security: Some("http://one.example/debian-security".into())
            }
        );
        let blank = vars(&[("DRIVERKIT_DEBIAN_MIRROR", "  ")]);
        assert!(mirror_with_env(&dir.path().join("absent"), &blank).is_err(), "a blank override is no override");
    }
}
