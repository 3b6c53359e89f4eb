//! Amazon Linux 1, 2, 2022 and 2023: each repository's `mirror.list` names a mirror, whose repository
//! metadata (`repodata/repomd.xml`, then the primary package list) locates the `kernel-devel` packages of
//! the release.

use std::io::Read;

use regex::Regex;

use super::{GccVersion, Target, TargetError, Web};
use crate::kernelrelease::KernelRelease;

pub enum AmazonLinux {
    V1,
    V2,
    V2022,
    V2023,
}

impl AmazonLinux {
    fn repos(&self) -> &'static [&'static str] {
        match self {
            AmazonLinux::V1 => &[
                "latest/updates", "latest/main", "2017.03/updates", "2017.03/main", "2017.09/updates",
                "2017.09/main", "2018.03/updates", "2018.03/main",
            ],
            AmazonLinux::V2 => &[
                "core/2.0", "core/latest", "extras/kernel-5.4/latest", "extras/kernel-5.10/latest",
                "extras/kernel-5.15/latest",
            ],
            AmazonLinux::V2022 => &["2022.0.20220202", "2022.0.20220315"],
            AmazonLinux::V2023 => &["latest"],
        }
    }

    fn base(&self) -> &'static str {
        match self {
            AmazonLinux::V1 => "http://repo.us-east-1.amazonaws.com",
            AmazonLinux::V2 => "http://amazonlinux.us-east-1.amazonaws.com/2",
            AmazonLinux::V2022 => "https://al2022-repos-us-east-1-9761ab97.s3.dualstack.us-east-1.amazonaws.com/core/mirrors",
            AmazonLinux::V2023 => "https://cdn.amazonlinux.com/al2023/core/mirrors",
        }
    }

    fn mirror_list(&self, repo: &str, kr: &KernelRelease) -> String {
        match self {
            AmazonLinux::V1 => format!("{}/{repo}/mirror.list", self.base()),
            _ => format!("{}/{repo}/{}/mirror.list", self.base(), kr.arch.non_deb()),
        }
    }
}

/// The primary package list's location in a `repomd.xml`.
fn primary_location(repomd: &str) -> Option<String> {
    let re = Regex::new(r#"(?s)<data type="primary">.*?<location href="([^"]+)""#).ok()?;
    re.captures(repomd).map(|c| c[1].to_owned())
}

/// The `kernel-devel` package files of `version`-`release` in a primary package list.
fn devel_locations(primary: &str, version: &str, release: &str) -> Vec<String> {
    let pattern = format!(
        r#"<location href="([^"]*kernel-devel-{}-{}\.[^"]*\.rpm)""#,
        regex::escape(version),
        regex::escape(release)
    );
    let Ok(re) = Regex::new(&pattern) else { return Vec::new() };
    re.captures_iter(primary).map(|c| c[1].to_owned()).collect()
}

/// `href` relative to the directory `base` (`../` climbs out of it, as in a browser).
fn resolve(base: &str, href: &str) -> String {
    let (scheme_host, path) = match base.find("://").and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j)) {
        Some(at) => (&base[..at], &base[at..]),
        None => (base, ""),
    };
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for part in href.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("{scheme_host}/{}", segments.join("/"))
}

impl Target for AmazonLinux {
    fn name(&self) -> &'static str {
        match self {
            AmazonLinux::V1 => "amazonlinux",
            AmazonLinux::V2 => "amazonlinux2",
            AmazonLinux::V2022 => "amazonlinux2022",
            AmazonLinux::V2023 => "amazonlinux2023",
        }
    }

    fn header_urls(&self, kr: &KernelRelease, web: &dyn Web) -> Result<Vec<String>, TargetError> {
        let arch = kr.arch.non_deb();
        let release = kr
            .full_extraversion
            .strip_suffix(&format!(".{arch}"))
            .unwrap_or(&kr.full_extraversion)
            .trim_start_matches('-');
        let mut urls = Vec::new();
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        for repo in self.repos() {
            let list = match web.get_text(&self.mirror_list(repo, kr)) {
                Ok(list) => list,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let Some(mirror) = list.lines().next().map(|m| m.trim().replace("$basearch", arch)) else { continue };
            let mirror = mirror.trim_end_matches('/').to_owned();
            if mirror.is_empty() || seen.contains(&mirror) {
                continue;
            }
            seen.push(mirror.clone());
            let primary = web
                .get_text(&format!("{mirror}/repodata/repomd.xml"))
                .ok()
                .and_then(|repomd| primary_location(&repomd))
                .and_then(|loc| web.get_bytes(&format!("{mirror}/{loc}")).ok())
                .and_then(|gz| {
                    let mut text = String::new();
                    flate2::read::MultiGzDecoder::new(gz.as_slice()).read_to_string(&mut text).ok()?;
                    Some(text)
                });
            match primary {
                Some(primary) => {
                    for loc in devel_locations(&primary, &kr.fullversion, release) {
                        let url = resolve(&mirror, &loc);
                        if !urls.contains(&url) {
                            urls.push(url);
                        }
                    }
                }
                None => problems.push(format!("{mirror}: no readable package list")),
            }
        }
        if urls.is_empty() {
            return Err(TargetError::NoUrls {
                target: self.name(),
                reason: format!(
                    "no kernel-devel-{}-{release} in the repositories ({}); pass the package with `kernelurls`",
                    kr.fullversion,
                    if problems.is_empty() { "none lists it".to_owned() } else { problems.join("; ") }
                ),
            });
        }
        Ok(urls)
    }

    fn kerneldir(&self, _kr: &KernelRelease) -> String {
        super::rpm::KERNELDIR.into()
    }

    fn gcc_version(&self, kr: &KernelRelease) -> Option<GccVersion> {
        match self {
            AmazonLinux::V2 if (kr.major, kr.minor) == (5, 10) => Some(GccVersion(10, 0, 0)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::testing::kr;

    /// A mirror as Amazon's repositories answer: mirror list, repomd.xml, a gzipped primary list.
    struct Repo;
    impl Web for Repo {
        fn get_text(&self, url: &str) -> Result<String, String> {
            match url {
                "http://amazonlinux.us-east-1.amazonaws.com/2/core/2.0/x86_64/mirror.list" => {
                    Ok("http://amazonlinux.us-east-1.amazonaws.com/2/core/2.0/x86_64/abc123/\n".into())
                }
                "http://amazonlinux.us-east-1.amazonaws.com/2/core/2.0/x86_64/abc123/repodata/repomd.xml" => Ok(
                    r#"<repomd><data type="filelists"><location href="repodata/filelists.xml.gz"/></data>
                       <data type="primary"><checksum>x</checksum><location href="repodata/primary.xml.gz"/></data></repomd>"#
                        .into(),
                ),
                _ => Err(format!("{url}: HTTP 404")),
            }
        }

        fn get_bytes(&self, url: &str) -> Result<Vec<u8>, String> {
            if url != "http://amazonlinux.us-east-1.amazonaws.com/2/core/2.0/x86_64/abc123/repodata/primary.xml.gz" {
                return self.get_text(url).map(String::into_bytes);
            }
            let xml = r#"<package><name>kernel-devel</name>
                <location href="../../../../../blobstore/aa/kernel-devel-4.14.326-245.539.amzn2.x86_64.rpm"/></package>
                <package><location href="../../../../../blobstore/bb/kernel-devel-4.14.300-1.amzn2.x86_64.rpm"/></package>"#;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, xml.as_bytes()).map_err(|e| e.to_string())?;
            gz.finish().map_err(|e| e.to_string())
        }
    }

    #[test]
    fn the_package_is_located_through_the_repository_metadata() {
        let urls = AmazonLinux::V2
            .header_urls(&kr("4.14.326-245.539.amzn2.x86_64", "1"), &Repo)
            .expect("found");
        assert_eq!(
            urls,
            ["http://amazonlinux.us-east-1.amazonaws.com/blobstore/aa/kernel-devel-4.14.326-245.539.amzn2.x86_64.rpm"]
        );
        let err = AmazonLinux::V2.header_urls(&kr("4.14.1-1.amzn2.x86_64", "1"), &Repo).expect_err("absent");
        assert!(err.to_string().contains("kernelurls"), "{err}");
        assert_eq!(AmazonLinux::V2.gcc_version(&kr("5.10.109-104.500.amzn2.x86_64", "1")), Some(GccVersion(10, 0, 0)));
        assert_eq!(AmazonLinux::V2023.name(), "amazonlinux2023");
    }
}
