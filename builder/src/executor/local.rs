//! The local executor: the same recipe, run by bash on this host (driverkit's `local`). Needs the
//! toolchain here; the builder image is not used.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use super::{io_err, BuildError, Built, LogSink, LogTail, Prepared};
use crate::config::BuildConfig;
use crate::script::{self, Layout};

/// The compiler for a local build: `gcc-<major>` when a gcc version is configured, else `gcc`.
fn local_cc(build: &BuildConfig) -> String {
    match build.gcc_version {
        Some(v) => format!("gcc-{}", v.0),
        None => "gcc".to_owned(),
    }
}

pub fn run(build: &BuildConfig, prepared: &Prepared, log: LogSink<'_>) -> Result<Built, BuildError> {
    let driver_dir = prepared.work.path().join("driver");
    std::fs::create_dir_all(&driver_dir).map_err(io_err("creating the source directory"))?;
    let file = std::fs::File::open(&prepared.source_tar).map_err(io_err("opening the source archive"))?;
    tar::Archive::new(file)
        .unpack(&driver_dir)
        .map_err(io_err("unpacking the source archive"))?;
    let cc = local_cc(build);
    let script = script::render(
        build,
        &Layout {
            driver_dir: &driver_dir,
            kerneldir: &prepared.kerneldir,
            kernel_config: prepared.kernel_config.as_deref(),
            cc: &cc,
            tree_is_ready: prepared.tree_is_ready,
        },
    )?;
    let script_path = prepared.work.path().join("build.sh");
    std::fs::write(&script_path, script).map_err(io_err("writing the build script"))?;

    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("exec bash {} 2>&1", shell_quote(&script_path)))
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .map_err(io_err("running bash"))?;
    let mut tail = LogTail::new(40);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.map_err(io_err("reading the build log"))?;
            log(&line);
            tail.push(&line);
        }
    }
    let status = child.wait().map_err(io_err("waiting for the build"))?;
    if !status.success() {
        return Err(BuildError::Failed {
            code: status.code().map_or(-1, i64::from),
            tail: tail.render(),
        });
    }
    let found = |p: &Path| p.is_file().then(|| p.to_path_buf());
    Ok(Built {
        module: found(&driver_dir.join(script::module_in_tree(&build.driver_name))),
        probe: found(&driver_dir.join(script::PROBE_IN_TREE)),
    })
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
