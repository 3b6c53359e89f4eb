//! Running a build: [`prepare`] gathers everything on the host (source tree, headers), an executor runs
//! the recipe ([`docker`] in a container without network, [`local`] on the host), and [`finish`] checks
//! and installs what it made.

use std::path::{Path, PathBuf};

use crate::config::BuildConfig;
use crate::headers::{self, Fetcher, HeadersError};
use crate::outputs::{self, OutputError};
use crate::source::{Source, SourceError};

pub mod docker;
pub mod kubernetes;
pub mod local;

/// Where executors put the source tree (driverkit's path) and the headers in the build environment.
pub const DRIVER_DIR: &str = "/tmp/driver";

/// Where an executor sends the build's log, line by line, as it streams: the CLI prints it, a matrix
/// build writes one file per build.
pub type LogSink<'a> = &'a mut (dyn FnMut(&str) + Send);
pub const KERNEL_DIR: &str = "/tmp/kernel";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Headers(#[from] HeadersError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Image(#[from] crate::images::ImageError),
    #[error("rendering the build script: {0}")]
    Script(#[from] handlebars::RenderError),
    #[error("the build failed with exit code {code}; its last lines:\n{tail}")]
    Failed { code: i64, tail: String },
    #[error("the build did not finish within {0} seconds (raise `timeout`); the {1} was removed")]
    Timeout(u64, &'static str),
    #[error("interrupted; the {0} was removed and no output was written")]
    Interrupted(&'static str),
    #[error("the Docker engine: {0}")]
    Docker(String),
    #[error("the Kubernetes cluster: {0}")]
    Kubernetes(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let context = context.into();
    move |source| BuildError::Io { context, source }
}

/// Everything a build needs, gathered on the host.
pub struct Prepared {
    pub work: tempfile::TempDir,
    /// The source tree as an uncompressed tar (paths relative to its top).
    pub source_tar: PathBuf,
    /// Where the header packages were unpacked (a tree of the cache, shared by builds of the same
    /// kernel), and `KERNELDIR` inside it.
    pub headers_root: PathBuf,
    pub kerneldir: PathBuf,
    /// The kernel `.config` from `kernelconfigdata`, written out.
    pub kernel_config: Option<PathBuf>,
    /// The kernel tree came ready from the user (`--kerneldir`) rather than from header packages.
    pub tree_is_ready: bool,
}

impl Prepared {
    /// `KERNELDIR` relative to the headers' root.
    pub fn kerneldir_relative(&self) -> &Path {
        self.kerneldir.strip_prefix(&self.headers_root).unwrap_or(&self.kerneldir)
    }
}

/// Where headers and builder-made files are cached: `$DRIVERKIT_CACHE`, else `$XDG_CACHE_HOME/driverkit`,
/// else `~/.cache/driverkit`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DRIVERKIT_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("driverkit")
}

/// Clears old outputs, writes the source tree and fetches and unpacks the headers. With `kerneldir`
/// given (local builds against headers already on the host), no headers are fetched.
pub fn prepare(
    build: &BuildConfig,
    source: &Source,
    cache: &Path,
    kerneldir: Option<&Path>,
) -> Result<Prepared, BuildError> {
    for out in build.output_module.iter().chain(&build.output_probe) {
        outputs::clear(out);
    }
    std::fs::create_dir_all(cache).map_err(io_err(format!("creating {}", cache.display())))?;
    let work = tempfile::Builder::new()
        .prefix("driverkit-")
        .tempdir_in(cache)
        .map_err(io_err("creating a work directory"))?;
    let source_tar = work.path().join("source.tar");
    tracing::info!(source = %source.describe(), "archiving the driver sources");
    source.write_tar(&source_tar)?;

    let kerneldir_given = kerneldir.is_some();
    let (headers_root, kerneldir) = match kerneldir {
        Some(dir) => {
            let dir = dir.canonicalize().map_err(io_err(format!("kernel tree {}", dir.display())))?;
            (dir.clone(), dir)
        }
        None => {
            let fetcher = Fetcher::new(cache.join("headers"), build.proxy.as_deref())?;
            let (candidates, needed) =
                headers::candidates(build.target, &build.kernel, &build.kernel_urls, &fetcher)?;
            let packages = fetcher.resolve(&candidates, needed, build.target.single_package())?;
            headers::prepare(&fetcher, &packages, build.target, &build.kernel)?
        }
    };
    tracing::info!(kerneldir = %kerneldir.display(), "kernel tree ready");
    let kernel_config = match &build.kernel_config {
        Some(data) => {
            let path = work.path().join("kernel.config");
            std::fs::write(&path, data).map_err(io_err("writing the kernel config"))?;
            Some(path)
        }
        None => None,
    };
    Ok(Prepared { work, source_tar, headers_root, kerneldir, kernel_config, tree_is_ready: kerneldir_given })
}

/// What a finished build wrote.
#[derive(Debug, Clone)]
pub struct Report {
    pub module: Option<(PathBuf, String)>,
    pub probe: Option<(PathBuf, String)>,
    pub vermagic: Option<String>,
}

/// Checks the built files (in `built`, named as in the tree) and installs them at the configured paths.
pub fn finish(build: &BuildConfig, prepared: &Prepared, built: &Built) -> Result<Report, BuildError> {
    let mut report = Report { module: None, probe: None, vermagic: None };
    if let Some(dest) = &build.output_module {
        let module = built.module.as_ref().ok_or_else(|| OutputError::Missing(format!("{}.ko", build.driver_name)))?;
        // kernel-crawler names Debian kernels by package version (6.12.95-1~bpo12+1-amd64): the
        // headers say which `uname -r` they are for, and that is what the vermagic must be.
        let headers_release = headers::release_of(&prepared.kerneldir);
        let uname = build.target.uname_release(&build.kernel);
        let mut accepted = vec![build.kernel_release.as_str()];
        accepted.extend(uname.as_deref());
        if let Some(headers) = headers_release.as_deref().filter(|h| names_debian_package_version(build, h)) {
            tracing::info!(configured = %build.kernel_release, headers = %headers, "the configured name is the package version of the headers' kernel");
            accepted = vec![headers];
        }
        let magic = outputs::check_vermagic(module, &accepted)?;
        let digest = outputs::install(module, dest)?;
        tracing::info!(path = %dest.display(), sha256 = %digest, vermagic = %magic.trim(), "module written");
        report.module = Some((dest.clone(), digest));
        report.vermagic = Some(magic.trim().to_owned());
    }
    if let Some(dest) = &build.output_probe {
        let probe = built.probe.as_ref().ok_or_else(|| OutputError::Missing("probe.o".into()))?;
        let digest = outputs::install(probe, dest)?;
        tracing::info!(path = %dest.display(), sha256 = %digest, "probe written");
        report.probe = Some((dest.clone(), digest));
    }
    Ok(report)
}

/// Whether the configured Debian release is kernel-crawler's package-version form of the release the
/// headers carry (see [`crate::kernelrelease::debian_names_same_kernel`]).
fn names_debian_package_version(build: &BuildConfig, headers_release: &str) -> bool {
    build.target.name() == "debian"
        && crate::kernelrelease::debian_names_same_kernel(&build.kernel_release, headers_release, &build.kernel_urls)
}

/// Where the recipe leaves the outputs the build asks for, inside the build environment (module,
/// probe), and the host directory they are copied back to first.
pub(crate) fn outputs_to_copy(build: &BuildConfig, work: &Path) -> Result<(Option<String>, Option<String>, PathBuf), BuildError> {
    let out_dir = work.join("out");
    std::fs::create_dir_all(&out_dir).map_err(io_err("creating the output directory"))?;
    let module = build
        .output_module
        .as_ref()
        .map(|_| format!("{DRIVER_DIR}/{}", crate::script::module_in_tree(&build.driver_name)));
    let probe = build.output_probe.as_ref().map(|_| format!("{DRIVER_DIR}/{}", crate::script::PROBE_IN_TREE));
    Ok((module, probe, out_dir))
}

/// Files an executor brought back.
#[derive(Debug, Default)]
pub struct Built {
    pub module: Option<PathBuf>,
    pub probe: Option<PathBuf>,
}

/// The last `n` lines of a log, for error messages.
#[derive(Debug, Default)]
pub struct LogTail {
    lines: std::collections::VecDeque<String>,
    capacity: usize,
    /// A line still being received.
    partial: String,
}

impl LogTail {
    pub fn new(capacity: usize) -> LogTail {
        LogTail { lines: Default::default(), capacity, partial: String::new() }
    }

    /// Takes a chunk of a streamed log: each line it completes is kept and given to `each`.
    pub fn feed(&mut self, chunk: &[u8], mut each: impl FnMut(&str)) {
        self.partial.push_str(&String::from_utf8_lossy(chunk));
        while let Some(at) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=at).collect();
            let line = line.trim_end_matches('\n');
            each(line);
            self.push(line);
        }
    }

    /// The end of the stream: a last line without its newline is kept and given to `each`.
    pub fn finish(&mut self, mut each: impl FnMut(&str)) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            each(&line);
            self.push(&line);
        }
    }

    pub fn push(&mut self, line: &str) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_owned());
    }

    /// The compiler's error lines first (they are what a user looks for), then the tail.
    pub fn render(&self) -> String {
        let errors: Vec<&String> = self.lines.iter().filter(|l| l.contains("error:") || l.contains("Error ")).collect();
        let mut out = String::new();
        if !errors.is_empty() {
            for l in &errors {
                out.push_str(&format!("  {l}\n"));
            }
            out.push_str("  ...\n");
        }
        for l in &self.lines {
            out.push_str(&format!("  | {l}\n"));
        }
        out.trim_end().to_owned()
    }
}

/// One archive for the build environment, extracted at `/`: the source tree under [`DRIVER_DIR`], the
/// headers under [`KERNEL_DIR`] when `with_headers`, and `files` (path without the leading `/`, bytes,
/// mode).
pub(crate) fn write_upload(
    prepared: &Prepared,
    out: &Path,
    with_headers: bool,
    files: &[(&str, Vec<u8>, u32)],
) -> Result<(), BuildError> {
    let file = std::fs::File::create(out).map_err(io_err("creating the upload archive"))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    tar.follow_symlinks(false);
    (|| -> std::io::Result<()> {
        let mut source = tar::Archive::new(std::fs::File::open(&prepared.source_tar)?);
        for entry in source.entries()? {
            let mut entry = entry?;
            let path = Path::new(&DRIVER_DIR[1..]).join(entry.path()?);
            let mut header = entry.header().clone();
            tar.append_data(&mut header, path, &mut entry)?;
        }
        if with_headers {
            tar.append_dir_all(&KERNEL_DIR[1..], &prepared.headers_root)?;
        }
        for (path, data, mode) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(*mode);
            header.set_mtime(0);
            header.set_cksum();
            tar.append_data(&mut header, path, data.as_slice())?;
        }
        tar.into_inner()?;
        Ok(())
    })()
    .map_err(io_err("building the upload archive"))
}
