//! The Debian mirror this machine's apt is configured with, read from its sources (`*.sources` in
//! deb822 form and one-line `sources.list` files), so nothing names a mirror host in code. Image builds
//! debootstrap from it and the Debian target looks for header pools on it; the kernel crawler can
//! share [`apt_mirror`].

use std::path::{Path, PathBuf};

/// The Debian archive and its security sibling, as apt's sources name them (no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptMirror {
    /// `http://mirror.example/debian`.
    pub debian: String,
    /// `http://mirror.example/debian-security`, when apt has a security source.
    pub security: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AptError {
    #[error("no Debian mirror in apt's sources under {0} (no `deb` source with a Debian suite): pass the mirror explicitly (`--mirror URL`)")]
    NoMirror(PathBuf),
}

/// One `deb` entry of apt's sources: a URI and its suites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptSource {
    pub uri: String,
    pub suites: Vec<String>,
}

/// The `deb` sources of deb822 text (`Types:`/`URIs:`/`Suites:` stanzas; comments and `deb-src` skipped).
pub fn parse_deb822(text: &str) -> Vec<AptSource> {
    let mut found = Vec::new();
    for stanza in text.split("\n\n") {
        let (mut types, mut uris, mut suites, mut enabled) =
            (Vec::new(), Vec::new(), Vec::new(), true);
        let mut field: Option<&str> = None;
        for line in stanza.lines() {
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            // Continuation lines (leading space) extend the previous field's value list.
            let (name, value) = match line.split_once(':') {
                Some((name, value)) if !line.starts_with(' ') && !line.starts_with('\t') => {
                    field = Some(name.trim());
                    (name.trim(), value)
                }
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
            found.extend(uris.into_iter().map(|uri| AptSource {
                uri,
                suites: suites.clone(),
            }));
        }
    }
    found
}

/// The `deb` lines of a one-line-style `sources.list` (`deb [opts] URI SUITE COMPONENTS...`).
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
            let close = rest.iter().position(|w| w.ends_with(']')).unwrap_or(0);
            rest.drain(..=close);
        }
        if let [uri, suite, ..] = rest.as_slice() {
            found.push(AptSource {
                uri: (*uri).to_owned(),
                suites: vec![(*suite).to_owned()],
            });
        }
    }
    found
}

/// The mirror among `sources`: the first URI serving a non-security suite is the archive; the first
/// serving a `-security` suite (or `debian-security` path) its security sibling. With no security
/// source, the archive's `-security` sibling path is not guessed: callers that need it say so.
pub fn mirror_of(sources: &[AptSource]) -> Option<AptMirror> {
    let is_security = |s: &AptSource| {
        s.uri.trim_end_matches('/').ends_with("-security")
            || s.suites
                .iter()
                .any(|x| x.ends_with("-security") || x.ends_with("/updates"))
    };
    let debian = sources
        .iter()
        .find(|s| !is_security(s))?
        .uri
        .trim_end_matches('/')
        .to_owned();
    let security = sources
        .iter()
        .find(|s| is_security(s))
        .map(|s| s.uri.trim_end_matches('/').to_owned());
    Some(AptMirror { debian, security })
}

/// The mirror of the apt configuration under `etc_apt` (normally `/etc/apt`).
pub fn mirror_in(etc_apt: &Path) -> Result<AptMirror, AptError> {
    let mut sources = Vec::new();
    if let Ok(text) = std::fs::read_to_string(etc_apt.join("sources.list")) {
        sources.extend(parse_one_line(&text));
    }
    let mut parts: Vec<PathBuf> = std::fs::read_dir(etc_apt.join("sources.list.d"))
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    parts.sort();
    for path in parts {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match path.extension().and_then(|e| e.to_str()) {
            Some("sources") => sources.extend(parse_deb822(&text)),
            Some("list") => sources.extend(parse_one_line(&text)),
            _ => {}
        }
    }
    mirror_of(&sources).ok_or_else(|| AptError::NoMirror(etc_apt.to_owned()))
}

/// This machine's Debian mirror: `$DRIVERKIT_DEBIAN_MIRROR` (and `$DRIVERKIT_DEBIAN_SECURITY_MIRROR`)
/// when set, else apt's sources under `/etc/apt`.
pub fn apt_mirror() -> Result<AptMirror, AptError> {
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().trim_end_matches('/').to_owned())
    };
    let apt = mirror_in(Path::new("/etc/apt"));
    match from_env("DRIVERKIT_DEBIAN_MIRROR") {
        Some(debian) => Ok(AptMirror {
            security: from_env("DRIVERKIT_DEBIAN_SECURITY_MIRROR")
                .or_else(|| apt.ok().and_then(|m| m.security)),
            debian,
        }),
        None => {
            let mut mirror = apt?;
            if let Some(security) = from_env("DRIVERKIT_DEBIAN_SECURITY_MIRROR") {
                mirror.security = Some(security);
            }
            Ok(mirror)
        }
    }
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
        assert_eq!(
            sources.len(),
            2,
            "the disabled stanza is skipped: {sources:?}"
        );
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
    fn one_line_sources_with_options_parse() {
        let text = "# old style\ndeb-src http://src.example/debian bookworm main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n\
                    deb http://mirror.example/debian-security bookworm-security main\n";
        let sources = parse_one_line(text);
        assert_eq!(sources.len(), 2, "{sources:?}");
        let mirror = mirror_of(&sources).expect("a mirror");
        assert_eq!(mirror.debian, "http://mirror.example/debian");
        assert_eq!(
            mirror.security.as_deref(),
            Some("http://mirror.example/debian-security")
        );
    }

    #[test]
    fn a_configuration_without_sources_says_to_pass_the_mirror() {
        let dir = tempfile::tempdir().expect("tmp");
        let err = mirror_in(dir.path()).expect_err("no sources").to_string();
        assert!(err.contains("--mirror"), "{err}");
        std::fs::create_dir_all(dir.path().join("sources.list.d")).expect("mkdir");
        std::fs::write(dir.path().join("sources.list.d/debian.sources"), DEB822).expect("write");
        std::fs::write(
            dir.path().join("sources.list.d/notes.txt"),
            "deb http://ignored.example/x sid main\n",
        )
        .expect("write");
        let mirror = mirror_in(dir.path()).expect("read");
        assert_eq!(mirror.debian, "http://mirror.example/debian");
    }
}
