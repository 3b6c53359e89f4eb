//! Downloading a driver: the repositories in order, each asked for its signed `index.json` first; the
//! artifact streamed into a temporary file beside its place in the cache, hashed on the way, and
//! renamed into `<cache>/<driverversion>/<arch>/<file>` only when its size and sha256 are the ones the
//! signed index gives. A bad signature, a file the index does not list, a mismatch or a short
//! download leaves nothing in the cache.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use driver_index::name::repository_path;
use driver_index::{ArtifactName, Index, INDEX_FILE, SIGNATURE_FILE};
use minisign::PublicKey;
use sha2::{Digest, Sha256};

use crate::{Arch, Error, Report};

/// The public key the loader ships: the one that signs the project's published `index.json`.
pub const SHIPPED_PUBLIC_KEY: &str = include_str!("../keys/repository.pub");

/// The largest `index.json` or signature read.
const INDEX_LIMIT: u64 = 64 << 20;

/// How downloads are made and checked.
pub struct Options {
    /// Per attempt, connecting and reading included (`--http-timeout`).
    pub timeout: Duration,
    /// `--http-headers`: `(name, value)` pairs sent with every request.
    pub headers: Vec<(String, String)>,
    /// `--http-insecure`: accept any TLS certificate.
    pub insecure_tls: bool,
    /// `--insecure-skip-verify`: no signature, no checksum.
    pub skip_verify: bool,
    /// The key `index.json.minisig` must verify with, and where it came from (for messages).
    pub public_key: (PublicKey, String),
    /// Attempts per URL for failures that may pass (connection errors, 5xx, short reads).
    pub attempts: u32,
    /// The wait before the second attempt, doubled for each further one.
    pub backoff: Duration,
}

impl Options {
    /// falcoctl's defaults with the shipped key: 60 s per attempt, three attempts.
    pub fn new() -> Result<Options, Error> {
        Ok(Options {
            timeout: Duration::from_secs(60),
            headers: Vec::new(),
            insecure_tls: false,
            skip_verify: false,
            public_key: (shipped_key()?, "the shipped repository key".into()),
            attempts: 3,
            backoff: Duration::from_millis(500),
        })
    }
}

pub fn shipped_key() -> Result<PublicKey, Error> {
    driver_index::index::public_key_from_text(SHIPPED_PUBLIC_KEY)
        .map_err(|e| Error::Invalid(format!("the shipped public key is unreadable: {e}")))
}

/// Reads a public key file (`dbg.pub`, `minisign.pub`).
pub fn read_key(path: &Path) -> Result<PublicKey, Error> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    driver_index::index::public_key_from_text(&text).map_err(|e| Error::Config {
        path: path.to_owned(),
        detail: format!("not a minisign public key: {e}"),
    })
}

/// `--http-headers`: `Name: value` pairs separated by `,`.
pub fn parse_headers(text: &str) -> Result<Vec<(String, String)>, Error> {
    text.split(',')
        .filter(|h| !h.trim().is_empty())
        .map(|h| {
            let (k, v) = h.split_once(':').ok_or_else(|| {
                Error::Invalid(format!(
                    "--http-headers: {h:?} is not `Name: value` (e.g. --http-headers='x-emc-namespace: default,Proxy-Authenticate: Basic')"
                ))
            })?;
            Ok((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// Where a driver lives in the cache: `<cache>/<driverversion>/<arch>/<file>` (the version not
/// escaped, as falcoctl keeps it).
pub fn cache_path(cache: &Path, driver_version: &str, arch: Arch, name: &ArtifactName) -> PathBuf {
    cache
        .join(driver_version)
        .join(arch.as_str())
        .join(name.file_name())
}

/// How a driver was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    /// The repository it came from; `None` when the cache already held it.
    pub repo: Option<String>,
    /// Its sha256, checked against the signed index; `None` when verification was skipped.
    pub sha256: Option<String>,
}

/// Why one repository did not give the driver.
enum Failure {
    /// Not there (HTTP 404 and the like): the next repository may have it.
    Missing(String),
    /// Unreachable or broken transfer.
    Transport(String),
    /// The repository answered with something that must not be loaded.
    Refused(String),
}

/// Gets `name` for `driver_version`/`arch` into the cache, from the first repository that has it
/// and whose signed index vouches for its bytes.
pub fn fetch(
    repos: &[String],
    driver_version: &str,
    arch: Arch,
    name: &ArtifactName,
    cache: &Path,
    options: &Options,
    report: &dyn Report,
) -> Result<Fetched, Error> {
    if repos.is_empty() {
        return Err(Error::Download(format!(
            "no driver repository to download {} from: give one with --repo URL (repeatable), FALCOCTL_DRIVER_REPOS or driver.repos in {} (`dbg drivers publish` makes one)",
            name.file_name(),
            crate::settings::CONFIG_PATH
        )));
    }
    let dest = cache_path(cache, driver_version, arch, name);
    let rel = repository_path(driver_version, arch, name);
    let client = client(options)?;
    if options.skip_verify {
        report.warn(&format!(
            "--insecure-skip-verify: NOT checking the signature of index.json nor the sha256 of {}: whatever the repository or the cache holds will be loaded",
            name.file_name()
        ));
        if dest.is_file() {
            report.warn(&format!(
                "using the cached {} without checking it",
                dest.display()
            ));
            return Ok(Fetched {
                path: dest,
                repo: None,
                sha256: None,
            });
        }
    }
    let mut failures = Vec::new();
    for repo in repos {
        let base = repo.trim_end_matches('/');
        match fetch_from(&client, base, &rel, name, &dest, options, report) {
            Ok(fetched) => return Ok(fetched),
            Err(failure) => {
                let (kind, text) = match &failure {
                    Failure::Missing(t) => ("missing", t),
                    Failure::Transport(t) => ("unreachable", t),
                    Failure::Refused(t) => ("refused", t),
                };
                report.warn(&format!("{base}: {text}"));
                failures.push((kind, format!("{base}: {text}")));
            }
        }
    }
    let refused = failures.iter().any(|(k, _)| *k == "refused");
    let lines: Vec<String> = failures.into_iter().map(|(_, t)| t).collect();
    let text = format!(
        "no repository gave a {} {}:\n  {}",
        if options.skip_verify {
            "downloadable"
        } else {
            "verified"
        },
        name.file_name(),
        lines.join("\n  ")
    );
    Err(if refused {
        Error::Verify(text)
    } else {
        Error::Download(text)
    })
}

fn client(options: &Options) -> Result<reqwest::blocking::Client, Error> {
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &options.headers {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| Error::Invalid(format!("--http-headers: {k:?}: {e}")))?;
        let value = reqwest::header::HeaderValue::from_str(v)
            .map_err(|e| Error::Invalid(format!("--http-headers: {k}: {e}")))?;
        headers.append(name, value);
    }
    reqwest::blocking::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .default_headers(headers)
        .danger_accept_invalid_certs(options.insecure_tls)
        .build()
        .map_err(|e| Error::Download(format!("cannot make an HTTP client: {e}")))
}

fn fetch_from(
    client: &reqwest::blocking::Client,
    base: &str,
    rel: &str,
    name: &ArtifactName,
    dest: &Path,
    options: &Options,
    report: &dyn Report,
) -> Result<Fetched, Failure> {
    let url = format!("{base}/{rel}");
    if options.skip_verify {
        report.info(&format!("downloading {url} (unverified)"));
        let (staged, _, _) = download(client, &url, dest, options, None)?;
        persist(staged, dest)?;
        return Ok(Fetched {
            path: dest.to_owned(),
            repo: Some(base.to_owned()),
            sha256: None,
        });
    }
    let entry = signed_entry(client, base, rel, name, options)?;
    if dest.is_file() {
        match crate_sha256(dest) {
            Ok(digest) if digest == entry.sha256 => {
                report.info(&format!(
                    "{} is cached and matches the signed index of {base}",
                    dest.display()
                ));
                return Ok(Fetched {
                    path: dest.to_owned(),
                    repo: None,
                    sha256: Some(digest),
                });
            }
            _ => {
                report.warn(&format!(
                    "the cached {} does not match the signed index of {base}: removed, downloading again",
                    dest.display()
                ));
                let _ = std::fs::remove_file(dest);
            }
        }
    }
    report.info(&format!("downloading {url}"));
    let (staged, size, digest) = download(client, &url, dest, options, Some(entry.size))?;
    if size != entry.size {
        return Err(Failure::Refused(format!(
            "{url}: {size} bytes, the signed index says {}: refused, nothing kept",
            entry.size
        )));
    }
    if digest != entry.sha256 {
        return Err(Failure::Refused(format!(
            "{url}: sha256 mismatch: the download hashes to {digest}, the signed index says {}: refused, nothing kept",
            entry.sha256
        )));
    }
    persist(staged, dest)?;
    Ok(Fetched {
        path: dest.to_owned(),
        repo: Some(base.to_owned()),
        sha256: Some(digest),
    })
}

fn crate_sha256(path: &Path) -> std::io::Result<String> {
    driver_index::sha256_file(path)
}

fn hex(bytes: &[u8]) -> String {
    driver_index::hex(bytes)
}

fn persist(staged: tempfile::NamedTempFile, dest: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let local = |e: std::io::Error| Failure::Transport(format!("{}: {e}", dest.display()));
    staged
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(local)?;
    staged.as_file().sync_all().map_err(local)?;
    staged.persist(dest).map_err(|e| local(e.error))?;
    Ok(())
}

/// The index entry for `rel`, from `<base>/index.json` verified by `<base>/index.json.minisig`.
fn signed_entry(
    client: &reqwest::blocking::Client,
    base: &str,
    rel: &str,
    name: &ArtifactName,
    options: &Options,
) -> Result<driver_index::Entry, Failure> {
    let index_url = format!("{base}/{INDEX_FILE}");
    let sig_url = format!("{base}/{SIGNATURE_FILE}");
    let json = get_small(client, &index_url, options)?;
    let signature = get_small(client, &sig_url, options).map_err(|f| match f {
        Failure::Missing(t) => Failure::Refused(format!(
            "{t}: index.json is not signed, so nothing it lists can be trusted (pass --insecure-skip-verify to load unverified drivers)"
        )),
        other => other,
    })?;
    let signature = String::from_utf8(signature)
        .map_err(|_| Failure::Refused(format!("{sig_url} is not a minisign signature")))?;
    let (key, key_name) = &options.public_key;
    driver_index::index::check_signature(key, &json, &signature).map_err(|e| {
        Failure::Refused(format!(
            "bad signature: {index_url} does not verify with {key_name} ({e}): refusing everything it lists"
        ))
    })?;
    let index: Index = serde_json::from_slice(&json).map_err(|e| {
        Failure::Refused(format!(
            "{index_url} is signed but unreadable as an index: {e}"
        ))
    })?;
    if index.driver_name != name.driver_name {
        return Err(Failure::Missing(format!(
            "the repository holds {} drivers, not {}",
            index.driver_name, name.driver_name
        )));
    }
    let entry = index.find(rel).ok_or_else(|| {
        Failure::Missing(format!(
            "{rel} is not in its signed index.json (no prebuilt driver for this kernel there)"
        ))
    })?;
    if entry.expected_path(&index.driver_name) != rel {
        return Err(Failure::Refused(format!(
            "the signed index lists {rel} with another kernel's fields: refused"
        )));
    }
    Ok(entry.clone())
}

/// A GET with retries for what may pass; the whole body, up to [`INDEX_LIMIT`].
fn get_small(
    client: &reqwest::blocking::Client,
    url: &str,
    options: &Options,
) -> Result<Vec<u8>, Failure> {
    with_retries(options, || {
        let response = send(client, url)?;
        let mut body = Vec::new();
        response
            .take(INDEX_LIMIT)
            .read_to_end(&mut body)
            .map_err(|e| Failure::Transport(format!("{url}: reading the body: {e}")))?;
        Ok(body)
    })
}

fn send(
    client: &reqwest::blocking::Client,
    url: &str,
) -> Result<reqwest::blocking::Response, Failure> {
    let response = client
        .get(url)
        .send()
        .map_err(|e| Failure::Transport(format!("{url}: {}", error_chain(&e))))?;
    let status = response.status();
    if status.is_success() {
        Ok(response)
    } else if status.is_server_error() {
        Err(Failure::Transport(format!("{url}: HTTP {status}")))
    } else {
        Err(Failure::Missing(format!("{url}: HTTP {status}")))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn with_retries<T>(
    options: &Options,
    mut attempt: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut wait = options.backoff;
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Err(Failure::Transport(why)) if tries < options.attempts.max(1) => {
                let _ = why;
                std::thread::sleep(wait);
                wait *= 2;
            }
            Err(Failure::Transport(why)) if tries > 1 => {
                return Err(Failure::Transport(format!(
                    "{why} (after {tries} attempts)"
                )))
            }
            other => return other,
        }
    }
}

/// Streams `url` into a temporary file in `dest`'s folder, hashing it; removed unless persisted.
fn download(
    client: &reqwest::blocking::Client,
    url: &str,
    dest: &Path,
    options: &Options,
    expected: Option<u64>,
) -> Result<(tempfile::NamedTempFile, u64, String), Failure> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let local = |e: std::io::Error| Failure::Transport(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(local)?;
    with_retries(options, || {
        let mut response = send(client, url)?;
        let announced = response.content_length();
        let mut staged = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)
            .map_err(local)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let limit = expected.map_or(u64::MAX, |e| e + 1);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match response.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let of = announced.map_or(String::new(), |a| format!(" of {a}"));
                    return Err(Failure::Transport(format!(
                        "{url}: truncated download: the transfer broke after {size}{of} bytes ({e})"
                    )));
                }
            };
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
            staged.write_all(&buf[..n]).map_err(local)?;
            if size >= limit {
                break;
            }
        }
        if let Some(a) = announced.filter(|&a| a != size) {
            return Err(Failure::Transport(format!(
                "{url}: truncated download: received {size} of {a} bytes"
            )));
        }
        Ok((staged, size, hex(&hasher.finalize())))
    })
}
