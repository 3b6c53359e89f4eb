//! Installing on this machine: `install --type modern_ebpf` needs nothing; `install --type ebpf`
//! downloads, verifies and links the probe where `sinsp --driver bpf` looks for it, and `cleanup`
//! removes the link; `install --type kmod` downloads and verifies, then reports the kernel's own
//! reason for refusing the module (this kernel has no module support; loading a real module, and the
//! vermagic, signature and lockdown refusals, are left to the qemu boot tests).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use driver_loader::fetch::{self, Options};
use driver_loader::install::{install, InstallOptions, Installed};
use driver_loader::kernel::Kernel;
use driver_loader::load::{self, Unload};
use driver_loader::settings::{self, FileDriver, Given, Plan};
use driver_loader::target::Target;
use driver_loader::{Arch, Collect, DriverType, Error};
use test_infra::artifacts::{scan_output, sha256_line, Selection};
use test_infra::publish::{keygen, publish, PublishOptions};

const V: &str = "8.0.0+driver";
const STEM: &str = "falco_debian_6.1.170-3-amd64_1";

fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, &root);
        }
    });
    url
}

fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    match std::fs::read(root.join(path.trim_start_matches('/'))) {
        Ok(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)
        }
        Err(_) => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    }
}

struct Setup {
    dir: tempfile::TempDir,
    url: String,
    public_key: PathBuf,
}

impl Setup {
    /// A published repository with the kmod and probe of Debian's 6.1.0-47 (6.1.170-3), a host root
    /// with Debian's os-release, and a server for the repository.
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir
            .path()
            .join("dbg/driverkit/output")
            .join(V)
            .join("x86_64");
        std::fs::create_dir_all(&out).expect("mkdir");
        for ext in ["ko", "o"] {
            let file = format!("{STEM}.{ext}");
            let bytes = format!("\x7fELF {file}\n").repeat(50);
            std::fs::write(out.join(&file), &bytes).expect("write");
            let digest = kernels::files::sha256_hex(bytes.as_bytes());
            std::fs::write(
                out.join(format!("{file}.sha256")),
                sha256_line(&digest, &file),
            )
            .expect("sha");
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
        publish(&built, &repo, &keys.secret, &options).expect("publish");
        let host = dir.path().join("host/etc");
        std::fs::create_dir_all(&host).expect("mkdir");
        std::fs::write(
            host.join("os-release"),
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
        )
        .expect("os-release");
        Setup {
            url: serve(repo),
            public_key: keys.public,
            dir,
        }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("home/.falco")
    }

    fn plan(&self, driver: DriverType) -> Plan {
        let given = Given {
            types: Some(vec![driver.to_string()]),
            repos: Some(vec![format!("{}/", self.url)]),
            version: Some(V.into()),
            host_root: Some(self.dir.path().join("host").to_string_lossy().into_owned()),
            ..Given::default()
        };
        let settings = settings::resolve(
            &given,
            &|_| None,
            &FileDriver::default(),
            Path::new("/nonexistent"),
        )
        .expect("settings");
        let kernel = Kernel {
            release: "6.1.0-47-amd64".into(),
            version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3 (2026-10-25)".into(),
            arch: Arch::X86_64,
        };
        let target = Target::discover(&settings.host_root, &kernel).expect("target");
        Plan::new(settings, kernel, target, &|| false).expect("plan")
    }

    fn options(&self) -> InstallOptions {
        let mut fetch = Options::new().expect("options");
        fetch.public_key = (
            fetch::read_key(&self.public_key).expect("key"),
            "test key".into(),
        );
        fetch.timeout = Duration::from_secs(10);
        InstallOptions {
            download: true,
            compile: false,
            cache: self.cache(),
            fetch,
            unload: Unload {
                attempts: 2,
                wait: Duration::from_millis(10),
            },
        }
    }
}

#[test]
fn modern_ebpf_needs_nothing_downloaded_on_this_kernel() {
    let kernel = Kernel::running().expect("uname");
    let dir = tempfile::tempdir().expect("tempdir");
    let given = Given {
        types: Some(vec!["modern_ebpf".into(), "kmod".into()]),
        version: Some(V.into()),
        ..Given::default()
    };
    let settings =
        settings::resolve(&given, &|_| None, &FileDriver::default(), dir.path()).expect("settings");
    let target = Target::discover(&settings.host_root, &kernel).expect("target");
    let runs = || {
        use scap::engine::features::{Driver, Features};
        Features::probe().missing_for(Driver::ModernBpf).is_none()
    };
    if !runs() {
        eprintln!("skipped: this kernel cannot run the CO-RE probe here (privileges or BTF)");
        return;
    }
    let plan = Plan::new(settings, kernel, target, &runs).expect("plan");
    assert_eq!(plan.driver, DriverType::ModernEbpf);
    let report = Collect::default();
    let installed = install(
        &plan,
        &InstallOptions {
            download: true,
            compile: true,
            cache: dir.path().join(".falco"),
            fetch: Options::new().expect("options"),
            unload: Unload::default(),
        },
        &report,
    )
    .expect("install");
    assert_eq!(installed, Installed::NothingNeeded(DriverType::ModernEbpf));
    assert!(
        report
            .lines()
            .iter()
            .any(|l| l.contains("nothing to download")),
        "{:?}",
        report.lines()
    );
    assert!(!dir.path().join(".falco").exists(), "nothing written");

    // The binary says the same.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_driver-loader"))
        .args([
            "install",
            "--type",
            "modern_ebpf",
            "--version",
            V,
            "--config",
        ])
        .arg(dir.path().join("falcoctl.yaml"))
        .env("HOME", dir.path())
        .output()
        .expect("driver-loader");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("modern_ebpf: nothing to download"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_probe_is_linked_where_sinsp_looks_and_cleanup_removes_it() {
    let setup = Setup::new();
    let plan = setup.plan(DriverType::Ebpf);
    let report = Collect::default();
    let installed = install(&plan, &setup.options(), &report).expect("install");
    let Installed::Probe { fetched, link } = installed else {
        panic!("a probe: {installed:?}");
    };
    assert_eq!(link, setup.cache().join("falco-bpf.o"));
    assert_eq!(std::fs::read_link(&link).expect("a link"), fetched.path);
    assert_eq!(
        fetched.path,
        setup
            .cache()
            .join(V)
            .join("x86_64")
            .join(format!("{STEM}.o"))
    );
    // Where `sinsp --driver bpf` (and Falco) look without a path: $HOME/.falco/falco-bpf.o.
    // SAFETY: this is the only test of this binary that reads or writes the environment.
    unsafe {
        std::env::remove_var("FALCO_BPF_PROBE");
        std::env::set_var("HOME", setup.dir.path().join("home"));
    }
    assert_eq!(scap::engine::bpf::default_probe_path(), Some(link.clone()));
    // Installing again replaces the link.
    install(&plan, &setup.options(), &report).expect("again");
    assert!(link.is_symlink());

    let cleaned = load::cleanup(
        DriverType::Ebpf,
        "falco",
        &setup.cache(),
        Unload::default(),
        &report,
    )
    .expect("cleanup");
    assert_eq!(cleaned.probe_link_removed, Some(link.clone()));
    assert!(!link.is_symlink());
    let again = load::cleanup(
        DriverType::Ebpf,
        "falco",
        &setup.cache(),
        Unload::default(),
        &report,
    )
    .expect("cleanup twice");
    assert_eq!(again.probe_link_removed, None);
}

#[test]
fn the_kmod_is_downloaded_verified_and_the_kernels_refusal_reported() {
    let setup = Setup::new();
    let plan = setup.plan(DriverType::Kmod);
    assert_eq!(
        plan.artifact().expect("artifact").file_name(),
        format!("{STEM}.ko")
    );
    let err = install(&plan, &setup.options(), &Collect::default()).expect_err("no modules here");
    let text = err.to_string();
    assert!(matches!(err, Error::Load(_)), "{text}");
    assert!(
        text.contains("finit_module") && text.contains(&format!("{STEM}.ko")),
        "{text}"
    );
    // The downloaded module was verified and kept; the reason is the kernel's.
    let cached = setup
        .cache()
        .join(V)
        .join("x86_64")
        .join(format!("{STEM}.ko"));
    assert!(cached.is_file());
    if !Path::new("/proc/modules").exists() {
        assert!(text.contains("no loadable module support"), "{text}");
    }
    // Nothing loaded, so nothing to unload.
    let cleaned = load::cleanup(
        DriverType::Kmod,
        "falco",
        &setup.cache(),
        Unload::default(),
        &Collect::default(),
    )
    .expect("cleanup");
    assert!(!cleaned.module_unloaded);
}

#[test]
fn the_kernels_reasons_are_named() {
    for (errno, words) in [
        (libc::ENOEXEC, "vermagic"),
        (libc::EINVAL, "symbol version"),
        (libc::EKEYREJECTED, "signature enforcement"),
        (libc::ENOKEY, "signature enforcement"),
        (libc::EPERM, "lockdown"),
        (libc::ENOSYS, "no loadable module support"),
        (libc::EEXIST, "already loaded"),
    ] {
        assert!(load::explain_load_error(errno).contains(words), "{errno}");
    }
    assert_eq!(load::module_name("falco-driver"), "falco_driver");
    let dir = tempfile::tempdir().expect("tempdir");
    let modules = dir.path().join("modules");
    std::fs::write(
        &modules,
        "falco 753664 0 - Live 0x0000000000000000\nnf_tables 299008 0 - Live 0x0000000000000000\n",
    )
    .expect("write");
    assert!(load::module_loaded(&modules, "falco"));
    assert!(!load::module_loaded(&modules, "fal"));
}
