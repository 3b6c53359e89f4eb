//! Reading `.scap` files.
//!
//! The whole file (decompressed when it is gzip) is read into memory once, and events are handed out as
//! slices of it: no copy per event, which is most of what makes reading fast.

use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::blocks::*;
use super::SavefileError;
use crate::event::{Event, HEADER_LEN};
use crate::schema::event_info;

/// One block of a capture.
#[derive(Debug)]
pub enum Block<'a> {
    Event {
        cpu: u16,
        /// Present for flagged event blocks.
        flags: Option<u32>,
        event: Event<'a>,
    },
    /// Any other block: its decoded content and its raw bytes (header to trailer), for copying.
    Meta { raw: &'a [u8], meta: Meta },
}

/// The content of a non-event block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meta {
    SectionHeader {
        major: u16,
        minor: u16,
    },
    MachineInfo(MachineInfo),
    ProcList(Vec<ProcInfo>),
    FdList {
        tid: u64,
        fds: Vec<FdInfo>,
    },
    Interfaces(Vec<Interface>),
    Users(UserList),
    /// A block type this reader does not know; skipped by its length.
    Unknown {
        block_type: u32,
    },
}

/// The bytes of a capture: mapped for plain files, decompressed into memory for gzip.
enum Data {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Owned(v) => v,
            Data::Mapped(m) => m,
        }
    }
}

/// Reads the blocks of a capture in order.
pub struct Reader {
    data: Data,
    pos: usize,
    /// Damage in the gzip stream found while decompressing: reported after the intact part is read.
    pending: Option<SavefileError>,
    failed: bool,
    /// Events of old (v1) blocks lack the parameter count; they are rebuilt here with it.
    scratch: Vec<u8>,
}

/// A bounds-checked little-endian cursor over a block body.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, at: 0 }
    }
    fn left(&self) -> usize {
        self.buf.len() - self.at
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.bytes(8)?;
        let mut x = [0u8; 8];
        x.copy_from_slice(b);
        Some(u64::from_le_bytes(x))
    }
    /// A `u16` length and that many bytes.
    fn blob(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }
    fn string(&mut self) -> Option<String> {
        self.blob().map(lossy)
    }
    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        self.bytes(4).map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
    fn ipv6(&mut self) -> Option<Ipv6Addr> {
        let b = self.bytes(16)?;
        let mut o = [0u8; 16];
        o.copy_from_slice(b);
        Some(Ipv6Addr::from(o))
    }
}

fn lossy(b: &[u8]) -> String {
    let b = match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    };
    String::from_utf8_lossy(b).into_owned()
}

impl Reader {
    /// Opens a capture file; gzip-compressed files are recognized by their magic.
    pub fn open(path: &Path) -> Result<Reader, SavefileError> {
        let file = std::fs::File::open(path)?;
        let mut magic = [0u8; 2];
        let is_gzip = (&file).read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
        let is_regular = file.metadata()?.is_file();
        if is_gzip || !is_regular {
            let raw = std::fs::read(path)?;
            return Reader::from_bytes(raw);
        }
        // SAFETY: the map is read-only; a capture truncated by someone else while we read it would be
        // the caller's race, as with any reader of a file being rewritten.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Reader::from_data(Data::Mapped(map), None)
    }

    /// Reads a capture held in memory (plain or gzip).
    pub fn from_bytes(raw: Vec<u8>) -> Result<Reader, SavefileError> {
        let (data, pending) = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::with_capacity(raw.len() * 4);
            let mut decoder = flate2::read::MultiGzDecoder::new(raw.as_slice());
            match decoder.read_to_end(&mut out) {
                Ok(_) => (out, None),
                Err(e) => {
                    let offset = out.len() as u64;
                    (
                        out,
                        Some(SavefileError::Gzip {
                            offset,
                            reason: e.to_string(),
                        }),
                    )
                }
            }
        } else {
            (raw, None)
        };
        Reader::from_data(Data::Owned(data), pending)
    }

    fn from_data(data: Data, pending: Option<SavefileError>) -> Result<Reader, SavefileError> {
        if data.len() >= 4 {
            let first = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            if first != block_type::SECTION_HEADER {
                return Err(SavefileError::NotScap { found: first });
            }
        } else if pending.is_none() {
            return Err(SavefileError::Truncated {
                offset: 0,
                need: 28,
                have: data.len() as u64,
            });
        }
        Ok(Reader {
            data,
            pos: 0,
            pending,
            failed: false,
            scratch: Vec::new(),
        })
    }

    /// Byte offset of the next block in the (decompressed) stream.
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }

    /// The next block; `Ok(None)` at the end. After an error, every later call returns `Ok(None)`.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, SavefileError> {
        if self.failed {
            return Ok(None);
        }
        let Reader {
            data,
            pos,
            pending,
            failed,
            scratch,
        } = self;
        let result = read_block(data, pos, pending, scratch);
        if result.is_err() {
            *failed = true;
        }
        result
    }
}

/// Reads the block at `*pos`, advancing it. The fields of [`Reader`] are passed apart so that the block
/// can borrow the data while the reader records a failure.
fn read_block<'a>(
    data: &'a [u8],
    pos: &mut usize,
    pending: &mut Option<SavefileError>,
    scratch: &'a mut Vec<u8>,
) -> Result<Option<Block<'a>>, SavefileError> {
    let offset = *pos as u64;
    let left = data.len() - *pos;
    if left == 0 {
        return match pending.take() {
            Some(e) => Err(e),
            None => Ok(None),
        };
    }
    if left < 12 {
        return Err(pending.take().unwrap_or(SavefileError::Truncated {
            offset,
            need: 12,
            have: left as u64,
        }));
    }
    let head = &data[*pos..];
    let btype = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let blen = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if blen < 12 || !blen.is_multiple_of(4) {
        return Err(SavefileError::Corrupt {
            offset,
            reason: format!("block length {blen} is not a multiple of 4 of at least 12"),
        });
    }
    if blen > left {
        return Err(pending.take().unwrap_or(SavefileError::Truncated {
            offset,
            need: blen as u64,
            have: left as u64,
        }));
    }
    let trailer = u32::from_le_bytes([
        head[blen - 4],
        head[blen - 3],
        head[blen - 2],
        head[blen - 1],
    ]) as usize;
    if trailer != blen {
        return Err(SavefileError::Corrupt {
            offset,
            reason: format!(
                "block of type {btype:#x} says {blen} bytes but its trailer says {trailer}"
            ),
        });
    }
    let start = *pos;
    *pos += blen;
    let raw = &data[start..start + blen];
    let body = &raw[8..blen - 4];
    let corrupt = |what: &str| SavefileError::Corrupt {
        offset,
        reason: format!("{what} (block type {btype:#x})"),
    };
    use block_type as bt;
    let meta = match btype {
        bt::SECTION_HEADER => {
            let mut c = Cursor::new(body);
            let magic = c.u32().ok_or_else(|| corrupt("short section header"))?;
            if magic != SHB_MAGIC {
                return Err(SavefileError::Corrupt {
                    offset,
                    reason: format!("byte-order magic {magic:#x} is not {SHB_MAGIC:#x}"),
                });
            }
            let major = c.u16().ok_or_else(|| corrupt("short section header"))?;
            let minor = c.u16().ok_or_else(|| corrupt("short section header"))?;
            if major != 1 {
                return Err(SavefileError::UnsupportedVersion { major, minor });
            }
            Meta::SectionHeader { major, minor }
        }
        bt::MACHINE_INFO | bt::MACHINE_INFO_INT => {
            let mut c = Cursor::new(body);
            let num_cpus = c.u32().ok_or_else(|| corrupt("short machine info"))?;
            let memory_size_bytes = c.u64().ok_or_else(|| corrupt("short machine info"))?;
            let max_pid = c.u64().ok_or_else(|| corrupt("short machine info"))?;
            let hostname = lossy(c.bytes(c.left().min(128)).unwrap_or_default());
            Meta::MachineInfo(MachineInfo {
                num_cpus,
                memory_size_bytes,
                max_pid,
                hostname,
            })
        }
        bt::PROCLIST_V1
        | bt::PROCLIST_V1_INT
        | bt::PROCLIST_V2
        | bt::PROCLIST_V2_INT
        | bt::PROCLIST_V3
        | bt::PROCLIST_V3_INT
        | bt::PROCLIST_V4
        | bt::PROCLIST_V5
        | bt::PROCLIST_V6
        | bt::PROCLIST_V7
        | bt::PROCLIST_V8
        | bt::PROCLIST_V9 => Meta::ProcList(
            read_proclist(btype, body).ok_or_else(|| corrupt("malformed process list entry"))?,
        ),
        bt::FDLIST | bt::FDLIST_INT | bt::FDLIST_V2 => {
            let (tid, fds) =
                read_fdlist(btype, body).ok_or_else(|| corrupt("malformed fd list entry"))?;
            Meta::FdList { tid, fds }
        }
        bt::IFLIST | bt::IFLIST_INT | bt::IFLIST_V2 => Meta::Interfaces(
            read_iflist(btype, body).ok_or_else(|| corrupt("malformed interface list entry"))?,
        ),
        bt::USERLIST | bt::USERLIST_INT | bt::USERLIST_V2 => Meta::Users(
            read_userlist(btype, body).ok_or_else(|| corrupt("malformed user list entry"))?,
        ),
        bt::EVENT_V2 | bt::EVENT_V2_LARGE | bt::EVENT_FLAGS_V2 | bt::EVENT_FLAGS_V2_LARGE => {
            let flagged = matches!(btype, bt::EVENT_FLAGS_V2 | bt::EVENT_FLAGS_V2_LARGE);
            let prefix = if flagged { 6 } else { 2 };
            if body.len() < prefix {
                return Err(corrupt("event block too short for its cpu id"));
            }
            let cpu = u16::from_le_bytes([body[0], body[1]]);
            let flags = flagged.then(|| u32::from_le_bytes([body[2], body[3], body[4], body[5]]));
            let event = Event::parse(&body[prefix..])
                .map_err(|source| SavefileError::BadEvent { offset, source })?;
            return Ok(Some(Block::Event { cpu, flags, event }));
        }
        bt::EVENT | bt::EVENT_INT | bt::EVENT_FLAGS => {
            // Version 1 events have no parameter count in their header: take it from the schema.
            let flagged = btype == bt::EVENT_FLAGS;
            let prefix = if flagged { 6 } else { 2 };
            const V1_HEADER: usize = HEADER_LEN - 4;
            if body.len() < prefix + V1_HEADER {
                return Err(corrupt("event block too short for its header"));
            }
            let cpu = u16::from_le_bytes([body[0], body[1]]);
            let flags = flagged.then(|| u32::from_le_bytes([body[2], body[3], body[4], body[5]]));
            let ev = &body[prefix..];
            let len = u32::from_le_bytes([ev[16], ev[17], ev[18], ev[19]]) as usize;
            let etype = u16::from_le_bytes([ev[20], ev[21]]);
            let nparams = event_info(etype).map_or(0, |i| i.params.len()) as u32;
            if len < V1_HEADER || len > ev.len() {
                return Err(corrupt("v1 event length is out of its block"));
            }
            scratch.clear();
            scratch.extend_from_slice(&ev[..16]);
            scratch.extend_from_slice(&((len + 4) as u32).to_le_bytes());
            scratch.extend_from_slice(&etype.to_le_bytes());
            scratch.extend_from_slice(&nparams.to_le_bytes());
            scratch.extend_from_slice(&ev[V1_HEADER..len]);
            let event = Event::parse(scratch)
                .map_err(|source| SavefileError::BadEvent { offset, source })?;
            return Ok(Some(Block::Event { cpu, flags, event }));
        }
        other => Meta::Unknown { block_type: other },
    };
    Ok(Some(Block::Meta { raw, meta }))
}

fn read_proclist(btype: u32, body: &[u8]) -> Option<Vec<ProcInfo>> {
    use block_type as bt;
    // Which fields each version carries: sid from v6, exepath from v7, vpgid from v8, memory counters
    // from v2, env from v3, vtid/vpid/cgroups from v4, root from v5. Only v9 entries start with their
    // length; later writers append fields to v9, which the length lets us find or skip.
    let version = match btype {
        bt::PROCLIST_V1 | bt::PROCLIST_V1_INT => 1,
        bt::PROCLIST_V2 | bt::PROCLIST_V2_INT => 2,
        bt::PROCLIST_V3 | bt::PROCLIST_V3_INT => 3,
        bt::PROCLIST_V4 => 4,
        bt::PROCLIST_V5 => 5,
        bt::PROCLIST_V6 => 6,
        bt::PROCLIST_V7 => 7,
        bt::PROCLIST_V8 => 8,
        _ => 9,
    };
    let mut out = Vec::new();
    let mut c = Cursor::new(body);
    // Padding of at most 3 bytes ends the block.
    while c.left() >= 4 {
        let entry_start = c.at;
        let entry_len = if version >= 9 {
            Some(c.u32()? as usize)
        } else {
            None
        };
        let end = match entry_len {
            Some(len) if len < 4 || entry_start + len > body.len() => return None,
            Some(len) => entry_start + len,
            None => body.len(),
        };
        let mut e = Cursor::new(&body[..end]);
        e.at = c.at;
        let mut p = ProcInfo {
            tid: e.u64()?,
            pid: e.u64()?,
            ptid: e.u64()?,
            ..ProcInfo::default()
        };
        if version >= 6 {
            p.sid = e.u64()?;
        }
        if version >= 8 {
            p.vpgid = e.u64()?;
        }
        p.comm = e.string()?;
        p.exe = e.string()?;
        if version >= 7 {
            p.exepath = e.string()?;
        }
        p.args = e.blob()?.to_vec();
        p.cwd = e.string()?;
        p.fdlimit = e.u64()?;
        p.flags = e.u32()?;
        p.uid = e.u32()?;
        p.gid = e.u32()?;
        if version >= 2 {
            p.vmsize_kb = e.u32()?;
            p.vmrss_kb = e.u32()?;
            p.vmswap_kb = e.u32()?;
            p.pfmajor = e.u64()?;
            p.pfminor = e.u64()?;
        }
        if version >= 3 {
            p.env = e.blob()?.to_vec();
        }
        if version >= 4 {
            p.vtid = e.u64()? as i64;
            p.vpid = e.u64()? as i64;
            p.cgroups = e.blob()?.to_vec();
        }
        if version >= 5 {
            p.root = e.string()?;
        }
        // Fields after `root` exist only in v9 entries, as far as their length goes. Writers of libs 0.10
        // and later put the pid namespace start time and the tty first; older ones (sysdig 0.29 among
        // them) start with loginuid. What is left tells them apart: the older tail is at most 29 bytes.
        if entry_len.is_some() {
            if e.left() > 29 {
                p.pidns_init_start_ts = e.u64()?;
                if e.left() >= 4 {
                    p.tty = e.u32()?;
                }
            }
            if e.left() >= 4 {
                p.loginuid = e.u32()?;
            }
            if e.left() >= 1 {
                p.exe_writable = e.u8()? != 0;
            }
            for cap in [
                &mut p.cap_inheritable,
                &mut p.cap_permitted,
                &mut p.cap_effective,
            ] {
                if e.left() >= 8 {
                    *cap = e.u64()?;
                }
            }
        }
        out.push(p);
        if entry_len.is_none() {
            // Old versions have no entry length: the entry ends where its last field does.
            c.at = e.at;
            if c.left() < 24 {
                break;
            }
        } else {
            c.at = end;
        }
    }
    Some(out)
}

fn read_fd(fd_type: u8, e: &mut Cursor<'_>) -> Option<FdDetail> {
    Some(match fd_type {
        fd_type::IPV4_SOCK => FdDetail::Ipv4 {
            sip: e.ipv4()?,
            dip: e.ipv4()?,
            sport: e.u16()?,
            dport: e.u16()?,
            l4proto: e.u8()?,
        },
        fd_type::IPV4_SERVSOCK => FdDetail::Ipv4Server {
            ip: e.ipv4()?,
            port: e.u16()?,
            l4proto: e.u8()?,
        },
        fd_type::IPV6_SOCK => FdDetail::Ipv6 {
            sip: e.ipv6()?,
            dip: e.ipv6()?,
            sport: e.u16()?,
            dport: e.u16()?,
            l4proto: e.u8()?,
        },
        fd_type::IPV6_SERVSOCK => FdDetail::Ipv6Server {
            ip: e.ipv6()?,
            port: e.u16()?,
            l4proto: e.u8()?,
        },
        fd_type::UNIX_SOCK => FdDetail::Unix {
            source: e.u64()?,
            dest: e.u64()?,
            name: e.string()?,
        },
        fd_type::FILE_V2 => {
            let open_flags = e.u32()?;
            let name = e.string()?;
            let dev = if e.left() >= 4 { Some(e.u32()?) } else { None };
            FdDetail::Named {
                name,
                open_flags: Some(open_flags),
                dev,
            }
        }
        fd_type::UNKNOWN => FdDetail::Raw(Vec::new()),
        t if t <= fd_type::IOURING => FdDetail::Named {
            name: e.string()?,
            open_flags: None,
            dev: None,
        },
        _ => FdDetail::Raw(e.bytes(e.left())?.to_vec()),
    })
}

fn read_fdlist(btype: u32, body: &[u8]) -> Option<(u64, Vec<FdInfo>)> {
    let mut c = Cursor::new(body);
    let tid = c.u64()?;
    let mut fds = Vec::new();
    let with_len = btype == block_type::FDLIST_V2;
    // An entry is at least its fd, inode and type (plus its length in v2); less is padding.
    let min = if with_len { 21 } else { 17 };
    while c.left() >= min {
        let start = c.at;
        let end = if with_len {
            let len = c.u32()? as usize;
            if len < min || start + len > body.len() {
                return None;
            }
            start + len
        } else {
            body.len()
        };
        let mut e = Cursor::new(&body[..end]);
        e.at = c.at;
        let fd = e.u64()?;
        let ino = e.u64()?;
        let t = e.u8()?;
        let detail = read_fd(t, &mut e)?;
        fds.push(FdInfo {
            fd,
            ino,
            fd_type: t,
            detail,
        });
        c.at = if with_len { end } else { e.at };
    }
    Some((tid, fds))
}

fn read_iflist(btype: u32, body: &[u8]) -> Option<Vec<Interface>> {
    const IPV4: u16 = 1;
    const IPV6: u16 = 2;
    const IPV4_NOLINKSPEED: u16 = 3;
    const IPV6_NOLINKSPEED: u16 = 4;
    let mut c = Cursor::new(body);
    let mut out = Vec::new();
    let with_len = btype == block_type::IFLIST_V2;
    while c.left() >= 4 {
        let end = if with_len {
            let len = c.u32()? as usize;
            c.at.checked_add(len).filter(|&e| e <= body.len())?
        } else {
            body.len()
        };
        let mut e = Cursor::new(&body[..end]);
        e.at = c.at;
        let kind = e.u16()?;
        let namelen = usize::from(e.u16()?);
        let iface = match kind {
            IPV4 | IPV4_NOLINKSPEED => {
                let (addr, netmask, bcast) = (e.ipv4()?, e.ipv4()?, e.ipv4()?);
                let linkspeed = if kind == IPV4 { e.u64()? } else { 0 };
                Interface::V4 {
                    kind,
                    addr,
                    netmask,
                    bcast,
                    linkspeed,
                    name: lossy(e.bytes(namelen)?),
                }
            }
            IPV6 | IPV6_NOLINKSPEED => {
                let (addr, netmask, bcast) = (e.ipv6()?, e.ipv6()?, e.ipv6()?);
                let linkspeed = if kind == IPV6 { e.u64()? } else { 0 };
                Interface::V6 {
                    kind,
                    addr,
                    netmask,
                    bcast,
                    linkspeed,
                    name: lossy(e.bytes(namelen)?),
                }
            }
            _ => return None,
        };
        out.push(iface);
        c.at = if with_len { end } else { e.at };
    }
    Some(out)
}

fn read_userlist(btype: u32, body: &[u8]) -> Option<UserList> {
    const USER: u8 = 0;
    const GROUP: u8 = 1;
    let mut c = Cursor::new(body);
    let mut list = UserList::default();
    let with_len = btype == block_type::USERLIST_V2;
    while c.left() >= 5 {
        let start = c.at;
        let end = if with_len {
            let len = c.u32()? as usize;
            if len < 5 || start + len > body.len() {
                return None;
            }
            start + len
        } else {
            body.len()
        };
        let mut e = Cursor::new(&body[..end]);
        e.at = c.at;
        match e.u8()? {
            USER => list.users.push(User {
                uid: e.u32()?,
                gid: e.u32()?,
                name: e.string()?,
                homedir: e.string()?,
                shell: e.string()?,
            }),
            GROUP => list.groups.push(Group {
                gid: e.u32()?,
                name: e.string()?,
            }),
            _ => return None,
        }
        c.at = if with_len { end } else { e.at };
    }
    Some(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&(b.len() as u16).to_le_bytes());
        out.extend_from_slice(b);
    }

    /// A v4 entry (no sid, exepath, vpgid, root; env, vtid/vpid and cgroups present), then a v8 entry
    /// (all of those but no length prefix): both decode field for field.
    #[test]
    fn old_process_list_versions_decode_by_their_field_sets() {
        let common = |e: &mut Vec<u8>, with_exepath: bool| {
            blob(e, b"cat");
            blob(e, b"/bin/cat");
            if with_exepath {
                blob(e, b"/usr/bin/cat");
            }
            blob(e, b"cat\0/etc/passwd\0");
            blob(e, b"/root/");
            e.extend_from_slice(&1024u64.to_le_bytes());
            for v in [0u32, 1000, 1000, 10, 20, 30] {
                e.extend_from_slice(&v.to_le_bytes());
            }
            e.extend_from_slice(&5u64.to_le_bytes());
            e.extend_from_slice(&6u64.to_le_bytes());
            blob(e, b"HOME=/root\0");
            e.extend_from_slice(&7i64.to_le_bytes());
            e.extend_from_slice(&8i64.to_le_bytes());
            blob(e, b"cpu=/\0");
        };
        let mut v4 = Vec::new();
        for v in [42u64, 42, 1] {
            v4.extend_from_slice(&v.to_le_bytes());
        }
        common(&mut v4, false);
        let procs = read_proclist(block_type::PROCLIST_V4, &v4).expect("v4 decodes");
        assert_eq!(procs.len(), 1);
        let p = &procs[0];
        assert_eq!(
            (p.tid, p.ptid, p.comm.as_str(), p.exepath.as_str()),
            (42, 1, "cat", "")
        );
        assert_eq!(
            (p.uid, p.vmswap_kb, p.pfminor, p.vtid, p.vpid),
            (1000, 30, 6, 7, 8)
        );
        assert_eq!(p.cgroups, b"cpu=/\0");

        let mut v8 = Vec::new();
        for v in [43u64, 43, 1, 43, 43] {
            v8.extend_from_slice(&v.to_le_bytes());
        }
        common(&mut v8, true);
        blob(&mut v8, b"/");
        let procs = read_proclist(block_type::PROCLIST_V8, &v8).expect("v8 decodes");
        let p = &procs[0];
        assert_eq!(
            (p.tid, p.sid, p.vpgid, p.exepath.as_str(), p.root.as_str()),
            (43, 43, 43, "/usr/bin/cat", "/")
        );
    }
}
