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

/// Signed values in hex or octal show their two's complement, as C's `%X` does.
fn push_signed(out: &mut String, v: i64, format: PrintFormat) {
    match format {
        PrintFormat::Hex | PrintFormat::Oct => push_unsigned(out, v as u64, format),
        _ => push_int(out, v),
    }
}

/// C's `%g`: six significant digits, exponent form for very small or large magnitudes.
pub fn format_g(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    let exp = x.abs().log10().floor() as i32;
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    if !(-4..6).contains(&exp) {
        let mantissa = x / 10f64.powi(exp);
        let m = trim(format!("{mantissa:.5}"));
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim(format!("{x:.decimals$}"))
    }
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
                    ParamType::Fd
                        | ParamType::Pid
                        | ParamType::Errno
                        | ParamType::Sockaddr
                        | ParamType::Socktuple
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
            (ParamType::Uid | ParamType::Gid, Value::UInt(v)) => {
                // Printed signed, with the name from the capture's user list: `0(root)`,
                // `1000(<NA>)` when unknown, `-1(<NONE>)` for "no id".
                push_int(out, v as u32 as i32);
                let names = if info.ptype == ParamType::Uid {
                    &self.state.users.users
                } else {
                    &self.state.users.groups
                };
                match names.get(&(v as u32)) {
                    _ if v as u32 == u32::MAX => out.push_str("(<NONE>)"),
                    Some(name) => {
                        out.push('(');
                        out.push_str(name);
                        out.push(')');
                    }
                    None => out.push_str("(<NA>)"),
                }
            }
            (ParamType::Reltime, Value::UInt(v)) => {
                if v == u64::MAX {
                    out.push_str("none");
                } else {
                    push_int(out, v);
                    let _ = write!(out, "({}s)", format_g(v as f64 / 1e9));
                }
            }
            (ParamType::Sigset, Value::UInt(v)) => {
                // The names of the signals in the set, bit n being signal n + 1.
                let mut first = true;
                for bit in 0..32 {
                    if v & (1 << bit) != 0 {
                        if let Some(name) = schema::signal_name(bit + 1) {
                            if !first {
                                out.push(' ');
                            }
                            out.push_str(name);
                            first = false;
                        }
                    }
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
            (ParamType::Fspath | ParamType::Fsrelpath, Value::Str(s)) => {
                // A relative path is followed by what it resolves to, against the working directory
                // or the directory fd named by the schema.
                push_str_param(out, s);
                if !s.starts_with(b"/") {
                    let base = match info.aux {
                        ParamAux::DirFd(index) => {
                            match event.param(usize::from(index)).and_then(|p| p.value().ok()) {
                                Some(Value::Int(dirfd)) => self.state.dirfd_path(tid, dirfd),
                                // The schema names a parameter that is not an fd (openat2's names
                                // itself): sysdig resolves against the working directory then.
                                _ => self.state.cwd(tid),
                            }
                        }
                        _ => self.state.cwd(tid),
                    };
                    let resolved = crate::state::resolve_path(&base, &String::from_utf8_lossy(s));
                    out.push('(');
                    out.push_str(&resolved);
                    out.push(')');
                }
            }
            (_, Value::Str(s)) => push_str_param(out, s),
            (_, Value::Bytes(b)) => push_buffer(out, b, self.options.print_len),
            (_, Value::Int(v)) => match (info.format, info.ptype) {
                // Hex shows the value's own width: an INT32 of -1 is FFFFFFFF.
                (PrintFormat::Hex, ParamType::Int8) => {
                    push_unsigned(out, u64::from(v as u8), info.format)
                }
                (PrintFormat::Hex, ParamType::Int16) => {
                    push_unsigned(out, u64::from(v as u16), info.format)
                }
                (PrintFormat::Hex, ParamType::Int32) => {
                    push_unsigned(out, u64::from(v as u32), info.format)
                }
                _ => push_signed(out, v, info.format),
            },
            (_, Value::UInt(v)) => match (info.format, info.ptype) {
                // sysdig prints 32- and 64-bit unsigned decimals through signed conversions.
                (PrintFormat::Dec, ParamType::Uint32) => push_int(out, v as u32 as i32),
                (PrintFormat::Dec, ParamType::Uint64) => push_int(out, v as i64),
                _ => push_unsigned(out, v, info.format),
            },
            (_, Value::Bool(b)) => out.push_str(if b { "true" } else { "false" }),
            (_, Value::Double(d)) => {
                let _ = write!(out, "{d:.2}");
            }
            (_, Value::SockAddr(addr)) => push_sockaddr(out, addr),
            (_, Value::SockTuple(tuple)) => push_socktuple(out, tuple),
            (_, Value::FdList(list)) => {
                // `fd:<type letter><flags>` for each entry, `?` for an fd the state does not know.
                for (i, (fd, flags)) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    push_int(out, fd as i64);
                    out.push(':');
                    out.push(
                        self.state
                            .fd(tid, fd as i64)
                            .map_or('?', |f| f.kind.letter()),
                    );
                    push_int(out, flags);
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
