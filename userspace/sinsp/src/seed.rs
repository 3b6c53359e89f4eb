//! The state a capture starts with: its process, fd and user lists.

use scap::savefile::{fd_type, Block, FdDetail, Meta, ProcInfo};

use crate::state::{split_nul_list, FdInfo, FdKind, L4Proto, State, ThreadInfo};

fn thread_from(p: &ProcInfo) -> ThreadInfo {
    ThreadInfo {
        tid: p.tid as i64,
        pid: p.pid as i64,
        ptid: p.ptid as i64,
        sid: p.sid as i64,
        vpgid: p.vpgid as i64,
        comm: p.comm.clone(),
        exe: p.exe.clone(),
        exepath: p.exepath.clone(),
        args: split_nul_list(&p.args),
        env: split_nul_list(&p.env),
        cwd: p.cwd.clone(),
        uid: p.uid,
        gid: p.gid,
        loginuid: i64::from(p.loginuid as i32),
        vtid: p.vtid,
        vpid: p.vpid,
        fdlimit: p.fdlimit as i64,
        tty: p.tty,
        cgroups: split_nul_list(&p.cgroups),
        exe_writable: p.exe_writable,
        ..ThreadInfo::default()
    }
}

fn l4(proto: u8) -> L4Proto {
    // libscap's scap_l4_proto numbers.
    match proto {
        1 => L4Proto::Tcp,
        2 => L4Proto::Udp,
        3 => L4Proto::Icmp,
        4 => L4Proto::Raw,
        _ => L4Proto::Unknown,
    }
}

fn fd_from(t: u8, detail: &FdDetail) -> FdInfo {
    let kind = match t {
        fd_type::FILE | fd_type::FILE_V2 => FdKind::File,
        fd_type::DIRECTORY => FdKind::Directory,
        fd_type::IPV4_SOCK => FdKind::Ipv4Socket,
        fd_type::IPV6_SOCK => FdKind::Ipv6Socket,
        fd_type::IPV4_SERVSOCK => FdKind::Ipv4Server,
        fd_type::IPV6_SERVSOCK => FdKind::Ipv6Server,
        fd_type::FIFO => FdKind::Pipe,
        fd_type::UNIX_SOCK => FdKind::UnixSocket,
        fd_type::EVENT => FdKind::Event,
        fd_type::SIGNALFD => FdKind::Signalfd,
        fd_type::EVENTPOLL => FdKind::Eventpoll,
        fd_type::INOTIFY => FdKind::Inotify,
        fd_type::TIMERFD => FdKind::Timerfd,
        fd_type::NETLINK => FdKind::Netlink,
        fd_type::BPF => FdKind::Bpf,
        fd_type::USERFAULTFD => FdKind::Userfaultfd,
        fd_type::IOURING => FdKind::IoUring,
        _ => FdKind::Unknown,
    };
    let mut info = FdInfo::new(kind, "");
    match detail {
        FdDetail::Named {
            name, open_flags, ..
        } => {
            info.name = name.clone();
            info.flags = open_flags.unwrap_or(0);
        }
        FdDetail::Ipv4 {
            sip,
            dip,
            sport,
            dport,
            l4proto,
        } => {
            info.set_connection((*sip).into(), *sport, (*dip).into(), *dport);
            info.l4 = l4(*l4proto);
        }
        FdDetail::Ipv6 {
            sip,
            dip,
            sport,
            dport,
            l4proto,
        } => {
            info.set_connection((*sip).into(), *sport, (*dip).into(), *dport);
            info.l4 = l4(*l4proto);
        }
        FdDetail::Ipv4Server { ip, port, l4proto } => {
            info.set_server((*ip).into(), *port);
            info.l4 = l4(*l4proto);
        }
        FdDetail::Ipv6Server { ip, port, l4proto } => {
            info.set_server((*ip).into(), *port);
            info.l4 = l4(*l4proto);
        }
        FdDetail::Unix { source, dest, name } => {
            info.name = format!("{source:x}->{dest:x} {name}");
        }
        FdDetail::Raw(_) => {}
    }
    info
}

/// Applies a non-event block to the state.
pub fn apply_block(state: &mut State, block: &Block<'_>) {
    let Block::Meta { meta, .. } = block else {
        return;
    };
    match meta {
        Meta::ProcList(procs) => {
            for p in procs {
                state.add_thread(thread_from(p));
            }
        }
        Meta::FdList { tid, fds } => {
            let pid = state.thread(*tid as i64).map_or(*tid as i64, |t| t.pid);
            for f in fds {
                state.add_fd(pid, f.fd as i64, fd_from(f.fd_type, &f.detail));
            }
        }
        Meta::Users(list) => {
            for u in &list.users {
                state.users.users.insert(u.uid, u.name.clone());
            }
            for g in &list.groups {
                state.users.groups.insert(g.gid, g.name.clone());
            }
        }
        _ => {}
    }
}
