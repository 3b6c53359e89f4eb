//! Kernel headers: candidate URLs checked with HTTP HEAD, downloaded into a cache keyed by URL (with the
//! content's sha256 recorded and checked), and unpacked on the host into one tree (`.deb`, `.rpm`,
//! `.tar.*`) with no entry allowed outside it. For Debian kernels apt knows, the packages are found by
//! name ([`kernels::debian`]), with the sha256 of the archive's signed index.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::kernelrelease::KernelRelease;
use crate::targets::{Target, Web};

#[derive(Debug, thiserror::Error)]
pub enum HeadersError {
    #[error("kernel headers not found: expected at least {needed} header package(s), found {found}.\n{tried}\nPass working URLs with `kernelurls` (for Debian, packages by name work too: see `driverkit local --help`)")]
    NotEnough { needed: usize, found: usize, tried: String },
    #[error("downloading {url}: {detail}")]
    Download { url: String, detail: String },
    #[error("checksum mismatch for {url}: expected sha256 {expected}, got {actual}; the file was not used")]
    Checksum { url: String, expected: String, actual: String },
    #[error("unpacking {file}: {detail}")]
    Unpack { file: PathBuf, detail: String },
    #[error("no directory matching `{pattern}` in the unpacked headers at {root}; the packages do not hold this kernel's build tree")]
    NoKernelDir { pattern: String, root: PathBuf },
    #[error(transparent)]
    Target(#[from] crate::targets::TargetError),
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> HeadersError {
    let context = context.into();
    move |source| HeadersError::Io { context, source }
}

/// A header package to fetch: where, and the sha256 it must have when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub url: String,
    pub sha256: Option<String>,
}

impl Package {
    /// `URL` or `URL#sha256=HEX` (the fragment pins the content; servers never see it).
    pub fn parse(spec: &str) -> Package {
        match spec.split_once("#sha256=") {
            Some((url, sum)) => Package {
                url: url.to_owned(),
                sha256: Some(sum.to_ascii_lowercase()),
            },
            None => Package {
                url: spec.to_owned(),
                sha256: None,
            },
        }
    }
}

/// Downloads over HTTP(S) with timeouts and retries, and reads `file://` URLs directly.
pub struct Fetcher {
    client: reqwest::blocking::Client,
    cache: PathBuf,
    retries: u32,
    progress: bool,
}

impl Fetcher {
    pub fn new(cache: PathBuf, proxy: Option<&str>) -> Result<Fetcher, HeadersError> {
        let mut builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(600))
            .user_agent(concat!("driverkit-rs/", env!("CARGO_PKG_VERSION")));
        if let Some(proxy) = proxy {
            builder = builder.proxy(reqwest::Proxy::all(proxy).map_err(|e| HeadersError::Download {
                url: proxy.to_owned(),
                detail: format!("not a usable proxy: {e}"),
            })?);
        }
        let client = builder.build().map_err(|e| HeadersError::Download {
            url: String::new(),
            detail: e.to_string(),
        })?;
        Ok(Fetcher {
            client,
            cache,
            retries: 3,
            progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        })
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// Whether `url` answers 200 to HEAD; the reason when it does not.
    pub fn exists(&self, url: &str) -> Result<(), String> {
        if let Some(path) = url.strip_prefix("file://") {
            return if Path::new(path).is_file() { Ok(()) } else { Err("no such file".into()) };
        }
        match self.client.head(url).timeout(Duration::from_secs(30)).send() {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) => Err(error_chain(&e)),
        }
    }

    /// Keeps the candidates that exist; at least `needed` must. With `first_only`, the search stops at
    /// the first one (mirrors of the same package).
    pub fn resolve(&self, candidates: &[Package], needed: usize, first_only: bool) -> Result<Vec<Package>, HeadersError> {
        let mut found = Vec::new();
        let mut tried = String::new();
        for p in candidates {
            if first_only && !found.is_empty() {
                break;
            }
            match self.exists(&p.url) {
                Ok(()) => {
                    tracing::debug!(url = %p.url, "header package found");
                    found.push(p.clone());
                }
                Err(reason) => tried.push_str(&format!("  {}: {reason}\n", p.url)),
            }
        }
        if found.len() < needed.max(1) {
            return Err(HeadersError::NotEnough {
                needed: needed.max(1),
                found: found.len(),
                tried: if tried.is_empty() { "  (no candidate URLs)".into() } else { tried.trim_end().to_owned() },
            });
        }
        Ok(found)
    }

    /// The package's file in the cache, downloaded on first use. A cached file is checked against the
    /// digest recorded when it was downloaded; a corrupt one is fetched again.
    pub fn fetch(&self, package: &Package) -> Result<PathBuf, HeadersError> {
        let key = hex(&Sha256::digest(package.url.as_bytes()));
        let dir = self.cache.join("downloads").join(&key[..32]);
        let name = file_name_of(&package.url);
        let file = dir.join(&name);
        let recorded = dir.join(format!("{name}.sha256"));
        if let (Ok(sum), true) = (fs::read_to_string(&recorded), file.is_file()) {
            let actual = sha256_file(&file).map_err(io_err(format!("reading {}", file.display())))?;
            let sum = sum.trim().to_owned();
            if actual == sum && package.sha256.as_ref().is_none_or(|want| *want == actual) {
                tracing::info!(url = %package.url, "header package from cache");
                return Ok(file);
            }
            tracing::warn!(url = %package.url, "cached copy does not match its checksum: downloading again");
        }
        fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let partial = dir.join(format!(".{name}.{}.partial", unique_suffix()));
        let result = self.download_to(&package.url, &partial);
        let actual = match result {
            Ok(sum) => sum,
            Err(e) => {
                let _ = fs::remove_file(&partial);
                return Err(e);
            }
        };
        if let Some(expected) = &package.sha256 {
            if *expected != actual {
                let _ = fs::remove_file(&partial);
                return Err(HeadersError::Checksum {
                    url: package.url.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        fs::rename(&partial, &file).map_err(io_err(format!("moving into {}", file.display())))?;
        fs::write(&recorded, format!("{actual}\n")).map_err(io_err(format!("writing {}", recorded.display())))?;
        Ok(file)
    }

    /// Streams `url` into `dest`, returning the sha256 of what was written. Retries with backoff.
    fn download_to(&self, url: &str, dest: &Path) -> Result<String, HeadersError> {
        if let Some(path) = url.strip_prefix("file://") {
            fs::copy(path, dest).map_err(|e| HeadersError::Download {
                url: url.to_owned(),
                detail: e.to_string(),
            })?;
            return sha256_file(dest).map_err(io_err(format!("reading {}", dest.display())));
        }
        let mut last = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                let wait = Duration::from_millis(500 << attempt);
                tracing::warn!(%url, attempt, error = %last, "download failed, retrying in {wait:?}");
                std::thread::sleep(wait);
            }
            match self.try_download(url, dest) {
                Ok(sum) => return Ok(sum),
                // A definite answer from the server is not retried.
                Err((detail, false)) => {
                    return Err(HeadersError::Download { url: url.to_owned(), detail });
                }
                Err((detail, true)) => last = detail,
            }
        }
        Err(HeadersError::Download {
            url: url.to_owned(),
            detail: format!("{last} (after {} attempts)", self.retries + 1),
        })
    }

    /// Err((reason, retryable)).
    fn try_download(&self, url: &str, dest: &Path) -> Result<String, (String, bool)> {
        let mut response = self.client.get(url).send().map_err(|e| (error_chain(&e), true))?;
        let status = response.status();
        if !status.is_success() {
            return Err((format!("HTTP {status}"), status.is_server_error()));
        }
        let total = response.content_length();
        let bar = if self.progress {
            let bar = indicatif::ProgressBar::new(total.unwrap_or(0));
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(file_name_of(url));
            bar
        } else {
            tracing::info!(%url, bytes = total, "downloading");
            indicatif::ProgressBar::hidden()
        };
        let mut out = fs::File::create(dest).map_err(|e| (e.to_string(), false))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut written = 0u64;
        loop {
            let n = response.read(&mut buf).map_err(|e| (format!("connection broke: {e}"), true))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| (e.to_string(), false))?;
            written += n as u64;
            bar.set_position(written);
        }
        bar.finish_and_clear();
        if let Some(total) = total {
            if written != total {
                return Err((format!("short read: {written} of {total} bytes"), true));
            }
        }
        out.sync_all().map_err(|e| (e.to_string(), false))?;
        Ok(hex(&hasher.finalize()))
    }
}

impl Web for Fetcher {
    fn get_text(&self, url: &str) -> Result<String, String> {
        let bytes = self.get_bytes(url)?;
        String::from_utf8(bytes).map_err(|_| format!("{url}: not text"))
    }

    fn get_bytes(&self, url: &str) -> Result<Vec<u8>, String> {
        let r = self.client.get(url).send().map_err(|e| format!("{url}: {}", error_chain(&e)))?;
        if !r.status().is_success() {
            return Err(format!("{url}: HTTP {}", r.status()));
        }
        r.bytes().map(|b| b.to_vec()).map_err(|e| format!("{url}: {e}"))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

fn file_name_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or("download");
    let name = name.replace("%2B", "+").replace("%2b", "+");
    if name.is_empty() || name.starts_with('.') { "download".into() } else { name }
}

// Matrix builds fetch and unpack from several threads: scratch names come from `unique_suffix`.
pub use kernels::files::{hex, sha256_file, unique_suffix};

/// The header packages for a build: the configured `kernelurls` if any, else the Debian packages apt
/// knows by name, else the target's own candidates.
pub fn candidates(
    target: &dyn Target,
    kr: &KernelRelease,
    kernel_urls: &[String],
    fetcher: &Fetcher,
) -> Result<(Vec<Package>, usize), HeadersError> {
    if !kernel_urls.is_empty() {
        return Ok((kernel_urls.iter().map(|u| Package::parse(u)).collect(), target.minimum_urls()));
    }
    if target.name() == "debian" {
        match kernels::debian::header_packages(&kr.to_string()) {
            Ok(found) => {
                let packages = found.into_iter().map(|p| Package { url: p.url, sha256: p.sha256 }).collect();
                return Ok((packages, target.minimum_urls()));
            }
            Err(e) => tracing::info!("apt does not know this kernel ({e}); searching Debian's pools"),
        }
    }
    let urls = target.header_urls(kr, fetcher)?;
    Ok((urls.iter().map(|u| Package::parse(u)).collect(), target.minimum_urls()))
}

/// Fetches the packages and unpacks them together into a tree of the cache, keyed by the packages'
/// contents, so a later build of the same kernel reuses it. Returns the tree's root and `KERNELDIR`.
pub fn prepare(
    fetcher: &Fetcher,
    packages: &[Package],
    target: &dyn Target,
    kr: &KernelRelease,
) -> Result<(PathBuf, PathBuf), HeadersError> {
    let files = packages
        .iter()
        .map(|p| fetcher.fetch(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut key = Sha256::new();
    for file in &files {
        let digest = sha256_file(file).map_err(io_err(format!("reading {}", file.display())))?;
        key.update(digest.as_bytes());
    }
    let key = hex(&key.finalize());
    let trees = fetcher.cache.join("trees");
    let root = trees.join(&key[..32]);
    if !root.join(".complete").exists() {
        tracing::info!(packages = files.len(), "unpacking the kernel headers");
        let partial = trees.join(format!(".{}.{}.partial", &key[..32], unique_suffix()));
        let _ = fs::remove_dir_all(&partial);
        fs::create_dir_all(&partial).map_err(io_err(format!("creating {}", partial.display())))?;
        let unpacked = files.iter().try_for_each(|file| unpack(file, &partial));
        if let Err(e) = unpacked {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
        let fixed = find_kerneldir(&partial, &target.kerneldir(kr)).and_then(|dir| {
            target.fix_tree(&dir).map_err(io_err(format!("fixing up {}", dir.display())))
        });
        if let Err(e) = fixed {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
        fs::write(partial.join(".complete"), b"").map_err(io_err("marking the tree complete"))?;
        // Another build may have finished the same tree meanwhile: either copy is good.
        if fs::rename(&partial, &root).is_err() {
            let _ = fs::remove_dir_all(&partial);
        }
    } else {
        tracing::info!(tree = %root.display(), "kernel headers already unpacked");
    }
    let kerneldir = find_kerneldir(&root, &target.kerneldir(kr))?;
    Ok((root, kerneldir))
}

/// The release a kernel tree is for, what `uname -r` says on that kernel and its modules' vermagic
/// begins with: `UTS_RELEASE` of `include/generated/utsrelease.h`, else `include/config/kernel.release`
/// (Debian's header packages put the upstream version, `6.1.170`, in the latter).
pub fn release_of(kerneldir: &Path) -> Option<String> {
    let uts = fs::read_to_string(kerneldir.join("include/generated/utsrelease.h")).ok().and_then(|text| {
        text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("#define")?.trim_start().strip_prefix("UTS_RELEASE")?;
            let value = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
            (!value.is_empty()).then(|| value.to_owned())
        })
    });
    uts.or_else(|| {
        let text = fs::read_to_string(kerneldir.join("include/config/kernel.release")).ok()?;
        let value = text.trim();
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// The first directory under `root` matching `pattern` (`*` within a component).
pub fn find_kerneldir(root: &Path, pattern: &str) -> Result<PathBuf, HeadersError> {
    let mut current = vec![root.to_path_buf()];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for dir in &current {
            let Ok(entries) = fs::read_dir(dir) else { continue };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| glob_match(component, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| dir.join(n)));
        }
        current = next;
    }
    current.into_iter().next().ok_or_else(|| HeadersError::NoKernelDir {
        pattern: pattern.to_owned(),
        root: root.to_owned(),
    })
}

fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Unpacks a `.deb`, an `.rpm` or a (compressed) tarball into `dest`, told apart by their magic bytes.
pub fn unpack(file: &Path, dest: &Path) -> Result<(), HeadersError> {
    let fail = |detail: String| HeadersError::Unpack { file: file.to_owned(), detail };
    let mut magic = [0u8; 8];
    let mut f = fs::File::open(file).map_err(|e| fail(e.to_string()))?;
    let n = f.read(&mut magic).map_err(|e| fail(e.to_string()))?;
    drop(f);
    let magic = &magic[..n];
    if magic.starts_with(b"!<arch>\n") {
        unpack_deb(file, dest).map_err(fail)
    } else if magic.starts_with(&[0xed, 0xab, 0xee, 0xdb]) {
        unpack_rpm(file, dest).map_err(fail)
    } else {
        let reader = fs::File::open(file).map_err(|e| fail(e.to_string()))?;
        untar(decompress(io::BufReader::new(reader)).map_err(fail)?, dest).map_err(fail)
    }
}

/// Wraps `r` in the decompressor its first bytes call for (xz, zstd, gzip, or none).
fn decompress<R: io::BufRead + 'static>(mut r: R) -> Result<Box<dyn Read>, String> {
    let head = r.fill_buf().map_err(|e| e.to_string())?;
    Ok(if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
        Box::new(xz2::bufread::XzDecoder::new_multi_decoder(r))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(r).map_err(|e| e.to_string())?)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else if head.starts_with(b"BZh") {
        return Err("bzip2 archives are not supported: recompress with xz, zstd or gzip".into());
    } else {
        Box::new(r)
    })
}

/// Extracts a tar stream, refusing entries that would land outside `dest`.
fn untar(reader: Box<dyn Read>, dest: &Path) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        check_relative(&path)?;
        // unpack_in also refuses to write through a symlink that leads outside `dest`.
        if !entry.unpack_in(dest).map_err(|e| format!("{}: {e}", path.display()))? {
            return Err(format!("entry {} would be written outside the target directory", path.display()));
        }
    }
    Ok(())
}

fn check_relative(path: &Path) -> Result<(), String> {
    for c in path.components() {
        match c {
            Component::ParentDir => {
                return Err(format!("entry {} climbs out of the target directory", path.display()))
            }
            Component::RootDir | Component::Prefix(_) => {} // made relative, as tar does
            _ => {}
        }
    }
    Ok(())
}

/// A `.deb` is an ar archive whose `data.tar.*` member holds the files.
fn unpack_deb(file: &Path, dest: &Path) -> Result<(), String> {
    let data = fs::read(file).map_err(|e| e.to_string())?;
    let mut at = 8;
    while at + 60 <= data.len() {
        let header = &data[at..at + 60];
        let name = String::from_utf8_lossy(&header[..16]).trim().trim_end_matches('/').to_owned();
        let size: usize = String::from_utf8_lossy(&header[48..58])
            .trim()
            .parse()
            .map_err(|_| format!("bad ar member size at offset {at}"))?;
        let start = at + 60;
        let end = start.checked_add(size).filter(|&e| e <= data.len()).ok_or("truncated ar member")?;
        if name.starts_with("data.tar") {
            let member = data[start..end].to_vec();
            return untar(decompress(io::Cursor::new(member))?, dest);
        }
        at = end + (size & 1);
    }
    Err("no data.tar member: not a Debian package".into())
}

/// An `.rpm`: a 96-byte lead, the signature header (padded to 8 bytes), the main header, then a
/// compressed cpio (newc) payload.
fn unpack_rpm(file: &Path, dest: &Path) -> Result<(), String> {
    let data = fs::read(file).map_err(|e| e.to_string())?;
    let header_len = |at: usize| -> Result<usize, String> {
        let h = data.get(at..at + 16).ok_or("truncated rpm header")?;
        if h[..3] != [0x8e, 0xad, 0xe8] {
            return Err(format!("bad rpm header magic at offset {at}"));
        }
        let entries = u32::from_be_bytes([h[8], h[9], h[10], h[11]]) as usize;
        let store = u32::from_be_bytes([h[12], h[13], h[14], h[15]]) as usize;
        Ok(16 + entries * 16 + store)
    };
    let mut at = 96;
    at += header_len(at)?;
    at = at.div_ceil(8) * 8;
    at += header_len(at)?;
    let payload = data.get(at..).ok_or("rpm has no payload")?.to_vec();
    let mut cpio = decompress(io::Cursor::new(payload))?;
    let mut all = Vec::new();
    cpio.read_to_end(&mut all).map_err(|e| format!("decompressing the payload: {e}"))?;
    uncpio(&all, dest)
}

/// Extracts a cpio archive in the `newc` format.
fn uncpio(data: &[u8], dest: &Path) -> Result<(), String> {
    let mut at = 0;
    let field = |h: &[u8], i: usize| -> Result<usize, String> {
        let s = std::str::from_utf8(&h[6 + i * 8..6 + (i + 1) * 8]).map_err(|_| "bad cpio header")?;
        usize::from_str_radix(s, 16).map_err(|_| "bad cpio header".to_string())
    };
    while at + 110 <= data.len() {
        let h = &data[at..at + 110];
        if &h[..6] != b"070701" && &h[..6] != b"070702" {
            return Err(format!("bad cpio magic at offset {at}"));
        }
        let mode = field(h, 1)?;
        let filesize = field(h, 6)?;
        let namesize = field(h, 11)?;
        let name_start = at + 110;
        let name_end = name_start + namesize;
        let name = data
            .get(name_start..name_end.saturating_sub(1))
            .ok_or("truncated cpio name")?;
        let name = String::from_utf8_lossy(name).into_owned();
        let body_start = (name_end + 3) & !3;
        let body_end = body_start + filesize;
        let body = data.get(body_start..body_end).ok_or("truncated cpio body")?;
        at = (body_end + 3) & !3;
        if name == "TRAILER!!!" {
            return Ok(());
        }
        let rel = Path::new(name.trim_start_matches("./").trim_start_matches('/'));
        check_relative(rel)?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let out = dest.join(rel);
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        match mode & 0o170000 {
            0o040000 => fs::create_dir_all(&out).map_err(|e| e.to_string())?,
            0o120000 => {
                let target = String::from_utf8_lossy(body).into_owned();
                let _ = fs::remove_file(&out);
                std::os::unix::fs::symlink(target, &out).map_err(|e| e.to_string())?;
            }
            0o100000 => {
                fs::write(&out, body).map_err(|e| e.to_string())?;
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&out, fs::Permissions::from_mode((mode & 0o7777) as u32))
                    .map_err(|e| e.to_string())?;
            }
            _ => {} // devices and fifos have no place in a header tree
        }
    }
    Err("cpio archive ends without its trailer".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trees_release_is_its_uts_release() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(release_of(dir.path()), None);
        fs::create_dir_all(dir.path().join("include/config")).expect("mkdir");
        fs::create_dir_all(dir.path().join("include/generated")).expect("mkdir");
        fs::write(dir.path().join("include/config/kernel.release"), "6.1.170\n").expect("write");
        assert_eq!(release_of(dir.path()).as_deref(), Some("6.1.170"));
        fs::write(dir.path().join("include/generated/utsrelease.h"), "#define UTS_RELEASE \"6.1.0-47-amd64\"\n").expect("write");
        assert_eq!(release_of(dir.path()).as_deref(), Some("6.1.0-47-amd64"));
    }

    #[test]
    fn globs_match_within_a_component() {
        assert!(glob_match("linux-headers-*amd64", "linux-headers-6.1.0-47-amd64"));
        assert!(!glob_match("linux-headers-*amd64", "linux-headers-6.1.0-47-common"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("linux-*-rpi-v*", "linux-headers-6.1-rpi-v8"));
        assert!(!glob_match("a*a", "a"));
    }

    #[test]
    fn a_url_fragment_pins_the_checksum() {
        assert_eq!(Package::parse("http://h/x.deb#sha256=AB").sha256.as_deref(), Some("ab"));
        assert_eq!(Package::parse("http://h/x.deb").sha256, None);
    }

    #[test]
    fn tarballs_cannot_write_outside_their_directory() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut raw = Vec::new();
        {
            let mut b = tar::Builder::new(&mut raw);
            let mut h = tar::Header::new_gnu();
            h.set_size(3);
            h.set_mode(0o644);
            // tar::Builder refuses `..` itself, so write the name into the header by hand.
            h.as_gnu_mut().expect("gnu").name[..13].copy_from_slice(b"../escaped.tx");
            h.set_cksum();
            b.append(&h, &b"bad"[..]).expect("append");
            b.finish().expect("finish");
        }
        let tarball = dir.path().join("evil.tar");
        fs::write(&tarball, &raw).expect("write");
        let dest = dir.path().join("out");
        fs::create_dir_all(&dest).expect("mkdir");
        let err = unpack(&tarball, &dest).expect_err("refused").to_string();
        assert!(err.contains("climbs out"), "{err}");
        assert!(!dir.path().join("escaped.tx").exists());
    }

    #[test]
    fn cpio_newc_unpacks_files_dirs_and_links() {
        fn entry(out: &mut Vec<u8>, name: &str, mode: u32, body: &[u8]) {
            let namesize = name.len() + 1;
            out.extend_from_slice(
                format!(
                    "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                    0, mode, 0, 0, 1, 0, body.len(), 0, 0, 0, 0, namesize, 0
                )
                .as_bytes(),
            );
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while !out.len().is_multiple_of(4) {
                out.push(0);
            }
            out.extend_from_slice(body);
            while !out.len().is_multiple_of(4) {
                out.push(0);
            }
        }
        let mut a = Vec::new();
        entry(&mut a, "./usr/src/kernels/5.14.0/Makefile", 0o100644, b"all:\n");
        entry(&mut a, "./usr/src/kernels/5.14.0/build", 0o120777, b"Makefile");
        entry(&mut a, "TRAILER!!!", 0, b"");
        let dir = tempfile::tempdir().expect("tmp");
        uncpio(&a, dir.path()).expect("unpacked");
        let tree = dir.path().join("usr/src/kernels/5.14.0");
        assert_eq!(fs::read(tree.join("Makefile")).expect("file"), b"all:\n");
        assert_eq!(fs::read_link(tree.join("build")).expect("link"), Path::new("Makefile"));
        assert_eq!(find_kerneldir(dir.path(), "usr/src/kernels/*").expect("found"), tree);
        let mut evil = Vec::new();
        entry(&mut evil, "../../etc/x", 0o100644, b"x");
        assert!(uncpio(&evil, dir.path()).expect_err("refused").contains("climbs out"));
    }
}
