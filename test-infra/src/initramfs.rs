//! The guest's root filesystem: a newc cpio archive, gzip-compressed, built in memory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The `/init` every guest runs before the caller's script: mounts, the result channel, helpers.
/// Results go to the second serial port (`/dev/ttyS1`) so kernel messages on the console cannot mix in.
const PROLOGUE: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
exec 3>/dev/ttyS1
result() { echo "RESULT $*" >&3; }
sendfile() { echo "BEGIN-FILE $2" >&3; base64 "$1" >&3; echo "END-FILE $2" >&3; }
# The test runs in a subshell: its `exit` ends the test, not init.
run_test() (
"#;

const EPILOGUE: &str = r#"
)
run_test
status=$?
echo "TAINTED $(cat /proc/sys/kernel/tainted)" >&3
dmesg > /tmp/dmesg.txt
sendfile /tmp/dmesg.txt dmesg
echo "EXIT $status" >&3
sync
poweroff -f
"#;

/// What goes into the initramfs.
#[derive(Debug, Default, Clone)]
pub struct Initramfs {
    /// Guest path → (host path, mode).
    files: BTreeMap<String, (PathBuf, u32)>,
    script: String,
}

impl Initramfs {
    /// A root with busybox (from the host's `busybox-static`) and the caller's test script, which runs
    /// as a shell function: `result KEY VALUE` reports a value, `sendfile PATH NAME` returns a file.
    pub fn new(script: &str) -> Initramfs {
        let mut fs = Initramfs {
            script: script.to_owned(),
            ..Initramfs::default()
        };
        fs.add_file("/bin/busybox", "/bin/busybox", 0o755);
        fs
    }

    /// Puts host file `host` at `guest`.
    pub fn add_file(&mut self, host: impl AsRef<Path>, guest: &str, mode: u32) -> &mut Self {
        self.files.insert(
            guest.trim_start_matches('/').to_owned(),
            (host.as_ref().to_owned(), mode),
        );
        self
    }

    /// Puts a dynamically linked program at `guest`, with every library `ldd` lists at its host path.
    pub fn add_program(&mut self, host: impl AsRef<Path>, guest: &str) -> Result<&mut Self, Error> {
        let host = host.as_ref();
        self.add_file(host, guest, 0o755);
        let out = Command::new("ldd")
            .arg(host)
            .output()
            .map_err(|e| Error::Tool {
                what: format!("ldd {}", host.display()),
                detail: e.to_string(),
            })?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            let path = line
                .split("=>")
                .last()
                .and_then(|p| p.split_whitespace().next())
                .unwrap_or("");
            if path.starts_with('/') {
                let real = std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path));
                self.add_file(real, path, 0o755);
            }
        }
        Ok(self)
    }

    fn init(&self) -> String {
        format!("{PROLOGUE}{}{EPILOGUE}", self.script)
    }

    /// Writes the gzip-compressed newc archive to `out`.
    pub fn write(&self, out: &Path) -> Result<(), Error> {
        let mut entries: BTreeMap<String, (Vec<u8>, u32)> = BTreeMap::new();
        for (guest, (path, mode)) in &self.files {
            let data = std::fs::read(path).map_err(|e| Error::Tool {
                what: format!("reading {}", path.display()),
                detail: e.to_string(),
            })?;
            entries.insert(guest.clone(), (data, 0o100000 | mode));
        }
        entries.insert("init".into(), (self.init().into_bytes(), 0o100755));
        let mut dirs: BTreeMap<String, ()> = BTreeMap::new();
        for d in [
            "bin", "sbin", "proc", "sys", "dev", "tmp", "lib", "usr", "usr/bin", "etc",
        ] {
            dirs.insert(d.into(), ());
        }
        for guest in entries.keys() {
            let mut path = Path::new(guest.as_str());
            while let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                dirs.insert(parent.to_string_lossy().into_owned(), ());
                path = parent;
            }
        }
        let mut cpio = Vec::new();
        let mut ino = 1;
        for dir in dirs.keys() {
            push_entry(&mut cpio, &mut ino, dir, 0o40755, &[]);
        }
        for (name, (data, mode)) in &entries {
            push_entry(&mut cpio, &mut ino, name, *mode, data);
        }
        push_entry(&mut cpio, &mut ino, "TRAILER!!!", 0, &[]);
        let file = std::fs::File::create(out)?;
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all(&cpio)?;
        gz.finish()?;
        Ok(())
    }
}

/// One newc entry: the "070701" header of 13 eight-digit hex fields, the NUL-terminated name, the data,
/// each padded to four bytes.
fn push_entry(out: &mut Vec<u8>, ino: &mut u32, name: &str, mode: u32, data: &[u8]) {
    let fields = [
        *ino,
        mode,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    *ino += 1;
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}
