//! Shared pieces of the builder's integration tests: the `driverkit` binary, a loopback HTTP server
//! serving real Debian packages, the builder image, driverkit configs in test-infra's layout.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("repository root")
}

/// Runs `driverkit ARGS` with a test cache, returning its output.
pub fn driverkit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driverkit"))
        .args(args)
        .current_dir(cwd)
        .env("DRIVERKIT_CACHE", cache())
        .env_remove("HOME")
        .output()
        .expect("driverkit runs")
}

pub fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

pub fn cache() -> PathBuf {
    repo().join(".cache/driverkit")
}

/// Makes the local builder image once per machine (later calls find it), serialized across tests.
pub fn ensure_builder_image() {
    static ONCE: Mutex<bool> = Mutex::new(false);
    let mut done = ONCE.lock().unwrap_or_else(|p| p.into_inner());
    if *done {
        return;
    }
    // The kernels these tests build (bookworm's 6.1 and 6.12) were built by bookworm's gcc 12.
    let out = driverkit(&["images", "build", "--suite", "bookworm"], &repo());
    assert!(out.status.success(), "driverkit images build failed:\n{}", text(&out));
    *done = true;
}

/// The `.deb` files of a Debian kernel's headers (headers, common, kbuild), fetched by name.
pub fn header_debs(release: &str) -> Vec<PathBuf> {
    let headers = format!("linux-headers-{release}");
    let mut names = vec![headers.clone()];
    names.extend(kernels::debian::build_dependencies(&headers).expect("apt knows the headers"));
    names
        .iter()
        .map(|n| test_infra::packages::fetch_deb(n).expect("apt-get download"))
        .collect()
}

/// An HTTP/1.1 server on 127.0.0.1 serving the files of a directory (GET and HEAD; 404 otherwise).
pub struct FileServer {
    pub base: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl FileServer {
    pub fn start(files: &[PathBuf]) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let files: Vec<PathBuf> = files.to_vec();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let files = files.clone();
                let log = log.clone();
                std::thread::spawn(move || serve(stream, &files, &log));
            }
        });
        FileServer { base, requests }
    }

    /// The URL of a served file.
    pub fn url(&self, file: &Path) -> String {
        let name = file.file_name().expect("name").to_string_lossy().replace('+', "%2B");
        format!("{}/{name}", self.base)
    }
}

fn serve(mut stream: TcpStream, files: &[PathBuf], log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                break;
            }
        }
        let mut parts = request.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").replace("%2B", "+").replace("%2b", "+");
        log.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{method} {path}"));
        let file = files.iter().find(|f| format!("/{}", f.file_name().unwrap_or_default().to_string_lossy()) == path);
        let result = match file.and_then(|f| std::fs::read(f).ok()) {
            Some(body) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n", body.len());
                stream.write_all(head.as_bytes()).and_then(|()| if method == "GET" { stream.write_all(&body) } else { Ok(()) })
            }
            None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        };
        if result.is_err() {
            return;
        }
        let _ = stream.flush();
        let _ = reader.get_ref().read(&mut []);
    }
}

/// A driverkit config in test-infra's layout, `config/<driverversion>/x86_64/<target>_<release>_<kernelversion>.yaml`
/// under `root`, returning its path.
pub fn write_config(root: &Path, driverversion: &str, target: &str, release: &str, body: &str) -> PathBuf {
    let dir = root.join("config").join(driverversion).join("x86_64");
    std::fs::create_dir_all(&dir).expect("config dir");
    let path = dir.join(format!("{target}_{release}_1.yaml"));
    std::fs::write(&path, body).expect("config");
    path
}

/// Config text for a Debian module build of `release` from header `urls`, into `output`.
pub fn debian_config(release: &str, urls: &[String], output: &Path) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("  - {u}\n")).collect();
    format!(
        "kernelversion: 1\nkernelrelease: {release}\ntarget: debian\narchitecture: amd64\ndriverversion: master\n\
         moduledrivername: scap\nmoduledevicename: scap\ntimeout: 900\noutput:\n  module: {}\nkernelurls:\n{}",
        output.display(),
        urls.concat()
    )
}

/// The committed tree, extracted under `work/tree`.
pub fn tree_copy(work: &Path) -> PathBuf {
    let tree = work.join("tree");
    let archive = work.join("tree.tar");
    let made = Command::new("git")
        .arg("-C")
        .arg(repo())
        .args(["archive", "--format=tar", "-o"])
        .arg(&archive)
        .arg("HEAD")
        .status()
        .expect("git archive");
    assert!(made.success());
    std::fs::create_dir_all(&tree).expect("mkdir");
    assert!(Command::new("tar").arg("-C").arg(&tree).arg("-xf").arg(&archive).status().expect("tar").success());
    tree
}
