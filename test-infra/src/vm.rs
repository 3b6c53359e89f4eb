//! Booting a kernel with an initramfs under `qemu-system-x86_64 -accel tcg`, and reading what it reports.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::initramfs::Initramfs;
use crate::packages::Kernel;
use crate::Error;

/// How to boot.
#[derive(Debug, Clone)]
pub struct VmConfig {
    pub memory_mb: u32,
    pub cpus: u32,
    pub timeout: Duration,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            memory_mb: 1024,
            cpus: 1,
            timeout: Duration::from_secs(180),
        }
    }
}

/// What a guest reported.
#[derive(Debug, Clone, Default)]
pub struct VmRun {
    /// The serial console: boot messages and anything printed there.
    pub console: String,
    /// `result KEY VALUE` lines, by key (the last value wins).
    pub results: BTreeMap<String, String>,
    /// Files sent back with `sendfile`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The test script's exit status.
    pub exit_status: Option<i32>,
    /// `/proc/sys/kernel/tainted` at the end.
    pub tainted: Option<u64>,
    pub elapsed: Duration,
}

impl VmRun {
    /// The guest's kernel log at the end of the run.
    pub fn dmesg(&self) -> String {
        self.files
            .get("dmesg")
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .unwrap_or_default()
    }

    /// Fails on an oops, a BUG, a WARNING, a panic, or a taint other than an unsigned out-of-tree module's.
    pub fn check_health(&self) -> Result<(), Error> {
        let log = format!("{}\n{}", self.console, self.dmesg());
        let mut problems = health_problems(&log);
        // Allowed taints: O (out-of-tree module, 4096) and E (unsigned module, 8192).
        if let Some(t) = self.tainted {
            let unexpected = t & !(4096 | 8192);
            if unexpected != 0 {
                problems.push(format!(
                    "kernel tainted with {unexpected:#x} (full value {t})"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Unhealthy { problems })
        }
    }
}

/// The kernel log lines that mean something went wrong.
pub fn health_problems(log: &str) -> Vec<String> {
    const MARKERS: [&str; 7] = [
        "Oops",
        "BUG:",
        "WARNING:",
        "Call Trace",
        "Kernel panic",
        "general protection fault",
        "RIP:",
    ];
    log.lines()
        .filter(|l| MARKERS.iter().any(|m| l.contains(m)))
        .map(|l| l.trim().to_owned())
        .collect()
}

fn parse_results(text: &str, run: &mut VmRun) {
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some((name, body)) = current.as_mut() {
            if line == format!("END-FILE {name}") {
                let decoded = decode_base64(body);
                run.files.insert(std::mem::take(name), decoded);
                current = None;
            } else {
                body.push_str(line);
            }
            continue;
        }
        if let Some(name) = line.strip_prefix("BEGIN-FILE ") {
            current = Some((name.to_owned(), String::new()));
        } else if let Some(rest) = line.strip_prefix("RESULT ") {
            let (key, value) = rest.split_once(' ').unwrap_or((rest, ""));
            run.results.insert(key.to_owned(), value.to_owned());
        } else if let Some(status) = line.strip_prefix("EXIT ") {
            run.exit_status = status.trim().parse().ok();
        } else if let Some(t) = line.strip_prefix("TAINTED ") {
            run.tainted = t.trim().parse().ok();
        }
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter_map(value) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// What qemu boots: the kernel decompressed to its ELF `vmlinux`, entered through its PVH note, when
/// the kernel has one (Debian's have since 5.x). Under TCG the bzImage's own decompressor takes 10–25 s
/// of every boot; done once on the host it takes 2–3 s and is cached. Anything unexpected (no payload,
/// another compression, no PVH entry) falls back to the bzImage, as does `TEST_INFRA_BOOT_BZIMAGE=1`.
pub fn boot_image(kernel: &Kernel) -> std::path::PathBuf {
    if std::env::var_os("TEST_INFRA_BOOT_BZIMAGE").is_some() {
        return kernel.vmlinuz.clone();
    }
    match pvh_vmlinux(&kernel.vmlinuz) {
        Ok(Some(elf)) => elf,
        Ok(None) => kernel.vmlinuz.clone(),
        Err(e) => {
            tracing::warn!(kernel = %kernel.vmlinuz.display(), error = %e, "no PVH vmlinux; booting the bzImage");
            kernel.vmlinuz.clone()
        }
    }
}

/// The cached PVH-bootable ELF inside `bzimage`, made on first use (temp file + rename).
fn pvh_vmlinux(bzimage: &Path) -> Result<Option<std::path::PathBuf>, Error> {
    let image = std::fs::read(bzimage)?;
    let key = crate::packages::sha256_file(bzimage)?;
    let dir = crate::packages::cache_dir().join("vmlinux");
    let out = dir.join(format!("vmlinux-{}", &key[..16]));
    let absent = dir.join(format!("no-pvh-{}", &key[..16]));
    if out.is_file() {
        return Ok(Some(out));
    }
    if absent.exists() {
        return Ok(None);
    }
    std::fs::create_dir_all(&dir)?;
    let elf = match decompress_payload(&image)? {
        Some(elf) if elf.starts_with(b"\x7fELF") && has_pvh_note(&elf) => elf,
        _ => {
            std::fs::write(&absent, b"")?;
            return Ok(None);
        }
    };
    let tmp = dir.join(format!(
        ".vmlinux-{}.{}",
        &key[..16],
        crate::packages::unique_suffix()
    ));
    std::fs::write(&tmp, &elf)?;
    std::fs::rename(&tmp, &out)?;
    Ok(Some(out))
}

/// The kernel inside a bzImage: the boot protocol's `payload_offset`/`payload_length` (setup header
/// 0x248/0x24c, from the start of the protected-mode code) point at an xz, zstd or gzip stream.
pub fn decompress_payload(image: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    use std::io::Read;
    let u32_at = |o: usize| {
        image
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if image.get(0x202..0x206) != Some(b"HdrS") {
        return Ok(None);
    }
    let setup_sects = match image.get(0x1f1) {
        Some(0) => 4,
        Some(n) => usize::from(*n),
        None => return Ok(None),
    };
    let (Some(offset), Some(length)) = (u32_at(0x248), u32_at(0x24c)) else {
        return Ok(None);
    };
    let start = (setup_sects + 1) * 512 + offset;
    let Some(payload) = image.get(start..start + length) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let broken = |e: std::io::Error| Error::Tool {
        what: "decompressing the kernel".into(),
        detail: format!("{e} (set TEST_INFRA_BOOT_BZIMAGE=1 to boot the bzImage as it is)"),
    };
    if payload.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        // The kernel's build appends the uncompressed size right after the stream, which a reader
        // that insists on clean stream padding calls corrupt: decode up to the stream's end only.
        use xz2::stream::{Action, Status, Stream};
        let xz = |e: xz2::stream::Error| broken(std::io::Error::other(e));
        let mut stream = Stream::new_stream_decoder(u64::MAX, 0).map_err(xz)?;
        out.reserve(payload.len() * 8);
        loop {
            if out.len() == out.capacity() {
                out.reserve(1 << 24);
            }
            let input = payload
                .get(stream.total_in() as usize..)
                .unwrap_or_default();
            let before = (stream.total_in(), stream.total_out());
            if stream
                .process_vec(input, &mut out, Action::Run)
                .map_err(xz)?
                == Status::StreamEnd
            {
                break;
            }
            if (stream.total_in(), stream.total_out()) == before && out.len() < out.capacity() {
                return Err(broken(std::io::Error::other("the xz stream ends early")));
            }
        }
    } else if payload.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::stream::read::Decoder::new(payload)
            .map_err(broken)?
            .single_frame()
            .read_to_end(&mut out)
            .map_err(broken)?;
    } else if payload.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(payload)
            .read_to_end(&mut out)
            .map_err(broken)?;
    } else {
        return Ok(None);
    }
    Ok(Some(out))
}

/// Whether the ELF carries Xen's `PHYS32_ENTRY` note (type 18), the entry point qemu uses for PVH.
fn has_pvh_note(elf: &[u8]) -> bool {
    // An ELF note: namesz 4, descsz 4 or 8, type 18, name "Xen\0".
    elf.windows(16).any(|w| {
        w[0..4] == [4, 0, 0, 0]
            && (w[4..8] == [4, 0, 0, 0] || w[4..8] == [8, 0, 0, 0])
            && w[8..12] == [18, 0, 0, 0]
            && &w[12..16] == b"Xen\0"
    })
}

/// Kills qemu when the run ends early for any reason.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots `kernel` with `initramfs` and waits for it to power off.
pub fn run(kernel: &Kernel, initramfs: &Initramfs, config: &VmConfig) -> Result<VmRun, Error> {
    let work = tempdir()?;
    let initrd = work.join("initrd.gz");
    initramfs.write(&initrd)?;
    let console = work.join("console.log");
    let results = work.join("results.txt");
    let start = Instant::now();
    let child = Command::new("qemu-system-x86_64")
        .args([
            "-accel",
            "tcg",
            "-nographic",
            "-no-reboot",
            "-display",
            "none",
            "-monitor",
            "none",
        ])
        .args([
            "-m",
            &config.memory_mb.to_string(),
            "-smp",
            &config.cpus.to_string(),
        ])
        .arg("-kernel")
        .arg(boot_image(kernel))
        .arg("-initrd")
        .arg(&initrd)
        // panic=-1 reboots at once on a panic, which -no-reboot turns into an exit; loglevel 5 puts
        // warnings on the console.
        .args(["-append", "console=ttyS0 panic=-1 loglevel=5"])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", results.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Tool {
            what: "qemu-system-x86_64".into(),
            detail: format!("{e} (install Debian's qemu-system-x86)"),
        })?;
    let mut guard = Guard(child);
    let status = loop {
        if let Some(status) = guard.0.try_wait()? {
            break status;
        }
        if start.elapsed() > config.timeout {
            let console = std::fs::read_to_string(&console).unwrap_or_default();
            let tail: Vec<&str> = console.lines().rev().take(20).collect();
            return Err(Error::Timeout {
                after: config.timeout,
                console_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut run = VmRun {
        console: String::from_utf8_lossy(&std::fs::read(&console).unwrap_or_default()).into_owned(),
        elapsed: start.elapsed(),
        ..VmRun::default()
    };
    parse_results(
        &String::from_utf8_lossy(&std::fs::read(&results).unwrap_or_default()),
        &mut run,
    );
    let _ = std::fs::remove_dir_all(&work);
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut e) = guard.0.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        return Err(Error::Tool {
            what: "qemu-system-x86_64".into(),
            detail: format!("exited with {status}: {stderr}"),
        });
    }
    if run.exit_status.is_none() {
        let lines: Vec<&str> = run.console.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        return Err(Error::NoExit { console_tail: tail });
    }
    Ok(run)
}

fn tempdir() -> Result<std::path::PathBuf, Error> {
    let base = crate::packages::cache_dir().join("runs");
    std::fs::create_dir_all(&base)?;
    for n in 0..1000u32 {
        let dir = base.join(format!("{}-{n}", std::process::id()));
        if std::fs::create_dir(&dir).is_ok() {
            return Ok(dir);
        }
    }
    Err(Error::Tool {
        what: "creating a run directory".into(),
        detail: format!("under {}", base.display()),
    })
}

/// Boots `kernel` to run `script` with the given host files placed in the guest.
pub fn run_script(
    kernel: &Kernel,
    files: &[(&Path, &str)],
    script: &str,
    config: &VmConfig,
) -> Result<VmRun, Error> {
    let mut fs = Initramfs::new(script);
    for (host, guest) in files {
        fs.add_file(host, guest, 0o755);
    }
    run(kernel, &fs, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_files_are_parsed() {
        let mut run = VmRun::default();
        parse_results(
            "RESULT uname 6.1.0-47-amd64\r\nBEGIN-FILE out\naGVsbG8K\nEND-FILE out\nTAINTED 12288\nEXIT 0\n",
            &mut run,
        );
        assert_eq!(
            run.results.get("uname").map(String::as_str),
            Some("6.1.0-47-amd64")
        );
        assert_eq!(
            run.files.get("out").map(Vec::as_slice),
            Some(&b"hello\n"[..])
        );
        assert_eq!((run.tainted, run.exit_status), (Some(12288), Some(0)));
        assert!(run.check_health().is_ok(), "O and E taints are allowed");
    }

    #[test]
    fn only_a_bzimage_with_a_known_payload_is_decompressed() {
        assert!(matches!(decompress_payload(b"not a kernel"), Ok(None)));
        // A setup header that points past the end of the file.
        let mut image = vec![0u8; 0x300];
        image[0x202..0x206].copy_from_slice(b"HdrS");
        image[0x1f1] = 1;
        image[0x24c..0x250].copy_from_slice(&4096u32.to_le_bytes());
        assert!(matches!(decompress_payload(&image), Ok(None)));
        // A truncated xz payload is an error that says how to boot anyway.
        let mut image = vec![0u8; 1024 + 16];
        image[0x202..0x206].copy_from_slice(b"HdrS");
        image[0x1f1] = 1;
        image[0x24c..0x250].copy_from_slice(&16u32.to_le_bytes());
        image[1024..1030].copy_from_slice(&[0xfd, b'7', b'z', b'X', b'Z', 0]);
        let err = decompress_payload(&image)
            .expect_err("truncated")
            .to_string();
        assert!(err.contains("TEST_INFRA_BOOT_BZIMAGE"), "{err}");
        let mut note = vec![0u8; 64];
        note[20..36].copy_from_slice(&[4, 0, 0, 0, 8, 0, 0, 0, 18, 0, 0, 0, b'X', b'e', b'n', 0]);
        assert!(has_pvh_note(&note));
        note[28] = 17;
        assert!(!has_pvh_note(&note));
    }

    #[test]
    fn oopses_warnings_and_taints_are_unhealthy() {
        let log = "[    1.0] ok\n[    2.0] WARNING: CPU: 0 PID: 1 at mm/slab.c:1 foo\n[    2.1] BUG: kernel NULL pointer dereference\n";
        assert_eq!(health_problems(log).len(), 2);
        let run = VmRun {
            console: log.into(),
            tainted: Some(12288),
            ..VmRun::default()
        };
        let Err(Error::Unhealthy { problems }) = run.check_health() else {
            panic!("a WARNING is unhealthy")
        };
        assert!(problems[0].contains("WARNING: CPU: 0"));
        let run = VmRun {
            tainted: Some(12288 | 512),
            ..VmRun::default()
        };
        assert!(
            run.check_health().is_err(),
            "a W (warning) taint is unhealthy"
        );
    }
}
