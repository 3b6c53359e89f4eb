//! Debian kernel packages by name: what a headers package needs beside it, and where apt downloads a
//! package from.

use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum AptError {
    #[error("running {tool}: {source}")]
    Spawn { tool: &'static str, source: std::io::Error },
    #[error("apt knows no package {0} (is `apt-get update` done?)")]
    Unknown(String),
    #[error("apt-get download {name}: {detail}")]
    Download { name: String, detail: String },
}

/// A package file as apt would download it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageUri {
    pub url: String,
    /// Lower-case hex, from the archive's signed index.
    pub sha256: Option<String>,
}

/// The `linux-headers-*` and `linux-kbuild-*` packages a headers package depends on: its common tree
/// and kbuild, whose names vary by series (`-common-rt`, `linux-kbuild-6.1` against
/// `linux-kbuild-6.12.117+deb12`).
pub fn build_dependencies(package: &str) -> Result<Vec<String>, AptError> {
    let out = Command::new("apt-cache")
        .args(["show", "--no-all-versions", package])
        .output()
        .map_err(|source| AptError::Spawn { tool: "apt-cache", source })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let depends = text
        .lines()
        .find_map(|l| l.strip_prefix("Depends:"))
        .ok_or_else(|| AptError::Unknown(package.to_owned()))?;
    Ok(parse_build_dependencies(depends))
}

pub fn parse_build_dependencies(depends: &str) -> Vec<String> {
    depends
        .split(',')
        .filter_map(|alt| alt.split('|').next())
        .map(|dep| dep.split_whitespace().next().unwrap_or("").to_owned())
        .filter(|name| name.starts_with("linux-headers-") || name.starts_with("linux-kbuild-"))
        .collect()
}

/// Where apt would download `name` from, and its sha256 (`apt-get download --print-uris`).
pub fn locate(name: &str) -> Result<PackageUri, AptError> {
    let mut found = locate_all(&[name.to_owned()])?;
    found.pop().ok_or_else(|| AptError::Download {
        name: name.to_owned(),
        detail: "apt printed no URI".into(),
    })
}

/// [`locate`] for several packages with one run of apt, in the order given.
pub fn locate_all(names: &[String]) -> Result<Vec<PackageUri>, AptError> {
    let out = Command::new("apt-get")
        .args(["download", "--print-uris"])
        .args(names)
        .output()
        .map_err(|source| AptError::Spawn { tool: "apt-get", source })?;
    let all = names.join(" ");
    if !out.status.success() {
        return Err(AptError::Download {
            name: all,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let uris: Vec<PackageUri> = text.lines().filter_map(parse_print_uris).collect();
    // apt prints in its own order: match each name to the file named after it.
    names
        .iter()
        .map(|name| {
            let prefix = format!("{}_", name.replace('+', "%2b"));
            uris.iter()
                .find(|u| {
                    let file = u.url.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
                    file.starts_with(&prefix.to_ascii_lowercase()) || file.starts_with(&format!("{name}_"))
                })
                .cloned()
                .ok_or_else(|| AptError::Download {
                    name: name.clone(),
                    detail: "apt printed no URI for it".into(),
                })
        })
        .collect()
}

/// `'URL' FILE SIZE SHA256:HEX`.
pub fn parse_print_uris(text: &str) -> Option<PackageUri> {
    let line = text.lines().find(|l| l.starts_with('\''))?;
    let mut fields = line.split_whitespace();
    let url = fields.next()?.trim_matches('\'').to_owned();
    let sha256 = fields
        .find_map(|f| f.strip_prefix("SHA256:"))
        .map(|s| s.to_ascii_lowercase());
    Some(PackageUri { url, sha256 })
}

/// `linux-headers-<release>` and the packages it needs, located.
pub fn header_packages(release: &str) -> Result<Vec<PackageUri>, AptError> {
    let headers = format!("linux-headers-{release}");
    let mut names = vec![headers.clone()];
    names.extend(build_dependencies(&headers)?);
    locate_all(&names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_dependencies_come_from_the_depends_line() {
        let deps = parse_build_dependencies(
            " linux-base (>= 4.12~), linux-headers-6.12.117+deb12-common (= 6.12.117-1~deb12u1), \
             linux-image-6.12.117+deb12-amd64 (= 6.12.117-1~deb12u1) | linux-image-x, linux-kbuild-6.12.117+deb12, gcc-12",
        );
        assert_eq!(deps, ["linux-headers-6.12.117+deb12-common", "linux-kbuild-6.12.117+deb12"]);
        let rt = parse_build_dependencies(
            " linux-headers-6.1.0-47-common-rt (= 6.1.170-3), linux-kbuild-6.1 (>= 6.1.170-3), linux-compiler-gcc-12-x86",
        );
        assert_eq!(rt, ["linux-headers-6.1.0-47-common-rt", "linux-kbuild-6.1"]);
    }

    #[test]
    fn print_uris_lines_give_url_and_checksum() {
        let p = parse_print_uris(
            "'http://mirror.example/debian/pool/main/l/linux/linux-kbuild-6.1_6.1.158-1_amd64.deb' linux-kbuild-6.1_6.1.158-1_amd64.deb 1234 SHA256:ABCDEF\n",
        )
        .expect("parsed");
        assert!(p.url.ends_with("linux-kbuild-6.1_6.1.158-1_amd64.deb"));
        assert_eq!(p.sha256.as_deref(), Some("abcdef"));
    }
}
