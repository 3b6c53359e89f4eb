//! What the live-capture tests share: the reference workload (`../shared/captures/workload.c`), reading
//! a capture back, and the event-by-event check of the workload, the same for every driver.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

use scap::event::{Event, SockAddr, SockTuple, Value};
use scap::savefile::{Block, Reader};
use scap::schema::ppme;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn build_workload(out: &Path) -> PathBuf {
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

pub fn param<'a>(e: &Event<'a>, name: &str) -> Option<Value<'a>> {
    e.param_by_name(name).and_then(|p| p.value().ok())
}

pub fn int(v: Option<Value<'_>>) -> i64 {
    match v {
        Some(Value::Int(i)) => i,
        Some(Value::UInt(u)) => u as i64,
        other => panic!("expected a number, got {other:?}"),
    }
}

pub fn text(v: Option<Value<'_>>) -> String {
    match v {
        Some(Value::Str(s)) | Some(Value::Bytes(s)) => String::from_utf8_lossy(s).into_owned(),
        Some(Value::Empty) => String::new(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// The events of a capture file, as raw bytes.
pub fn capture_file_events(cap: &Path) -> Vec<Vec<u8>> {
    let mut reader = Reader::open(cap).expect("the live capture reads");
    let mut raw = Vec::new();
    while let Some(block) = reader.next_block().expect("well-formed capture") {
        if let Block::Event { event, .. } = block {
            raw.push(event.as_bytes().to_vec());
        }
    }
    raw
}

pub fn parse_all(raw: &[Vec<u8>]) -> Vec<Event<'_>> {
    raw.iter()
        .map(|e| Event::parse(e).expect("event"))
        .collect()
}

/// The thread whose execve gave it the name `comm`.
pub fn exec_tid(events: &[Event<'_>], comm: &str) -> Option<u64> {
    events
        .iter()
        .find(|e| e.event_type() == ppme::SYSCALL_EXECVE_19_X && text(param(e, "comm")) == comm)
        .map(|e| e.tid())
}

/// Reads `cap` with sinsp and with Debian's sysdig through `filter`, asserts they print the same, and
/// returns what they printed.
pub fn read_alike(cap: &Path, filter: &str) -> String {
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

/// The reference workload, call by call: 100 opens and reads of /etc/hostname (whose content is
/// `hostname`), 50 failing opens, 100 getppid, a file written and renamed and removed, a TCP
/// connect/accept on loopback, a fork that runs /bin/true.
pub fn check_reference_workload(parsed: &[Event<'_>], hostname: &str) {
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
            .filter(|e| int(param(e, "res")) == hostname.len() as i64 && text(param(e, "data")) == hostname)
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
        .filter(|e| int(param(e, "ptid")) == tid as i64)
        .collect();
    assert_eq!(execs.len(), 1, "one /bin/true run by the workload");
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

}

/// The second workload (`driver/tests/syscalls.c`): pipes, dup, chmod family, memory maps, vectored
/// I/O, UDP, openat2, ptrace, execveat, set*id.
pub fn build_second_workload(out: &Path) -> PathBuf {
    let bin = out.join("syscalls");
    let src = repo().join("driver/tests/syscalls.c");
    let status = Command::new("gcc").args(["-O0", "-static", "-o"]).arg(&bin).arg(&src).status().expect("gcc");
    assert!(status.success(), "building {}", src.display());
    bin
}

/// The second workload's events, parameter by parameter, the same for every driver; `printed` is what
/// the workload printed (the pipe's inode, the word its tracer peeked).
pub fn check_second_workload(all: &[Event<'_>], printed: &str) {
    let tid = exec_tid(all, "syscalls").expect("the workload runs");
    let mine: Vec<_> = all.iter().filter(|e| e.tid() == tid).collect();
    let one = |ty: u16| -> &Event<'_> {
        let found: Vec<_> = mine.iter().filter(|e| e.event_type() == ty).collect();
        assert_eq!(found.len(), 1, "one event of type {ty}");
        found[0]
    };
    let printed = |key: &str| -> i64 {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("the workload printed {key}: {printed:?}"))
    };
    let pipe = one(ppme::SYSCALL_PIPE_X);
    assert_eq!(int(param(pipe, "res")), 0);
    assert_eq!((int(param(pipe, "fd1")), int(param(pipe, "fd2"))), (3, 4));
    assert_eq!(int(param(pipe, "ino")), printed("pipe_ino"), "the pipe's inode");
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
    let localhost_5353 = |e: &Event<'_>| match param(e, "tuple") {
        Some(Value::SockTuple(SockTuple::Inet { dip, dport, .. })) => (dip, dport) == (localhost, 5353),
        other => panic!("a tuple: {other:?}"),
    };
    let sendmsg = one(ppme::SOCKET_SENDMSG_E);
    assert_eq!(int(param(sendmsg, "size")), 5);
    assert!(localhost_5353(sendmsg), "sendmsg's destination: {:?}", param(sendmsg, "tuple"));
    let sent = one(ppme::SOCKET_SENDMSG_X);
    assert_eq!((int(param(sent, "res")), text(param(sent, "data"))), (5, "msg!!".to_owned()));
    let got = one(ppme::SOCKET_RECVMSG_X);
    assert_eq!(
        (int(param(got, "res")), int(param(got, "size")), text(param(got, "data"))),
        (5, 5, "msg!!".to_owned())
    );
    assert!(localhost_5353(got), "recvmsg's tuple: {:?}", param(got, "tuple"));
    let openat2 = one(ppme::SYSCALL_OPENAT2_X);
    assert!(int(param(openat2, "fd")) >= 0, "openat2 opened f");
    assert_eq!(
        (
            int(param(openat2, "dirfd")),
            text(param(openat2, "name")),
            int(param(openat2, "flags")),
            int(param(openat2, "resolve"))
        ),
        // PPM_O_RDONLY; PPM_RESOLVE_BENEATH | PPM_RESOLVE_NO_SYMLINKS
        (-100, "f".to_owned(), 1, 0x1 | 0x8)
    );
    // The tracer peeks a known word (PPM_PTRACE_PEEKDATA) and resumes its child (PPM_PTRACE_CONT).
    let requests: Vec<i64> = mine
        .iter()
        .filter(|e| e.event_type() == ppme::SYSCALL_PTRACE_E)
        .map(|e| int(param(e, "request")))
        .collect();
    assert_eq!(requests, vec![0x3, 0x8]);
    let peek = mine.iter().find(|e| e.event_type() == ppme::SYSCALL_PTRACE_X).expect("ptrace exit");
    assert_eq!(int(param(peek, "res")), 0);
    assert_eq!(int(param(peek, "data")), printed("peek"), "the word the tracer read");
    // The child asks to be traced, then runs /bin/true through execveat.
    let traceme = all
        .iter()
        .find(|e| e.event_type() == ppme::SYSCALL_PTRACE_E && int(param(e, "request")) == 0x1)
        .expect("the child's PTRACE_TRACEME");
    let child = traceme.tid();
    let execveat = all
        .iter()
        .find(|e| e.tid() == child && e.event_type() == ppme::SYSCALL_EXECVEAT_E)
        .expect("the child's execveat");
    assert_eq!(
        (int(param(execveat, "dirfd")), text(param(execveat, "pathname")), int(param(execveat, "flags"))),
        (-100, "/bin/true".to_owned(), 0)
    );
    // After a successful execveat the kernel reports the execve syscall number at exit, so the
    // exit is an execve event (as libs' drivers send it too).
    let exec_exit = all
        .iter()
        .find(|e| e.tid() == child && matches!(e.event_type(), ppme::SYSCALL_EXECVEAT_X | ppme::SYSCALL_EXECVE_19_X))
        .expect("the child's execveat exit");
    assert_eq!((int(param(exec_exit, "res")), text(param(exec_exit, "comm"))), (0, "true".to_owned()));
    assert_eq!(int(param(one(ppme::SYSCALL_SETUID_E), "uid")), 0);
    assert_eq!(int(param(one(ppme::SYSCALL_SETGID_E), "gid")), 0);
    check_dedicated_fillers(&mine, &printed);
}

/// The calls whose parameters only their own fillers read, as the second workload makes them.
fn check_dedicated_fillers(mine: &[&Event<'_>], printed: &dyn Fn(&str) -> i64) {
    let all_of = |ty: u16| -> Vec<&Event<'_>> { mine.iter().copied().filter(|e| e.event_type() == ty).collect() };
    let one = |ty: u16| -> &Event<'_> {
        let found = all_of(ty);
        assert_eq!(found.len(), 1, "one event of type {ty}");
        found[0]
    };
    let args = |e: &Event<'_>, names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|n| match param(e, n) {
                Some(Value::Str(_)) => text(param(e, n)),
                other => other.map(|_| int(param(e, n)).to_string()).unwrap_or_default(),
            })
            .collect()
    };
    // fcntl: F_GETFL (PPM 4), then F_DUPFD (PPM 1) onto fd 10.
    let cmds: Vec<i64> = all_of(ppme::SYSCALL_FCNTL_E).iter().map(|e| int(param(e, "cmd"))).collect();
    assert_eq!(cmds, vec![4, 1], "fcntl commands");
    let dup = all_of(ppme::SYSCALL_FCNTL_X);
    assert_eq!(int(param(dup[1], "res")), 10, "F_DUPFD's new fd");
    assert_eq!(args(one(ppme::SYSCALL_LINK_2_X), &["res", "oldpath", "newpath"]), ["0", "/tmp/f", "/tmp/f.hard"]);
    // AT_SYMLINK_FOLLOW is PPM_AT_SYMLINK_FOLLOW (0x400).
    assert_eq!(
        args(one(ppme::SYSCALL_LINKAT_2_X), &["res", "olddir", "oldpath", "newdir", "newpath", "flags"]),
        ["0", "-100", "/tmp/f", "-100", "/tmp/f.hard2", "1024"]
    );
    assert_eq!(args(one(ppme::SYSCALL_SYMLINK_X), &["res", "target", "linkpath"]), ["0", "/tmp/f", "/tmp/f.soft"]);
    assert_eq!(
        args(one(ppme::SYSCALL_SYMLINKAT_X), &["res", "target", "linkdirfd", "linkpath"]),
        ["0", "/tmp/f", "-100", "/tmp/f.soft2"]
    );
    assert!(all_of(ppme::SYSCALL_STAT_X).iter().any(|e| text(param(e, "path")) == "/tmp/f"));
    assert!(all_of(ppme::SYSCALL_LSTAT_X).iter().any(|e| text(param(e, "path")) == "/tmp/f.soft"));
    // R_OK | W_OK: PPM_R_OK | PPM_W_OK.
    assert_eq!(int(param(one(ppme::SYSCALL_ACCESS_E), "mode")), 4 | 2);
    assert_eq!(args(one(ppme::SYSCALL_ACCESS_X), &["res", "name"]), ["0", "/tmp/f"]);
    // LOCK_EX | LOCK_NB.
    assert_eq!(int(param(one(ppme::SYSCALL_FLOCK_E), "operation")), 2 | 4);
    assert!(
        all_of(ppme::SYSCALL_LSEEK_E).iter().any(|e| args(e, &["offset", "whence"]) == ["5", "0"]),
        "lseek(fd, 5, SEEK_SET)"
    );
    // FIONREAD.
    assert!(all_of(ppme::SYSCALL_IOCTL_3_E).iter().any(|e| int(param(e, "request")) == 0x541b));
    assert!(!text(param(one(ppme::SYSCALL_GETCWD_X), "path")).is_empty(), "getcwd's path");
    // prlimit64(0, RLIMIT_NOFILE, NULL, &old): no new limit (-1), the old one as the workload saw it.
    let nofile = all_of(ppme::SYSCALL_PRLIMIT_E)
        .iter()
        .position(|e| int(param(e, "resource")) == 7)
        .expect("prlimit64 of RLIMIT_NOFILE");
    let prlimit = all_of(ppme::SYSCALL_PRLIMIT_X)[nofile];
    let limits = |key: &str| -> (i64, i64) {
        let cur = printed(&format!("{key}_cur"));
        (cur, printed(&format!("{key}_max")))
    };
    assert_eq!(
        (int(param(prlimit, "newcur")), int(param(prlimit, "newmax"))),
        (-1, -1)
    );
    assert_eq!((int(param(prlimit, "oldcur")), int(param(prlimit, "oldmax"))), limits("nofile"));
    assert_eq!(int(param(one(ppme::SYSCALL_GETRLIMIT_E), "resource")), 4);
    let core = one(ppme::SYSCALL_GETRLIMIT_X);
    assert_eq!((int(param(core, "cur")), int(param(core, "max"))), limits("core"));
    assert_eq!(args(one(ppme::SOCKET_SOCKETPAIR_E), &["domain", "type", "proto"]), ["1", "1", "0"]);
    let pair = one(ppme::SOCKET_SOCKETPAIR_X);
    assert_eq!(
        (int(param(pair, "fd1")), int(param(pair, "fd2"))),
        (printed("pair_fd1"), printed("pair_fd2"))
    );
    let (source, peer) = (int(param(pair, "source")), int(param(pair, "peer")));
    assert!(source != 0 && peer != 0 && source != peer, "the pair's two ends: {source:#x}, {peer:#x}");
    assert_eq!(args(one(ppme::SYSCALL_EVENTFD_E), &["initval", "flags"]), ["7", "0"]);
    assert_eq!(int(param(one(ppme::SYSCALL_GETUID_X), "uid")), 0);
    assert_eq!(int(param(one(ppme::SYSCALL_GETEUID_X), "euid")), 0);
    assert_eq!(args(one(ppme::SYSCALL_GETRESUID_X), &["res", "ruid", "euid", "suid"]), ["0", "0", "0", "0"]);
    assert_eq!(
        args(one(ppme::SYSCALL_SETRESUID_E), &["ruid", "euid", "suid"]),
        ["4294967295", "4294967295", "4294967295"]
    );
    // FUTEX_WAKE | FUTEX_PRIVATE_FLAG.
    assert!(all_of(ppme::SYSCALL_FUTEX_E).iter().any(|e| args(e, &["op", "val"]) == ["129", "1"]));
    // MS_RDONLY; MNT_DETACH. Both fail on a missing directory, and still name it.
    assert_eq!(int(param(one(ppme::SYSCALL_MOUNT_E), "flags")), 1);
    assert_eq!(
        args(one(ppme::SYSCALL_MOUNT_X), &["res", "dev", "dir", "type"]),
        ["-2", "none", "/nonexistent", "tmpfs"]
    );
    assert_eq!(int(param(one(ppme::SYSCALL_UMOUNT_E), "flags")), 2);
    assert_eq!(args(one(ppme::SYSCALL_UMOUNT_X), &["res", "name"]), ["-2", "/nonexistent"]);
    // CLONE_NEWUTS is PPM_CL_CLONE_NEWUTS (0x80).
    assert_eq!(int(param(one(ppme::SYSCALL_UNSHARE_E), "flags")), 0x80);
    assert_eq!(int(param(one(ppme::SYSCALL_NANOSLEEP_E), "interval")), 1000);
    let poll_fds = |e: &Event<'_>| -> Vec<(u64, u16)> {
        match param(e, "fds") {
            Some(Value::FdList(list)) => list.iter().collect(),
            other => panic!("poll's fds: {other:?}"),
        }
    };
    let poll_in = poll_fds(one(ppme::SYSCALL_POLL_E));
    assert_eq!(poll_in.iter().map(|(_, ev)| *ev).collect::<Vec<_>>(), vec![1, 4], "POLLIN, POLLOUT");
    let poll_out = one(ppme::SYSCALL_POLL_X);
    assert_eq!(int(param(poll_out, "res")), 1);
    assert_eq!(poll_fds(poll_out), vec![(poll_in[1].0, 4)], "only the writable end returned");
    assert_eq!(args(one(ppme::SYSCALL_SETPGID_E), &["pid", "pgid"]), ["0", "0"]);
}
