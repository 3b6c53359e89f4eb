//! The kernel module, built against Debian 6.1.0-47's headers, captures the reference workload in a
//! qemu guest through `sinsp --driver kmod -w`; the capture is then checked event by event on the host,
//! and read back by sinsp and by Debian's sysdig.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use scap::event::{Event, SockAddr, SockTuple, Value};
use scap::savefile::{Block, Reader};
use scap::schema::ppme;
use test_infra::initramfs::Initramfs;
use test_infra::packages::{kernel_headers, Kernel};
use test_infra::vm::{run, VmConfig, VmRun};

const RELEASE: &str = "6.1.0-47-amd64";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the driver from a copy of `driver/`, so the source tree stays clean.
fn build_driver(out: &Path) -> PathBuf {
    let kerneldir = kernel_headers(RELEASE).expect("kernel headers");
    let src = out.join("driver");
    let status = Command::new("cp")
        .arg("-r")
        .arg(repo().join("driver"))
        .arg(&src)
        .status()
        .expect("cp");
    assert!(status.success());
    let build = Command::new("make")
        .arg(format!("KERNELDIR={}", kerneldir.display()))
        .current_dir(&src)
        .output()
        .expect("make");
    let log = String::from_utf8_lossy(&build.stderr).into_owned()
        + &String::from_utf8_lossy(&build.stdout);
    assert!(build.status.success(), "driver build failed:\n{log}");
    assert!(
        !log.contains("warning:"),
        "the driver builds without warnings:\n{log}"
    );
    src.join("scap.ko")
}

fn build_workload(out: &Path) -> PathBuf {
    let bin = out.join("workload");
    let src = repo().join("../shared/captures/workload.c");
    let status = Command::new("gcc")
        .args(["-O2", "-static", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc");
    assert!(status.success(), "building {}", src.display());
    bin
}

fn param<'a>(e: &Event<'a>, name: &str) -> Option<Value<'a>> {
    e.param_by_name(name).and_then(|p| p.value().ok())
}

fn int(v: Option<Value<'_>>) -> i64 {
    match v {
        Some(Value::Int(i)) => i,
        Some(Value::UInt(u)) => u as i64,
        other => panic!("expected a number, got {other:?}"),
    }
}

fn text(v: Option<Value<'_>>) -> String {
    match v {
        Some(Value::Str(s)) | Some(Value::Bytes(s)) => String::from_utf8_lossy(s).into_owned(),
        Some(Value::Empty) => String::new(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Boots the kernel with the module at `/scap.ko`, `files` (host, guest) and `programs` (placed with
/// their libraries) in the guest, and runs `script`.
fn boot(ko: &Path, files: &[(&Path, &str)], programs: &[(&str, &str)], script: &str) -> VmRun {
    let kernel = Kernel::fetch(RELEASE).expect("kernel package");
    let mut fs = Initramfs::new(script);
    fs.add_file(ko, "/scap.ko", 0o644);
    for (host, guest) in files {
        fs.add_file(host, guest, 0o755);
    }
    for (host, guest) in programs {
        fs.add_program(host, guest)
            .expect("the program and its libraries");
    }
    run(
        &kernel,
        &fs,
        &VmConfig {
            timeout: Duration::from_secs(240),
            ..VmConfig::default()
        },
    )
    .expect("guest runs")
}

/// A guest script that loads the module (with `insmod_args`), captures with `sinsp --driver kmod -w`
/// while `steps` run, and sends back the capture (`cap`) and sinsp's messages (`err`).
fn sinsp_capture_script(insmod_args: &str, steps: &str) -> String {
    format!(
        "ifconfig lo 127.0.0.1 up\n\
         echo refhost > /etc/hostname\n\
         insmod /scap.ko {insmod_args} || exit 10\n\
         /sinsp --driver kmod -w /tmp/cap.scap > /dev/null 2> /tmp/sinsp.err &\n\
         sp=$!\n\
         sleep 2\n\
         {steps}\n\
         sleep 1\n\
         kill -INT $sp; wait $sp; result sinsp $?\n\
         sendfile /tmp/cap.scap cap\n\
         sendfile /tmp/sinsp.err err\n\
         rmmod scap || exit 11\n"
    )
}

/// A file the guest sent back, as text.
fn guest_text(vm: &VmRun, name: &str) -> String {
    String::from_utf8_lossy(vm.files.get(name).map(Vec::as_slice).unwrap_or_default()).into_owned()
}

/// Writes the guest's capture to `dir/name` and returns its path and its events' bytes.
fn capture_events(vm: &VmRun, dir: &Path, name: &str) -> (PathBuf, Vec<Vec<u8>>) {
    let cap = dir.join(name);
    std::fs::write(&cap, &vm.files["cap"]).expect("capture");
    if let Some(keep) = std::env::var_os("KEEP_CAPTURE") {
        std::fs::write(keep, &vm.files["cap"]).expect("keep the capture");
    }
    let mut reader = Reader::open(&cap).expect("the live capture reads");
    let mut raw = Vec::new();
    while let Some(block) = reader.next_block().expect("well-formed capture") {
        if let Block::Event { event, .. } = block {
            raw.push(event.as_bytes().to_vec());
        }
    }
    (cap, raw)
}

fn parse_all(raw: &[Vec<u8>]) -> Vec<Event<'_>> {
    raw.iter()
        .map(|e| Event::parse(e).expect("event"))
        .collect()
}

/// The thread whose execve gave it the name `comm`.
fn exec_tid(events: &[Event<'_>], comm: &str) -> Option<u64> {
    events
        .iter()
        .find(|e| e.event_type() == ppme::SYSCALL_EXECVE_19_X && text(param(e, "comm")) == comm)
        .map(|e| e.tid())
}

/// Reads `cap` with sinsp and with Debian's sysdig through `filter`, asserts they print the same, and
/// returns what they printed.
fn read_alike(cap: &Path, filter: &str) -> String {
    let read = |program: &str| {
        let out = Command::new(program)
            .arg("-r")
            .arg(cap)
            .arg(filter)
            .env("TZ", "UTC")
            .output()
            .expect(program);
        assert!(
            out.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (ours, theirs) = (read(env!("CARGO_BIN_EXE_sinsp")), read("sysdig"));
    let first = ours.lines().zip(theirs.lines()).find(|(a, b)| a != b);
    assert!(
        first.is_none() && ours.lines().count() == theirs.lines().count(),
        "sinsp and sysdig read the capture differently; first: {first:?}"
    );
    theirs
}

#[test]
fn kmod_captures_the_reference_workload_exactly() {
    let work = tempfile::tempdir().expect("tempdir");
    let ko = build_driver(work.path());
    let workload = build_workload(work.path());
    let script = sinsp_capture_script("", "/workload 3>&-");
    let vm = boot(
        &ko,
        &[(&workload, "/workload")],
        &[(env!("CARGO_BIN_EXE_sinsp"), "/sinsp")],
        &script,
    );
    let err = guest_text(&vm, "err");
    assert_eq!(
        vm.exit_status,
        Some(0),
        "guest script failed; sinsp said: {err}\nconsole:\n{}",
        vm.console
    );
    assert_eq!(
        vm.results.get("sinsp").map(String::as_str),
        Some("0"),
        "sinsp: {err}"
    );
    vm.check_health()
        .expect("capturing leaves the kernel healthy");
    assert!(
        err.contains("buffer full 0,"),
        "no buffer drops at this rate: {err}"
    );

    let (cap, raw) = capture_events(&vm, work.path(), "cap.scap");
    let parsed = parse_all(&raw);
    let tid = exec_tid(&parsed, "workload").expect("the workload's execve is captured");
    let mine: Vec<_> = parsed.iter().filter(|e| e.tid() == tid).collect();
    let count = |ty: u16| mine.iter().filter(|e| e.event_type() == ty).count();

    // 100 opens of /etc/hostname (fd 3), 50 failing opens, one create: 151 openat pairs.
    assert_eq!(
        (
            count(ppme::SYSCALL_OPENAT_2_E),
            count(ppme::SYSCALL_OPENAT_2_X)
        ),
        (151, 151)
    );
    let opens: Vec<_> = mine
        .iter()
        .filter(|e| e.event_type() == ppme::SYSCALL_OPENAT_2_X)
        .collect();
    let good = opens
        .iter()
        .filter(|e| text(param(e, "name")) == "/etc/hostname" && int(param(e, "fd")) == 3)
        .count();
    let enoent = opens
        .iter()
        .filter(|e| {
            text(param(e, "name")) == "/nonexistent/ref-missing" && int(param(e, "fd")) == -2
        })
        .count();
    assert_eq!((good, enoent), (100, 50));
    // Reads of the file return its 8 bytes; the socket read returns "ping".
    let reads: Vec<_> = mine
        .iter()
        .filter(|e| e.event_type() == ppme::SYSCALL_READ_X)
        .collect();
    assert_eq!(reads.len(), 101);
    assert_eq!(
        reads
            .iter()
            .filter(|e| int(param(e, "res")) == 8 && text(param(e, "data")) == "refhost\n")
            .count(),
        100
    );
    let writes: Vec<_> = mine
        .iter()
        .filter(|e| e.event_type() == ppme::SYSCALL_WRITE_X)
        .collect();
    assert_eq!(
        writes.iter().filter(|e| int(param(e, "res")) == 64).count(),
        64
    );
    assert_eq!(count(ppme::SYSCALL_CLOSE_X), 104);
    // getppid has no event of its own: 100 generic events carry its syscall code.
    let getppid = scap::schema::SYSCALL_NAMES
        .iter()
        .position(|n| *n == "getppid")
        .expect("known") as i64;
    let generic = mine
        .iter()
        .filter(|e| e.event_type() == ppme::GENERIC_E && int(param(e, "ID")) == getppid)
        .count();
    assert_eq!(generic, 100);
    let rename = mine
        .iter()
        .find(|e| e.event_type() == ppme::SYSCALL_RENAME_X)
        .expect("rename");
    assert_eq!(
        (
            int(param(rename, "res")),
            text(param(rename, "oldpath")),
            text(param(rename, "newpath"))
        ),
        (0, "/tmp/ref-out".into(), "/tmp/ref-out2".into())
    );
    let unlink = mine
        .iter()
        .find(|e| e.event_type() == ppme::SYSCALL_UNLINK_2_X)
        .expect("unlink");
    assert_eq!(text(param(unlink, "path")), "/tmp/ref-out2");
    assert_eq!(count(ppme::SOCKET_SOCKET_X), 2);
    let localhost = std::net::Ipv4Addr::LOCALHOST;
    let bind = mine
        .iter()
        .find(|e| e.event_type() == ppme::SOCKET_BIND_X)
        .expect("bind");
    assert_eq!(
        param(bind, "addr"),
        Some(Value::SockAddr(SockAddr::Inet(localhost, 4242)))
    );
    let connect = mine
        .iter()
        .find(|e| e.event_type() == ppme::SOCKET_CONNECT_X)
        .expect("connect");
    assert_eq!(int(param(connect, "res")), 0);
    let Some(Value::SockTuple(SockTuple::Inet {
        sip,
        sport,
        dip,
        dport,
    })) = param(connect, "tuple")
    else {
        panic!("connect carries its tuple: {:?}", param(connect, "tuple"));
    };
    assert_eq!((sip, dip, dport), (localhost, localhost, 4242));
    // The accepted connection is shown from the client's side: its address first.
    let accept = mine
        .iter()
        .find(|e| e.event_type() == ppme::SOCKET_ACCEPT_5_X)
        .expect("accept");
    assert_eq!(
        param(accept, "tuple"),
        Some(Value::SockTuple(SockTuple::Inet {
            sip: localhost,
            sport,
            dip: localhost,
            dport: 4242
        }))
    );
    // The fork's child runs /bin/true with its argument, then exits. (The enter event's filename can
    // be empty: in the child the page holding the string is not mapped yet, and probes may not fault.)
    let execs: Vec<_> = parsed
        .iter()
        .filter(|e| e.event_type() == ppme::SYSCALL_EXECVE_19_X && text(param(e, "comm")) == "true")
        .collect();
    assert_eq!(execs.len(), 1);
    assert_eq!(int(param(execs[0], "res")), 0);
    assert_eq!(text(param(execs[0], "args")), "ref-arg\0");
    let child = execs[0].tid();
    assert!(
        parsed
            .iter()
            .any(|e| e.tid() == child && e.event_type() == ppme::PROCEXIT_1_E),
        "the child's exit"
    );
    assert!(parsed.iter().any(|e| e.tid() == tid
        && e.event_type() == ppme::SYSCALL_CLONE_20_X
        && int(param(e, "res")) == child as i64));

    // The file reads in sinsp and in Debian's sysdig, the same way.
    let text_out = read_alike(&cap, "proc.name=workload");
    assert!(
        text_out.lines().count() > 900,
        "{}",
        text_out.lines().count()
    );
}

/// A syscall storm into a small ring: drops are counted and reported, the kernel stays healthy, and the
/// capture goes on (the workload that runs after the storm is captured whole).
#[test]
fn kmod_storm_overflows_counts_drops_and_capture_resumes() {
    let work = tempfile::tempdir().expect("tempdir");
    let ko = build_driver(work.path());
    let workload = build_workload(work.path());
    let script = sinsp_capture_script(
        "ring_buffer_size=65536",
        "dd if=/dev/zero of=/dev/null bs=1 count=100000 2>/dev/null\nsleep 1\n/workload 3>&-",
    );
    let vm = boot(
        &ko,
        &[(&workload, "/workload")],
        &[(env!("CARGO_BIN_EXE_sinsp"), "/sinsp")],
        &script,
    );
    let err = guest_text(&vm, "err");
    assert_eq!(vm.exit_status, Some(0), "sinsp said: {err}");
    vm.check_health()
        .expect("a storm leaves the kernel healthy");
    // "sinsp: N events seen by the driver, M dropped (buffer full B, ...)"
    let buffer_full: u64 = err
        .split("buffer full ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("sinsp reports its drops: {err}"));
    assert!(
        buffer_full > 1000,
        "a 100,000-call storm into a 64 KiB ring drops events: {err}"
    );
    eprintln!("storm: {}", err.trim());

    let (_, raw) = capture_events(&vm, work.path(), "cap.scap");
    let events = parse_all(&raw);
    let tid = exec_tid(&events, "workload").expect("the workload after the storm is captured");
    let opens = events
        .iter()
        .filter(|e| {
            e.tid() == tid
                && e.event_type() == ppme::SYSCALL_OPENAT_2_X
                && text(param(e, "name")) == "/etc/hostname"
        })
        .count();
    assert_eq!(
        opens, 100,
        "capture resumed after the storm: every open of the workload is there"
    );
}

/// The second workload (`driver/tests/syscalls.c`): pipes, dup2, the chmod family, memory maps, vectored
/// I/O, UDP and set*id, each checked parameter by parameter.
#[test]
fn kmod_fills_pipe_chmod_mmap_vector_udp_and_setid_calls() {
    let work = tempfile::tempdir().expect("tempdir");
    let ko = build_driver(work.path());
    let bin = work.path().join("syscalls");
    let src = repo().join("driver/tests/syscalls.c");
    assert!(Command::new("gcc")
        .args(["-O0", "-static", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc")
        .success());
    let script = sinsp_capture_script("", "/syscalls 3>&-");
    let vm = boot(
        &ko,
        &[(&bin, "/syscalls")],
        &[(env!("CARGO_BIN_EXE_sinsp"), "/sinsp")],
        &script,
    );
    assert_eq!(vm.exit_status, Some(0), "console:\n{}", vm.console);
    vm.check_health().expect("healthy");
    let (cap, raw) = capture_events(&vm, work.path(), "cap.scap");
    let all = parse_all(&raw);
    let tid = exec_tid(&all, "syscalls").expect("the workload runs");
    let mine: Vec<_> = all.iter().filter(|e| e.tid() == tid).collect();
    let one = |ty: u16| -> &Event<'_> {
        let found: Vec<_> = mine.iter().filter(|e| e.event_type() == ty).collect();
        assert_eq!(found.len(), 1, "one event of type {ty}");
        found[0]
    };
    let pipe = one(ppme::SYSCALL_PIPE_X);
    assert_eq!(int(param(pipe, "res")), 0);
    assert_eq!((int(param(pipe, "fd1")), int(param(pipe, "fd2"))), (3, 4));
    let chmod = one(ppme::SYSCALL_CHMOD_X);
    assert_eq!(
        (text(param(chmod, "filename")), int(param(chmod, "mode"))),
        ("/tmp/f".to_owned(), 0o600)
    );
    assert_eq!(int(param(one(ppme::SYSCALL_FCHMOD_X), "mode")), 0o640);
    let fchmodat = one(ppme::SYSCALL_FCHMODAT_X);
    assert_eq!(
        (
            int(param(fchmodat, "dirfd")),
            text(param(fchmodat, "filename")),
            int(param(fchmodat, "mode"))
        ),
        (-100, "f".to_owned(), 0o644)
    );
    let mmap = one(ppme::SYSCALL_MMAP_E);
    // PPM_PROT_READ|PPM_PROT_WRITE, PPM_MAP_PRIVATE|PPM_MAP_ANONYMOUS
    assert_eq!(
        (
            int(param(mmap, "length")),
            int(param(mmap, "prot")),
            int(param(mmap, "flags"))
        ),
        (8192, 3, 2 | 8)
    );
    assert!(int(param(one(ppme::SYSCALL_MMAP_X), "res")) != 0);
    // libc's start-up protects its own pages too: look for the workload's 8 KiB mapping.
    let ours_8k = |ty: u16| {
        mine.iter()
            .filter(|e| e.event_type() == ty && int(param(e, "length")) == 8192)
            .count()
    };
    let mprotect = mine
        .iter()
        .find(|e| e.event_type() == ppme::SYSCALL_MPROTECT_E && int(param(e, "length")) == 8192);
    assert_eq!(mprotect.map(|e| int(param(e, "prot"))), Some(1));
    assert_eq!(ours_8k(ppme::SYSCALL_MUNMAP_E), 1);
    assert_eq!(int(param(one(ppme::SYSCALL_WRITEV_E), "size")), 11);
    assert_eq!(
        text(param(one(ppme::SYSCALL_WRITEV_X), "data")),
        "hello world"
    );
    let readv = one(ppme::SYSCALL_READV_X);
    assert_eq!(
        (
            int(param(readv, "res")),
            int(param(readv, "size")),
            text(param(readv, "data"))
        ),
        (11, 11, "hello world".to_owned())
    );
    assert_eq!(text(param(one(ppme::SOCKET_SENDTO_X), "data")), "udp!");
    let recv = one(ppme::SOCKET_RECVFROM_X);
    assert_eq!(text(param(recv, "data")), "udp!");
    let localhost = std::net::Ipv4Addr::LOCALHOST;
    let Some(Value::SockTuple(SockTuple::Inet {
        sip, dip, dport, ..
    })) = param(recv, "tuple")
    else {
        panic!("recvfrom carries its tuple: {:?}", param(recv, "tuple"));
    };
    assert_eq!((sip, dip, dport), (localhost, localhost, 5353));
    assert_eq!(int(param(one(ppme::SYSCALL_SETUID_E), "uid")), 0);
    assert_eq!(int(param(one(ppme::SYSCALL_SETGID_E), "gid")), 0);

    // After a recvfrom on the bound UDP socket, sysdig 0.29.3 names that socket with a destination read
    // from the wrong offset of the tuple (e.g. 233.20.3.0, the bytes of port 5353); sinsp keeps the
    // bound address. That socket's close is left out of the comparison.
    read_alike(
        &cap,
        "proc.name=syscalls and not (evt.type=close and fd.sport=5353)",
    );
}

/// Drop-in: Debian's sysdig 0.29.3 captures live from this module (built with the names sysdig expects,
/// `scap` and `/dev/scap<n>`), and sinsp and sysdig read that capture alike.
#[test]
fn debian_sysdig_captures_live_from_the_module() {
    let work = tempfile::tempdir().expect("tempdir");
    let ko = build_driver(work.path());
    let workload = build_workload(work.path());
    let script = "ifconfig lo 127.0.0.1 up\n\
        echo refhost > /etc/hostname\n\
        insmod /scap.ko || exit 10\n\
        timeout -s INT 40 /usr/bin/sysdig -w /tmp/sd.scap > /tmp/sd.out 2>&1 &\n\
        sp=$!\n\
        sleep 4\n\
        /workload 3>&-\n\
        wait $sp\n\
        sendfile /tmp/sd.scap cap\n\
        sendfile /tmp/sd.out out\n\
        rmmod scap || exit 11\n";
    let vm = boot(
        &ko,
        &[(&workload, "/workload")],
        &[("/usr/bin/sysdig", "/usr/bin/sysdig")],
        script,
    );
    let out = guest_text(&vm, "out");
    assert_eq!(vm.exit_status, Some(0), "sysdig said: {out}");
    assert!(!out.contains("error"), "sysdig runs on this driver: {out}");
    vm.check_health().expect("healthy");
    let (cap, _) = capture_events(&vm, work.path(), "sd.scap");
    let theirs = read_alike(&cap, "proc.name=workload");
    let opens = theirs
        .lines()
        .filter(|l| l.contains("< openat fd=3(<f>/etc/hostname)"))
        .count();
    assert_eq!(
        opens, 100,
        "sysdig saw the workload's opens through this driver"
    );
}
