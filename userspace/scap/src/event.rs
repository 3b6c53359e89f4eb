//! A zero-copy view of one event as drivers and `.scap` files store it.
//!
//! Layout (little endian, packed), as in falcosecurity/libs:
//! `ts: u64, tid: u64, len: u32, type: u16, nparams: u32`, then `nparams` parameter lengths (`u16` each, or
//! `u32` for events flagged `EF_LARGE_PAYLOAD`), then the parameter values back to back. `len` covers it all.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::schema::{event_info, Direction, EventInfo, ParamAux, ParamInfo, ParamType};

/// Size of the fixed event header.
pub const HEADER_LEN: usize = 26;

/// Why bytes are not a well-formed event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is {have} bytes, shorter than the {need}-byte header")]
    ShortHeader { have: usize, need: usize },
    #[error("event header says {len} bytes but {have} are available")]
    Truncated { len: u32, have: usize },
    #[error("event header says {len} bytes, less than its header and {nparams} parameter lengths")]
    LengthTooSmall { len: u32, nparams: u32 },
    #[error("event has {nparams} parameters, more than the 32 any event can have")]
    TooManyParams { nparams: u32 },
    #[error("parameter lengths add up to {sum} bytes but only {room} follow the length array")]
    ParamsOverflow { sum: u64, room: usize },
}

/// Why a parameter value cannot be decoded as its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter '{name}' of type {ptype} has {len} bytes: {reason}")]
pub struct ParamError {
    pub name: &'static str,
    pub ptype: &'static str,
    pub len: usize,
    pub reason: &'static str,
}

/// One event, borrowed from a ring buffer or a file.
#[derive(Clone, Copy)]
pub struct Event<'a> {
    buf: &'a [u8],
    nparams: u32,
    /// 2 or 4: the width of each entry of the parameter-length array.
    len_width: u8,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

impl<'a> Event<'a> {
    /// Validates the header and the parameter-length array of the event at the start of `buf`.
    /// `buf` may extend past the event; the view covers exactly `len` bytes.
    pub fn parse(buf: &'a [u8]) -> Result<Event<'a>, EventError> {
        if buf.len() < HEADER_LEN {
            return Err(EventError::ShortHeader {
                have: buf.len(),
                need: HEADER_LEN,
            });
        }
        let len = u32_at(buf, 16);
        let event_type = u16_at(buf, 20);
        let nparams = u32_at(buf, 22);
        if len as usize > buf.len() {
            return Err(EventError::Truncated {
                len,
                have: buf.len(),
            });
        }
        if nparams > 32 {
            return Err(EventError::TooManyParams { nparams });
        }
        let len_width: u8 = if event_info(event_type).is_some_and(EventInfo::large_payload) {
            4
        } else {
            2
        };
        let values_start = HEADER_LEN + nparams as usize * usize::from(len_width);
        if (len as usize) < values_start {
            return Err(EventError::LengthTooSmall { len, nparams });
        }
        let event = Event {
            buf: &buf[..len as usize],
            nparams,
            len_width,
        };
        let sum: u64 = (0..nparams as usize)
            .map(|i| u64::from(event.param_len(i)))
            .sum();
        let room = len as usize - values_start;
        if sum > room as u64 {
            return Err(EventError::ParamsOverflow { sum, room });
        }
        Ok(event)
    }

    /// The raw bytes of the event, header included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Timestamp in nanoseconds since the epoch.
    pub fn ts(&self) -> u64 {
        u64_at(self.buf, 0)
    }

    pub fn tid(&self) -> u64 {
        u64_at(self.buf, 8)
    }

    pub fn len(&self) -> u32 {
        u32_at(self.buf, 16)
    }

    pub fn is_empty(&self) -> bool {
        self.nparams == 0
    }

    pub fn event_type(&self) -> u16 {
        u16_at(self.buf, 20)
    }

    pub fn nparams(&self) -> u32 {
        self.nparams
    }

    pub fn direction(&self) -> Direction {
        Direction::of(self.event_type())
    }

    /// The schema's description of this event type; `None` for types newer than the schema.
    pub fn info(&self) -> Option<&'static EventInfo> {
        event_info(self.event_type())
    }

    fn param_len(&self, i: usize) -> u32 {
        let at = HEADER_LEN + i * usize::from(self.len_width);
        if self.len_width == 4 {
            u32_at(self.buf, at)
        } else {
            u32::from(u16_at(self.buf, at))
        }
    }

    /// The raw bytes of parameter `i`.
    pub fn param_raw(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.nparams as usize {
            return None;
        }
        let mut start = HEADER_LEN + self.nparams as usize * usize::from(self.len_width);
        for j in 0..i {
            start += self.param_len(j) as usize;
        }
        let end = start + self.param_len(i) as usize;
        Some(&self.buf[start..end])
    }

    /// Every parameter with its schema description (when the schema knows it), in order.
    pub fn params(&self) -> Params<'a> {
        let start = HEADER_LEN + self.nparams as usize * usize::from(self.len_width);
        Params {
            event: *self,
            index: 0,
            offset: start,
            infos: self.info().map_or(&[], |i| i.params),
        }
    }

    /// Parameter `i` with its description; `None` when out of range or unknown to the schema.
    pub fn param(&self, i: usize) -> Option<Param<'a>> {
        let info = self.info()?.params.get(i)?;
        Some(Param {
            info,
            raw: self.param_raw(i)?,
        })
    }

    /// The parameter called `name`, e.g. `fd`.
    pub fn param_by_name(&self, name: &str) -> Option<Param<'a>> {
        let index = self.info()?.param_index(name)?;
        self.param(index)
    }
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("ts", &self.ts())
            .field("tid", &self.tid())
            .field("type", &self.event_type())
            .field("name", &self.info().map(|i| i.name))
            .field("len", &self.len())
            .field("nparams", &self.nparams)
            .finish()
    }
}

/// Iterator over an event's parameters.
pub struct Params<'a> {
    event: Event<'a>,
    index: usize,
    offset: usize,
    infos: &'static [ParamInfo],
}

impl<'a> Iterator for Params<'a> {
    /// The description (absent for parameters the schema does not list) and the raw bytes.
    type Item = (Option<&'static ParamInfo>, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.index >= self.event.nparams as usize {
            return None;
        }
        let len = self.event.param_len(self.index) as usize;
        let raw = &self.event.buf[self.offset..self.offset + len];
        let info = self.infos.get(self.index);
        self.index += 1;
        self.offset += len;
        Some((info, raw))
    }
}

/// A parameter with its schema description.
#[derive(Debug, Clone, Copy)]
pub struct Param<'a> {
    pub info: &'static ParamInfo,
    pub raw: &'a [u8],
}

impl<'a> Param<'a> {
    /// Decodes the value by the declared type. For `DYN` parameters the first byte selects the real type,
    /// see [`Param::resolved_info`].
    pub fn value(&self) -> Result<Value<'a>, ParamError> {
        let (info, raw) = self.resolve()?;
        decode(info, raw)
    }

    /// For a `DYN` parameter, the description of the type its first byte selects (and the bytes after it);
    /// for any other parameter, its own description and bytes.
    pub fn resolve(&self) -> Result<(&'static ParamInfo, &'a [u8]), ParamError> {
        match self.info.aux {
            ParamAux::Dynamic(table) if self.info.ptype == ParamType::Dyn => {
                let Some((&index, rest)) = self.raw.split_first() else {
                    return Err(error(
                        self.info,
                        self.raw,
                        "a dynamic parameter needs its index byte",
                    ));
                };
                match table.get(usize::from(index)) {
                    Some(entry) => Ok((entry, rest)),
                    None => Err(error(
                        self.info,
                        self.raw,
                        "dynamic index is outside its table",
                    )),
                }
            }
            _ => Ok((self.info, self.raw)),
        }
    }
}

fn error(info: &ParamInfo, raw: &[u8], reason: &'static str) -> ParamError {
    ParamError {
        name: info.name,
        ptype: info.ptype.schema_name(),
        len: raw.len(),
        reason,
    }
}

/// A decoded parameter value. Strings and buffers borrow the event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A zero-length parameter: the driver had nothing to put there.
    Empty,
    Int(i64),
    UInt(u64),
    Bool(bool),
    Double(f64),
    /// `CHARBUF`, `FSPATH`, `FSRELPATH`: the bytes up to (not including) the terminating NUL.
    Str(&'a [u8]),
    /// `BYTEBUF`: the raw bytes.
    Bytes(&'a [u8]),
    SockAddr(SockAddr<'a>),
    SockTuple(SockTuple<'a>),
    FdList(FdList<'a>),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    Ipv4Net(Ipv4Addr, u32),
    Ipv6Net(Ipv6Addr, u32),
}

/// libs' own socket family numbers (`PPM_AF_*`), which drivers put in sockaddr and socktuple parameters.
pub mod family {
    pub const UNSPEC: u8 = 0;
    pub const UNIX: u8 = 1;
    pub const INET: u8 = 2;
    pub const INET6: u8 = 10;
}

/// A socket address: 1 byte family, then the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockAddr<'a> {
    Inet(Ipv4Addr, u16),
    Inet6(Ipv6Addr, u16),
    /// The path, up to its NUL.
    Unix(&'a [u8]),
    /// Another family: its number and the bytes after it.
    Other(u8, &'a [u8]),
}

/// A connection tuple: 1 byte family, then source and destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockTuple<'a> {
    Inet {
        sip: Ipv4Addr,
        sport: u16,
        dip: Ipv4Addr,
        dport: u16,
    },
    Inet6 {
        sip: Ipv6Addr,
        sport: u16,
        dip: Ipv6Addr,
        dport: u16,
    },
    /// Kernel socket pointers of both ends and the path, up to its NUL.
    Unix {
        source: u64,
        dest: u64,
        path: &'a [u8],
    },
    Other(u8, &'a [u8]),
}

/// A list of `(fd, flags)` pairs: `u16` count, then `count` times `u64 fd, u16 flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdList<'a> {
    entries: &'a [u8],
}

impl<'a> FdList<'a> {
    pub fn len(&self) -> usize {
        self.entries.len() / 10
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, u16)> + 'a {
        self.entries
            .chunks_exact(10)
            .map(|c| (u64_at(c, 0), u16_at(c, 8)))
    }
}

fn until_nul(raw: &[u8]) -> &[u8] {
    match memchr_nul(raw) {
        Some(i) => &raw[..i],
        None => raw,
    }
}

fn memchr_nul(raw: &[u8]) -> Option<usize> {
    raw.iter().position(|&b| b == 0)
}

fn ipv4(raw: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(raw[at], raw[at + 1], raw[at + 2], raw[at + 3])
}

fn ipv6(raw: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&raw[at..at + 16]);
    Ipv6Addr::from(octets)
}

/// Decodes `raw` as the type `info` declares.
pub fn decode<'a>(info: &'static ParamInfo, raw: &'a [u8]) -> Result<Value<'a>, ParamError> {
    use ParamType as T;
    if raw.is_empty() {
        return Ok(Value::Empty);
    }
    let need = |n: usize| {
        if raw.len() >= n {
            Ok(())
        } else {
            Err(error(info, raw, "too short for its type"))
        }
    };
    Ok(match info.ptype {
        T::Int8 => {
            need(1)?;
            Value::Int(i64::from(raw[0] as i8))
        }
        T::Int16 => {
            need(2)?;
            Value::Int(i64::from(u16_at(raw, 0) as i16))
        }
        T::Int32 => {
            need(4)?;
            Value::Int(i64::from(u32_at(raw, 0) as i32))
        }
        T::Int64 | T::Errno | T::Fd | T::Pid => {
            need(8)?;
            Value::Int(u64_at(raw, 0) as i64)
        }
        T::Uint8 | T::Flags8 | T::Sigtype | T::L4proto | T::Sockfamily => {
            need(1)?;
            Value::UInt(u64::from(raw[0]))
        }
        T::Uint16 | T::Flags16 | T::Port | T::Syscallid => {
            need(2)?;
            Value::UInt(u64::from(u16_at(raw, 0)))
        }
        T::Uint32 | T::Flags32 | T::Uid | T::Gid | T::Sigset | T::Mode => {
            need(4)?;
            Value::UInt(u64::from(u32_at(raw, 0)))
        }
        T::Uint64 | T::Reltime | T::Abstime => {
            need(8)?;
            Value::UInt(u64_at(raw, 0))
        }
        T::Bool => {
            need(4)?;
            Value::Bool(u32_at(raw, 0) != 0)
        }
        T::Double => {
            need(8)?;
            Value::Double(f64::from_bits(u64_at(raw, 0)))
        }
        T::Charbuf | T::Fspath | T::Fsrelpath => Value::Str(until_nul(raw)),
        T::Bytebuf | T::Charbufarray | T::CharbufPairArray | T::None | T::Dyn => Value::Bytes(raw),
        T::Ipv4addr => {
            need(4)?;
            Value::Ipv4(ipv4(raw, 0))
        }
        T::Ipv6addr => {
            need(16)?;
            Value::Ipv6(ipv6(raw, 0))
        }
        T::Ipv4net => {
            need(8)?;
            Value::Ipv4Net(ipv4(raw, 0), u32_at(raw, 4))
        }
        T::Ipv6net => {
            need(20)?;
            Value::Ipv6Net(ipv6(raw, 0), u32_at(raw, 16))
        }
        T::Ipaddr => match raw.len() {
            4 => Value::Ipv4(ipv4(raw, 0)),
            16 => Value::Ipv6(ipv6(raw, 0)),
            _ => return Err(error(info, raw, "an IP address has 4 or 16 bytes")),
        },
        T::Ipnet => match raw.len() {
            8 => Value::Ipv4Net(ipv4(raw, 0), u32_at(raw, 4)),
            20 => Value::Ipv6Net(ipv6(raw, 0), u32_at(raw, 16)),
            _ => return Err(error(info, raw, "an IP network has 8 or 20 bytes")),
        },
        T::Sockaddr => Value::SockAddr(match raw[0] {
            family::INET if raw.len() >= 7 => SockAddr::Inet(ipv4(raw, 1), u16_at(raw, 5)),
            family::INET6 if raw.len() >= 19 => SockAddr::Inet6(ipv6(raw, 1), u16_at(raw, 17)),
            family::UNIX => SockAddr::Unix(until_nul(&raw[1..])),
            family::INET | family::INET6 => {
                return Err(error(info, raw, "too short for its address family"))
            }
            other => SockAddr::Other(other, &raw[1..]),
        }),
        T::Socktuple => Value::SockTuple(match raw[0] {
            family::INET if raw.len() >= 13 => SockTuple::Inet {
                sip: ipv4(raw, 1),
                sport: u16_at(raw, 5),
                dip: ipv4(raw, 7),
                dport: u16_at(raw, 11),
            },
            family::INET6 if raw.len() >= 37 => SockTuple::Inet6 {
                sip: ipv6(raw, 1),
                sport: u16_at(raw, 17),
                dip: ipv6(raw, 19),
                dport: u16_at(raw, 35),
            },
            family::UNIX if raw.len() >= 17 => SockTuple::Unix {
                source: u64_at(raw, 1),
                dest: u64_at(raw, 9),
                path: until_nul(&raw[17..]),
            },
            family::INET | family::INET6 | family::UNIX => {
                return Err(error(info, raw, "too short for its address family"))
            }
            other => SockTuple::Other(other, &raw[1..]),
        }),
        T::Fdlist => {
            need(2)?;
            let count = usize::from(u16_at(raw, 0));
            let entries = raw
                .get(2..2 + count * 10)
                .ok_or_else(|| error(info, raw, "fewer entries than its count"))?;
            Value::FdList(FdList { entries })
        }
    })
}

/// Builds events in the wire format; used by the `.scap` writer's tests, the engines' tests and fuzzing.
#[derive(Debug, Clone)]
pub struct EventBuilder {
    ts: u64,
    tid: u64,
    event_type: u16,
    params: Vec<Vec<u8>>,
}

impl EventBuilder {
    pub fn new(ts: u64, tid: u64, event_type: u16) -> EventBuilder {
        EventBuilder {
            ts,
            tid,
            event_type,
            params: Vec::new(),
        }
    }

    /// Appends a parameter's raw bytes.
    pub fn param(mut self, raw: impl Into<Vec<u8>>) -> EventBuilder {
        self.params.push(raw.into());
        self
    }

    pub fn u64(self, v: u64) -> EventBuilder {
        self.param(v.to_le_bytes())
    }

    pub fn i64(self, v: i64) -> EventBuilder {
        self.param(v.to_le_bytes())
    }

    pub fn u32(self, v: u32) -> EventBuilder {
        self.param(v.to_le_bytes())
    }

    pub fn u16(self, v: u16) -> EventBuilder {
        self.param(v.to_le_bytes())
    }

    pub fn u8(self, v: u8) -> EventBuilder {
        self.param([v])
    }

    /// A NUL-terminated string parameter.
    pub fn str(self, s: &str) -> EventBuilder {
        let mut raw = s.as_bytes().to_vec();
        raw.push(0);
        self.param(raw)
    }

    pub fn build(&self) -> Vec<u8> {
        let wide = event_info(self.event_type).is_some_and(EventInfo::large_payload);
        let width = if wide { 4 } else { 2 };
        let body: usize = self.params.iter().map(Vec::len).sum();
        let len = HEADER_LEN + self.params.len() * width + body;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&self.ts.to_le_bytes());
        out.extend_from_slice(&self.tid.to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&self.event_type.to_le_bytes());
        out.extend_from_slice(&(self.params.len() as u32).to_le_bytes());
        for p in &self.params {
            if wide {
                out.extend_from_slice(&(p.len() as u32).to_le_bytes());
            } else {
                out.extend_from_slice(&(p.len() as u16).to_le_bytes());
            }
        }
        for p in &self.params {
            out.extend_from_slice(p);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ppme;

    #[test]
    fn openat_exit_round_trips_through_the_builder() {
        let raw = EventBuilder::new(1_000, 42, ppme::SYSCALL_OPENAT_2_X)
            .i64(3)
            .i64(-100)
            .str("/etc/hostname")
            .u32(1)
            .u32(0)
            .u32(2)
            .build();
        let ev = Event::parse(&raw).expect("valid event");
        assert_eq!((ev.ts(), ev.tid(), ev.nparams()), (1_000, 42, 6));
        assert_eq!(ev.len() as usize, raw.len());
        assert_eq!(ev.info().map(|i| i.name), Some("openat"));
        assert_eq!(ev.param(0).map(|p| p.value()), Some(Ok(Value::Int(3))));
        assert_eq!(
            ev.param_by_name("name").map(|p| p.value()),
            Some(Ok(Value::Str(b"/etc/hostname")))
        );
        assert_eq!(ev.params().count(), 6);
        assert_eq!(ev.direction(), Direction::Exit);
    }

    #[test]
    fn sockaddr_socktuple_fdlist_and_dyn_decode() {
        let mut tuple = vec![family::INET, 127, 0, 0, 1];
        tuple.extend_from_slice(&4242u16.to_le_bytes());
        tuple.extend_from_slice(&[127, 0, 0, 1]);
        tuple.extend_from_slice(&80u16.to_le_bytes());
        let raw = EventBuilder::new(0, 1, ppme::SOCKET_CONNECT_X)
            .i64(0)
            .param(tuple)
            .build();
        let ev = Event::parse(&raw).expect("valid");
        let Ok(Value::SockTuple(SockTuple::Inet {
            sport, dport, sip, ..
        })) = ev.param(1).expect("tuple").value()
        else {
            panic!("expected an inet tuple");
        };
        assert_eq!((sip, sport, dport), (Ipv4Addr::LOCALHOST, 4242, 80));

        let mut fds = 2u16.to_le_bytes().to_vec();
        fds.extend_from_slice(&3u64.to_le_bytes());
        fds.extend_from_slice(&1u16.to_le_bytes());
        fds.extend_from_slice(&4u64.to_le_bytes());
        fds.extend_from_slice(&4u16.to_le_bytes());
        let raw = EventBuilder::new(0, 1, ppme::SYSCALL_POLL_E)
            .param(fds)
            .i64(10)
            .build();
        let ev = Event::parse(&raw).expect("valid");
        let Ok(Value::FdList(list)) = ev.param(0).expect("fds").value() else {
            panic!("expected an fd list")
        };
        assert_eq!(list.iter().collect::<Vec<_>>(), vec![(3, 1), (4, 4)]);

        // setsockopt's val is DYN: index 2 selects UINT32.
        let raw = EventBuilder::new(0, 1, ppme::SOCKET_SETSOCKOPT_X)
            .i64(0)
            .i64(4)
            .u8(1)
            .u8(2)
            .param([2, 1, 0, 0, 0])
            .u32(4)
            .build();
        let ev = Event::parse(&raw).expect("valid");
        let val = ev.param(4).expect("val");
        assert_eq!(val.resolve().map(|(i, _)| i.ptype), Ok(ParamType::Uint32));
        assert_eq!(val.value(), Ok(Value::UInt(1)));
    }

    #[test]
    fn malformed_events_are_errors_not_panics() {
        let raw = EventBuilder::new(0, 1, ppme::SYSCALL_OPEN_E)
            .str("/x")
            .u32(0)
            .u32(0)
            .build();
        assert!(matches!(
            Event::parse(&raw[..10]),
            Err(EventError::ShortHeader { .. })
        ));
        assert!(matches!(
            Event::parse(&raw[..raw.len() - 1]),
            Err(EventError::Truncated { .. })
        ));
        let mut lying = raw.clone();
        lying[HEADER_LEN] = 200; // first parameter claims 200 bytes
        assert!(matches!(
            Event::parse(&lying),
            Err(EventError::ParamsOverflow { .. })
        ));
        let mut many = raw.clone();
        many[22] = 40;
        assert!(matches!(
            Event::parse(&many),
            Err(EventError::TooManyParams { nparams: 40 })
        ));
        let short_fd = EventBuilder::new(0, 1, ppme::SYSCALL_CLOSE_E)
            .param([1, 2])
            .build();
        let ev = Event::parse(&short_fd).expect("structurally valid");
        assert!(ev.param(0).expect("fd").value().is_err());
    }

    #[test]
    fn large_payload_events_use_32_bit_lengths() {
        let payload = vec![7u8; 70_000];
        let raw = EventBuilder::new(0, 1, ppme::PLUGINEVENT_E)
            .u32(9)
            .param(payload.clone())
            .build();
        let ev = Event::parse(&raw).expect("valid");
        assert_eq!(ev.param_raw(1).map(<[u8]>::len), Some(70_000));
    }
}
