//! The Kubernetes executor: driverkit's pod recipe, made to fail loudly. A ConfigMap carries the
//! build script; a pod of the builder image mounts it and waits; the source tree and the headers
//! prepared on the host are streamed in through `exec` (the pod needs no network); the build log is
//! followed; the outputs are copied back through `exec` and checked against the digest the pod
//! computes; the pod and the ConfigMap are deleted on every path out (success, failure, timeout,
//! Ctrl-C).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, LocalObjectReference, Pod, PodSecurityContext, PodSpec,
    ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, AttachParams, DeleteParams, LogParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{io_err, BuildError, Built, LogSink, LogTail, Prepared, DRIVER_DIR, KERNEL_DIR};
use crate::config::BuildConfig;
use crate::script::{self, Layout};

/// driverkit's label on the pod and the ConfigMap of one build.
pub const UID_LABEL: &str = "org.falcosecurity/driverkit-uid";
/// Where the ConfigMap is mounted in the pod.
const CONFIG_DIR: &str = "/driverkit";
/// The line the pod prints when the build script ends, followed by its exit code.
const EXIT_MARKER: &str = "==> driverkit build exit code: ";
const UPLOADED: &str = "/tmp/driverkit.uploaded";
const RELEASED: &str = "/tmp/driverkit.released";

/// The pod's entry point: wait for the upload, build, report the exit code, and on success stay up
/// until the outputs are copied out (bounded by the pod's deadline).
const RUN_SCRIPT: &str = r#"#!/bin/bash
until [ -e /tmp/driverkit.uploaded ]; do sleep 1; done
bash /driverkit/build.sh
code=$?
echo "==> driverkit build exit code: $code"
[ "$code" -eq 0 ] || exit "$code"
until [ -e /tmp/driverkit.released ]; do sleep 1; done
"#;

/// Where and how builds run in the cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub namespace: String,
    /// `runAsUser` of the pod.
    pub run_as_user: i64,
    pub image_pull_secret: Option<String>,
}

/// A client from `kubeconfig` (or the usual places: `$KUBECONFIG`, `~/.kube/config`, in-cluster),
/// optionally for another `context` than the current one.
pub async fn connect(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<kube::Client, BuildError> {
    let options = KubeConfigOptions { context: context.map(str::to_owned), ..Default::default() };
    let config = match (kubeconfig, context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| BuildError::Kubernetes(format!("reading the kubeconfig {}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(file, &options).await.map_err(|e| e.to_string())
        }
        (None, Some(_)) => kube::Config::from_kubeconfig(&options).await.map_err(|e| e.to_string()),
        (None, None) => kube::Config::infer().await.map_err(|e| e.to_string()),
    }
    .map_err(|e| BuildError::Kubernetes(format!("no usable cluster configuration ({e}); pass --kubeconfig or set KUBECONFIG")))?;
    kube::Client::try_from(config).map_err(|e| BuildError::Kubernetes(format!("creating the client: {e}")))
}

pub async fn run(
    client: kube::Client,
    cluster: &Cluster,
    build: &BuildConfig,
    prepared: &Prepared,
    tools: &super::docker::Toolchain,
    log: LogSink<'_>,
) -> Result<Built, BuildError> {
    let kernel_config = format!("{CONFIG_DIR}/kernel.config");
    let kerneldir = Path::new(KERNEL_DIR).join(prepared.kerneldir_relative());
    let script = script::render(
        build,
        &Layout {
            driver_dir: Path::new(DRIVER_DIR),
            kerneldir: &kerneldir,
            kernel_config: prepared.kernel_config.as_ref().map(|_| Path::new(&kernel_config)),
            cc: &tools.cc,
            tree_is_ready: prepared.tree_is_ready,
        },
    )?;
    let upload = prepared.work.path().join("upload.tar");
    super::write_upload(prepared, &upload, true, &[])?;

    let uid = build_uid(prepared);
    let name = format!("driverkit-{uid}");
    let meta = ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(cluster.namespace.clone()),
        labels: Some(BTreeMap::from([(UID_LABEL.to_owned(), uid.clone())])),
        ..Default::default()
    };
    let mut data = BTreeMap::from([("build.sh".to_owned(), script), ("run.sh".to_owned(), RUN_SCRIPT.to_owned())]);
    if let Some(config) = &prepared.kernel_config {
        let text = std::fs::read_to_string(config).map_err(io_err("reading the kernel config"))?;
        data.insert("kernel.config".to_owned(), text);
    }
    let config_map = ConfigMap { metadata: meta.clone(), data: Some(data), ..Default::default() };
    let pod = pod_spec(meta, cluster, build, &tools.image);

    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &cluster.namespace);
    let pods: Api<Pod> = Api::namespaced(client, &cluster.namespace);
    config_maps
        .create(&PostParams::default(), &config_map)
        .await
        .map_err(|e| BuildError::Kubernetes(format!("creating ConfigMap {name} in namespace {}: {e}", cluster.namespace)))?;
    let result = match pods.create(&PostParams::default(), &pod).await {
        Ok(_) => {
            tracing::info!(pod = %name, namespace = %cluster.namespace, image = %tools.image, "build pod created");
            let timeout = Duration::from_secs(build.timeout_secs);
            tokio::select! {
                r = tokio::time::timeout(timeout, in_pod(&pods, &name, build, &upload, prepared.work.path(), log)) => {
                    r.unwrap_or(Err(BuildError::Timeout(build.timeout_secs, "pod")))
                }
                _ = tokio::signal::ctrl_c() => Err(BuildError::Interrupted("pod")),
            }
        }
        Err(e) => Err(BuildError::Kubernetes(format!("creating pod {name} in namespace {}: {e}", cluster.namespace))),
    };
    let now = DeleteParams { grace_period_seconds: Some(0), ..Default::default() };
    if let Err(e) = pods.delete(&name, &now).await {
        if result.is_ok() || !is_not_found(&e) {
            tracing::warn!(pod = %name, "could not delete the build pod: {e}");
        }
    }
    if let Err(e) = config_maps.delete(&name, &now).await {
        tracing::warn!(configmap = %name, "could not delete the build ConfigMap: {e}");
    }
    result
}

/// A name unique to this build: the work directory's random suffix with the process id.
fn build_uid(prepared: &Prepared) -> String {
    let dir = prepared.work.path().file_name().unwrap_or_default().to_string_lossy();
    let suffix: String =
        dir.trim_start_matches("driverkit-").chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase();
    format!("{}-{suffix}", std::process::id())
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404)
}

/// driverkit's pod: the builder image running our entry point from the ConfigMap, never restarted,
/// on a node of the target's architecture, within the build's deadline.
fn pod_spec(meta: ObjectMeta, cluster: &Cluster, build: &BuildConfig, image: &str) -> Pod {
    let quantity = |s: &str| Quantity(s.to_owned());
    let env = build.proxy.as_ref().map(|proxy| {
        ["http_proxy", "https_proxy"]
            .into_iter()
            .map(|name| EnvVar { name: name.to_owned(), value: Some(proxy.clone()), ..Default::default() })
            .collect()
    });
    let name = meta.name.clone().unwrap_or_default();
    Pod {
        metadata: meta.clone(),
        spec: Some(PodSpec {
            active_deadline_seconds: Some(build.timeout_secs as i64),
            restart_policy: Some("Never".into()),
            security_context: Some(PodSecurityContext { run_as_user: Some(cluster.run_as_user), ..Default::default() }),
            image_pull_secrets: cluster
                .image_pull_secret
                .as_ref()
                .map(|secret| vec![LocalObjectReference { name: secret.clone() }]),
            node_selector: Some(BTreeMap::from([("kubernetes.io/arch".to_owned(), build.arch.deb().to_owned())])),
            containers: vec![Container {
                name: name.clone(),
                image: Some(image.to_owned()),
                command: Some(vec!["/bin/bash".into(), format!("{CONFIG_DIR}/run.sh")]),
                env,
                image_pull_policy: Some("IfNotPresent".into()),
                resources: Some(ResourceRequirements {
                    requests: Some(BTreeMap::from([("cpu".into(), quantity("1000m")), ("memory".into(), quantity("2000Mi"))])),
                    limits: Some(BTreeMap::from([("cpu".into(), quantity("4")), ("memory".into(), quantity("4G"))])),
                    ..Default::default()
                }),
                volume_mounts: Some(vec![VolumeMount {
                    name: "driverkit".into(),
                    mount_path: CONFIG_DIR.into(),
                    read_only: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            volumes: Some(vec![Volume {
                name: "driverkit".into(),
                config_map: Some(ConfigMapVolumeSource { name: name.clone(), ..Default::default() }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

async fn in_pod(
    pods: &Api<Pod>,
    name: &str,
    build: &BuildConfig,
    upload: &Path,
    work: &Path,
    log: LogSink<'_>,
) -> Result<Built, BuildError> {
    wait_running(pods, name).await?;

    let archive = tokio::fs::read(upload).await.map_err(io_err("reading the upload archive"))?;
    tracing::info!(pod = %name, bytes = archive.len(), "uploading the sources and headers");
    // `head -c` ends the stream for tar whether or not the cluster can signal the end of stdin.
    let unpack = format!("head -c {} | tar -x -C / && touch {UPLOADED}", archive.len());
    let (_, stderr) = exec(pods, name, &["sh", "-c", &unpack], Some(&archive))
        .await
        .map_err(|e| BuildError::Kubernetes(format!("uploading the sources and headers to pod {name}: {e}")))?;
    if !stderr.is_empty() {
        tracing::warn!("unpacking in the pod said: {}", String::from_utf8_lossy(&stderr).trim());
    }

    let (code, tail) = follow_log(pods, name, log).await?;
    if code != 0 {
        return Err(BuildError::Failed { code, tail: tail.render() });
    }

    let (module, probe, out_dir) = super::outputs_to_copy(build, work)?;
    let mut built = Built::default();
    if let Some(path) = module {
        built.module = download(pods, name, &path, &out_dir).await?;
    }
    if let Some(path) = probe {
        built.probe = download(pods, name, &path, &out_dir).await?;
    }
    exec(pods, name, &["touch", RELEASED], None)
        .await
        .map_err(|e| BuildError::Kubernetes(format!("releasing pod {name}: {e}")))?;
    Ok(built)
}

/// Waits until the pod runs, saying why while it does not; a pod that cannot start is an error that
/// names the cluster's reason.
async fn wait_running(pods: &Api<Pod>, name: &str) -> Result<(), BuildError> {
    let mut said = String::new();
    loop {
        let pod = pods.get(name).await.map_err(|e| BuildError::Kubernetes(format!("reading pod {name}: {e}")))?;
        let status = pod.status.unwrap_or_default();
        let phase = status.phase.unwrap_or_else(|| "Pending".into());
        let waiting = status
            .container_statuses
            .unwrap_or_default()
            .into_iter()
            .find_map(|c| c.state.and_then(|s| s.waiting))
            .map(|w| (w.reason.unwrap_or_default(), w.message.unwrap_or_default()));
        match (phase.as_str(), &waiting) {
            ("Running", _) => return Ok(()),
            ("Pending", Some((reason, message))) if CANNOT_START.contains(&reason.as_str()) => {
                return Err(BuildError::Kubernetes(format!(
                    "pod {name} cannot start: {reason}: {message}; the cluster must be able to pull the builder \
                     image (push it to a registry the nodes reach and set `builderimage`, or `--image-pull-secret`)"
                )))
            }
            ("Pending", _) => {}
            (other, _) => {
                return Err(BuildError::Kubernetes(format!(
                    "pod {name} ended ({other}) before the build started: {}",
                    status.message.or(status.reason).unwrap_or_default()
                )))
            }
        }
        let now = format!("{phase} {}", waiting.map(|(r, _)| r).unwrap_or_default());
        if now != said {
            tracing::info!(pod = %name, "waiting for the pod to start: {}", now.trim());
            said = now;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Waiting reasons from which a pod does not recover by itself.
const CANNOT_START: &[&str] =
    &["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError"];

/// Sends the build log on as it comes; returns the build's exit code and the log's last lines.
async fn follow_log(pods: &Api<Pod>, name: &str, sink: LogSink<'_>) -> Result<(i64, LogTail), BuildError> {
    let params = LogParams { follow: true, ..Default::default() };
    let log = pods.log_stream(name, &params).await.map_err(|e| BuildError::Kubernetes(format!("following the build log: {e}")))?;
    let mut lines = log.lines();
    let mut tail = LogTail::new(40);
    while let Some(line) = lines.try_next().await.map_err(io_err("reading the build log"))? {
        if let Some(code) = line.strip_prefix(EXIT_MARKER) {
            let code = code.trim().parse().unwrap_or(-1);
            return Ok((code, tail));
        }
        tail.feed(format!("{line}\n").as_bytes(), &mut *sink);
    }
    // The log ended without the marker: the pod was stopped (deadline, eviction, deletion).
    let pod = pods.get(name).await.map_err(|e| BuildError::Kubernetes(format!("reading pod {name}: {e}")))?;
    let status = pod.status.unwrap_or_default();
    let terminated = status
        .container_statuses
        .unwrap_or_default()
        .into_iter()
        .find_map(|c| c.state.and_then(|s| s.terminated));
    let code = terminated.as_ref().map(|t| i64::from(t.exit_code)).unwrap_or(-1);
    let why = status.reason.or(terminated.and_then(|t| t.reason)).unwrap_or_else(|| "no reason given".into());
    Err(BuildError::Failed { code, tail: format!("{}\n  the pod stopped before the build ended: {why}", tail.render()) })
}

/// Copies one file out of the pod into `dir`, checked against the digest computed in the pod;
/// `None` when the build did not make it.
async fn download(pods: &Api<Pod>, name: &str, path: &str, dir: &Path) -> Result<Option<PathBuf>, BuildError> {
    let command = format!("[ -e {path} ] || exit 3; sha256sum {path} >&2 && cat {path}");
    let (bytes, stderr) = match exec(pods, name, &["sh", "-c", &command], None).await {
        Ok(out) => out,
        Err(ExecError::Exit(3, _)) => return Ok(None),
        Err(e) => return Err(BuildError::Kubernetes(format!("copying {path} out of pod {name}: {e}"))),
    };
    let stderr = String::from_utf8_lossy(&stderr);
    let expected = stderr.split_whitespace().next().unwrap_or_default();
    let got = crate::outputs::digest(&bytes);
    if expected != got {
        return Err(BuildError::Kubernetes(format!(
            "{path} arrived damaged from pod {name}: sha256 {got}, the pod has {expected:?} ({} bytes received)",
            bytes.len()
        )));
    }
    let file_name = Path::new(path).file_name().unwrap_or_default();
    let dest = dir.join(file_name);
    std::fs::write(&dest, &bytes).map_err(io_err(format!("writing {}", dest.display())))?;
    Ok(Some(dest))
}

#[derive(Debug, thiserror::Error)]
enum ExecError {
    #[error("{0}")]
    Kube(#[from] kube::Error),
    #[error("the command exited with code {0}: {1}")]
    Exit(i32, String),
    #[error("the command failed: {0}")]
    Failed(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs `command` in the pod, feeding it `stdin`; its stdout and stderr when it succeeds.
async fn exec(pods: &Api<Pod>, name: &str, command: &[&str], stdin: Option<&[u8]>) -> Result<(Vec<u8>, Vec<u8>), ExecError> {
    let params = AttachParams::default().stdin(stdin.is_some()).stdout(true).stderr(true);
    let mut process = pods.exec(name, command.iter().copied(), &params).await?;
    let status = process.take_status();
    let mut out = process.stdout();
    let mut err = process.stderr();
    let writer = process.stdin();
    let feed = async move {
        if let (Some(mut writer), Some(data)) = (writer, stdin) {
            for chunk in data.chunks(1 << 20) {
                writer.write_all(chunk).await?;
            }
            writer.shutdown().await?;
        }
        Ok::<(), std::io::Error>(())
    };
    let read_out = async {
        let mut buf = Vec::new();
        if let Some(r) = out.as_mut() {
            r.read_to_end(&mut buf).await?;
        }
        Ok::<Vec<u8>, std::io::Error>(buf)
    };
    let read_err = async {
        let mut buf = Vec::new();
        if let Some(r) = err.as_mut() {
            r.read_to_end(&mut buf).await?;
        }
        Ok::<Vec<u8>, std::io::Error>(buf)
    };
    let (fed, stdout, stderr) = tokio::join!(feed, read_out, read_err);
    fed?;
    let (stdout, stderr) = (stdout?, stderr?);
    let status = match status {
        Some(status) => status.await,
        None => None,
    };
    process.join().await.map_err(|e| ExecError::Failed(e.to_string()))?;
    match status {
        Some(s) if s.status.as_deref() == Some("Success") => Ok((stdout, stderr)),
        Some(s) => {
            let code = s
                .details
                .and_then(|d| d.causes)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
                .and_then(|c| c.message)
                .and_then(|m| m.parse().ok());
            let message = format!("{} {}", s.message.unwrap_or_default(), String::from_utf8_lossy(&stderr).trim());
            match code {
                Some(code) => Err(ExecError::Exit(code, message.trim().to_owned())),
                None => Err(ExecError::Failed(message.trim().to_owned())),
            }
        }
        None => Err(ExecError::Failed("the cluster did not report how the command ended".into())),
    }
}
