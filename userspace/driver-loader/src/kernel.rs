//! The kernel a driver is for: `uname -r`, `uname -v` and the architecture, from the running kernel,
//! from flags, or from a kernel image on disk (`/boot/vmlinuz-<release>`), whose version string is the
//! `uname -v` that kernel will report once booted.

use std::io::Read;
use std::path::{Path, PathBuf};

use driver_index::kernelrelease::{self, KernelRelease};
use driver_index::Arch;

use crate::Error;

/// `uname -r`, `uname -v` and the machine, as falcoctl reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// `uname -r`: `6.1.0-13-amd64`.
    pub release: String,
    /// `uname -v`: `#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)`.
    pub version: String,
    pub arch: Arch,
}

impl Kernel {
    /// The running kernel.
    pub fn running() -> Result<Kernel, Error> {
        // SAFETY: uname fills the struct we own and does not keep the pointer.
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        if unsafe { libc::uname(&mut uts) } != 0 {
            return Err(Error::Kernel(format!(
                "uname failed: {}",
                std::io::Error::last_os_error()
            )));
        }
        let text = |field: &[libc::c_char]| -> String {
            let bytes: Vec<u8> = field
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Ok(Kernel {
            release: text(&uts.release),
            version: text(&uts.version),
            arch: host_arch(),
        })
    }

    /// The release split the way driverkit splits it; a release it cannot read is kept whole.
    pub fn parsed(&self) -> Parsed {
        match KernelRelease::parse(&self.release, builder_arch(self.arch), &self.version) {
            Ok(k) => Parsed {
                fullversion: k.fullversion.clone(),
                full_extraversion: k.full_extraversion.clone(),
                version: k.version(),
            },
            Err(_) => Parsed {
                fullversion: self.release.clone(),
                full_extraversion: String::new(),
                version: (0, 0, 0),
            },
        }
    }

    /// The kmod builds for 3.10 and later on x86_64, 3.16 on arm64.
    pub fn supports_module(&self) -> bool {
        let minimum = match self.arch {
            Arch::X86_64 => (3, 10, 0),
            Arch::Aarch64 => (3, 16, 0),
        };
        self.parsed().version >= minimum
    }

    /// The per-kernel eBPF probe needs 4.14 on x86_64, 4.17 on arm64.
    pub fn supports_probe(&self) -> bool {
        KernelRelease::parse(&self.release, builder_arch(self.arch), &self.version)
            .is_ok_and(|k| k.supports_probe())
    }
}

/// A kernel release as driverkit splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// `6.1.0` of `6.1.0-13-amd64`.
    pub fullversion: String,
    /// `-13-amd64` of `6.1.0-13-amd64`.
    pub full_extraversion: String,
    pub version: (u64, u64, u64),
}

pub fn host_arch() -> Arch {
    if cfg!(target_arch = "aarch64") {
        Arch::Aarch64
    } else {
        Arch::X86_64
    }
}

fn builder_arch(arch: Arch) -> kernelrelease::Arch {
    match arch {
        Arch::X86_64 => kernelrelease::Arch::Amd64,
        Arch::Aarch64 => kernelrelease::Arch::Arm64,
    }
}

/// Where a kernel's image lives under a host root: `/boot/vmlinuz-<release>` (or `vmlinux-`, `Image-`),
/// or `/usr/lib/modules/<release>/vmlinuz` where Debian 7.x kernels keep it.
pub fn image_path(host_root: &Path, release: &str) -> Option<PathBuf> {
    let boot = ["vmlinuz", "vmlinux", "Image"]
        .iter()
        .map(|stem| host_root.join("boot").join(format!("{stem}-{release}")));
    let modules = ["usr/lib/modules", "lib/modules"]
        .iter()
        .map(|dir| host_root.join(dir).join(release).join("vmlinuz"));
    boot.chain(modules).find(|p| p.is_file())
}

/// `uname -r` and `uname -v` of the kernel in an image file: an x86 bzImage (the boot header's version
/// string), or an arm64 `Image`, plain, gzip-compressed, or an EFI zboot image with a gzip payload (its
/// `Linux version ...` banner).
pub fn read_image(path: &Path) -> Result<(String, String), Error> {
    let bad = |detail: String| Error::Kernel(format!("{}: {detail}", path.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(256 << 20).read_to_end(&mut bytes))
        .map_err(|e| bad(e.to_string()))?;
    image_uname(&bytes).map_err(bad)
}

/// See [`read_image`]; the bytes of the image.
pub fn image_uname(bytes: &[u8]) -> Result<(String, String), String> {
    if bytes.get(0x202..0x206) == Some(b"HdrS") {
        let pointer = bytes
            .get(0x20e..0x210)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize + 0x200)
            .ok_or("a truncated boot header")?;
        let text = bytes
            .get(pointer..)
            .ok_or("a boot header pointing past the file")?;
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        return parse_setup_version(&String::from_utf8_lossy(&text[..end]))
            .ok_or_else(|| "a boot header without a version string".to_owned());
    }
    let decompressed;
    let image: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
        decompressed = gunzip(bytes)?;
        &decompressed
    } else if bytes.starts_with(b"MZ") && bytes.get(4..8) == Some(b"zimg") {
        let word = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let (start, len) = word(8).zip(word(12)).ok_or("a truncated zboot header")?;
        let kind = bytes.get(0x18..0x20).unwrap_or_default();
        if !kind.starts_with(b"gzip") {
            return Err(format!(
                "an EFI zboot image compressed with {}, which is not read here",
                String::from_utf8_lossy(kind).trim_end_matches('\0')
            ));
        }
        let payload = bytes
            .get(start..start.saturating_add(len))
            .ok_or("a zboot payload past the end of the file")?;
        decompressed = gunzip(payload)?;
        &decompressed
    } else {
        bytes
    };
    // Since 6.1 an image also holds init/version.o's banner without a build number (`# SMP ...`);
    // the one the kernel prints has it (`#1 SMP ...`), so that one is preferred.
    let marker = b"Linux version ";
    let mut first = None;
    let mut at = 0;
    while let Some(found) = image[at..].windows(marker.len()).position(|w| w == marker) {
        let rest = &image[at + found..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == 0)
            .unwrap_or(rest.len());
        if let Some((release, version)) = parse_banner(&String::from_utf8_lossy(&rest[..end])) {
            if version[1..].starts_with(|c: char| c.is_ascii_digit()) {
                return Ok((release, version));
            }
            first.get_or_insert((release, version));
        }
        at += found + marker.len();
    }
    first.ok_or_else(|| "no `Linux version` banner: not a kernel image".to_owned())
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(512 << 20)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out)
}

/// `Linux version <release> (<by>@<host>) (<compiler>) <uname -v>` (as in `/proc/version`).
pub fn parse_banner(banner: &str) -> Option<(String, String)> {
    parse_setup_version(banner.trim_end().strip_prefix("Linux version ")?)
}

/// `<release> (<by>@<host>) [(<compiler>)] <uname -v>`: the boot header's string, and the banner's
/// tail. Parenthesised groups nest (`(gcc-12 (Debian 12.2.0-14) 12.2.0, ...)`), so they are skipped by
/// depth, and `uname -v` is what follows them.
pub fn parse_setup_version(text: &str) -> Option<(String, String)> {
    let (release, mut rest) = text.trim().split_once(' ')?;
    loop {
        rest = rest.trim_start();
        if !rest.starts_with('(') {
            break;
        }
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end? + 1..];
    }
    let version = rest.trim();
    (!release.is_empty() && version.starts_with('#'))
        .then(|| (release.to_owned(), version.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_and_boot_header_strings() {
        assert_eq!(
            parse_banner("Linux version 5.10.0-30-arm64 (debian-kernel@lists.debian.org) (gcc-10 (Debian 10.2.1-6) 10.2.1 20210110, GNU ld (GNU Binutils for Debian) 2.35.2) #1 SMP Debian 5.10.218-1 (2024-06-01)\n"),
            Some(("5.10.0-30-arm64".into(), "#1 SMP Debian 5.10.218-1 (2024-06-01)".into()))
        );
        assert_eq!(
            parse_setup_version("6.12.95+deb12-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1 (2026-07-05)"),
            Some(("6.12.95+deb12-amd64".into(), "#1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1 (2026-07-05)".into()))
        );
        assert_eq!(parse_setup_version("garbage"), None);
        assert_eq!(parse_banner("Linux version 6.1 (x@y) (unbalanced"), None);
    }

    #[test]
    fn images_of_each_kind() {
        // A bzImage: the boot header at 0x202 and the version string it points to.
        let mut bz = vec![0u8; 0x800];
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        bz[0x20e..0x210].copy_from_slice(&0x400u16.to_le_bytes());
        let s = b"6.1.0-13-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)\0";
        bz[0x600..0x600 + s.len()].copy_from_slice(s);
        assert_eq!(
            image_uname(&bz).expect("bzImage"),
            (
                "6.1.0-13-amd64".into(),
                "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)".into()
            )
        );
        // A gzip-compressed arm64 Image.
        let image = b"MZ\0\0Linux version 6.1.0-13-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) # SMP Debian 6.1.55-1 (2023-09-29)\n\0....Linux version 6.1.0-13-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP Debian 6.1.55-1 (2023-09-29)\n\0rest";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, image).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let want = (
            "6.1.0-13-arm64".to_owned(),
            "#1 SMP Debian 6.1.55-1 (2023-09-29)".to_owned(),
        );
        assert_eq!(image_uname(&gz).expect("gzip image"), want);
        // The same in an EFI zboot container.
        let mut zboot = vec![0u8; 0x40];
        zboot[..2].copy_from_slice(b"MZ");
        zboot[4..8].copy_from_slice(b"zimg");
        zboot[8..12].copy_from_slice(&0x40u32.to_le_bytes());
        zboot[12..16].copy_from_slice(&(gz.len() as u32).to_le_bytes());
        zboot[0x18..0x1c].copy_from_slice(b"gzip");
        zboot.extend_from_slice(&gz);
        assert_eq!(image_uname(&zboot).expect("zboot image"), want);
        assert!(image_uname(b"not a kernel")
            .expect_err("garbage")
            .contains("not a kernel image"));
    }
}
