//! Process and fd state, rebuilt from the capture's process/fd lists and kept current by the events.
//!
//! The rules follow what libsinsp does so that `proc.*`, `fd.*` and the fd/pid names inside `evt.info`
//! agree with sysdig: state changes are applied on the exit event (with the matching enter event's
//! parameters at hand), and a thread that exits is removed only when the next event arrives, so the
//! procexit event itself still shows its process.

use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;

use scap::event::{Event, SockAddr, SockTuple, Value};
use scap::schema::{ppme, Direction};

/// `AT_FDCWD` as drivers encode it.
pub const AT_FDCWD: i64 = -100;

/// What an fd refers to; the letter is the one sysdig prints in `<f>` and `fd.type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdKind {
    File,
    Directory,
    Ipv4Socket,
    Ipv6Socket,
    Ipv4Server,
    Ipv6Server,
    UnixSocket,
    Pipe,
    Event,
    Signalfd,
    Eventpoll,
    Inotify,
    Timerfd,
    Netlink,
    Bpf,
    Userfaultfd,
    IoUring,
    Memfd,
    Pidfd,
    Unknown,
}

impl FdKind {
    /// The type letter sysdig prints between `<` and `>`.
    pub fn letter(self) -> char {
        match self {
            FdKind::File => 'f',
            FdKind::Directory => 'd',
            FdKind::Ipv4Socket | FdKind::Ipv4Server => '4',
            FdKind::Ipv6Socket | FdKind::Ipv6Server => '6',
            FdKind::UnixSocket => 'u',
            FdKind::Pipe => 'p',
            FdKind::Event => 'e',
            FdKind::Signalfd => 's',
            FdKind::Eventpoll => 'l',
            FdKind::Inotify => 'i',
            FdKind::Timerfd => 't',
            FdKind::Netlink => 'n',
            FdKind::Bpf => 'b',
            FdKind::Userfaultfd => 'u',
            FdKind::IoUring => 'r',
            FdKind::Memfd => 'm',
            FdKind::Pidfd => 'P',
            FdKind::Unknown => 'o',
        }
    }

    /// The name of `fd.type`.
    pub fn type_name(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4Socket | FdKind::Ipv4Server => "ipv4",
            FdKind::Ipv6Socket | FdKind::Ipv6Server => "ipv6",
            FdKind::UnixSocket => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Event => "event",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Timerfd => "timerfd",
            FdKind::Netlink => "netlink",
            FdKind::Bpf => "bpf",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::IoUring => "io_uring",
            FdKind::Memfd => "memfd",
            FdKind::Pidfd => "pidfd",
            FdKind::Unknown => "unknown",
        }
    }

    pub fn is_socket(self) -> bool {
        matches!(
            self,
            FdKind::Ipv4Socket
                | FdKind::Ipv6Socket
                | FdKind::Ipv4Server
                | FdKind::Ipv6Server
                | FdKind::UnixSocket
        )
    }
}

/// Layer-4 protocol of a socket, when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum L4Proto {
    #[default]
    Unknown,
    Tcp,
    Udp,
    Icmp,
    Raw,
}

impl L4Proto {
    pub fn letter(self) -> Option<char> {
        match self {
            L4Proto::Unknown => None,
            L4Proto::Tcp => Some('t'),
            L4Proto::Udp => Some('u'),
            L4Proto::Icmp => Some('i'),
            L4Proto::Raw => Some('r'),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Unknown => "unknown",
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Icmp => "icmp",
            L4Proto::Raw => "raw",
        }
    }
}

/// The endpoints of a socket, when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    pub sip: IpAddr,
    pub sport: u16,
    pub dip: IpAddr,
    pub dport: u16,
}

/// One open file descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdInfo {
    pub kind: FdKind,
    /// The name sysdig shows after the type tag: a path, `sip:sport->dip:dport`, a server address...
    pub name: String,
    pub l4: L4Proto,
    /// Set for connected and server sockets (for servers, `sip`/`sport` are the bound address).
    pub endpoints: Option<Endpoints>,
    /// The open flags (`PPM_O_*`) for files.
    pub flags: u32,
    /// For sockets created by `socket()`: the socket type (1 stream, 2 datagram...), to learn the protocol.
    pub socket_type: u32,
}

impl FdInfo {
    pub fn new(kind: FdKind, name: impl Into<String>) -> FdInfo {
        FdInfo {
            kind,
            name: name.into(),
            l4: L4Proto::Unknown,
            endpoints: None,
            flags: 0,
            socket_type: 0,
        }
    }

    /// Names a connected socket by its endpoints: `sip:sport->dip:dport`.
    pub fn set_connection(&mut self, sip: IpAddr, sport: u16, dip: IpAddr, dport: u16) {
        self.kind = if sip.is_ipv4() {
            FdKind::Ipv4Socket
        } else {
            FdKind::Ipv6Socket
        };
        self.endpoints = Some(Endpoints {
            sip,
            sport,
            dip,
            dport,
        });
        self.name = format!("{}->{}", fmt_endpoint(sip, sport), fmt_endpoint(dip, dport));
    }

    /// Names a listening socket by the address it is bound to: `ip:port`.
    pub fn set_server(&mut self, ip: IpAddr, port: u16) {
        self.kind = if ip.is_ipv4() {
            FdKind::Ipv4Server
        } else {
            FdKind::Ipv6Server
        };
        self.endpoints = Some(Endpoints {
            sip: ip,
            sport: port,
            dip: ip,
            dport: port,
        });
        self.name = fmt_endpoint(ip, port);
    }

    /// `<f>`, `<4t>`: the tag sysdig prints before the name.
    pub fn tag(&self) -> String {
        let mut tag = String::with_capacity(4);
        tag.push('<');
        tag.push(self.kind.letter());
        if self.kind.is_socket() {
            if let Some(l) = self.l4.letter() {
                tag.push(l);
            }
        }
        tag.push('>');
        tag
    }
}

/// One thread, with the process-wide data it shares with its thread group.
#[derive(Debug, Clone, Default)]
pub struct ThreadInfo {
    pub tid: i64,
    pub pid: i64,
    pub ptid: i64,
    pub sid: i64,
    pub vpgid: i64,
    pub comm: String,
    pub exe: String,
    pub exepath: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub loginuid: i64,
    pub vtid: i64,
    pub vpid: i64,
    pub fdlimit: i64,
    pub tty: u32,
    pub cgroups: Vec<String>,
    pub exe_writable: bool,
    /// The last enter event of this thread, kept so its exit event can be parsed with its arguments.
    pub(crate) last_enter: Vec<u8>,
}

impl ThreadInfo {
    pub fn is_main_thread(&self) -> bool {
        self.tid == self.pid
    }

    /// The parameters of this thread's pending enter event, if its type is `event_type`.
    pub fn last_enter_event(&self, event_type: u16) -> Option<Event<'_>> {
        let event = Event::parse(&self.last_enter).ok()?;
        (event.event_type() == event_type).then_some(event)
    }
}

/// A user or group name from the capture's user list.
#[derive(Debug, Clone, Default)]
pub struct UserTable {
    pub users: HashMap<u32, String>,
    pub groups: HashMap<u32, String>,
}

/// Threads by tid, fds by process.
#[derive(Debug, Default)]
pub struct State {
    threads: HashMap<i64, ThreadInfo>,
    /// fd tables are shared by the threads of a process: keyed by pid.
    fds: HashMap<i64, HashMap<i64, FdInfo>>,
    pub users: UserTable,
    /// A thread that ran procexit; removed when the next event arrives.
    pending_removal: Option<i64>,
    /// An fd the current event refers to that the table does not hold `(pid, fd, info)`: the one a close
    /// just removed, or the file a failed open tried. sysdig shows them in the event's `fd.*` fields.
    event_fd: Option<(i64, i64, FdInfo)>,
}

fn str_value(event: &Event<'_>, index: usize) -> Option<String> {
    match event.param(index)?.value().ok()? {
        Value::Str(s) | Value::Bytes(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn int_value(event: &Event<'_>, index: usize) -> Option<i64> {
    match event.param(index)?.value().ok()? {
        Value::Int(v) => Some(v),
        Value::UInt(v) => Some(v as i64),
        _ => None,
    }
}

fn named_int(event: &Event<'_>, name: &str) -> Option<i64> {
    let index = event.info()?.param_index(name)?;
    int_value(event, index)
}

fn named_str(event: &Event<'_>, name: &str) -> Option<String> {
    let index = event.info()?.param_index(name)?;
    str_value(event, index)
}

/// Splits a NUL-separated list (args, env, cgroups) into its items.
pub fn split_nul_list(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(|&b| b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn bytes_param<'a>(event: &Event<'a>, name: &str) -> Option<&'a [u8]> {
    let index = event.info()?.param_index(name)?;
    event.param_raw(index)
}

/// Joins a path relative to `base` and normalizes `.`/`..` the way sinsp does for fd names. With no
/// base (an unknown directory fd), a relative path stays relative.
pub fn resolve_path(base: &str, path: &str) -> String {
    let absolute = path.starts_with('/') || base.starts_with('/');
    let joined = if path.starts_with('/') || base.is_empty() {
        path.to_owned()
    } else {
        format!("{base}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if !absolute {
        return parts.join("/");
    }
    let mut out = String::with_capacity(joined.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn fmt_endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("{v6}:{port}"),
    }
}

/// Events that have no exit of their own: they never pair with a syscall exit.
fn is_standalone(event_type: u16) -> bool {
    matches!(
        event_type,
        ppme::SCHEDSWITCH_1_E
            | ppme::SCHEDSWITCH_6_E
            | ppme::SIGNALDELIVER_E
            | ppme::PAGE_FAULT_E
            | ppme::PROCEXIT_E
            | ppme::PROCEXIT_1_E
            | ppme::PROCINFO_E
            | ppme::DROP_E
    ) || scap::schema::event_info(event_type)
        .is_some_and(|i| i.category & scap::schema::category::INTERNAL != 0)
}

impl State {
    pub fn new() -> State {
        State::default()
    }

    pub fn thread(&self, tid: i64) -> Option<&ThreadInfo> {
        self.threads.get(&tid)
    }

    pub fn threads(&self) -> impl Iterator<Item = &ThreadInfo> {
        self.threads.values()
    }

    /// The fd `fd` of the process that thread `tid` belongs to.
    pub fn fd(&self, tid: i64, fd: i64) -> Option<&FdInfo> {
        let pid = self.threads.get(&tid).map_or(tid, |t| t.pid);
        self.fds.get(&pid)?.get(&fd)
    }

    /// The fd `fd` of thread `tid`, including one the current event has just closed.
    pub fn fd_of_event(&self, tid: i64, fd: i64) -> Option<&FdInfo> {
        self.fd(tid, fd).or_else(|| match &self.event_fd {
            Some((pid, closed, info)) if *closed == fd && *pid == self.pid_of(tid) => Some(info),
            _ => None,
        })
    }

    /// Adds or replaces a thread, e.g. from a capture's process list.
    pub fn add_thread(&mut self, thread: ThreadInfo) {
        self.threads.insert(thread.tid, thread);
    }

    /// Adds or replaces an fd of process `pid`, e.g. from a capture's fd list.
    pub fn add_fd(&mut self, pid: i64, fd: i64, info: FdInfo) {
        self.fds.entry(pid).or_default().insert(fd, info);
    }

    fn pid_of(&self, tid: i64) -> i64 {
        self.threads.get(&tid).map_or(tid, |t| t.pid)
    }

    fn remove_fd(&mut self, tid: i64, fd: i64) {
        let pid = self.pid_of(tid);
        if let Some(info) = self.fds.get_mut(&pid).and_then(|table| table.remove(&fd)) {
            self.event_fd = Some((pid, fd, info));
        }
    }

    fn insert_fd(&mut self, tid: i64, fd: i64, info: FdInfo) {
        let pid = self.pid_of(tid);
        self.add_fd(pid, fd, info);
    }

    pub fn cwd(&self, tid: i64) -> String {
        self.threads
            .get(&tid)
            .map(|t| t.cwd.clone())
            .unwrap_or_default()
    }

    /// The directory a `*at` call resolves relative paths against.
    pub fn dirfd_path(&self, tid: i64, dirfd: i64) -> String {
        if dirfd == AT_FDCWD {
            return self.cwd(tid);
        }
        self.fd(tid, dirfd)
            .map(|f| f.name.clone())
            .unwrap_or_default()
    }

    /// Applies one event. Call it before rendering the event, as sysdig does.
    pub fn apply(&mut self, event: &Event<'_>) {
        if let Some(tid) = self.pending_removal.take() {
            self.remove_thread(tid);
        }
        self.event_fd = None;
        let tid = event.tid() as i64;
        if event.direction() == Direction::Enter {
            // Only a syscall's enter event is waiting for its exit; a context switch or a signal
            // delivered in between must not take its place.
            if !is_standalone(event.event_type()) {
                if let Some(thread) = self.threads.get_mut(&tid) {
                    thread.last_enter.clear();
                    thread.last_enter.extend_from_slice(event.as_bytes());
                }
            }
            if event.event_type() == ppme::PROCEXIT_1_E || event.event_type() == ppme::PROCEXIT_E {
                self.pending_removal = Some(tid);
            }
            return;
        }
        self.apply_exit(tid, event);
    }

    fn remove_thread(&mut self, tid: i64) {
        if let Some(thread) = self.threads.remove(&tid) {
            let group_alive = self.threads.values().any(|t| t.pid == thread.pid);
            if !group_alive {
                self.fds.remove(&thread.pid);
            }
        }
    }

    /// The enter event matching this exit, copied out of the thread so state can be changed while using it.
    fn enter_of(&self, tid: i64, exit_type: u16) -> Option<Vec<u8>> {
        let thread = self.threads.get(&tid)?;
        thread
            .last_enter_event(exit_type - 1)
            .map(|e| e.as_bytes().to_vec())
    }

    fn apply_exit(&mut self, tid: i64, event: &Event<'_>) {
        let ty = event.event_type();
        match ty {
            ppme::SYSCALL_OPEN_X
            | ppme::SYSCALL_OPENAT_2_X
            | ppme::SYSCALL_OPENAT2_X
            | ppme::SYSCALL_CREAT_X
            | ppme::SYSCALL_OPENAT_X => self.parse_open_exit(tid, event),
            ppme::SYSCALL_CLOSE_X => {
                if named_int(event, "res").is_some_and(|r| r >= 0) {
                    if let Some(enter) = self.enter_of(tid, ty) {
                        if let Some(fd) =
                            Event::parse(&enter).ok().and_then(|e| named_int(&e, "fd"))
                        {
                            self.remove_fd(tid, fd);
                        }
                    }
                }
            }
            ppme::SOCKET_SOCKET_X => self.parse_socket_exit(tid, event),
            ppme::SOCKET_SENDTO_X | ppme::SOCKET_SENDMSG_X => {
                if let Some(enter) = self.enter_of(tid, ty) {
                    if let Ok(enter) = Event::parse(&enter) {
                        self.parse_send_enter(tid, &enter);
                    }
                }
            }
            ppme::SOCKET_BIND_X => self.parse_bind_exit(tid, event),
            ppme::SOCKET_CONNECT_X => self.parse_connect_exit(tid, event),
            ppme::SOCKET_ACCEPT_X
            | ppme::SOCKET_ACCEPT_5_X
            | ppme::SOCKET_ACCEPT4_X
            | ppme::SOCKET_ACCEPT4_5_X => self.parse_accept_exit(tid, event),
            ppme::SYSCALL_DUP_X => self.parse_dup_exit(tid, event),
            ppme::SYSCALL_FCNTL_X => self.parse_fcntl_exit(tid, event),
            ppme::SYSCALL_PIPE_X => {
                if named_int(event, "res").is_some_and(|r| r >= 0) {
                    let ino = named_int(event, "ino").unwrap_or(0);
                    for name in ["fd1", "fd2"] {
                        if let Some(fd) = named_int(event, name) {
                            let mut info = FdInfo::new(FdKind::Pipe, "");
                            info.flags = ino as u32;
                            self.insert_fd(tid, fd, info);
                        }
                    }
                }
            }
            ppme::SOCKET_SOCKETPAIR_X => {
                if named_int(event, "res").is_some_and(|r| r >= 0) {
                    for name in ["fd1", "fd2"] {
                        if let Some(fd) = named_int(event, name) {
                            self.insert_fd(tid, fd, FdInfo::new(FdKind::UnixSocket, ""));
                        }
                    }
                }
            }
            ppme::SYSCALL_EVENTFD_X => self.simple_fd_exit(tid, event, FdKind::Event),
            ppme::SYSCALL_SIGNALFD_X => self.simple_fd_exit(tid, event, FdKind::Signalfd),
            ppme::SYSCALL_TIMERFD_CREATE_X => self.simple_fd_exit(tid, event, FdKind::Timerfd),
            ppme::SYSCALL_INOTIFY_INIT_X => self.simple_fd_exit(tid, event, FdKind::Inotify),
            ppme::SYSCALL_USERFAULTFD_X => self.simple_fd_exit(tid, event, FdKind::Userfaultfd),
            ppme::SYSCALL_CHDIR_X => {
                if named_int(event, "res") == Some(0) {
                    if let Some(path) = named_str(event, "path") {
                        let cwd = resolve_path(&self.cwd(tid), &path);
                        self.set_cwd(tid, cwd);
                    }
                }
            }
            ppme::SYSCALL_FCHDIR_X => {
                if named_int(event, "res") == Some(0) {
                    let fd = self
                        .enter_of(tid, ty)
                        .and_then(|e| Event::parse(&e).ok().and_then(|e| named_int(&e, "fd")));
                    if let Some(name) = fd.and_then(|fd| self.fd(tid, fd)).map(|f| f.name.clone()) {
                        self.set_cwd(tid, name);
                    }
                }
            }
            ppme::SYSCALL_CLONE_20_X
            | ppme::SYSCALL_CLONE_17_X
            | ppme::SYSCALL_CLONE_16_X
            | ppme::SYSCALL_CLONE_11_X
            | ppme::SYSCALL_FORK_X
            | ppme::SYSCALL_FORK_20_X
            | ppme::SYSCALL_FORK_17_X
            | ppme::SYSCALL_VFORK_X
            | ppme::SYSCALL_VFORK_20_X
            | ppme::SYSCALL_VFORK_17_X
            | ppme::SYSCALL_CLONE3_X => self.parse_clone_exit(tid, event),
            ppme::SYSCALL_EXECVE_19_X
            | ppme::SYSCALL_EXECVE_18_X
            | ppme::SYSCALL_EXECVE_17_X
            | ppme::SYSCALL_EXECVE_16_X
            | ppme::SYSCALL_EXECVE_15_X
            | ppme::SYSCALL_EXECVE_14_X
            | ppme::SYSCALL_EXECVE_13_X
            | ppme::SYSCALL_EXECVE_8_X
            | ppme::SYSCALL_EXECVEAT_X => self.parse_execve_exit(tid, event),
            _ => {}
        }
    }

    fn set_cwd(&mut self, tid: i64, cwd: String) {
        // The working directory belongs to the process: every thread of the group moves.
        let pid = self.pid_of(tid);
        for thread in self.threads.values_mut().filter(|t| t.pid == pid) {
            thread.cwd = cwd.clone();
        }
    }

    fn simple_fd_exit(&mut self, tid: i64, event: &Event<'_>, kind: FdKind) {
        if let Some(fd) = int_value(event, 0).filter(|fd| *fd >= 0) {
            self.insert_fd(tid, fd, FdInfo::new(kind, ""));
        }
    }

    fn parse_open_exit(&mut self, tid: i64, event: &Event<'_>) {
        let Some(fd) = named_int(event, "fd") else {
            return;
        };
        let name = named_str(event, "name").unwrap_or_default();
        let base = match named_int(event, "dirfd") {
            Some(dirfd) => self.dirfd_path(tid, dirfd),
            None => self.cwd(tid),
        };
        let flags = named_int(event, "flags").unwrap_or(0) as u32;
        let path = resolve_path(&base, &name);
        let kind = if flags & (1 << 10) != 0 {
            FdKind::Directory
        } else {
            FdKind::File
        };
        let mut info = FdInfo::new(kind, path);
        info.flags = flags;
        if fd < 0 {
            // A failed open leaves only the path it tried.
            info.kind = FdKind::Unknown;
            self.event_fd = Some((self.pid_of(tid), fd, info));
        } else {
            self.insert_fd(tid, fd, info);
        }
    }

    fn parse_socket_exit(&mut self, tid: i64, event: &Event<'_>) {
        let Some(fd) = named_int(event, "fd").filter(|fd| *fd >= 0) else {
            return;
        };
        let enter = self.enter_of(tid, event.event_type());
        let enter = enter.as_deref().and_then(|e| Event::parse(e).ok());
        let domain = enter
            .as_ref()
            .and_then(|e| named_int(e, "domain"))
            .unwrap_or(0);
        let socket_type = enter
            .as_ref()
            .and_then(|e| named_int(e, "type"))
            .unwrap_or(0) as u32;
        let kind = match domain as u8 {
            scap::event::family::INET => FdKind::Ipv4Socket,
            scap::event::family::INET6 => FdKind::Ipv6Socket,
            scap::event::family::UNIX => FdKind::UnixSocket,
            16 => FdKind::Netlink,
            _ => FdKind::Unknown,
        };
        let mut info = FdInfo::new(kind, "");
        info.socket_type = socket_type;
        self.insert_fd(tid, fd, info);
    }

    fn l4_of(socket_type: u32) -> L4Proto {
        // The low bits are the type; the high bits carry SOCK_NONBLOCK/SOCK_CLOEXEC.
        match socket_type & 0xf {
            1 => L4Proto::Tcp,
            2 => L4Proto::Udp,
            3 => L4Proto::Raw,
            _ => L4Proto::Unknown,
        }
    }

    fn enter_fd(&self, tid: i64, exit_type: u16) -> Option<i64> {
        let enter = self.enter_of(tid, exit_type)?;
        let enter = Event::parse(&enter).ok()?;
        named_int(&enter, "fd")
    }

    fn parse_bind_exit(&mut self, tid: i64, event: &Event<'_>) {
        if named_int(event, "res") != Some(0) {
            return;
        }
        let Some(fd) = self.enter_fd(tid, event.event_type()) else {
            return;
        };
        let addr = event.param_by_name("addr").and_then(|p| p.value().ok());
        let pid = self.pid_of(tid);
        let Some(info) = self.fds.get_mut(&pid).and_then(|t| t.get_mut(&fd)) else {
            return;
        };
        match addr {
            Some(Value::SockAddr(SockAddr::Inet(ip, port))) => {
                info.l4 = State::l4_of(info.socket_type);
                info.set_server(ip.into(), port);
            }
            Some(Value::SockAddr(SockAddr::Inet6(ip, port))) => {
                info.l4 = State::l4_of(info.socket_type);
                info.set_server(ip.into(), port);
            }
            Some(Value::SockAddr(SockAddr::Unix(path))) => {
                info.name = String::from_utf8_lossy(path).into_owned();
            }
            _ => {}
        }
    }

    fn apply_tuple(info: &mut FdInfo, tuple: SockTuple<'_>) {
        match tuple {
            SockTuple::Inet {
                sip,
                sport,
                dip,
                dport,
            } => info.set_connection(sip.into(), sport, dip.into(), dport),
            SockTuple::Inet6 {
                sip,
                sport,
                dip,
                dport,
            } => info.set_connection(sip.into(), sport, dip.into(), dport),
            SockTuple::Unix { source, dest, path } => {
                info.kind = FdKind::UnixSocket;
                info.name = format!("{source:x}->{dest:x} {}", String::from_utf8_lossy(path));
            }
            SockTuple::Other(..) => {}
        }
    }

    fn parse_connect_exit(&mut self, tid: i64, event: &Event<'_>) {
        // The socket takes the tuple the kernel reports whatever the result, as in libsinsp: a failed
        // connect still shows where it tried to go.
        let Some(fd) = self.enter_fd(tid, event.event_type()) else {
            return;
        };
        let Some(Value::SockTuple(tuple)) =
            event.param_by_name("tuple").and_then(|p| p.value().ok())
        else {
            return;
        };
        // Only a connection that was made (or is being made) learns its protocol.
        const EINPROGRESS: i64 = -115;
        let connected = matches!(named_int(event, "res"), Some(0) | Some(EINPROGRESS));
        let pid = self.pid_of(tid);
        if let Some(info) = self.fds.get_mut(&pid).and_then(|t| t.get_mut(&fd)) {
            if connected && info.l4 == L4Proto::Unknown {
                info.l4 = State::l4_of(info.socket_type);
            }
            State::apply_tuple(info, tuple);
        }
    }

    /// A datagram sent to an address names an unconnected socket after that address once the send
    /// returns, as libsinsp does; `enter` is the send's enter event, which carries the tuple.
    fn parse_send_enter(&mut self, tid: i64, event: &Event<'_>) {
        let Some(fd) = named_int(event, "fd") else {
            return;
        };
        let Some(Value::SockTuple(tuple)) =
            event.param_by_name("tuple").and_then(|p| p.value().ok())
        else {
            return;
        };
        let pid = self.pid_of(tid);
        if let Some(info) = self.fds.get_mut(&pid).and_then(|t| t.get_mut(&fd)) {
            if info.endpoints.is_none()
                && matches!(info.kind, FdKind::Ipv4Socket | FdKind::Ipv6Socket)
            {
                if info.l4 == L4Proto::Unknown {
                    info.l4 = State::l4_of(info.socket_type);
                }
                State::apply_tuple(info, tuple);
            }
        }
    }

    fn parse_accept_exit(&mut self, tid: i64, event: &Event<'_>) {
        let Some(fd) = named_int(event, "fd").filter(|fd| *fd >= 0) else {
            return;
        };
        // Without a tuple libsinsp cannot type the new socket and leaves it out of the table.
        let Some(Value::SockTuple(tuple)) =
            event.param_by_name("tuple").and_then(|p| p.value().ok())
        else {
            return;
        };
        let mut info = FdInfo::new(FdKind::Ipv4Socket, "");
        info.l4 = L4Proto::Tcp;
        State::apply_tuple(&mut info, tuple);
        self.insert_fd(tid, fd, info);
    }

    fn parse_dup_exit(&mut self, tid: i64, event: &Event<'_>) {
        let Some(newfd) = named_int(event, "res").filter(|fd| *fd >= 0) else {
            return;
        };
        let oldfd = named_int(event, "oldfd").or_else(|| self.enter_fd(tid, event.event_type()));
        let Some(oldfd) = oldfd else { return };
        if let Some(info) = self.fd(tid, oldfd).cloned() {
            self.insert_fd(tid, newfd, info);
        }
    }

    /// fcntl's F_DUPFD and F_DUPFD_CLOEXEC make a new fd for the same file, as dup does.
    fn parse_fcntl_exit(&mut self, tid: i64, event: &Event<'_>) {
        const PPM_FCNTL_F_DUPFD: i64 = 1;
        const PPM_FCNTL_F_DUPFD_CLOEXEC: i64 = 26;
        let Some(newfd) = named_int(event, "res").filter(|fd| *fd >= 0) else {
            return;
        };
        let Some(enter) = self.enter_of(tid, event.event_type()) else {
            return;
        };
        let Ok(enter) = Event::parse(&enter) else { return };
        if !matches!(named_int(&enter, "cmd"), Some(PPM_FCNTL_F_DUPFD | PPM_FCNTL_F_DUPFD_CLOEXEC)) {
            return;
        }
        let Some(oldfd) = named_int(&enter, "fd") else { return };
        if let Some(info) = self.fd(tid, oldfd).cloned() {
            self.insert_fd(tid, newfd, info);
        }
    }

    fn parse_clone_exit(&mut self, tid: i64, event: &Event<'_>) {
        let Some(res) = named_int(event, "res") else {
            return;
        };
        if res < 0 {
            return;
        }
        // The parent's exit names the child in `res`; the child's own exit has res 0 and its tid.
        let child = if res == 0 { tid } else { res };
        let flags = named_int(event, "flags").unwrap_or(0) as u32;
        const CLONE_THREAD: u32 = 1 << 17; // PPM_CL_CLONE_THREAD
        let parent_pid = named_int(event, "pid").unwrap_or(tid);
        let mut thread = ThreadInfo {
            tid: child,
            pid: if flags & CLONE_THREAD != 0 {
                parent_pid
            } else {
                child
            },
            ptid: if res == 0 {
                named_int(event, "ptid").unwrap_or(0)
            } else {
                tid
            },
            comm: named_str(event, "comm").unwrap_or_default(),
            exe: named_str(event, "exe").unwrap_or_default(),
            args: bytes_param(event, "args")
                .map(split_nul_list)
                .unwrap_or_default(),
            cwd: named_str(event, "cwd").unwrap_or_default(),
            uid: named_int(event, "uid").unwrap_or(0) as u32,
            gid: named_int(event, "gid").unwrap_or(0) as u32,
            fdlimit: named_int(event, "fdlimit").unwrap_or(0),
            vtid: named_int(event, "vtid").unwrap_or(child),
            vpid: named_int(event, "vpid").unwrap_or(child),
            cgroups: bytes_param(event, "cgroups")
                .map(split_nul_list)
                .unwrap_or_default(),
            ..ThreadInfo::default()
        };
        if let Some(parent) = self.threads.get(&tid).filter(|_| res != 0) {
            // Fields the event lacks come from the parent, as the kernel copies them.
            if thread.cwd.is_empty() {
                thread.cwd = parent.cwd.clone();
            }
            thread.exepath = parent.exepath.clone();
            thread.env = parent.env.clone();
            thread.loginuid = parent.loginuid;
            thread.sid = parent.sid;
            thread.vpgid = parent.vpgid;
            thread.tty = parent.tty;
        }
        if res == 0 {
            if let Some(existing) = self.threads.get(&child) {
                // The parent's exit came first: keep what it set and what we learned since.
                if thread.cwd.is_empty() {
                    thread.cwd = existing.cwd.clone();
                }
                thread.exepath = existing.exepath.clone();
                thread.env = existing.env.clone();
                thread.loginuid = existing.loginuid;
                thread.sid = existing.sid;
                thread.vpgid = existing.vpgid;
                thread.tty = existing.tty;
            }
        }
        let parent_pid_for_fds = self.pid_of(tid);
        let child_pid = thread.pid;
        let new_process = child_pid != parent_pid_for_fds && !self.fds.contains_key(&child_pid);
        self.threads.insert(child, thread);
        if new_process && res != 0 {
            // fork copies the fd table.
            if let Some(fds) = self.fds.get(&parent_pid_for_fds).cloned() {
                self.fds.insert(child_pid, fds);
            }
        }
    }

    fn parse_execve_exit(&mut self, tid: i64, event: &Event<'_>) {
        if named_int(event, "res") != Some(0) {
            return;
        }
        let thread = self.threads.entry(tid).or_insert_with(|| ThreadInfo {
            tid,
            pid: tid,
            ..ThreadInfo::default()
        });
        if let Some(comm) = named_str(event, "comm") {
            thread.comm = comm;
        }
        if let Some(exe) = named_str(event, "exe") {
            thread.exe = exe;
        }
        if let Some(args) = bytes_param(event, "args") {
            thread.args = split_nul_list(args);
        }
        if let Some(env) = bytes_param(event, "env") {
            thread.env = split_nul_list(env);
        }
        if let Some(cwd) = named_str(event, "cwd").filter(|c| !c.is_empty()) {
            thread.cwd = cwd;
        }
        if let Some(pid) = named_int(event, "pid") {
            thread.pid = pid;
        }
        if let Some(ptid) = named_int(event, "ptid") {
            thread.ptid = ptid;
        }
        if let Some(loginuid) = named_int(event, "loginuid") {
            thread.loginuid = loginuid;
        }
        if let Some(cgroups) = bytes_param(event, "cgroups") {
            thread.cgroups = split_nul_list(cgroups);
        }
        if let Some(flags) = named_int(event, "flags") {
            thread.exe_writable = flags & 1 != 0;
        }
        // The new image's path comes from the enter event's filename.
        let filename = thread
            .last_enter_event(event.event_type() - 1)
            .and_then(|e| named_str(&e, "filename"));
        if let Some(filename) = filename {
            thread.exepath = filename;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scap::event::EventBuilder;

    fn apply(state: &mut State, raw: Vec<u8>) {
        let event = Event::parse(&raw).expect("test events are well formed");
        state.apply(&event);
    }

    #[test]
    fn open_close_tracks_fds_with_resolved_paths() {
        let mut state = State::new();
        state.add_thread(ThreadInfo {
            tid: 7,
            pid: 7,
            cwd: "/home/u/".into(),
            comm: "cat".into(),
            ..Default::default()
        });
        apply(
            &mut state,
            EventBuilder::new(1, 7, ppme::SYSCALL_OPENAT_2_E)
                .i64(AT_FDCWD)
                .str("a/../b.txt")
                .u32(1)
                .u32(0)
                .build(),
        );
        apply(
            &mut state,
            EventBuilder::new(2, 7, ppme::SYSCALL_OPENAT_2_X)
                .i64(3)
                .i64(AT_FDCWD)
                .str("a/../b.txt")
                .u32(1)
                .u32(0)
                .u32(0)
                .build(),
        );
        assert_eq!(
            state.fd(7, 3).map(|f| f.name.as_str()),
            Some("/home/u/b.txt")
        );
        assert_eq!(state.fd(7, 3).map(FdInfo::tag), Some("<f>".into()));
        apply(
            &mut state,
            EventBuilder::new(3, 7, ppme::SYSCALL_CLOSE_E)
                .i64(3)
                .build(),
        );
        apply(
            &mut state,
            EventBuilder::new(4, 7, ppme::SYSCALL_CLOSE_X)
                .i64(0)
                .build(),
        );
        assert!(state.fd(7, 3).is_none());
    }

    #[test]
    fn fcntl_dupfd_copies_the_fd_and_other_commands_do_not() {
        let mut state = State::new();
        state.add_thread(ThreadInfo {
            tid: 7,
            pid: 7,
            cwd: "/".into(),
            ..Default::default()
        });
        let open = |ts| {
            EventBuilder::new(ts, 7, ppme::SYSCALL_OPENAT_2_X)
                .i64(3)
                .i64(AT_FDCWD)
                .str("/etc/hosts")
                .u32(1)
                .u32(0)
                .u32(0)
                .build()
        };
        apply(&mut state, open(1));
        let fcntl = |state: &mut State, ts, cmd: u8, res: i64| {
            apply(state, EventBuilder::new(ts, 7, ppme::SYSCALL_FCNTL_E).i64(3).u8(cmd).build());
            apply(state, EventBuilder::new(ts + 1, 7, ppme::SYSCALL_FCNTL_X).i64(res).build());
        };
        // F_GETFL (PPM 4) returns flags, not an fd.
        fcntl(&mut state, 2, 4, 8);
        assert!(state.fd(7, 8).is_none());
        // F_DUPFD (PPM 1) and F_DUPFD_CLOEXEC (PPM 26) return the new fd.
        fcntl(&mut state, 4, 1, 10);
        fcntl(&mut state, 6, 26, 11);
        for fd in [10, 11] {
            assert_eq!(state.fd(7, fd).map(|f| f.name.as_str()), Some("/etc/hosts"), "fd {fd}");
        }
        // A failed dup makes nothing.
        fcntl(&mut state, 8, 1, -24);
        assert!(state.fd(7, -24).is_none());
    }

    #[test]
    fn procexit_removes_the_thread_on_the_next_event() {
        let mut state = State::new();
        state.add_thread(ThreadInfo {
            tid: 9,
            pid: 9,
            comm: "sleep".into(),
            ..Default::default()
        });
        apply(
            &mut state,
            EventBuilder::new(1, 9, ppme::PROCEXIT_1_E)
                .i64(0)
                .i64(0)
                .u8(0)
                .u8(0)
                .build(),
        );
        assert!(
            state.thread(9).is_some(),
            "procexit itself still shows its process"
        );
        apply(
            &mut state,
            EventBuilder::new(2, 1, ppme::GENERIC_E)
                .u16(64)
                .u16(110)
                .build(),
        );
        assert!(state.thread(9).is_none());
    }

    #[test]
    fn resolve_path_normalizes() {
        assert_eq!(resolve_path("/a/b", "../c"), "/a/c");
        assert_eq!(resolve_path("/a", "/etc//x/./y"), "/etc/x/y");
        assert_eq!(resolve_path("/", ".."), "/");
    }
}
