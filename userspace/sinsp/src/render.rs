//! Parameters rendered as text the way sysdig renders them in `evt.info` and `evt.arg.*`:
//! fds with their type and name (`3(<f>/etc/hostname)`), errors with their errno name (`-2(ENOENT)`),
//! flags with their names (`1(O_RDONLY)`), pids with their process name (`86(init)`).

use std::fmt::Write as _;

use scap::event::{Event, Param, SockAddr, SockTuple, Value};
use scap::schema::{self, ppme, FlagEntry, ParamAux, ParamType, PrintFormat};

use crate::state::{State, AT_FDCWD};

/// How many bytes of a buffer parameter are printed before `...` (sysdig's default print length).
pub const DEFAULT_PRINT_LEN: usize = 80;

/// Rendering options.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub print_len: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            print_len: DEFAULT_PRINT_LEN,
        }
    }
}

/// Names of the flags set in `value`, the way libsinsp resolves them: an entry equal to the whole value
/// wins outright; otherwise every entry whose bits are all set is listed, consuming its bits so that a
/// composite entry (`O_RDWR`) hides its parts.
pub fn flag_names(out: &mut String, table: &[FlagEntry], value: u32) -> bool {
    if let Some(exact) = table.iter().find(|e| e.value == value) {
        out.push_str(exact.name);
        return true;
    }
    let mut rest = value;
    let mut any = false;
    for entry in table {
        if entry.value != 0 && rest & entry.value == entry.value && rest != 0 {
            if any {
                out.push('|');
            }
            out.push_str(entry.name);
            rest &= !entry.value;
            any = true;
        }
    }
    any
}

/// Appends printable ASCII as is and everything else as `.`, at most `limit` bytes, then `...` if cut.
pub fn push_buffer(out: &mut String, raw: &[u8], limit: usize) {
    let (shown, cut) = if raw.len() > limit {
        (&raw[..limit.saturating_sub(3)], true)
    } else {
        (raw, false)
    };
    out.reserve(shown.len() + 3);
    for &b in shown {
        out.push(if (0x20..0x7f).contains(&b) {
            b as char
        } else {
            '.'
        });
    }
    if cut {
        out.push_str("...");
    }
}

fn push_str_param(out: &mut String, raw: &[u8]) {
    match std::str::from_utf8(raw) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(raw)),
    }
}

/// Appends a decimal integer without going through `core::fmt` (this runs for most parameters).
pub fn push_int(out: &mut String, v: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(v));
}

fn push_unsigned(out: &mut String, v: u64, format: PrintFormat) {
    if !matches!(format, PrintFormat::Hex | PrintFormat::Oct) {
        push_int(out, v);
        return;
    }
    let _ = match format {
        PrintFormat::Hex => write!(out, "{v:X}"),
        PrintFormat::Oct => {
            if v == 0 {
                write!(out, "0")
            } else {
                write!(out, "0{v:o}")
            }
        }
        _ => write!(out, "{v}"),
    };
}

fn push_signed(out: &mut String, v: i64, format: PrintFormat) {
    if !matches!(format, PrintFormat::Hex | PrintFormat::Oct) {
        push_int(out, v);
        return;
    }
    let _ = match format {
        PrintFormat::Hex => write!(out, "{v:X}"),
        PrintFormat::Oct => {
            if v == 0 {
                write!(out, "0")
            } else {
                write!(out, "0{v:o}")
            }
        }
        _ => write!(out, "{v}"),
    };
}

/// The context a parameter is rendered in: the state (for fd and pid names) and the event's thread.
pub struct Renderer<'s> {
    pub state: &'s State,
    pub options: RenderOptions,
}

impl Renderer<'_> {
    /// Renders parameter `index` of `event` into `out`.
    pub fn param(&self, out: &mut String, event: &Event<'_>, param: &Param<'_>) {
        let (info, raw) = match param.resolve() {
            Ok(resolved) => resolved,
            Err(_) => {
                push_buffer(out, param.raw, self.options.print_len);
                return;
            }
        };
        let value = match scap::event::decode(info, raw) {
            Ok(v) => v,
            Err(_) => {
                push_buffer(out, raw, self.options.print_len);
                return;
            }
        };
        let tid = event.tid() as i64;
        match (info.ptype, value) {
            (_, Value::Empty) => {
                if matches!(
                    info.ptype,
                    ParamType::Fd | ParamType::Pid | ParamType::Errno
                ) {
                    out.push_str("NULL");
                }
            }
            (ParamType::Fd, Value::Int(fd)) => self.push_fd(out, tid, fd),
            (ParamType::Pid, Value::Int(pid)) => {
                push_int(out, pid);
                if let Some(thread) = self.state.thread(pid) {
                    out.push('(');
                    out.push_str(&thread.comm);
                    out.push(')');
                }
            }
            (ParamType::Errno, Value::Int(v)) => {
                push_int(out, v);
                if v < 0 {
                    if let Some(name) = schema::errno_name(v.unsigned_abs()) {
                        let _ = write!(out, "({name})");
                    }
                }
            }
            (ParamType::Sigtype, Value::UInt(v)) => {
                let _ = write!(out, "{v}");
                if let Some(name) = schema::signal_name(v).filter(|_| v != 0) {
                    let _ = write!(out, "({name})");
                }
            }
            (ParamType::Uid, Value::UInt(v)) => {
                let _ = write!(out, "{v}");
                if let Some(name) = self.state.users.users.get(&(v as u32)) {
                    let _ = write!(out, "({name})");
                }
            }
            (ParamType::Gid, Value::UInt(v)) => {
                let _ = write!(out, "{v}");
                if let Some(name) = self.state.users.groups.get(&(v as u32)) {
                    let _ = write!(out, "({name})");
                }
            }
            (
                ParamType::Flags8 | ParamType::Flags16 | ParamType::Flags32 | ParamType::Mode,
                Value::UInt(v),
            ) => {
                // sysdig prints flag values in decimal whatever the schema's format says; modes in octal.
                let format = if info.ptype == ParamType::Mode {
                    PrintFormat::Oct
                } else {
                    PrintFormat::Dec
                };
                push_unsigned(out, v, format);
                if let ParamAux::Flags(table) = info.aux {
                    let mark = out.len();
                    out.push('(');
                    if flag_names(out, table, v as u32) {
                        out.push(')');
                    } else {
                        out.truncate(mark);
                    }
                }
            }
            (ParamType::Syscallid, Value::UInt(v)) => {
                out.push_str(schema::syscall_name(v).unwrap_or("<unknown>"));
            }
            (ParamType::Fsrelpath, Value::Str(s)) => {
                push_str_param(out, s);
                if !s.starts_with(b"/") {
                    if let ParamAux::DirFd(index) = info.aux {
                        let dirfd = event.param(usize::from(index)).and_then(|p| p.value().ok());
                        if let Some(Value::Int(dirfd)) = dirfd {
                            let base = if dirfd == AT_FDCWD {
                                self.state.thread(tid).map(|t| t.cwd.clone())
                            } else {
                                self.state.fd(tid, dirfd).map(|f| f.name.clone())
                            };
                            if let Some(base) = base {
                                let resolved =
                                    crate::state::resolve_path(&base, &String::from_utf8_lossy(s));
                                let _ = write!(out, "({resolved})");
                            }
                        }
                    }
                }
            }
            (_, Value::Str(s)) => push_str_param(out, s),
            (_, Value::Bytes(b)) => push_buffer(out, b, self.options.print_len),
            (_, Value::Int(v)) => push_signed(out, v, info.format),
            (_, Value::UInt(v)) => push_unsigned(out, v, info.format),
            (_, Value::Bool(b)) => out.push_str(if b { "true" } else { "false" }),
            (_, Value::Double(d)) => {
                let _ = write!(out, "{d:.2}");
            }
            (_, Value::SockAddr(addr)) => push_sockaddr(out, addr),
            (_, Value::SockTuple(tuple)) => push_socktuple(out, tuple),
            (_, Value::FdList(list)) => {
                for (i, (fd, flags)) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let _ = write!(out, "{fd}:");
                    if let Some(f) = self.state.fd(tid, fd as i64) {
                        out.push_str(&f.tag());
                        out.push_str(&f.name);
                    }
                    let _ = write!(out, "{flags}");
                    if let Some(table) = schema::flag_table("poll_flags") {
                        out.push('(');
                        flag_names(out, table, u32::from(flags));
                        out.push(')');
                    }
                }
            }
            (_, Value::Ipv4(ip)) => {
                let _ = write!(out, "{ip}");
            }
            (_, Value::Ipv6(ip)) => {
                let _ = write!(out, "{ip}");
            }
            (_, Value::Ipv4Net(ip, mask)) => {
                let _ = write!(out, "{ip}/{mask}");
            }
            (_, Value::Ipv6Net(ip, mask)) => {
                let _ = write!(out, "{ip}/{mask}");
            }
        }
    }

    fn push_fd(&self, out: &mut String, tid: i64, fd: i64) {
        push_int(out, fd);
        if fd == AT_FDCWD {
            out.push_str("(AT_FDCWD)");
        } else if fd < 0 {
            if let Some(name) = schema::errno_name(fd.unsigned_abs()) {
                let _ = write!(out, "({name})");
            }
        } else if let Some(info) = self.state.fd(tid, fd) {
            out.push('(');
            out.push_str(&info.tag());
            out.push_str(&info.name);
            out.push(')');
        }
    }

    /// `evt.info`: every parameter as `name=value `, as sysdig prints it (trailing space included).
    /// Generic syscall events show none: their only parameters are the syscall ids.
    pub fn info(&self, out: &mut String, event: &Event<'_>) {
        let ty = event.event_type();
        if ty == ppme::GENERIC_E || ty == ppme::GENERIC_X {
            return;
        }
        let Some(info) = event.info() else { return };
        for (index, pinfo) in info
            .params
            .iter()
            .enumerate()
            .take(event.nparams() as usize)
        {
            let Some(raw) = event.param_raw(index) else {
                break;
            };
            out.push_str(pinfo.name);
            out.push('=');
            self.param(out, event, &Param { info: pinfo, raw });
            out.push(' ');
        }
    }
}

pub fn push_sockaddr(out: &mut String, addr: SockAddr<'_>) {
    let _ = match addr {
        SockAddr::Inet(ip, port) => write!(out, "{ip}:{port}"),
        SockAddr::Inet6(ip, port) => write!(out, "{ip}:{port}"),
        SockAddr::Unix(path) => {
            push_str_param(out, path);
            Ok(())
        }
        SockAddr::Other(family, _) => write!(out, "family {family}"),
    };
}

pub fn push_socktuple(out: &mut String, tuple: SockTuple<'_>) {
    let _ = match tuple {
        SockTuple::Inet {
            sip,
            sport,
            dip,
            dport,
        } => write!(out, "{sip}:{sport}->{dip}:{dport}"),
        SockTuple::Inet6 {
            sip,
            sport,
            dip,
            dport,
        } => write!(out, "{sip}:{sport}->{dip}:{dport}"),
        SockTuple::Unix { source, dest, path } => {
            let _ = write!(out, "{source:x}->{dest:x} ");
            push_str_param(out, path);
            Ok(())
        }
        SockTuple::Other(family, _) => write!(out, "family {family}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_resolve_like_libsinsp() {
        let table = schema::flag_table("file_flags").expect("file_flags");
        let mut s = String::new();
        flag_names(&mut s, table, 1);
        assert_eq!(s, "O_RDONLY");
        s.clear();
        flag_names(&mut s, table, 3 | 4);
        assert_eq!(s, "O_CREAT|O_RDWR");
        let clone = schema::flag_table("clone_flags").expect("clone_flags");
        s.clear();
        flag_names(&mut s, clone, 25165824);
        assert_eq!(s, "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID");
    }

    #[test]
    fn buffers_are_cut_at_the_print_length() {
        let mut s = String::new();
        push_buffer(&mut s, b"refhost\n", 80);
        assert_eq!(s, "refhost.");
        s.clear();
        push_buffer(&mut s, &[b'a'; 100], 80);
        assert_eq!(s.len(), 80);
        assert!(s.ends_with("a..."));
    }
}
