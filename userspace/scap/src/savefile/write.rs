//! Writing `.scap` files that libscap (and so Debian's sysdig 0.29.3) reads.
//!
//! The file is written under a temporary name beside the target and renamed on [`Writer::finish`], so an
//! interrupted write never leaves a half file where a capture is expected.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::blocks::*;
use super::read::{Block, Meta};
use super::SavefileError;
use crate::event::Event;

enum Sink {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
}

impl Sink {
    fn out(&mut self) -> &mut dyn Write {
        match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w,
        }
    }
}

/// Writes a capture: a section header on creation, then blocks in the order given.
pub struct Writer {
    /// `None` once finished.
    sink: Option<Sink>,
    temp: PathBuf,
    target: PathBuf,
    block: Vec<u8>,
}

fn padded(len: usize) -> usize {
    (len + 3) & !3
}

impl Writer {
    /// Creates `path` (gzip-compressed when `compress`) and writes the section header.
    pub fn create(path: &Path, compress: bool) -> Result<Writer, SavefileError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "capture".into());
        let temp = path.with_file_name(format!(".{name}.partial"));
        let file = BufWriter::with_capacity(1 << 20, File::create(&temp)?);
        let sink = if compress {
            Sink::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            ))
        } else {
            Sink::Plain(file)
        };
        let mut writer = Writer {
            sink: Some(sink),
            temp,
            target: path.to_owned(),
            block: Vec::with_capacity(4096),
        };
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(&SHB_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&2u16.to_le_bytes());
        body.extend_from_slice(&u64::MAX.to_le_bytes()); // section length: unknown
        writer.write_raw_block(block_type::SECTION_HEADER, &[&body])?;
        Ok(writer)
    }

    /// Writes one block made of `parts`, with its header, padding and trailer.
    fn write_raw_block(&mut self, btype: u32, parts: &[&[u8]]) -> Result<(), SavefileError> {
        let body: usize = parts.iter().map(|p| p.len()).sum();
        let total = padded(8 + body + 4);
        self.block.clear();
        self.block.extend_from_slice(&btype.to_le_bytes());
        self.block.extend_from_slice(&(total as u32).to_le_bytes());
        for p in parts {
            self.block.extend_from_slice(p);
        }
        self.block.resize(total - 4, 0);
        self.block.extend_from_slice(&(total as u32).to_le_bytes());
        let Writer { sink, block, .. } = self;
        if let Some(sink) = sink {
            sink.out().write_all(block)?;
        }
        Ok(())
    }

    /// Writes an event block (with its flags when given).
    pub fn write_event(
        &mut self,
        cpu: u16,
        flags: Option<u32>,
        event: &Event<'_>,
    ) -> Result<(), SavefileError> {
        let large = event.info().is_some_and(|i| i.large_payload());
        let cpu = cpu.to_le_bytes();
        match flags {
            Some(f) => {
                let btype = if large {
                    block_type::EVENT_FLAGS_V2_LARGE
                } else {
                    block_type::EVENT_FLAGS_V2
                };
                self.write_raw_block(btype, &[&cpu, &f.to_le_bytes(), event.as_bytes()])
            }
            None => {
                let btype = if large {
                    block_type::EVENT_V2_LARGE
                } else {
                    block_type::EVENT_V2
                };
                self.write_raw_block(btype, &[&cpu, event.as_bytes()])
            }
        }
    }

    /// Copies a block read from another capture; section headers are skipped (this file has its own).
    pub fn write_block(&mut self, block: &Block<'_>) -> Result<(), SavefileError> {
        match block {
            Block::Event { cpu, flags, event } => self.write_event(*cpu, *flags, event),
            Block::Meta {
                meta: Meta::SectionHeader { .. },
                ..
            } => Ok(()),
            Block::Meta { raw, .. } => {
                if let Some(sink) = self.sink.as_mut() {
                    sink.out().write_all(raw)?;
                }
                Ok(())
            }
        }
    }

    pub fn write_machine_info(&mut self, info: &MachineInfo) -> Result<(), SavefileError> {
        let mut body = Vec::with_capacity(180);
        body.extend_from_slice(&info.num_cpus.to_le_bytes());
        body.extend_from_slice(&info.memory_size_bytes.to_le_bytes());
        body.extend_from_slice(&info.max_pid.to_le_bytes());
        let mut host = [0u8; 128];
        let name = info.hostname.as_bytes();
        let n = name.len().min(127);
        host[..n].copy_from_slice(&name[..n]);
        body.extend_from_slice(&host);
        body.extend_from_slice(&[0u8; 32]); // reserved
        self.write_raw_block(block_type::MACHINE_INFO, &[&body])
    }

    /// Writes a process list in the v9 layout of sysdig 0.29.3 (its tail: `loginuid`, `exe_writable`).
    pub fn write_proclist(&mut self, procs: &[ProcInfo]) -> Result<(), SavefileError> {
        fn blob(out: &mut Vec<u8>, b: &[u8]) {
            let b = &b[..b.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&(b.len() as u16).to_le_bytes());
            out.extend_from_slice(b);
        }
        let mut body = Vec::new();
        for p in procs {
            let mut e = Vec::with_capacity(256);
            for v in [p.tid, p.pid, p.ptid, p.sid, p.vpgid] {
                e.extend_from_slice(&v.to_le_bytes());
            }
            blob(&mut e, p.comm.as_bytes());
            blob(&mut e, p.exe.as_bytes());
            blob(&mut e, p.exepath.as_bytes());
            blob(&mut e, cap_list(&p.args));
            blob(&mut e, p.cwd.as_bytes());
            e.extend_from_slice(&p.fdlimit.to_le_bytes());
            for v in [p.flags, p.uid, p.gid, p.vmsize_kb, p.vmrss_kb, p.vmswap_kb] {
                e.extend_from_slice(&v.to_le_bytes());
            }
            e.extend_from_slice(&p.pfmajor.to_le_bytes());
            e.extend_from_slice(&p.pfminor.to_le_bytes());
            blob(&mut e, cap_list(&p.env));
            e.extend_from_slice(&p.vtid.to_le_bytes());
            e.extend_from_slice(&p.vpid.to_le_bytes());
            blob(&mut e, &p.cgroups);
            blob(&mut e, p.root.as_bytes());
            // The tail as sysdig 0.29.3 writes and reads it.
            e.extend_from_slice(&p.loginuid.to_le_bytes());
            e.push(u8::from(p.exe_writable));
            body.extend_from_slice(&((e.len() + 4) as u32).to_le_bytes());
            body.extend_from_slice(&e);
        }
        self.write_raw_block(block_type::PROCLIST_V9, &[&body])
    }

    /// Writes the user and group list.
    pub fn write_users(&mut self, list: &UserList) -> Result<(), SavefileError> {
        fn string(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let mut body = Vec::new();
        for u in &list.users {
            let mut e = vec![0u8];
            e.extend_from_slice(&u.uid.to_le_bytes());
            e.extend_from_slice(&u.gid.to_le_bytes());
            string(&mut e, &u.name);
            string(&mut e, &u.homedir);
            string(&mut e, &u.shell);
            body.extend_from_slice(&((e.len() + 4) as u32).to_le_bytes());
            body.extend_from_slice(&e);
        }
        for g in &list.groups {
            let mut e = vec![1u8];
            e.extend_from_slice(&g.gid.to_le_bytes());
            string(&mut e, &g.name);
            body.extend_from_slice(&((e.len() + 4) as u32).to_le_bytes());
            body.extend_from_slice(&e);
        }
        self.write_raw_block(block_type::USERLIST_V2, &[&body])
    }

    /// Flushes everything and moves the file into place.
    pub fn finish(mut self) -> Result<(), SavefileError> {
        let file = match self.sink.take() {
            Some(Sink::Plain(w)) => w,
            Some(Sink::Gzip(w)) => w.finish()?,
            None => return Ok(()),
        };
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.temp, &self.target)?;
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A writer dropped without `finish` (an error path) must not leave its partial file behind.
        if self.sink.is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// libscap refuses a process whose arguments or environment exceed 4096 bytes (`SCAP_MAX_ARGS_SIZE`,
/// `SCAP_MAX_ENV_SIZE`) and with it the whole file: longer lists are cut after their last whole entry.
const MAX_LIST: usize = 4096;

fn cap_list(list: &[u8]) -> &[u8] {
    if list.len() <= MAX_LIST {
        return list;
    }
    match list[..MAX_LIST].iter().rposition(|&b| b == 0) {
        Some(end) => &list[..=end],
        None => &list[..MAX_LIST],
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_process_lists_are_cut_at_an_entry() {
        let env: Vec<u8> = (0..1000).flat_map(|i| format!("VAR{i}=x\0").into_bytes()).collect();
        let cut = cap_list(&env);
        assert!(cut.len() <= MAX_LIST && cut.ends_with(b"\0"), "{}", cut.len());
        assert_eq!(cap_list(b"a\0b\0"), b"a\0b\0");
    }
}
