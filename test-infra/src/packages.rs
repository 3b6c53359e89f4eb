//! Debian kernel packages: by name (fetched with `apt-get download`) or by URL and sha256 (downloaded
//! and verified), into a cache, unpacked once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// Where downloads and unpacked trees live: `$TEST_INFRA_CACHE`, or `.cache/test-infra` in the repository.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("TEST_INFRA_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/test-infra"),
    }
}

/// Holds the cache's lock: downloads and unpacking are serialized across the tests of one run (threads)
/// and across runs (processes), which would otherwise trip over each other's half-made directories.
struct CacheLock {
    _file: std::fs::File,
}

impl CacheLock {
    fn take() -> Result<CacheLock, Error> {
        use std::os::fd::AsRawFd;
        let dir = cache_dir();
        std::fs::create_dir_all(&dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        // SAFETY: flock on a descriptor we own; it is released when the file is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(Error::Io(std::io::Error::last_os_error()));
        }
        Ok(CacheLock { _file: file })
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), Error> {
    let out = cmd.output().map_err(|e| Error::Tool {
        what: what.to_owned(),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Tool {
            what: what.to_owned(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// The `.deb` of package `name`, downloaded on first use. The download goes to a scratch directory and
/// is moved into the cache when complete, so an interrupted run leaves nothing half-written behind.
pub fn fetch_deb(name: &str) -> Result<PathBuf, Error> {
    let debs = cache_dir().join("debs");
    std::fs::create_dir_all(&debs)?;
    if let Some(found) = find_deb(&debs, name)? {
        return Ok(found);
    }
    let scratch = debs.join(format!(".download-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let result = run(
        Command::new("apt-get")
            .arg("download")
            .arg(name)
            .current_dir(&scratch),
        &format!("apt-get download {name}"),
    );
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(e);
    }
    let Some(downloaded) = find_deb(&scratch, name)? else {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(Error::Tool {
            what: format!("apt-get download {name}"),
            detail: "no .deb appeared".into(),
        });
    };
    let target = debs.join(downloaded.file_name().unwrap_or_default());
    std::fs::rename(&downloaded, &target)?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(target)
}

fn find_deb(dir: &Path, name: &str) -> Result<Option<PathBuf>, Error> {
    // Debian escapes `+` and `:` in file names; package names here use neither past the name itself.
    let prefix = format!("{}_", name.replace('+', "%2b"));
    let prefix_plain = format!("{name}_");
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if (file.starts_with(&prefix) || file.starts_with(&prefix_plain)) && file.ends_with(".deb")
        {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// Unpacks `.deb` files into `dest` (once: a marker records completion).
pub fn unpack(debs: &[PathBuf], dest: &Path) -> Result<(), Error> {
    let marker = dest.join(".unpacked");
    if marker.exists() {
        return Ok(());
    }
    let partial = dest.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)?;
    for deb in debs {
        let unpacked = run(
            Command::new("dpkg-deb").arg("-x").arg(deb).arg(&partial),
            &format!("dpkg-deb -x {}", deb.display()),
        );
        if let Err(e) = unpacked {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    }
    let _ = std::fs::remove_dir_all(dest);
    std::fs::rename(&partial, dest)?;
    std::fs::write(marker, b"")?;
    Ok(())
}

/// A Debian kernel, unpacked.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// `uname -r`, e.g. `6.1.0-47-amd64`.
    pub release: String,
    pub vmlinuz: PathBuf,
    /// The unpacked package: `lib/modules/<release>/...` lives under it.
    pub root: PathBuf,
}

impl Kernel {
    /// Fetches and unpacks `linux-image-<release>`.
    pub fn fetch(release: &str) -> Result<Kernel, Error> {
        let _lock = CacheLock::take()?;
        let deb = fetch_deb(&format!("linux-image-{release}"))?;
        let root = cache_dir().join("kernels").join(release);
        unpack(&[deb], &root)?;
        let vmlinuz = root.join("boot").join(format!("vmlinuz-{release}"));
        if !vmlinuz.exists() {
            return Err(Error::Tool {
                what: format!("linux-image-{release}"),
                detail: "the package has no vmlinuz".into(),
            });
        }
        Ok(Kernel {
            release: release.to_owned(),
            vmlinuz,
            root,
        })
    }

    /// A module shipped with the kernel, e.g. `kernel/drivers/net/dummy.ko`.
    pub fn module(&self, relative: &str) -> PathBuf {
        self.root
            .join("lib/modules")
            .join(&self.release)
            .join(relative)
    }
}

/// The build tree (`KERNELDIR`) of a Debian kernel: `linux-headers-<release>`, its `-common` package and
/// `linux-kbuild-<major.minor>`, unpacked together and made to work outside `/usr/src`.
pub fn kernel_headers(release: &str) -> Result<PathBuf, Error> {
    let _lock = CacheLock::take()?;
    let headers = format!("linux-headers-{release}");
    let mut debs = vec![fetch_deb(&headers)?];
    // The flavour package depends on its common tree and on kbuild; their names vary by series
    // (`-common-rt`, `linux-kbuild-6.1` against `linux-kbuild-6.12.117+deb12`), so ask apt.
    let dependencies = kernels::debian::build_dependencies(&headers).map_err(|e| Error::Tool {
        what: format!("apt-cache show {headers}"),
        detail: e.to_string(),
    })?;
    for dependency in dependencies {
        debs.push(fetch_deb(&dependency)?);
    }
    let root = cache_dir().join("headers").join(release);
    unpack(&debs, &root)?;
    let kerneldir = root
        .join("usr/src")
        .join(format!("linux-headers-{release}"));
    // Debian's flavour Makefile includes the common tree by its absolute /usr/src path: point it here.
    let makefile = kerneldir.join("Makefile");
    let text = std::fs::read_to_string(&makefile)?;
    let fixed = text.replace(
        "include /usr/src/",
        &format!("include {}/usr/src/", root.display()),
    );
    if fixed != text {
        std::fs::write(&makefile, fixed)?;
    }
    Ok(kerneldir)
}

/// An `images.json` entry: the package that holds a crawled kernel's vmlinuz.
pub use kernels::list::BootImage as KernelImage;

/// Reads `images.json` (`{"<kernelrelease>": {"uname", "package", "url", "sha256"}}`).
pub fn read_images(path: &Path) -> Result<BTreeMap<String, KernelImage>, Error> {
    kernels::list::Images::read(path).map(|images| images.0).map_err(|e| Error::Tool {
        what: format!("reading {}", path.display()),
        detail: match e {
            kernels::list::ListError::Read { .. } => format!("{e} (run the kernel crawler to write it)"),
            _ => e.to_string(),
        },
    })
}

/// The Debian mirror apt is configured with, or `$TEST_INFRA_MIRROR` (or `$DRIVERKIT_DEBIAN_MIRROR`)
/// when set: [`kernels::sources::apt_mirror`], the one reader of apt's sources in the tree.
pub fn apt_mirror() -> Result<String, Error> {
    kernels::sources::apt_mirror()
        .map(|m| m.debian)
        .map_err(|e| Error::Tool {
            what: "finding the Debian mirror".into(),
            detail: format!("{e}; or set TEST_INFRA_MIRROR=http://.../debian"),
        })
}

pub use kernels::sources::mirror_in_sources;

pub use kernels::files::{sha256_file, unique_suffix};

/// Downloads `url` into the cache once (the builder's downloader: retries, a temporary file renamed
/// into place when complete, a cached copy checked again) and returns the file, its sha256 checked
/// against `sha256`; a file that does not match is not kept.
pub fn download_verified(url: &str, sha256: &str) -> Result<PathBuf, Error> {
    let want = sha256.trim().to_ascii_lowercase();
    let fail = |detail: String| Error::Tool { what: format!("downloading {url}"), detail };
    if want.len() != 64 || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail(format!("'{sha256}' is not a sha256 (64 hex digits)")));
    }
    let fetcher = builder::headers::Fetcher::new(cache_dir().join("downloads"), None).map_err(|e| fail(e.to_string()))?;
    fetcher
        .fetch(&builder::headers::Package { url: url.to_owned(), sha256: Some(want) })
        .map_err(|e| fail(format!("{e} (check the URL in images.json against the mirror; refresh images.json if the mirror changed)")))
}

impl Kernel {
    /// The kernel whose vmlinuz is in the package at `url` (checked against `sha256`):
    /// `linux-image-<uname>[-unsigned]` (`boot/vmlinuz-<uname>`), or `linux-binary-<uname>` on 7.x
    /// (`usr/lib/modules/<uname>/vmlinuz`), where `linux-image-` is an empty metapackage.
    pub fn from_package(uname: &str, url: &str, sha256: &str) -> Result<Kernel, Error> {
        let _lock = CacheLock::take()?;
        let deb = download_verified(url, sha256)?;
        let key = &sha256.trim().to_ascii_lowercase()[..16];
        let root = cache_dir().join("kernels").join(format!("{uname}-{key}"));
        unpack(&[deb], &root)?;
        let vmlinuz = find_vmlinuz(&root, uname)?.ok_or_else(|| Error::Tool {
            what: format!("the package at {url}"),
            detail: format!(
                "has no vmlinuz-{uname}: is it the kernel image package (linux-image-{uname}-unsigned, or linux-binary-{uname} on 7.x) and not a metapackage?"
            ),
        })?;
        Ok(Kernel {
            release: uname.to_owned(),
            vmlinuz,
            root,
        })
    }

    /// The kernel of an `images.json` entry.
    pub fn from_image(image: &KernelImage) -> Result<Kernel, Error> {
        Kernel::from_package(&image.uname, &image.url, &image.sha256)
    }
}

/// `boot/vmlinuz-<uname>` (up to 6.x), `usr/lib/modules/<uname>/vmlinuz` (7.x's `linux-binary-`), or
/// wherever else in the unpacked tree a file named `vmlinuz-<uname>` lies.
fn find_vmlinuz(root: &Path, uname: &str) -> Result<Option<PathBuf>, Error> {
    let name = format!("vmlinuz-{uname}");
    for known in [
        root.join("boot").join(&name),
        root.join("usr/lib/modules").join(uname).join("vmlinuz"),
        root.join("lib/modules").join(uname).join("vmlinuz"),
    ] {
        if known.is_file() {
            return Ok(Some(known));
        }
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() && entry.file_name().to_string_lossy() == name {
                return Ok(Some(entry.path()));
            }
        }
    }
    Ok(None)
}
