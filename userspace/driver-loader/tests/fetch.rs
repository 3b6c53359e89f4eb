//! Downloads from a real HTTP server on 127.0.0.1 serving a repository made by the project's own
//! publisher (`dbg drivers publish`: real minisign signatures): a good download, a tampered `.ko`, a
//! bad signature, a truncated transfer, an artifact the index does not list, a server that is down,
//! and a bad file already in the cache. Each failure names what failed, and the cache keeps nothing
//! bad.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use driver_index::{ArtifactName, Kind};
use driver_loader::fetch::{self, Options};
use driver_loader::{Arch, Collect, Error};
use test_infra::artifacts::{scan_output, sha256_line, Selection};
use test_infra::publish::{keygen, publish, PublishOptions};

const V: &str = "8.0.0+driver";
const KO: &str = "falco_debian_6.1.170-3-amd64_1.ko";
const PROBE: &str = "falco_debian_6.1.170-3-amd64_1.o";

/// Serves files under `root` by their URL path as is (an object store's behaviour: the version folder
/// is literally `8.0.0%2Bdriver`), one request per connection. A path in `truncate` is announced whole
/// and cut off halfway.
struct Server {
    url: String,
    truncate: Arc<Mutex<Option<String>>>,
}

impl Server {
    fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let truncate = Arc::new(Mutex::new(None::<String>));
        let cut = truncate.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &root, &cut);
            }
        });
        Server { url, truncate }
    }
}

fn serve(
    mut stream: TcpStream,
    root: &Path,
    truncate: &Mutex<Option<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let file = root.join(path.trim_start_matches('/'));
    let Ok(body) = std::fs::read(&file).and_then(|b| {
        if file.is_dir() {
            Err(std::io::ErrorKind::NotFound.into())
        } else {
            Ok(b)
        }
    }) else {
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let cut = truncate
        .lock()
        .map(|t| t.as_deref().is_some_and(|p| path.ends_with(p)))
        .unwrap_or(false);
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    let sent = if cut { &body[..body.len() / 2] } else { &body };
    stream.write_all(sent)?;
    stream.flush()
}

/// A published repository (one kmod and one probe) and what the loader needs to read it.
struct Repo {
    dir: tempfile::TempDir,
    repo: PathBuf,
    public_key: PathBuf,
    ko_bytes: Vec<u8>,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir
            .path()
            .join("dbg/driverkit/output")
            .join(V)
            .join("x86_64");
        std::fs::create_dir_all(&out).expect("mkdir");
        let ko_bytes = b"\x7fELF a kernel module built for 6.1.170-3-amd64\n".repeat(200);
        for (file, bytes) in [
            (KO, ko_bytes.clone()),
            (PROBE, b"\x7fELF an eBPF probe\n".to_vec()),
        ] {
            std::fs::write(out.join(file), &bytes).expect("write");
            let digest = kernels::files::sha256_hex(&bytes);
            std::fs::write(
                out.join(format!("{file}.sha256")),
                sha256_line(&digest, file),
            )
            .expect("write sha256");
        }
        let keys_dir = dir.path().join("keys");
        std::fs::create_dir_all(&keys_dir).expect("mkdir");
        let keys = keygen(&keys_dir, None).expect("keygen");
        let built = scan_output(&dir.path().join("dbg"), &Selection::default()).expect("scan");
        let repo = dir.path().join("repo");
        let options = PublishOptions {
            include_untested: true,
            ..PublishOptions::default()
        };
        let report = publish(&built, &repo, &keys.secret, &options).expect("publish");
        assert_eq!(report.published.len(), 2, "{report}");
        Repo {
            repo,
            public_key: keys.public,
            ko_bytes,
            dir,
        }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("home/.falco")
    }

    fn options(&self) -> Options {
        let mut options = Options::new().expect("options");
        options.public_key = (
            fetch::read_key(&self.public_key).expect("key"),
            self.public_key.display().to_string(),
        );
        options.timeout = Duration::from_secs(10);
        options.attempts = 2;
        options.backoff = Duration::from_millis(50);
        options
    }

    fn published(&self, file: &str) -> PathBuf {
        self.repo.join("8.0.0%2Bdriver/x86_64").join(file)
    }

    /// Every file in the cache's driver folder (temporary ones too).
    fn cached(&self) -> Vec<String> {
        let dir = self.cache().join(V).join("x86_64");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

fn name(file: &str) -> ArtifactName {
    ArtifactName::parse(file, "falco").expect("artifact name")
}

fn get(
    repo: &Repo,
    repos: &[String],
    file: &str,
    options: &Options,
) -> Result<fetch::Fetched, Error> {
    fetch::fetch(
        repos,
        V,
        Arch::X86_64,
        &name(file),
        &repo.cache(),
        options,
        &Collect::default(),
    )
}

#[test]
fn a_good_download_lands_in_the_cache_and_is_reused() {
    let repo = Repo::new();
    let server = Server::start(repo.repo.clone());
    let fetched = get(
        &repo,
        std::slice::from_ref(&server.url),
        KO,
        &repo.options(),
    )
    .expect("download");
    assert_eq!(fetched.path, repo.cache().join(V).join("x86_64").join(KO));
    assert_eq!(fetched.repo.as_deref(), Some(server.url.as_str()));
    assert_eq!(std::fs::read(&fetched.path).expect("read"), repo.ko_bytes);
    assert_eq!(
        fetched.sha256.as_deref(),
        Some(kernels::files::sha256_hex(&repo.ko_bytes).as_str())
    );
    assert_eq!(repo.cached(), [KO]);
    // Again: the cached file is checked against the signed index and kept.
    let again = get(
        &repo,
        std::slice::from_ref(&server.url),
        KO,
        &repo.options(),
    )
    .expect("cached");
    assert_eq!(again.repo, None);
    assert_eq!(name(PROBE).kind, Kind::Probe);
    let probe = get(
        &repo,
        std::slice::from_ref(&server.url),
        PROBE,
        &repo.options(),
    )
    .expect("probe");
    assert!(probe.path.is_file());
}

#[test]
fn no_repository_says_how_to_name_one() {
    let repo = Repo::new();
    let err = get(&repo, &[], KO, &repo.options()).expect_err("nowhere to download from");
    let text = err.to_string();
    assert!(text.contains("no driver repository"), "{text}");
    assert!(text.contains("--repo URL"), "{text}");
    assert!(repo.cached().is_empty());
}

#[test]
fn a_tampered_module_is_refused_and_not_kept() {
    let repo = Repo::new();
    let server = Server::start(repo.repo.clone());
    let mut bytes = repo.ko_bytes.clone();
    bytes[100] ^= 1;
    std::fs::write(repo.published(KO), &bytes).expect("tamper");
    let err = get(
        &repo,
        std::slice::from_ref(&server.url),
        KO,
        &repo.options(),
    )
    .expect_err("tampered");
    let text = err.to_string();
    assert!(matches!(err, Error::Verify(_)), "{text}");
    assert!(
        text.contains("sha256 mismatch") && text.contains(KO),
        "{text}"
    );
    assert!(text.contains("refused, nothing kept"), "{text}");
    assert!(repo.cached().is_empty(), "{:?}", repo.cached());
}

#[test]
fn a_bad_signature_is_refused() {
    let repo = Repo::new();
    let server = Server::start(repo.repo.clone());
    let index = repo.repo.join("index.json");
    let text = std::fs::read_to_string(&index).expect("read");
    std::fs::write(&index, text.replacen("\"format\": 1", "\"format\":  1", 1)).expect("write");
    let err = get(
        &repo,
        std::slice::from_ref(&server.url),
        KO,
        &repo.options(),
    )
    .expect_err("bad signature");
    let text = err.to_string();
    assert!(matches!(err, Error::Verify(_)), "{text}");
    assert!(
        text.contains("bad signature") && text.contains("index.json"),
        "{text}"
    );
    assert!(repo.cached().is_empty(), "{:?}", repo.cached());

    // An index signed by another key: the same refusal, naming the key it was checked with.
    let repo = Repo::new();
    let server = Server::start(repo.repo.clone());
    let mut options = repo.options();
    options.public_key = (
        fetch::shipped_key().expect("shipped"),
        "the shipped repository key".into(),
    );
    let err = get(&repo, std::slice::from_ref(&server.url), KO, &options).expect_err("other key");
    assert!(
        err.to_string()
            .contains("does not verify with the shipped repository key"),
        "{err}"
    );
    assert!(repo.cached().is_empty());

    // No signature at all.
    std::fs::remove_file(repo.repo.join("index.json.minisig")).expect("rm");
    let err = get(
        &repo,
        std::slice::from_ref(&server.url),
        KO,
        &repo.options(),
    )
    .expect_err("unsigned");
    assert!(
        err.to_string().contains("index.json is not signed"),
        "{err}"
    );
}

#[test]
fn a_truncated_download_is_refused_and_not_kept() {
    let repo = Repo::new();
    let server = Server::start(repo.repo.clone());
    *server.truncate.lock().expect("lock") = Some(KO.to_owned());
    let err = get(
        &repo,
        std::slice::from_ref(&server.url),
        KO,
        &repo.options(),
    )
    .expect_err("truncated");
    let text = err.to_string();
    assert!(text.contains("truncated download"), "{text}");
    assert!(text.contains("after 2 attempts"), "{text}");
    assert!(repo.cached().is_empty(), "{:?}", repo.cached());
}

#[test]
fn an_artifact_missing_from_the_index_is_refused() {
    let repo = Repo::new();
    let server = Server::start(repo.repo.clone());
    let other = "falco_debian_6.1.176-1-amd64_1.ko";
    let err = get(
        &repo,
        std::slice::from_ref(&server.url),
        other,
        &repo.options(),
    )
    .expect_err("missing");
    let text = err.to_string();
    assert!(matches!(err, Error::Download(_)), "{text}");
    assert!(
        text.contains("is not in its signed index.json") && text.contains(other),
        "{text}"
    );
    // A file put in the repository without publishing it is not listed either.
    std::fs::write(repo.published(other), b"unpublished").expect("write");
    let err = get(
        &repo,
        std::slice::from_ref(&server.url),
        other,
        &repo.options(),
    )
    .expect_err("unlisted");
    assert!(
        err.to_string().contains("is not in its signed index.json"),
        "{err}"
    );
    assert!(repo.cached().is_empty(), "{:?}", repo.cached());
}

#[test]
fn a_server_that_is_down_is_named_and_the_next_repository_tried() {
    let repo = Repo::new();
    let down = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let err = get(&repo, std::slice::from_ref(&down), KO, &repo.options()).expect_err("down");
    let text = err.to_string();
    assert!(matches!(err, Error::Download(_)), "{text}");
    assert!(
        text.contains(&down) && text.contains("after 2 attempts"),
        "{text}"
    );
    assert!(repo.cached().is_empty());
    let server = Server::start(repo.repo.clone());
    let fetched =
        get(&repo, &[down, server.url.clone()], KO, &repo.options()).expect("second repo");
    assert_eq!(fetched.repo.as_deref(), Some(server.url.as_str()));
}

#[test]
fn a_bad_cached_file_is_replaced_and_skip_verify_says_what_it_skips() {
    let repo = Repo::new();
    let server = Server::start(repo.repo.clone());
    let dest = repo.cache().join(V).join("x86_64").join(KO);
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    std::fs::write(&dest, b"half a module").expect("write");
    let report = Collect::default();
    let fetched = fetch::fetch(
        std::slice::from_ref(&server.url),
        V,
        Arch::X86_64,
        &name(KO),
        &repo.cache(),
        &repo.options(),
        &report,
    )
    .expect("replaced");
    assert_eq!(std::fs::read(&fetched.path).expect("read"), repo.ko_bytes);
    assert!(
        report
            .lines()
            .iter()
            .any(|l| l.contains("does not match the signed index")),
        "{:?}",
        report.lines()
    );
    // With --insecure-skip-verify, a tampered repository is loaded as is, and the report says so.
    std::fs::remove_file(&dest).expect("rm");
    std::fs::write(repo.published(KO), b"tampered").expect("tamper");
    let mut options = repo.options();
    options.skip_verify = true;
    let report = Collect::default();
    let fetched = fetch::fetch(
        std::slice::from_ref(&server.url),
        V,
        Arch::X86_64,
        &name(KO),
        &repo.cache(),
        &options,
        &report,
    )
    .expect("unverified");
    assert_eq!(fetched.sha256, None);
    assert!(
        report.lines().iter().any(|l| l.starts_with(
            "warn: --insecure-skip-verify: NOT checking the signature of index.json nor the sha256"
        )),
        "{:?}",
        report.lines()
    );
    let mut bytes = Vec::new();
    std::fs::File::open(&fetched.path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .expect("read");
    assert_eq!(bytes, b"tampered");
}

#[test]
fn http_headers_parse_like_falcoctls() {
    assert_eq!(
        fetch::parse_headers("x-emc-namespace: default,Proxy-Authenticate: Basic")
            .expect("headers"),
        [
            ("x-emc-namespace".to_owned(), "default".to_owned()),
            ("Proxy-Authenticate".to_owned(), "Basic".to_owned())
        ]
    );
    assert!(fetch::parse_headers("").expect("none").is_empty());
    assert!(fetch::parse_headers("no colon").is_err());
}
