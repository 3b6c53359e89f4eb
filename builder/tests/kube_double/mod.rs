//! A TEST DOUBLE of the Kubernetes API server, because no cluster can run on these machines: the
//! part of the core/v1 API the kubernetes executor uses (ConfigMaps; pods: create, get, delete, log,
//! exec over WebSocket with the v5/v4 channel protocols), served on loopback, with pods run for real
//! as containers of the local Docker engine (a ConfigMap volume becomes a read-only bind mount, the
//! pod gets no network). Everything else answers 404 the way the API server does.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptions, RemoveContainerOptionsBuilder};
use bollard::Docker;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// The label on every container a double runs (its address as the value), to find what a test left
/// behind.
const CONTAINER_LABEL: &str = "kube-double.server";

#[derive(Default)]
struct Objects {
    config_maps: BTreeMap<(String, String), Value>,
    pods: BTreeMap<(String, String), Pod>,
    /// Every pod created, as stored.
    created_pods: Vec<Value>,
    /// Every request, as `METHOD path`, for tests to assert on.
    requests: Vec<String>,
}

#[derive(Clone)]
struct Pod {
    object: Value,
    /// The container running it, or why there is none.
    container: Result<String, String>,
}

#[derive(Clone)]
struct Shared {
    objects: Arc<Mutex<Objects>>,
    docker: Docker,
    volumes: PathBuf,
    /// The server's address, which labels its containers.
    address: String,
}

pub struct KubeDouble {
    pub base: String,
    pub kubeconfig: PathBuf,
    shared: Shared,
    _dir: tempfile::TempDir,
}

impl KubeDouble {
    /// Serves on 127.0.0.1 from a thread of its own; the kubeconfig's current context points at it
    /// with `namespace` as its default.
    pub fn start(namespace: &str) -> KubeDouble {
        let dir = tempfile::tempdir().expect("tmp");
        let volumes = dir.path().join("volumes");
        std::fs::create_dir_all(&volumes).expect("mkdir");
        let docker = Docker::connect_with_local_defaults().expect("docker");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("addr").to_string();
        let base = format!("http://{address}");
        let shared = Shared { objects: Default::default(), docker, volumes, address };
        let app = router(shared.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: double\n  cluster:\n    server: {base}\n\
                 users:\n- name: tester\n  user:\n    token: not-checked\ncontexts:\n- name: double\n  context:\n    \
                 cluster: double\n    user: tester\n    namespace: {namespace}\ncurrent-context: double\n"
            ),
        )
        .expect("kubeconfig");
        KubeDouble { base, kubeconfig, shared, _dir: dir }
    }

    pub fn requests(&self) -> Vec<String> {
        self.objects().requests.clone()
    }

    /// Names of the pods and ConfigMaps that exist.
    pub fn pods(&self) -> Vec<String> {
        self.objects().pods.keys().map(|(_, n)| n.clone()).collect()
    }

    pub fn config_maps(&self) -> Vec<String> {
        self.objects().config_maps.keys().map(|(_, n)| n.clone()).collect()
    }

    /// The last pod created, as stored.
    pub fn last_pod(&self) -> Option<Value> {
        self.objects().created_pods.last().cloned()
    }

    /// Containers of pods this double ran that still exist.
    pub fn leftover_containers(&self) -> String {
        let out = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("label={CONTAINER_LABEL}={}", self.shared.address)])
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, Objects> {
        self.shared.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/api/v1/namespaces/{ns}/configmaps", post(create_config_map))
        .route("/api/v1/namespaces/{ns}/configmaps/{name}", get(get_config_map).delete(delete_config_map))
        .route("/api/v1/namespaces/{ns}/pods", post(create_pod))
        .route("/api/v1/namespaces/{ns}/pods/{name}", get(get_pod).delete(delete_pod))
        .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(pod_log))
        .route("/api/v1/namespaces/{ns}/pods/{name}/exec", get(pod_exec))
        .fallback(|uri: axum::http::Uri| async move { not_found("resource", &uri.to_string()) })
        .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

async fn record(
    State(shared): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let line = format!("{} {}", request.method(), request.uri().path());
    shared.objects.lock().unwrap_or_else(|p| p.into_inner()).requests.push(line);
    next.run(request).await
}

fn not_found(kind: &str, name: &str) -> Response {
    status_response(StatusCode::NOT_FOUND, "NotFound", &format!("{kind} \"{name}\" not found"))
}

fn status_response(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()
    });
    (code, Json(body)).into_response()
}

/// The object as stored: the client's, with the fields the server sets.
fn admit(mut object: Value, ns: &str, kind: &str) -> (String, Value) {
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    object["apiVersion"] = json!("v1");
    object["kind"] = json!(kind);
    object["metadata"]["namespace"] = json!(ns);
    object["metadata"]["uid"] = json!(format!("{kind}-{name}").to_lowercase());
    object["metadata"]["resourceVersion"] = json!("1");
    (name, object)
}

async fn create_config_map(State(shared): State<Shared>, UrlPath(ns): UrlPath<String>, Json(body): Json<Value>) -> Response {
    let (name, object) = admit(body, &ns, "ConfigMap");
    let mut objects = shared.objects.lock().unwrap_or_else(|p| p.into_inner());
    if objects.config_maps.contains_key(&(ns.clone(), name.clone())) {
        return status_response(StatusCode::CONFLICT, "AlreadyExists", &format!("configmaps \"{name}\" already exists"));
    }
    objects.config_maps.insert((ns, name), object.clone());
    (StatusCode::CREATED, Json(object)).into_response()
}

async fn get_config_map(State(shared): State<Shared>, UrlPath((ns, name)): UrlPath<(String, String)>) -> Response {
    let objects = shared.objects.lock().unwrap_or_else(|p| p.into_inner());
    match objects.config_maps.get(&(ns, name.clone())) {
        Some(o) => Json(o.clone()).into_response(),
        None => not_found("configmaps", &name),
    }
}

async fn delete_config_map(State(shared): State<Shared>, UrlPath((ns, name)): UrlPath<(String, String)>) -> Response {
    let mut objects = shared.objects.lock().unwrap_or_else(|p| p.into_inner());
    match objects.config_maps.remove(&(ns, name.clone())) {
        Some(o) => Json(o).into_response(),
        None => not_found("configmaps", &name),
    }
}

async fn create_pod(State(shared): State<Shared>, UrlPath(ns): UrlPath<String>, Json(body): Json<Value>) -> Response {
    let (name, object) = admit(body, &ns, "Pod");
    let container = match run_pod(&shared, &ns, &name, &object).await {
        Ok(id) => Ok(id),
        Err(PodError::Rejected(message)) => return status_response(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &message),
        Err(PodError::CannotStart(message)) => Err(message),
    };
    let mut objects = shared.objects.lock().unwrap_or_else(|p| p.into_inner());
    objects.created_pods.push(object.clone());
    objects.pods.insert((ns, name), Pod { object: object.clone(), container });
    (StatusCode::CREATED, Json(object)).into_response()
}

enum PodError {
    /// The API server refuses the object.
    Rejected(String),
    /// The pod exists but its container cannot be made (the kubelet's waiting reason).
    CannotStart(String),
}

/// Runs the pod's one container: its image, command, env and user, ConfigMap volumes as read-only
/// binds of their data written out, no network.
async fn run_pod(shared: &Shared, ns: &str, name: &str, pod: &Value) -> Result<String, PodError> {
    let spec = &pod["spec"];
    let containers = spec["containers"].as_array().cloned().unwrap_or_default();
    let [container] = containers.as_slice() else {
        return Err(PodError::Rejected("the double runs pods of exactly one container".into()));
    };
    let mut binds = Vec::new();
    for mount in container["volumeMounts"].as_array().cloned().unwrap_or_default() {
        let volume = spec["volumes"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == mount["name"]).cloned())
            .ok_or_else(|| PodError::Rejected(format!("volume {} is not defined", mount["name"])))?;
        let cm_name = volume["configMap"]["name"].as_str().unwrap_or_default().to_owned();
        let data = {
            let objects = shared.objects.lock().unwrap_or_else(|p| p.into_inner());
            objects.config_maps.get(&(ns.to_owned(), cm_name.clone())).map(|cm| cm["data"].clone())
        };
        let data = data.ok_or_else(|| PodError::CannotStart(format!("CreateContainerConfigError: configmap \"{cm_name}\" not found")))?;
        let dir = shared.volumes.join(format!("{ns}-{name}-{cm_name}"));
        std::fs::create_dir_all(&dir).map_err(|e| PodError::Rejected(e.to_string()))?;
        for (key, value) in data.as_object().cloned().unwrap_or_default() {
            std::fs::write(dir.join(key), value.as_str().unwrap_or_default()).map_err(|e| PodError::Rejected(e.to_string()))?;
        }
        binds.push(format!("{}:{}:ro", dir.display(), mount["mountPath"].as_str().unwrap_or_default()));
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    };
    let env: Vec<String> = container["env"]
        .as_array()
        .map(|a| a.iter().map(|e| format!("{}={}", e["name"].as_str().unwrap_or(""), e["value"].as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    let image = container["image"].as_str().unwrap_or_default().to_owned();
    let body = ContainerCreateBody {
        image: Some(image.clone()),
        cmd: Some([strings(&container["command"]), strings(&container["args"])].concat()),
        env: Some(env),
        user: spec["securityContext"]["runAsUser"].as_i64().map(|u| u.to_string()),
        network_disabled: Some(true),
        labels: Some([(CONTAINER_LABEL.to_owned(), shared.address.clone())].into()),
        host_config: Some(HostConfig { network_mode: Some("none".into()), binds: Some(binds), ..Default::default() }),
        ..Default::default()
    };
    let container_name = format!("kube-double-{}-{ns}-{name}", shared.address.replace([':', '.'], "-"));
    let created = shared
        .docker
        .create_container(Some(CreateContainerOptionsBuilder::new().name(&container_name).build()), body)
        .await
        .map_err(|e| {
            PodError::CannotStart(format!("ErrImagePull: failed to pull image \"{image}\": this double pulls nothing ({e})"))
        })?;
    shared
        .docker
        .start_container(&created.id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(|e| PodError::CannotStart(format!("RunContainerError: {e}")))?;
    Ok(created.id)
}

fn pod_of(shared: &Shared, ns: &str, name: &str) -> Option<Pod> {
    shared.objects.lock().unwrap_or_else(|p| p.into_inner()).pods.get(&(ns.to_owned(), name.to_owned())).cloned()
}

async fn get_pod(State(shared): State<Shared>, UrlPath((ns, name)): UrlPath<(String, String)>) -> Response {
    let Some(pod) = pod_of(&shared, &ns, &name) else { return not_found("pods", &name) };
    let mut object = pod.object.clone();
    let container_name = object["spec"]["containers"][0]["name"].clone();
    let image = object["spec"]["containers"][0]["image"].clone();
    let (phase, state) = match &pod.container {
        Err(why) => {
            let (reason, message) = why.split_once(": ").unwrap_or(("ErrImagePull", why));
            ("Pending", json!({"waiting": {"reason": reason, "message": message}}))
        }
        Ok(id) => match shared.docker.inspect_container(id, None).await {
            Ok(inspect) => {
                let state = inspect.state.unwrap_or_default();
                if state.running.unwrap_or(false) {
                    ("Running", json!({"running": {}}))
                } else {
                    let code = state.exit_code.unwrap_or(-1);
                    let reason = if code == 0 { "Completed" } else { "Error" };
                    (if code == 0 { "Succeeded" } else { "Failed" }, json!({"terminated": {"exitCode": code, "reason": reason}}))
                }
            }
            Err(e) => ("Unknown", json!({"waiting": {"reason": "Unknown", "message": e.to_string()}})),
        },
    };
    object["status"] = json!({
        "phase": phase,
        "containerStatuses": [{
            "name": container_name, "image": image, "imageID": "", "ready": phase == "Running",
            "restartCount": 0, "state": state
        }]
    });
    Json(object).into_response()
}

async fn delete_pod(State(shared): State<Shared>, UrlPath((ns, name)): UrlPath<(String, String)>) -> Response {
    let removed = shared.objects.lock().unwrap_or_else(|p| p.into_inner()).pods.remove(&(ns, name.clone()));
    let Some(pod) = removed else { return not_found("pods", &name) };
    if let Ok(id) = &pod.container {
        let _ = shared.docker.remove_container(id, Some(RemoveContainerOptionsBuilder::new().force(true).build())).await;
    }
    Json(pod.object).into_response()
}

async fn pod_log(State(shared): State<Shared>, UrlPath((ns, name)): UrlPath<(String, String)>, RawQuery(query): RawQuery) -> Response {
    let Some(pod) = pod_of(&shared, &ns, &name) else { return not_found("pods", &name) };
    let Ok(id) = pod.container else {
        return status_response(StatusCode::BAD_REQUEST, "BadRequest", &format!("container in pod \"{name}\" is waiting to start"));
    };
    let follow = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).any(|(k, v)| k == "follow" && v == "true");
    let stream = shared
        .docker
        .logs(&id, Some(LogsOptions { follow, stdout: true, stderr: true, ..Default::default() }))
        .map(|chunk| chunk.map(|c| Bytes::from(c.into_bytes().to_vec())).map_err(std::io::Error::other));
    Body::from_stream(stream).into_response()
}

async fn pod_exec(
    ws: WebSocketUpgrade,
    State(shared): State<Shared>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(pod) = pod_of(&shared, &ns, &name) else { return not_found("pods", &name) };
    let Ok(id) = pod.container else {
        return status_response(StatusCode::BAD_REQUEST, "BadRequest", &format!("pod \"{name}\" is not running"));
    };
    let query = query.unwrap_or_default();
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let command: Vec<String> = params.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect();
    let stdin = params.iter().any(|(k, v)| k == "stdin" && v == "true");
    ws.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"])
        .on_upgrade(move |socket| exec_session(socket, shared.docker, id, command, stdin))
}

/// One exec: channel 0 in is stdin (255,0 closes it, v5), channels 1 and 2 out are stdout and stderr,
/// channel 3 carries the `Status` at the end.
async fn exec_session(socket: WebSocket, docker: Docker, container: String, command: Vec<String>, stdin: bool) {
    let (mut to_client, mut from_client) = socket.split();
    let options = CreateExecOptions {
        cmd: Some(command),
        attach_stdin: Some(stdin),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let status = match docker.create_exec(&container, options).await {
        Ok(exec) => match docker.start_exec(&exec.id, None).await {
            Ok(StartExecResults::Attached { mut output, mut input }) => {
                let feeder = tokio::spawn(async move {
                    while let Some(Ok(message)) = from_client.next().await {
                        match message {
                            Message::Binary(b) if b.first() == Some(&0) => {
                                let written = input.write_all(&b[1..]).await;
                                if written.is_err() {
                                    break;
                                }
                            }
                            Message::Binary(b) if b[..] == [255, 0] => {
                                let _ = input.shutdown().await;
                            }
                            Message::Close(_) => break,
                            _ => {}
                        }
                    }
                    let _ = input.shutdown().await;
                });
                while let Some(Ok(out)) = output.next().await {
                    let (channel, bytes) = match out {
                        LogOutput::StdOut { message } => (1u8, message),
                        LogOutput::StdErr { message } => (2u8, message),
                        _ => continue,
                    };
                    for chunk in bytes.chunks(32 * 1024) {
                        let frame: Vec<u8> = std::iter::once(channel).chain(chunk.iter().copied()).collect();
                        if to_client.send(Message::Binary(frame.into())).await.is_err() {
                            break;
                        }
                    }
                }
                feeder.abort();
                match docker.inspect_exec(&exec.id).await.ok().and_then(|i| i.exit_code) {
                    Some(0) => json!({"metadata": {}, "status": "Success"}),
                    Some(code) => json!({
                        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                        "message": format!("command terminated with non-zero exit code: exit status {code}"),
                        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
                    }),
                    None => json!({"metadata": {}, "status": "Failure", "message": "the exec's end is unknown"}),
                }
            }
            Ok(StartExecResults::Detached) => json!({"metadata": {}, "status": "Failure", "message": "detached"}),
            Err(e) => json!({"metadata": {}, "status": "Failure", "message": e.to_string()}),
        },
        Err(e) => json!({"metadata": {}, "status": "Failure", "message": e.to_string()}),
    };
    let frame: Vec<u8> = std::iter::once(3u8).chain(status.to_string().into_bytes()).collect();
    let _ = to_client.send(Message::Binary(frame.into())).await;
    let _ = to_client.close().await;
}
