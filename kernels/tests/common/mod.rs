//! A loopback HTTP server serving fixed files, and builders for archive indexes in their published
//! formats (Debian's `Release`/`Packages`, rpm-md's `repomd.xml`/`primary.xml`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

#[derive(Clone)]
pub enum Reply {
    Ok(Vec<u8>),
    Status(u16),
}

/// Serves `files` (path → reply) on 127.0.0.1; anything else is a 404. Records every request line.
pub struct Server {
    pub base: String,
    files: Arc<Mutex<HashMap<String, Reply>>>,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let files: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (f, l) = (files.clone(), log.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (f, l) = (f.clone(), l.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut first = String::new();
                    if reader.read_line(&mut first).is_err() {
                        return;
                    }
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    let mut words = first.split_whitespace();
                    let method = words.next().unwrap_or("").to_owned();
                    let path = words.next().unwrap_or("").to_owned();
                    l.lock().expect("log").push(format!("{method} {path}"));
                    let reply = f.lock().expect("files").get(&path).cloned().unwrap_or(Reply::Status(404));
                    let (code, body) = match reply {
                        Reply::Ok(b) => (200, b),
                        Reply::Status(c) => (c, format!("status {c}\n").into_bytes()),
                    };
                    let head = format!(
                        "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    if method != "HEAD" {
                        let _ = stream.write_all(&body);
                    }
                });
            }
        });
        Server { base, files, log }
    }

    pub fn put(&self, path: &str, reply: Reply) {
        self.files.lock().expect("files").insert(path.to_owned(), reply);
    }

    pub fn requests(&self, needle: &str) -> usize {
        self.log.lock().expect("log").iter().filter(|l| l.contains(needle)).count()
    }
}

pub fn sha256(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

pub fn xz(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = xz2::write::XzEncoder::new(&mut out, 6);
    w.write_all(b).expect("xz");
    w.finish().expect("xz");
    out
}

pub fn gz(b: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    w.write_all(b).expect("gz");
    w.finish().expect("gz")
}

/// One stanza of a Packages index, with the fields a real one has around those the crawler reads.
pub fn stanza(name: &str, version: &str, arch: &str, depends: &str, filename: &str) -> String {
    let mut s = format!("Package: {name}\nSource: linux\nVersion: {version}\nInstalled-Size: 4050\n");
    s.push_str("Maintainer: Kernel Team <kernel@mirror.example>\n");
    s.push_str(&format!("Architecture: {arch}\n"));
    if !depends.is_empty() {
        s.push_str(&format!("Depends: {depends}\n"));
    }
    s.push_str(&format!("Description: {name}\n This package provides the files.\n .\n More text.\n"));
    s.push_str(&format!("Filename: {filename}\nSize: 1000\n"));
    s.push_str(&format!("SHA256: {}\n\n", sha256(filename.as_bytes())));
    s
}

/// Serves `dists/<suite>/Release` and its `main/binary-<arch>/Packages.xz` under `root` (a URL path
/// such as `/debian`), and every pool file the index lists (as a whole archive would; a test then
/// takes some away); returns the Release text.
pub fn serve_suite(server: &Server, root: &str, suite: &str, codename: &str, arch: &str, packages: &str) -> String {
    for file in packages.lines().filter_map(|l| l.strip_prefix("Filename: ")) {
        server.put(&format!("{root}/{file}"), Reply::Ok(file.as_bytes().to_vec()));
    }
    let xz_bytes = xz(packages.as_bytes());
    let release = release_text(suite, codename, arch, packages.as_bytes(), &xz_bytes);
    server.put(&format!("{root}/dists/{suite}/Release"), Reply::Ok(release.clone().into_bytes()));
    server.put(&format!("{root}/dists/{suite}/main/binary-{arch}/Packages.xz"), Reply::Ok(xz_bytes));
    release
}

pub fn release_text(suite: &str, codename: &str, arch: &str, plain: &[u8], xz_bytes: &[u8]) -> String {
    format!(
        "Origin: Debian\nLabel: Debian\nSuite: {suite}\nCodename: {codename}\nDate: Sat, 11 Jul 2026 10:16:37 UTC\n\
Architectures: all amd64 arm64\nComponents: main contrib non-free-firmware non-free\nDescription: fixture\nMD5Sum:\n \
0ed6d4c8891eb86358b94bb35d9e4da4 {} main/binary-{arch}/Packages\nSHA256:\n {} {} main/binary-{arch}/Packages\n {} {} main/binary-{arch}/Packages.xz\n",
        plain.len(),
        sha256(plain),
        plain.len(),
        sha256(xz_bytes),
        xz_bytes.len()
    )
}
