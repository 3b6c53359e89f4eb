//! The Docker executor, through the engine's API (bollard): a container with networking disabled gets the
//! source tree and the script uploaded and the unpacked headers mounted read-only from the cache (or
//! uploaded too, for targets that configure their tree), runs the recipe while its log streams here, and
//! is removed on every path out (success, failure, timeout, Ctrl-C) after the outputs are copied back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, LogsOptions, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder, WaitContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::{io_err, BuildError, Built, LogTail, Prepared};
use crate::config::BuildConfig;
use crate::script::{self, Layout};

/// Paths inside the container: driverkit's source directory, and ours for headers and the script.
const DRIVER_DIR: &str = "/tmp/driver";
const KERNEL_DIR: &str = "/tmp/kernel";
const SCRIPT: &str = "/driverkit/build.sh";
const KERNEL_CONFIG: &str = "/driverkit/kernel.config";

/// The builder image and the compiler inside it.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub image: String,
    /// `/usr/bin/gcc-12.0.0`.
    pub cc: String,
}

pub async fn run(docker: &Docker, build: &BuildConfig, prepared: &Prepared, tools: &Toolchain) -> Result<Built, BuildError> {
    docker
        .inspect_image(&tools.image)
        .await
        .map_err(|e| BuildError::Docker(format!("builder image {}: {e}; make it with `driverkit images build`", tools.image)))?;

    let kerneldir = Path::new(KERNEL_DIR).join(prepared.kerneldir_relative());
    let script = script::render(
        build,
        &Layout {
            driver_dir: Path::new(DRIVER_DIR),
            kerneldir: &kerneldir,
            kernel_config: prepared.kernel_config.as_ref().map(|_| Path::new(KERNEL_CONFIG)),
            cc: &tools.cc,
            tree_is_ready: prepared.tree_is_ready,
        },
    )?;
    // A tree no build step writes to is mounted read-only from the cache rather than copied in: the
    // headers are the bulk of a build's files. Targets that configure their tree get their own copy.
    let mount_headers = build.target.prepare_script().is_none() || prepared.tree_is_ready;
    let upload = prepared.work.path().join("upload.tar");
    write_upload(prepared, &script, &upload, !mount_headers)?;

    let name = format!("driverkit-{}-{}", std::process::id(), prepared.work.path().file_name().unwrap_or_default().to_string_lossy());
    let body = ContainerCreateBody {
        image: Some(tools.image.clone()),
        cmd: Some(vec!["/bin/bash".into(), SCRIPT.into()]),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            binds: mount_headers.then(|| vec![format!("{}:{KERNEL_DIR}:ro", prepared.headers_root.display())]),
            ..Default::default()
        }),
        // Labels find the container again: any build's, or the one writing a given output.
        labels: Some(
            [
                ("driverkit.build".to_owned(), build.kernel_release.clone()),
                (
                    "driverkit.output".to_owned(),
                    build.output_module.iter().chain(&build.output_probe).next().map(|p| p.display().to_string()).unwrap_or_default(),
                ),
            ]
            .into(),
        ),
        ..Default::default()
    };
    let created = docker
        .create_container(Some(CreateContainerOptionsBuilder::new().name(&name).build()), body)
        .await
        .map_err(|e| BuildError::Docker(format!("creating the build container: {e}")))?;
    let id = created.id;
    tracing::info!(container = %name, image = %tools.image, "build container created (no network)");

    let timeout = Duration::from_secs(build.timeout_secs);
    let result = tokio::select! {
        r = tokio::time::timeout(timeout, in_container(docker, &id, build, &upload, prepared.work.path())) => {
            r.unwrap_or(Err(BuildError::Timeout(build.timeout_secs)))
        }
        _ = tokio::signal::ctrl_c() => Err(BuildError::Interrupted),
    };
    let removed = docker
        .remove_container(&id, Some(RemoveContainerOptionsBuilder::new().force(true).v(true).build()))
        .await;
    if let Err(e) = removed {
        tracing::warn!(container = %name, "could not remove the build container: {e}");
    }
    result
}

async fn in_container(docker: &Docker, id: &str, build: &BuildConfig, upload: &Path, work: &Path) -> Result<Built, BuildError> {
    let file = tokio::fs::File::open(upload).await.map_err(io_err("opening the upload archive"))?;
    docker
        .upload_to_container(
            id,
            Some(UploadToContainerOptionsBuilder::new().path("/").build()),
            bollard::body_try_stream(tokio_util::io::ReaderStream::new(file)),
        )
        .await
        .map_err(|e| BuildError::Docker(format!("uploading sources and headers: {e}")))?;
    docker
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(|e| BuildError::Docker(format!("starting the build container: {e}")))?;

    let mut tail = LogTail::new(40);
    let mut pending = String::new();
    let mut logs = docker.logs(
        id,
        Some(LogsOptions { follow: true, stdout: true, stderr: true, ..Default::default() }),
    );
    while let Some(chunk) = logs.next().await {
        let chunk = chunk.map_err(|e| BuildError::Docker(format!("reading the build log: {e}")))?;
        pending.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        while let Some(at) = pending.find('\n') {
            let line: String = pending.drain(..=at).collect();
            let line = line.trim_end_matches('\n');
            println!("{line}");
            tail.push(line);
        }
    }
    if !pending.is_empty() {
        println!("{pending}");
        tail.push(&pending);
    }

    let mut wait = docker.wait_container(id, None::<WaitContainerOptions>);
    let code = match wait.next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => return Err(BuildError::Docker(format!("waiting for the build: {e}"))),
        None => return Err(BuildError::Docker("the engine did not report the build's exit".into())),
    };
    if code != 0 {
        return Err(BuildError::Failed { code, tail: tail.render() });
    }

    let out_dir = work.join("out");
    std::fs::create_dir_all(&out_dir).map_err(io_err("creating the output directory"))?;
    let mut built = Built::default();
    if build.output_module.is_some() {
        let path = format!("{DRIVER_DIR}/{}", script::module_in_tree(&build.driver_name));
        built.module = download(docker, id, &path, &out_dir).await?;
    }
    if build.output_probe.is_some() {
        let path = format!("{DRIVER_DIR}/{}", script::PROBE_IN_TREE);
        built.probe = download(docker, id, &path, &out_dir).await?;
    }
    Ok(built)
}

/// Copies one file out of the container into `dir`; `None` when the build did not make it.
async fn download(docker: &Docker, id: &str, path: &str, dir: &Path) -> Result<Option<PathBuf>, BuildError> {
    let mut stream = docker.download_from_container(id, Some(DownloadFromContainerOptionsBuilder::new().path(path).build()));
    let mut archive = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => archive.extend_from_slice(&bytes),
            Err(e) if e.to_string().contains("404") || e.to_string().contains("Could not find") => return Ok(None),
            Err(e) => return Err(BuildError::Docker(format!("copying {path} out of the container: {e}"))),
        }
    }
    let mut tar = tar::Archive::new(archive.as_slice());
    for entry in tar.entries().map_err(io_err("reading the copied archive"))? {
        let mut entry = entry.map_err(io_err("reading the copied archive"))?;
        let name = entry.path().map_err(io_err("reading the copied archive"))?.file_name().map(|n| n.to_owned());
        if let Some(name) = name {
            let dest = dir.join(name);
            entry.unpack(&dest).map_err(io_err(format!("writing {}", dest.display())))?;
            return Ok(Some(dest));
        }
    }
    Ok(None)
}

/// One archive holding what the container needs (the headers too, unless they are mounted), extracted
/// at `/`.
fn write_upload(prepared: &Prepared, script: &str, out: &Path, with_headers: bool) -> Result<(), BuildError> {
    let file = std::fs::File::create(out).map_err(io_err("creating the upload archive"))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    tar.follow_symlinks(false);
    let fail = io_err("building the upload archive");
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
        append_file(&mut tar, &SCRIPT[1..], script.as_bytes(), 0o755)?;
        if let Some(config) = &prepared.kernel_config {
            append_file(&mut tar, &KERNEL_CONFIG[1..], &std::fs::read(config)?, 0o644)?;
        }
        tar.into_inner()?;
        Ok(())
    })()
    .map_err(fail)
}

fn append_file<W: std::io::Write>(tar: &mut tar::Builder<W>, path: &str, data: &[u8], mode: u32) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, path, data)
}
