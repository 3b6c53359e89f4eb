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

use super::{io_err, BuildError, Built, LogSink, LogTail, Prepared, DRIVER_DIR, KERNEL_DIR};
use crate::config::BuildConfig;
use crate::script::{self, Layout};

/// Where the script and the kernel config are put in the container.
const SCRIPT: &str = "/driverkit/build.sh";
const KERNEL_CONFIG: &str = "/driverkit/kernel.config";

pub use crate::toolchain::Toolchain;

pub async fn run(
    docker: &Docker,
    build: &BuildConfig,
    prepared: &Prepared,
    tools: &Toolchain,
    log: LogSink<'_>,
) -> Result<Built, BuildError> {
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
    let mut files = vec![(&SCRIPT[1..], script.into_bytes(), 0o755)];
    if let Some(config) = &prepared.kernel_config {
        files.push((&KERNEL_CONFIG[1..], std::fs::read(config).map_err(io_err("reading the kernel config"))?, 0o644));
    }
    super::write_upload(prepared, &upload, !mount_headers, &files)?;

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
        r = tokio::time::timeout(timeout, in_container(docker, &id, build, &upload, prepared.work.path(), log)) => {
            r.unwrap_or(Err(BuildError::Timeout(build.timeout_secs, "container")))
        }
        _ = tokio::signal::ctrl_c() => Err(BuildError::Interrupted("container")),
    };
    let removed = docker
        .remove_container(&id, Some(RemoveContainerOptionsBuilder::new().force(true).v(true).build()))
        .await;
    if let Err(e) = removed {
        tracing::warn!(container = %name, "could not remove the build container: {e}");
    }
    result
}

async fn in_container(
    docker: &Docker,
    id: &str,
    build: &BuildConfig,
    upload: &Path,
    work: &Path,
    log: LogSink<'_>,
) -> Result<Built, BuildError> {
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
    let mut logs = docker.logs(
        id,
        Some(LogsOptions { follow: true, stdout: true, stderr: true, ..Default::default() }),
    );
    while let Some(chunk) = logs.next().await {
        let chunk = chunk.map_err(|e| BuildError::Docker(format!("reading the build log: {e}")))?;
        tail.feed(&chunk.into_bytes(), &mut *log);
    }
    tail.finish(&mut *log);

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

    let (module, probe, out_dir) = super::outputs_to_copy(build, work)?;
    let mut built = Built::default();
    if let Some(path) = module {
        built.module = download(docker, id, &path, &out_dir).await?;
    }
    if let Some(path) = probe {
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
