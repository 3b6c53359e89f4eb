//! The Debian archive this machine's apt uses, read from its sources, so no mirror is written into code.

use std::path::Path;

/// The first `deb` source that serves Debian's archive (not its security archive): `URIs:` of a
/// deb822 `.sources` file under `dir/sources.list.d/`, or a `deb URL suite ...` line of
/// `dir/sources.list`. `dir` is normally `/etc/apt`.
pub fn apt_debian_mirror(dir: &Path) -> Option<String> {
    let mut texts = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir.join("sources.list.d")) {
        let mut files: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|e| e == "sources") {
                if let Ok(t) = std::fs::read_to_string(&f) {
                    texts.push((true, t));
                }
            } else if f.extension().is_some_and(|e| e == "list") {
                if let Ok(t) = std::fs::read_to_string(&f) {
                    texts.push((false, t));
                }
            }
        }
    }
    if let Ok(t) = std::fs::read_to_string(dir.join("sources.list")) {
        texts.push((false, t));
    }
    texts.iter().find_map(|(deb822, t)| if *deb822 { from_deb822(t) } else { from_one_line(t) })
}

fn is_archive(uri: &str, suites: &[&str]) -> bool {
    let uri = uri.trim_end_matches('/');
    !uri.ends_with("-security")
        && !suites.iter().any(|s| s.ends_with("-security") || s.ends_with("/updates"))
        && (uri.starts_with("http://") || uri.starts_with("https://"))
}

pub fn from_deb822(text: &str) -> Option<String> {
    for stanza in text.split("\n\n") {
        let mut types = "";
        let mut uris = "";
        let mut suites = "";
        let mut enabled = true;
        for line in stanza.lines() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else { continue };
            match k.trim() {
                "Types" => types = v.trim(),
                "URIs" => uris = v.trim(),
                "Suites" => suites = v.trim(),
                "Enabled" => enabled = !v.trim().eq_ignore_ascii_case("no"),
                _ => {}
            }
        }
        if !enabled || !types.split_whitespace().any(|t| t == "deb") {
            continue;
        }
        let suites: Vec<&str> = suites.split_whitespace().collect();
        if let Some(uri) = uris.split_whitespace().find(|u| is_archive(u, &suites)) {
            return Some(uri.trim_end_matches('/').to_owned());
        }
    }
    None
}

pub fn from_one_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        if words.next() != Some("deb") {
            return None;
        }
        let mut uri = words.next()?;
        if uri.starts_with('[') {
            // Options: `deb [arch=amd64 signed-by=...] URL suite`.
            while !uri.ends_with(']') {
                uri = words.next()?;
            }
            uri = words.next()?;
        }
        let suite = words.next()?;
        is_archive(uri, &[suite]).then(|| uri.trim_end_matches('/').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_gives_the_archive_not_the_security_one() {
        let text = "Types: deb\n# a comment\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\
Components: main\n\nTypes: deb-src deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n";
        assert_eq!(from_deb822(text).as_deref(), Some("http://mirror.example/debian"));
        assert_eq!(from_deb822("Types: deb-src\nURIs: http://mirror.example/debian\nSuites: sid\n"), None);
        assert_eq!(from_deb822("Enabled: no\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: sid\n"), None);
    }

    #[test]
    fn one_line_format_with_and_without_options() {
        let text = "# deb http://old.example/debian bookworm main\n\
deb http://mirror.example/debian-security bookworm-security main\n\
deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib\n";
        assert_eq!(from_one_line(text).as_deref(), Some("http://mirror.example/debian"));
    }

    #[test]
    fn the_sources_folder_is_read_before_sources_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sources.list.d")).expect("mkdir");
        std::fs::write(dir.path().join("sources.list"), "deb http://two.example/debian sid main\n").expect("w");
        assert_eq!(apt_debian_mirror(dir.path()).as_deref(), Some("http://two.example/debian"));
        std::fs::write(
            dir.path().join("sources.list.d/debian.sources"),
            "Types: deb\nURIs: http://one.example/debian\nSuites: bookworm\n",
        )
        .expect("w");
        assert_eq!(apt_debian_mirror(dir.path()).as_deref(), Some("http://one.example/debian"));
        assert_eq!(apt_debian_mirror(&dir.path().join("absent")), None);
    }
}
