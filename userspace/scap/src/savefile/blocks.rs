//! Block numbers and the owned data of the list blocks.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Block type numbers, as libscap writes them (the `_INT` numbers are pre-release aliases still read).
pub mod block_type {
    pub const SECTION_HEADER: u32 = 0x0A0D_0D0A;
    pub const MACHINE_INFO: u32 = 0x201;
    pub const MACHINE_INFO_INT: u32 = 0x8002_ABCD;
    pub const PROCLIST_V1: u32 = 0x202;
    pub const PROCLIST_V1_INT: u32 = 0x8000_ABCD;
    pub const PROCLIST_V2: u32 = 0x207;
    pub const PROCLIST_V2_INT: u32 = 0x8013_ABCD;
    pub const PROCLIST_V3: u32 = 0x209;
    pub const PROCLIST_V3_INT: u32 = 0x8014_ABCD;
    pub const PROCLIST_V4: u32 = 0x210;
    pub const PROCLIST_V5: u32 = 0x211;
    pub const PROCLIST_V6: u32 = 0x212;
    pub const PROCLIST_V7: u32 = 0x213;
    pub const PROCLIST_V8: u32 = 0x214;
    pub const PROCLIST_V9: u32 = 0x215;
    pub const FDLIST: u32 = 0x203;
    pub const FDLIST_INT: u32 = 0x8001_ABCD;
    pub const FDLIST_V2: u32 = 0x218;
    pub const EVENT: u32 = 0x204;
    pub const EVENT_INT: u32 = 0x8010_ABCD;
    pub const EVENT_V2: u32 = 0x216;
    pub const EVENT_V2_LARGE: u32 = 0x221;
    pub const EVENT_FLAGS: u32 = 0x208;
    pub const EVENT_FLAGS_V2: u32 = 0x217;
    pub const EVENT_FLAGS_V2_LARGE: u32 = 0x222;
    pub const IFLIST: u32 = 0x205;
    pub const IFLIST_INT: u32 = 0x8011_ABCD;
    pub const IFLIST_V2: u32 = 0x219;
    pub const USERLIST: u32 = 0x206;
    pub const USERLIST_INT: u32 = 0x8012_ABCD;
    pub const USERLIST_V2: u32 = 0x220;
}

/// The section header's byte-order magic.
pub const SHB_MAGIC: u32 = 0x1A2B_3C4D;

/// The machine the capture was taken on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineInfo {
    pub num_cpus: u32,
    pub memory_size_bytes: u64,
    pub max_pid: u64,
    pub hostname: String,
}

/// One thread of the process list (fields appear in this order on disk; later versions append).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcInfo {
    pub tid: u64,
    pub pid: u64,
    pub ptid: u64,
    pub sid: u64,
    pub vpgid: u64,
    pub comm: String,
    pub exe: String,
    pub exepath: String,
    /// NUL-separated, as the kernel keeps them.
    pub args: Vec<u8>,
    pub cwd: String,
    pub fdlimit: u64,
    pub flags: u32,
    pub uid: u32,
    pub gid: u32,
    pub vmsize_kb: u32,
    pub vmrss_kb: u32,
    pub vmswap_kb: u32,
    pub pfmajor: u64,
    pub pfminor: u64,
    pub env: Vec<u8>,
    pub vtid: i64,
    pub vpid: i64,
    pub cgroups: Vec<u8>,
    pub root: String,
    pub pidns_init_start_ts: u64,
    pub tty: u32,
    pub loginuid: u32,
    pub exe_writable: bool,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
}

/// libscap's fd types (`scap_fd_type`), the byte stored in fd list entries.
pub mod fd_type {
    pub const UNKNOWN: u8 = 0;
    pub const FILE: u8 = 1;
    pub const DIRECTORY: u8 = 2;
    pub const IPV4_SOCK: u8 = 3;
    pub const IPV6_SOCK: u8 = 4;
    pub const IPV4_SERVSOCK: u8 = 5;
    pub const IPV6_SERVSOCK: u8 = 6;
    pub const FIFO: u8 = 7;
    pub const UNIX_SOCK: u8 = 8;
    pub const EVENT: u8 = 9;
    pub const UNSUPPORTED: u8 = 10;
    pub const SIGNALFD: u8 = 11;
    pub const EVENTPOLL: u8 = 12;
    pub const INOTIFY: u8 = 13;
    pub const TIMERFD: u8 = 14;
    pub const NETLINK: u8 = 15;
    pub const FILE_V2: u8 = 16;
    pub const BPF: u8 = 17;
    pub const USERFAULTFD: u8 = 18;
    pub const IOURING: u8 = 19;
}

/// What an fd of the fd list refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdDetail {
    /// Files (v2 carries open flags and device), fifos, directories and the other path-named kinds.
    Named {
        name: String,
        open_flags: Option<u32>,
        dev: Option<u32>,
    },
    Ipv4 {
        sip: Ipv4Addr,
        dip: Ipv4Addr,
        sport: u16,
        dport: u16,
        l4proto: u8,
    },
    Ipv4Server {
        ip: Ipv4Addr,
        port: u16,
        l4proto: u8,
    },
    Ipv6 {
        sip: Ipv6Addr,
        dip: Ipv6Addr,
        sport: u16,
        dport: u16,
        l4proto: u8,
    },
    Ipv6Server {
        ip: Ipv6Addr,
        port: u16,
        l4proto: u8,
    },
    Unix {
        source: u64,
        dest: u64,
        name: String,
    },
    /// A type this reader does not know: its raw bytes.
    Raw(Vec<u8>),
}

/// One fd of a process's fd list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdInfo {
    pub fd: u64,
    pub ino: u64,
    /// One of [`fd_type`].
    pub fd_type: u8,
    pub detail: FdDetail,
}

/// One address of the interface list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interface {
    V4 {
        kind: u16,
        name: String,
        addr: Ipv4Addr,
        netmask: Ipv4Addr,
        bcast: Ipv4Addr,
        linkspeed: u64,
    },
    V6 {
        kind: u16,
        name: String,
        addr: Ipv6Addr,
        netmask: Ipv6Addr,
        bcast: Ipv6Addr,
        linkspeed: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub name: String,
    pub homedir: String,
    pub shell: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub gid: u32,
    pub name: String,
}

/// The user list block: users and groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserList {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
}
