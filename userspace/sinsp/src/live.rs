//! Live capture: the machine's processes and users read from `/proc` and `/etc`, then events from a
//! capture engine, through the same inspector as files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use scap::engine::{Engine, Next, Stats};
use scap::savefile::{Block, Group, MachineInfo, Meta, ProcInfo, User, UserList, Writer};

use crate::capture::EventSink;
use crate::filter_fields::EventFilter;
use crate::inspector::{Inspector, Output};
use crate::render::RenderOptions;
use crate::seed;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Ctrl-C and SIGTERM end the capture cleanly: the file is finished and the statistics printed.
fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

fn read_nul_list(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn read_link(path: &Path) -> String {
    std::fs::read_link(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One thread from `/proc/<pid>/task/<tid>`.
fn proc_thread(pid: u64, tid: u64) -> Option<ProcInfo> {
    let dir = PathBuf::from(format!("/proc/{pid}/task/{tid}"));
    let comm = std::fs::read_to_string(dir.join("comm"))
        .ok()?
        .trim_end()
        .to_owned();
    let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
    let field = |name: &str| -> Option<&str> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let ptid = field("PPid:").and_then(|v| v.parse().ok()).unwrap_or(0);
    let uid = field("Uid:")
        .and_then(|v| v.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let gid = field("Gid:")
        .and_then(|v| v.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cmdline = read_nul_list(&PathBuf::from(format!("/proc/{pid}/cmdline")));
    let mut parts = cmdline.splitn(2, |&b| b == 0);
    let exe = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let args = parts.next().unwrap_or_default().to_vec();
    let mut cwd = read_link(&PathBuf::from(format!("/proc/{pid}/cwd")));
    if !cwd.ends_with('/') {
        cwd.push('/');
    }
    Some(ProcInfo {
        tid,
        pid,
        ptid: if tid == pid { ptid } else { pid },
        comm,
        exe,
        exepath: read_link(&PathBuf::from(format!("/proc/{pid}/exe"))),
        args,
        cwd,
        uid,
        gid,
        env: read_nul_list(&PathBuf::from(format!("/proc/{pid}/environ"))),
        vtid: tid as i64,
        vpid: pid as i64,
        loginuid: std::fs::read_to_string(format!("/proc/{pid}/loginuid"))
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(u32::MAX),
        ..ProcInfo::default()
    })
}

/// Every thread of the machine.
pub fn scan_processes() -> Vec<ProcInfo> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u64>() else {
            continue;
        };
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(tid) = task.file_name().to_string_lossy().parse::<u64>() {
                out.extend(proc_thread(pid, tid));
            }
        }
    }
    out
}

/// Users and groups from `/etc/passwd` and `/etc/group`.
pub fn scan_users() -> UserList {
    let mut list = UserList::default();
    for line in std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
    {
        let f: Vec<&str> = line.split(':').collect();
        if let [name, _, uid, gid, _, home, shell] = f.as_slice() {
            if let (Ok(uid), Ok(gid)) = (uid.parse(), gid.parse()) {
                list.users.push(User {
                    uid,
                    gid,
                    name: (*name).into(),
                    homedir: (*home).into(),
                    shell: (*shell).into(),
                });
            }
        }
    }
    for line in std::fs::read_to_string("/etc/group")
        .unwrap_or_default()
        .lines()
    {
        let f: Vec<&str> = line.split(':').collect();
        if let [name, _, gid, ..] = f.as_slice() {
            if let Ok(gid) = gid.parse() {
                list.groups.push(Group {
                    gid,
                    name: (*name).into(),
                });
            }
        }
    }
    list
}

/// What a live capture does.
pub struct LiveOptions {
    pub write: Option<PathBuf>,
    pub compress: bool,
    pub max_events: Option<u64>,
    pub render: RenderOptions,
}

/// Captures from `engine` until `-n` events passed the filter, or Ctrl-C; returns the engine's counters.
pub fn capture(
    engine: &mut dyn Engine,
    options: &LiveOptions,
    filter: Option<EventFilter>,
    output: Output,
    out: &mut impl Write,
) -> Result<Stats> {
    install_signal_handlers();
    let procs = scan_processes();
    let users = scan_users();
    let mut inspector = Inspector::new(output, filter, options.render);
    let writer = match &options.write {
        Some(path) => {
            let mut w = Writer::create(path, options.compress)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .unwrap_or_default()
                .trim()
                .to_owned();
            let cpus = scap::engine::kmod::online_cpus()
                .map(|c| c.len() as u32)
                .unwrap_or(1);
            w.write_machine_info(&MachineInfo {
                num_cpus: cpus,
                hostname,
                ..MachineInfo::default()
            })?;
            w.write_proclist(&procs)?;
            w.write_users(&users)?;
            Some(w)
        }
        None => None,
    };
    let seed_state = |inspector: &mut Inspector| {
        let no_bytes: &[u8] = &[];
        seed::apply_block(
            &mut inspector.state,
            &Block::Meta {
                raw: no_bytes,
                meta: Meta::ProcList(procs.clone()),
            },
        );
        seed::apply_block(
            &mut inspector.state,
            &Block::Meta {
                raw: no_bytes,
                meta: Meta::Users(users.clone()),
            },
        );
    };
    seed_state(&mut inspector);
    engine.start().context("starting the capture")?;
    eprintln!("sinsp: capturing; Ctrl-C to stop");
    let mut sink = EventSink::new(out, writer, options.max_events);
    while !STOP.load(Ordering::SeqCst) {
        match engine.next().context("reading events")? {
            Next::Event(ev) => {
                if sink.handle(&mut inspector, ev.cpu, ev.flags, &ev.event)? {
                    break;
                }
            }
            Next::Timeout => {
                sink.flush();
                std::thread::sleep(Duration::from_millis(10));
            }
            Next::Eof => break,
        }
    }
    let stats = engine.stats();
    engine.stop().ok();
    sink.finish()?;
    Ok(stats)
}
