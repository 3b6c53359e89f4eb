//! The filter/format fields (`evt.*`, `proc.*`, `thread.*`, `fd.*`, `user.*`, `group.*`): their names,
//! what they mean (for `sinsp -l`), and their extraction from an event and the state.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

use scap::event::{Event, Param, Value as EventValue};
use scap::schema::{self, event_flags, ParamType};

use crate::render::Renderer;
use crate::state::{FdInfo, FdKind, State, ThreadInfo};

/// What kind of value a field yields, which decides how filter literals are parsed and how JSON prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Unsigned,
    Signed,
    String,
    Bool,
    Ip,
}

/// Whether a field takes an argument (`evt.arg.fd`, `evt.arg[0]`, `proc.aname[2]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldArg {
    None,
    /// `name.ARG` or `name[ARG]`, required.
    Required,
    /// `name[N]`, optional.
    Optional,
}

/// A field's definition, listed by `sinsp -l`.
#[derive(Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub name: &'static str,
    pub ftype: FieldType,
    pub arg: FieldArg,
    pub description: &'static str,
    id: FieldKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    EvtNum,
    EvtTime,
    EvtOutputTime,
    EvtDatetime,
    EvtRawTime,
    EvtRawTimeS,
    EvtRawTimeNs,
    EvtCpu,
    EvtDir,
    EvtType,
    EvtTypeIsSyscall,
    EvtCategory,
    EvtInfo,
    EvtArgs,
    EvtArg,
    EvtRawArg,
    EvtRes,
    EvtRawRes,
    EvtFailed,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    EvtIsWait,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtBuffer,
    EvtBufLen,
    EvtCount,
    ProcPid,
    ProcExe,
    ProcName,
    ProcArgs,
    ProcCmdline,
    ProcExeline,
    ProcExepath,
    ProcCwd,
    ProcPpid,
    ProcPname,
    ProcPcmdline,
    ProcAname,
    ProcApid,
    ProcSid,
    ProcVpgid,
    ProcTty,
    ProcEnv,
    ProcVpid,
    ProcIsExeWritable,
    ThreadTid,
    ThreadVtid,
    ThreadIsMain,
    FdNum,
    FdType,
    FdTypeChar,
    FdName,
    FdDirectory,
    FdFilename,
    FdSip,
    FdCip,
    FdSport,
    FdCport,
    FdLip,
    FdRip,
    FdLport,
    FdRport,
    FdL4Proto,
    FdSockFamily,
    FdIsServer,
    UserUid,
    UserName,
    UserLoginUid,
    UserLoginName,
    GroupGid,
    GroupName,
}

macro_rules! field {
    ($name:literal, $t:ident, $arg:ident, $kind:ident, $desc:literal) => {
        FieldDef {
            name: $name,
            ftype: FieldType::$t,
            arg: FieldArg::$arg,
            id: FieldKind::$kind,
            description: $desc,
        }
    };
}

/// Every field, in `sinsp -l` order.
pub static FIELDS: &[FieldDef] = &[
    field!(
        "evt.num",
        Unsigned,
        None,
        EvtNum,
        "event number (position in the capture, filtered events included)"
    ),
    field!(
        "evt.time",
        String,
        None,
        EvtTime,
        "event timestamp as HH:MM:SS.nnnnnnnnn, local time"
    ),
    field!(
        "evt.outputtime",
        String,
        None,
        EvtOutputTime,
        "event timestamp as the output format prints it (absolute time)"
    ),
    field!(
        "evt.datetime",
        String,
        None,
        EvtDatetime,
        "event timestamp with the date: YYYY-MM-DD HH:MM:SS.nnnnnnnnn"
    ),
    field!(
        "evt.rawtime",
        Unsigned,
        None,
        EvtRawTime,
        "absolute event timestamp, nanoseconds from the epoch"
    ),
    field!(
        "evt.rawtime.s",
        Unsigned,
        None,
        EvtRawTimeS,
        "integer part of the event timestamp, in seconds"
    ),
    field!(
        "evt.rawtime.ns",
        Unsigned,
        None,
        EvtRawTimeNs,
        "fractional part of the event timestamp, in nanoseconds"
    ),
    field!(
        "evt.cpu",
        Unsigned,
        None,
        EvtCpu,
        "CPU that captured the event"
    ),
    field!(
        "evt.dir",
        String,
        None,
        EvtDir,
        "event direction: '>' enter, '<' exit"
    ),
    field!(
        "evt.type",
        String,
        None,
        EvtType,
        "event name, e.g. 'open'; generic events show the syscall name"
    ),
    field!(
        "evt.type.is_syscall",
        Bool,
        None,
        EvtTypeIsSyscall,
        "true for syscall events"
    ),
    field!(
        "evt.category",
        String,
        None,
        EvtCategory,
        "event category, e.g. 'file', 'net', 'process'"
    ),
    field!(
        "evt.info",
        String,
        None,
        EvtInfo,
        "the event's parameters as 'name=value ' pairs, as sysdig prints them"
    ),
    field!("evt.args", String, None, EvtArgs, "same as evt.info"),
    field!(
        "evt.arg",
        String,
        Required,
        EvtArg,
        "one parameter by name (evt.arg.fd) or index (evt.arg[0]), rendered"
    ),
    field!(
        "evt.rawarg",
        String,
        Required,
        EvtRawArg,
        "one parameter by name, as its raw value (numbers stay numbers)"
    ),
    field!(
        "evt.res",
        String,
        None,
        EvtRes,
        "the return value: SUCCESS, or the errno name on failure"
    ),
    field!(
        "evt.rawres",
        Signed,
        None,
        EvtRawRes,
        "the return value as a number"
    ),
    field!(
        "evt.failed",
        Bool,
        None,
        EvtFailed,
        "true when the call returned an error"
    ),
    field!(
        "evt.is_io",
        Bool,
        None,
        EvtIsIo,
        "true for events that read or write data"
    ),
    field!(
        "evt.is_io_read",
        Bool,
        None,
        EvtIsIoRead,
        "true for events that read data"
    ),
    field!(
        "evt.is_io_write",
        Bool,
        None,
        EvtIsIoWrite,
        "true for events that write data"
    ),
    field!(
        "evt.is_wait",
        Bool,
        None,
        EvtIsWait,
        "true for events that make the thread wait"
    ),
    field!(
        "evt.is_open_read",
        Bool,
        None,
        EvtIsOpenRead,
        "true for open/openat exits whose flags include reading"
    ),
    field!(
        "evt.is_open_write",
        Bool,
        None,
        EvtIsOpenWrite,
        "true for open/openat exits whose flags include writing"
    ),
    field!(
        "evt.buffer",
        String,
        None,
        EvtBuffer,
        "the data buffer of I/O events"
    ),
    field!(
        "evt.buflen",
        Unsigned,
        None,
        EvtBufLen,
        "the length of the data buffer of I/O events"
    ),
    field!(
        "evt.count",
        Unsigned,
        None,
        EvtCount,
        "1 for every event (for counting)"
    ),
    field!("proc.pid", Signed, None, ProcPid, "process id"),
    field!(
        "proc.exe",
        String,
        None,
        ProcExe,
        "first command-line argument (usually the executable)"
    ),
    field!(
        "proc.name",
        String,
        None,
        ProcName,
        "process name (the kernel's comm)"
    ),
    field!(
        "proc.args",
        String,
        None,
        ProcArgs,
        "command-line arguments after the first, space-separated"
    ),
    field!(
        "proc.cmdline",
        String,
        None,
        ProcCmdline,
        "name and arguments: 'name arg1 arg2'"
    ),
    field!(
        "proc.exeline",
        String,
        None,
        ProcExeline,
        "exe and arguments: 'exe arg1 arg2'"
    ),
    field!(
        "proc.exepath",
        String,
        None,
        ProcExepath,
        "full path of the executable"
    ),
    field!(
        "proc.cwd",
        String,
        None,
        ProcCwd,
        "current working directory"
    ),
    field!("proc.ppid", Signed, None, ProcPpid, "parent process id"),
    field!("proc.pname", String, None, ProcPname, "parent process name"),
    field!(
        "proc.pcmdline",
        String,
        None,
        ProcPcmdline,
        "parent command line"
    ),
    field!(
        "proc.aname",
        String,
        Optional,
        ProcAname,
        "name of an ancestor: proc.aname[1] is the parent, [2] the grandparent"
    ),
    field!(
        "proc.apid",
        Signed,
        Optional,
        ProcApid,
        "pid of an ancestor: proc.apid[1] is the parent's"
    ),
    field!("proc.sid", Signed, None, ProcSid, "session id"),
    field!(
        "proc.vpgid",
        Signed,
        None,
        ProcVpgid,
        "process group id, as seen from its pid namespace"
    ),
    field!(
        "proc.tty",
        Unsigned,
        None,
        ProcTty,
        "controlling terminal, 0 for none"
    ),
    field!(
        "proc.env",
        String,
        None,
        ProcEnv,
        "environment variables, space-separated"
    ),
    field!(
        "proc.vpid",
        Signed,
        None,
        ProcVpid,
        "process id as seen from its pid namespace"
    ),
    field!(
        "proc.is_exe_writable",
        Bool,
        None,
        ProcIsExeWritable,
        "true when the executable is writable by the user running it"
    ),
    field!(
        "thread.tid",
        Signed,
        None,
        ThreadTid,
        "thread id of the event"
    ),
    field!(
        "thread.vtid",
        Signed,
        None,
        ThreadVtid,
        "thread id as seen from its pid namespace"
    ),
    field!(
        "thread.ismain",
        Bool,
        None,
        ThreadIsMain,
        "true for the main thread of its process"
    ),
    field!(
        "fd.num",
        Signed,
        None,
        FdNum,
        "the fd the event operates on"
    ),
    field!(
        "fd.type",
        String,
        None,
        FdType,
        "fd type: file, directory, ipv4, ipv6, unix, pipe, event, ..."
    ),
    field!(
        "fd.typechar",
        String,
        None,
        FdTypeChar,
        "fd type as one letter: f d 4 6 u p e s l i t ..."
    ),
    field!(
        "fd.name",
        String,
        None,
        FdName,
        "fd name: a path, or 'sip:sport->dip:dport' for connected sockets"
    ),
    field!(
        "fd.directory",
        String,
        None,
        FdDirectory,
        "the directory of a file fd"
    ),
    field!(
        "fd.filename",
        String,
        None,
        FdFilename,
        "the file name of a file fd, without its directory"
    ),
    field!("fd.sip", Ip, None, FdSip, "server IP address"),
    field!("fd.cip", Ip, None, FdCip, "client IP address"),
    field!("fd.sport", Unsigned, None, FdSport, "server port"),
    field!("fd.cport", Unsigned, None, FdCport, "client port"),
    field!("fd.lip", Ip, None, FdLip, "local IP address"),
    field!("fd.rip", Ip, None, FdRip, "remote IP address"),
    field!("fd.lport", Unsigned, None, FdLport, "local port"),
    field!("fd.rport", Unsigned, None, FdRport, "remote port"),
    field!(
        "fd.l4proto",
        String,
        None,
        FdL4Proto,
        "layer-4 protocol: tcp, udp, icmp, raw"
    ),
    field!(
        "fd.sockfamily",
        String,
        None,
        FdSockFamily,
        "socket family: ip or unix"
    ),
    field!(
        "fd.is_server",
        Bool,
        None,
        FdIsServer,
        "true for listening sockets"
    ),
    field!("user.uid", Unsigned, None, UserUid, "user id"),
    field!("user.name", String, None, UserName, "user name"),
    field!(
        "user.loginuid",
        Signed,
        None,
        UserLoginUid,
        "audit login user id, -1 when unset"
    ),
    field!(
        "user.loginname",
        String,
        None,
        UserLoginName,
        "audit login user name"
    ),
    field!("group.gid", Unsigned, None, GroupGid, "group id"),
    field!("group.name", String, None, GroupName, "group name"),
];

/// A field resolved from its name, ready to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    def: &'static FieldDef,
    /// The argument: a parameter name, or an index.
    arg: Option<String>,
}

/// A field's value for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Unsigned(u64),
    Signed(i64),
    Str(Cow<'a, str>),
    Bool(bool),
    Ip(IpAddr),
}

impl FieldValue<'_> {
    /// Appends the value as text output prints it.
    pub fn push_to(&self, out: &mut String) {
        let _ = match self {
            FieldValue::Unsigned(v) => {
                crate::render::push_int(out, *v);
                Ok(())
            }
            FieldValue::Signed(v) => {
                crate::render::push_int(out, *v);
                Ok(())
            }
            FieldValue::Str(s) => {
                out.push_str(s);
                Ok(())
            }
            FieldValue::Bool(b) => write!(out, "{b}"),
            FieldValue::Ip(ip) => write!(out, "{ip}"),
        };
    }
}

/// Error resolving a field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField(pub String);

impl std::fmt::Display for UnknownField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Field {
    /// Resolves `evt.type`, `evt.arg.fd`, `evt.arg[0]`, `proc.aname[2]`...
    pub fn resolve(name: &str, arg: Option<&str>) -> Result<Field, UnknownField> {
        // Accept the argument inline too, so `-p` formats can pass the whole token.
        let (base, inline_arg) = split_field(name);
        let arg = arg.map(str::to_owned).or(inline_arg);
        let Some(def) = FIELDS.iter().find(|d| d.name == base) else {
            let hint = FIELDS
                .iter()
                .filter(|d| d.name.split('.').next() == base.split('.').next())
                .min_by_key(|d| edit_distance(d.name, &base))
                .filter(|d| edit_distance(d.name, &base) <= 3)
                .map(|d| format!(" (did you mean {}?)", d.name))
                .unwrap_or_default();
            return Err(UnknownField(format!(
                "unknown field '{name}'{hint}; `sinsp -l` lists them"
            )));
        };
        match (def.arg, &arg) {
            (FieldArg::None, Some(a)) => Err(UnknownField(format!(
                "field '{}' takes no argument, got '{a}'",
                def.name
            ))),
            (FieldArg::Required, None) => Err(UnknownField(format!(
                "field '{}' needs an argument, e.g. {}.fd or {}[0]",
                def.name, def.name, def.name
            ))),
            _ => Ok(Field { def, arg }),
        }
    }

    pub fn name(&self) -> String {
        match &self.arg {
            Some(a) if self.def.arg == FieldArg::Required && a.parse::<usize>().is_err() => {
                format!("{}.{a}", self.def.name)
            }
            Some(a) => format!("{}[{a}]", self.def.name),
            None => self.def.name.to_owned(),
        }
    }

    pub fn field_type(&self) -> FieldType {
        self.def.ftype
    }
}

/// Splits `evt.arg.fd` into (`evt.arg`, `fd`) and `evt.arg[0]` into (`evt.arg`, `0`).
fn split_field(name: &str) -> (String, Option<String>) {
    if let Some(open) = name.find('[') {
        let arg = name[open + 1..].trim_end_matches(']').to_owned();
        return (name[..open].to_owned(), Some(arg));
    }
    for prefix in ["evt.arg.", "evt.rawarg."] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return (
                prefix.trim_end_matches('.').to_owned(),
                Some(rest.to_owned()),
            );
        }
    }
    (name.to_owned(), None)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Everything a field needs to know about one event.
pub struct EventContext<'e, 's> {
    pub event: &'e Event<'e>,
    pub state: &'s State,
    pub renderer: &'s Renderer<'s>,
    /// Position of the event in the capture, 1-based.
    pub num: u64,
    pub cpu: u16,
}

thread_local! {
    /// The local-time text of the last second formatted: consecutive events mostly share their second,
    /// and converting to local time is the costly part.
    static LAST_SECOND: std::cell::RefCell<(i64, bool, String)> = const { std::cell::RefCell::new((-1, false, String::new())) };
}

/// Formats a timestamp in local time: `HH:MM:SS.nnnnnnnnn`, or with the date when `with_date`.
pub fn format_time(out: &mut String, ts: u64, with_date: bool) {
    let secs = (ts / 1_000_000_000) as i64;
    let nanos = ts % 1_000_000_000;
    LAST_SECOND.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != secs || cache.1 != with_date {
            let mut text = String::with_capacity(24);
            format_second(&mut text, secs, with_date);
            *cache = (secs, with_date, text);
        }
        out.push_str(&cache.2);
    });
    out.push('.');
    let mut digits = [b'0'; 9];
    let mut n = nanos;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.push_str(std::str::from_utf8(&digits).unwrap_or("000000000"));
}

fn format_second(out: &mut String, secs: i64, with_date: bool) {
    let secs = secs as libc::time_t;
    // SAFETY: localtime_r only writes the tm we pass it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        let _ = write!(out, "{secs}");
        return;
    }
    if with_date {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02} ",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday
        );
    }
    let _ = write!(out, "{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

fn fd_param(event: &Event<'_>, state: &State) -> Option<i64> {
    let info = event.info()?;
    if !info.has_flag(event_flags::USES_FD | event_flags::CREATES_FD | event_flags::DESTROYS_FD) {
        return None;
    }
    // As libsinsp: an enter event names its fd; an exit that creates one returns it; any other exit
    // refers to the fd of its enter event (and to none when the enter event has no fd).
    let exit_creates =
        event.direction() == schema::Direction::Exit && info.has_flag(event_flags::CREATES_FD);
    if event.direction() == schema::Direction::Enter || exit_creates {
        return match event.param_by_name("fd").map(|p| p.value()) {
            Some(Ok(EventValue::Int(fd))) => Some(fd),
            _ => None,
        };
    }
    let thread = state.thread(event.tid() as i64)?;
    let enter = thread.last_enter_event(event.event_type() - 1)?;
    match enter.param_by_name("fd").map(|p| p.value()) {
        Some(Ok(EventValue::Int(fd))) => Some(fd),
        _ => None,
    }
}

fn io_buffer<'e>(event: &Event<'e>) -> Option<&'e [u8]> {
    let info = event.info()?;
    info.params
        .iter()
        .position(|p| p.name == "data" && p.ptype == ParamType::Bytebuf)
        .and_then(|i| event.param_raw(i))
}

fn ancestor<'s>(state: &'s State, thread: &'s ThreadInfo, level: usize) -> Option<&'s ThreadInfo> {
    let mut current = thread;
    for _ in 0..level {
        // Ancestors are processes: start from the main thread's parent.
        let main = state.thread(current.pid).unwrap_or(current);
        current = state.thread(main.ptid)?;
    }
    Some(current)
}

fn cmdline(name: &str, args: &[String]) -> String {
    let mut s = name.to_owned();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

impl Field {
    /// Appends the field as text output shows it, without building an intermediate value for the
    /// fields of the default line; false when the field has no value for this event.
    pub fn write_text(&self, out: &mut String, cx: &EventContext<'_, '_>) -> bool {
        use FieldKind as K;
        let ev = cx.event;
        match self.def.id {
            K::EvtNum => crate::render::push_int(out, cx.num),
            K::EvtCpu => crate::render::push_int(out, cx.cpu),
            K::ThreadTid => crate::render::push_int(out, ev.tid() as i64),
            K::EvtDir => out.push_str(ev.direction().symbol()),
            K::EvtType => out.push_str(event_type_name(ev)),
            K::EvtTime | K::EvtOutputTime => format_time(out, ev.ts(), false),
            K::EvtInfo | K::EvtArgs => cx.renderer.info(out, ev),
            K::ProcName => match cx.state.thread(ev.tid() as i64) {
                Some(t) => out.push_str(&t.comm),
                None => return false,
            },
            _ => match self.extract(cx) {
                Some(v) => v.push_to(out),
                None => return false,
            },
        }
        true
    }

    /// The field's value for this event; `None` when it does not apply (shown as `<NA>`).
    pub fn extract<'e>(&self, cx: &EventContext<'e, '_>) -> Option<FieldValue<'e>> {
        use FieldKind as K;
        use FieldValue as V;
        let ev = cx.event;
        let tid = ev.tid() as i64;
        let thread = || cx.state.thread(tid);
        let fd = || {
            fd_param(ev, cx.state)
                .and_then(|fd| cx.state.fd_of_event(tid, fd).map(|info| (fd, info)))
        };
        let owned = |s: String| Some(V::Str(Cow::Owned(s)));
        let info = ev.info();
        match self.def.id {
            K::EvtNum => Some(V::Unsigned(cx.num)),
            K::EvtTime | K::EvtOutputTime | K::EvtDatetime => {
                let mut s = String::with_capacity(30);
                format_time(&mut s, ev.ts(), self.def.id == K::EvtDatetime);
                owned(s)
            }
            K::EvtRawTime => Some(V::Unsigned(ev.ts())),
            K::EvtRawTimeS => Some(V::Unsigned(ev.ts() / 1_000_000_000)),
            K::EvtRawTimeNs => Some(V::Unsigned(ev.ts() % 1_000_000_000)),
            K::EvtCpu => Some(V::Unsigned(u64::from(cx.cpu))),
            K::EvtDir => Some(V::Str(Cow::Borrowed(ev.direction().symbol()))),
            K::EvtType => Some(V::Str(Cow::Borrowed(event_type_name(ev)))),
            K::EvtTypeIsSyscall => Some(V::Bool(info.is_some_and(|i| {
                i.category & 0xff00 == 0 && i.category != schema::category::SCHEDULER
            }))),
            K::EvtCategory => {
                let mut category = info.map_or(0, |i| i.category);
                let ty = ev.event_type();
                if ty == schema::ppme::GENERIC_E || ty == schema::ppme::GENERIC_X {
                    // A generic event belongs to its syscall's category.
                    if let Some(Ok(EventValue::UInt(id))) = ev.param(0).map(|p| p.value()) {
                        category = usize::try_from(id)
                            .ok()
                            .and_then(|i| schema::SYSCALL_CATEGORIES.get(i).copied())
                            .unwrap_or(category);
                    }
                }
                if category & schema::category::IO_BASE != 0 {
                    // I/O is reported by what it reads or writes: a file, the network, an IPC channel.
                    let by_fd = fd().map(|(_, f)| match f.kind {
                        FdKind::File | FdKind::Directory => "file",
                        k if k.is_socket() => "net",
                        FdKind::Pipe | FdKind::Event | FdKind::Signalfd => "ipc",
                        _ => "unknown",
                    });
                    return Some(V::Str(Cow::Borrowed(by_fd.unwrap_or("unknown"))));
                }
                Some(V::Str(Cow::Borrowed(category_display(category))))
            }
            K::EvtInfo | K::EvtArgs => {
                let mut s = String::new();
                cx.renderer.info(&mut s, ev);
                owned(s)
            }
            K::EvtArg => {
                let param = self.param(ev)?;
                let mut s = String::new();
                cx.renderer.param(&mut s, ev, &param);
                // evt.arg shows the resolved form alone when there is one: `<f>/etc/hostname`, not
                // `3(<f>/etc/hostname)`; `ENOENT`, not `-2(ENOENT)`.
                let resolvable = matches!(
                    param.info.ptype,
                    ParamType::Fd
                        | ParamType::Pid
                        | ParamType::Errno
                        | ParamType::Sigtype
                        | ParamType::Uid
                        | ParamType::Gid
                        | ParamType::Flags8
                        | ParamType::Flags16
                        | ParamType::Flags32
                        | ParamType::Fsrelpath
                );
                if resolvable && s.ends_with(')') {
                    if let Some(open) = s.find('(') {
                        s = s[open + 1..s.len() - 1].to_owned();
                    }
                }
                owned(s)
            }
            K::EvtRawArg => {
                let param = self.param(ev)?;
                match param.value().ok()? {
                    EventValue::Int(v) => Some(V::Signed(v)),
                    EventValue::UInt(v) => Some(V::Unsigned(v)),
                    EventValue::Str(s) => owned(String::from_utf8_lossy(s).into_owned()),
                    _ => {
                        let mut s = String::new();
                        cx.renderer.param(&mut s, ev, &param);
                        owned(s)
                    }
                }
            }
            K::EvtRes | K::EvtRawRes | K::EvtFailed => {
                let res = ev
                    .param(0)
                    .filter(|p| {
                        ev.direction() == schema::Direction::Exit
                            && matches!(p.info.name, "res" | "fd")
                    })
                    .and_then(|p| p.value().ok());
                let res = match res {
                    Some(EventValue::Int(res)) => res,
                    Some(EventValue::UInt(res)) => res as i64,
                    // An event without a result has not failed.
                    _ => return (self.def.id == K::EvtFailed).then_some(V::Bool(false)),
                };
                match self.def.id {
                    K::EvtRawRes => Some(V::Signed(res)),
                    K::EvtFailed => Some(V::Bool(res < 0)),
                    _ if res >= 0 => Some(V::Str(Cow::Borrowed("SUCCESS"))),
                    _ => Some(V::Str(Cow::Borrowed(
                        schema::errno_name(res.unsigned_abs()).unwrap_or("FAILURE"),
                    ))),
                }
            }
            K::EvtIsIo | K::EvtIsIoRead | K::EvtIsIoWrite | K::EvtIsWait => {
                let flags = info.map_or(0, |i| i.flags);
                let wanted = match self.def.id {
                    K::EvtIsIo => event_flags::READS_FROM_FD | event_flags::WRITES_TO_FD,
                    K::EvtIsIoRead => event_flags::READS_FROM_FD,
                    K::EvtIsIoWrite => event_flags::WRITES_TO_FD,
                    _ => event_flags::WAITS,
                };
                Some(V::Bool(flags & wanted != 0))
            }
            K::EvtIsOpenRead | K::EvtIsOpenWrite => {
                let name = info.map(|i| i.name)?;
                if !name.starts_with("open") && name != "creat"
                    || ev.direction() != schema::Direction::Exit
                {
                    return Some(V::Bool(false));
                }
                let flags = match ev.param_by_name("flags")?.value().ok()? {
                    EventValue::UInt(f) => f as u32,
                    _ => 0,
                };
                let bit = if self.def.id == K::EvtIsOpenRead {
                    1
                } else {
                    2
                };
                Some(V::Bool(flags & bit != 0))
            }
            K::EvtBuffer => io_buffer(ev).map(|b| V::Str(String::from_utf8_lossy(b))),
            K::EvtBufLen => io_buffer(ev).map(|b| V::Unsigned(b.len() as u64)),
            K::EvtCount => Some(V::Unsigned(1)),
            K::ProcPid => thread().map(|t| V::Signed(t.pid)),
            K::ProcExe => thread().and_then(|t| owned(t.exe.clone())),
            K::ProcName => thread().and_then(|t| owned(t.comm.clone())),
            K::ProcArgs => thread().and_then(|t| owned(t.args.join(" "))),
            K::ProcCmdline => thread().and_then(|t| owned(cmdline(&t.comm, &t.args))),
            K::ProcExeline => thread().and_then(|t| owned(cmdline(&t.exe, &t.args))),
            K::ProcExepath => thread().and_then(|t| owned(t.exepath.clone())),
            K::ProcCwd => thread().and_then(|t| owned(t.cwd.clone())),
            K::ProcPpid => thread()
                .and_then(|t| ancestor(cx.state, t, 1))
                .map(|p| V::Signed(p.pid)),
            K::ProcPname => thread()
                .and_then(|t| ancestor(cx.state, t, 1))
                .and_then(|p| owned(p.comm.clone())),
            K::ProcPcmdline => thread()
                .and_then(|t| ancestor(cx.state, t, 1))
                .and_then(|p| owned(cmdline(&p.comm, &p.args))),
            K::ProcAname | K::ProcApid => {
                let level = self.arg.as_deref().map_or(Some(1), |a| a.parse().ok())?;
                let a = thread().and_then(|t| ancestor(cx.state, t, level))?;
                if self.def.id == K::ProcAname {
                    owned(a.comm.clone())
                } else {
                    Some(V::Signed(a.pid))
                }
            }
            K::ProcSid => thread().map(|t| V::Signed(t.sid)),
            K::ProcVpgid => thread().map(|t| V::Signed(t.vpgid)),
            K::ProcTty => thread().map(|t| V::Unsigned(u64::from(t.tty))),
            K::ProcEnv => thread().and_then(|t| owned(t.env.join(" "))),
            K::ProcVpid => thread().map(|t| V::Signed(t.vpid)),
            K::ProcIsExeWritable => thread().map(|t| V::Bool(t.exe_writable)),
            K::ThreadTid => Some(V::Signed(tid)),
            K::ThreadVtid => thread().map(|t| V::Signed(t.vtid)),
            K::ThreadIsMain => thread().map(|t| V::Bool(t.is_main_thread())),
            K::FdNum => fd_param(ev, cx.state).map(V::Signed),
            // An fd known only by name (a failed open) has no type, as in sysdig.
            K::FdType => fd()
                .filter(|(_, f)| f.kind != FdKind::Unknown)
                .map(|(_, f)| V::Str(Cow::Borrowed(f.kind.type_name()))),
            K::FdTypeChar => fd()
                .filter(|(_, f)| f.kind != FdKind::Unknown)
                .and_then(|(_, f)| owned(f.kind.letter().to_string())),
            K::FdName => fd().and_then(|(_, f)| owned(f.name.clone())),
            K::FdDirectory | K::FdFilename => {
                let (_, f) = fd()?;
                // A file or directory has both; an fd known only by name still has a directory.
                let applies = match f.kind {
                    FdKind::File | FdKind::Directory => true,
                    FdKind::Unknown => self.def.id == K::FdDirectory,
                    _ => false,
                };
                if !applies {
                    return None;
                }
                let (dir, file) = match f.name.rfind('/') {
                    Some(0) => ("/", &f.name[1..]),
                    Some(i) => (&f.name[..i], &f.name[i + 1..]),
                    None => ("", f.name.as_str()),
                };
                owned(if self.def.id == K::FdDirectory {
                    dir.to_owned()
                } else {
                    file.to_owned()
                })
            }
            K::FdSip
            | K::FdCip
            | K::FdSport
            | K::FdCport
            | K::FdLip
            | K::FdRip
            | K::FdLport
            | K::FdRport => {
                let (_, f) = fd()?;
                endpoint_field(self.def.id, f)
            }
            K::FdL4Proto => fd()
                .filter(|(_, f)| f.kind.is_socket() && f.l4 != crate::state::L4Proto::Unknown)
                .map(|(_, f)| V::Str(Cow::Borrowed(f.l4.name()))),
            K::FdSockFamily => fd().and_then(|(_, f)| match f.kind {
                crate::state::FdKind::UnixSocket => Some(V::Str(Cow::Borrowed("unix"))),
                k if k.is_socket() => Some(V::Str(Cow::Borrowed("ip"))),
                _ => None,
            }),
            K::FdIsServer => fd()
                .filter(|(_, f)| f.kind != FdKind::Unknown)
                .map(|(_, f)| {
                    V::Bool(matches!(
                        f.kind,
                        crate::state::FdKind::Ipv4Server | crate::state::FdKind::Ipv6Server
                    ))
                }),
            K::UserUid => thread().map(|t| V::Unsigned(u64::from(t.uid))),
            K::UserName => thread()
                .and_then(|t| cx.state.users.users.get(&t.uid))
                .and_then(|n| owned(n.clone())),
            K::UserLoginUid => thread().map(|t| V::Signed(t.loginuid)),
            K::UserLoginName => thread()
                .and_then(|t| u32::try_from(t.loginuid).ok())
                .and_then(|uid| cx.state.users.users.get(&uid))
                .and_then(|n| owned(n.clone())),
            K::GroupGid => thread().map(|t| V::Unsigned(u64::from(t.gid))),
            K::GroupName => thread()
                .and_then(|t| cx.state.users.groups.get(&t.gid))
                .and_then(|n| owned(n.clone())),
        }
    }

    fn param<'e>(&self, ev: &Event<'e>) -> Option<Param<'e>> {
        let arg = self.arg.as_deref()?;
        match arg.parse::<usize>() {
            Ok(index) => ev.param(index),
            Err(_) => ev.param_by_name(arg),
        }
    }
}

fn endpoint_field<'e>(kind: FieldKind, f: &FdInfo) -> Option<FieldValue<'e>> {
    use FieldKind as K;
    let e = f.endpoints?;
    let server = matches!(
        f.kind,
        crate::state::FdKind::Ipv4Server | crate::state::FdKind::Ipv6Server
    );
    // For a connected socket, sinsp calls the destination the server; local is the source of the tuple.
    Some(match kind {
        K::FdSip | K::FdRip => FieldValue::Ip(if server { e.sip } else { e.dip }),
        K::FdCip | K::FdLip => FieldValue::Ip(e.sip),
        K::FdSport | K::FdRport => {
            FieldValue::Unsigned(u64::from(if server { e.sport } else { e.dport }))
        }
        K::FdCport | K::FdLport => FieldValue::Unsigned(u64::from(e.sport)),
        _ => return None,
    })
}

/// The name sysdig shows for an event: the event's name, or the syscall's for generic events.
pub fn event_type_name(ev: &Event<'_>) -> &'static str {
    let ty = ev.event_type();
    if ty == schema::ppme::GENERIC_E || ty == schema::ppme::GENERIC_X {
        if let Some(Ok(EventValue::UInt(id))) = ev.param(0).map(|p| p.value()) {
            return schema::syscall_name(id).unwrap_or("<unknown>");
        }
        return "<unknown>";
    }
    ev.info().map_or("<unknown>", |i| i.name)
}

fn category_display(category: u32) -> &'static str {
    use schema::category as c;
    match category {
        c::FILE => "file",
        c::NET => "net",
        c::IPC => "ipc",
        c::MEMORY => "memory",
        c::PROCESS => "process",
        c::SLEEP => "sleep",
        c::SYSTEM => "system",
        c::SIGNAL => "signal",
        c::USER => "user",
        c::TIME => "time",
        c::PROCESSING => "processing",
        c::IO_READ | c::IO_WRITE | c::IO_OTHER => "io",
        c::WAIT => "wait",
        c::SCHEDULER => "scheduler",
        c::INTERNAL => "internal",
        c::OTHER => "other",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_with_arguments() {
        assert_eq!(
            Field::resolve("evt.arg.fd", None).map(|f| f.name()),
            Ok("evt.arg.fd".to_owned())
        );
        assert_eq!(
            Field::resolve("evt.arg[0]", None).map(|f| f.name()),
            Ok("evt.arg[0]".to_owned())
        );
        assert_eq!(
            Field::resolve("proc.aname", Some("2")).map(|f| f.name()),
            Ok("proc.aname[2]".to_owned())
        );
        let e = Field::resolve("proc.nme", None).expect_err("typo");
        assert!(e.0.contains("did you mean proc.name?"), "{e}");
        assert!(Field::resolve("evt.arg", None).is_err());
        assert!(Field::resolve("evt.type", Some("x")).is_err());
    }
}
