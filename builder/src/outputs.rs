//! Build outputs: checked (a module's vermagic must name the kernel it was built for), then written
//! where the config says through a temporary file, with a `sha256sum`-style `.sha256` beside each.

use std::path::{Path, PathBuf};

use crate::headers::{hex, sha256_file};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("the module was built for `{found}`, not for kernel {expected}: the headers do not match the kernelrelease (check kernelurls)")]
    WrongKernel { expected: String, found: String },
    #[error("{0} has no vermagic: it is not a kernel module")]
    NoVermagic(PathBuf),
    #[error("the build finished without producing {0}")]
    Missing(String),
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The `vermagic=` string of a kernel module: `6.1.0-47-amd64 SMP preempt mod_unload modversions`.
pub fn vermagic(module: &[u8]) -> Option<String> {
    let key = b"vermagic=";
    let at = module.windows(key.len()).position(|w| w == key)? + key.len();
    let end = module[at..].iter().position(|&b| b == 0)? + at;
    Some(String::from_utf8_lossy(&module[at..end]).into_owned())
}

/// Checks that `module` was built for one of `releases` (its vermagic starts with the release).
pub fn check_vermagic(module: &Path, releases: &[&str]) -> Result<String, OutputError> {
    let bytes = std::fs::read(module).map_err(|source| OutputError::Write { path: module.to_owned(), source })?;
    let magic = vermagic(&bytes).ok_or_else(|| OutputError::NoVermagic(module.to_owned()))?;
    let built_for = magic.split_whitespace().next().unwrap_or_default();
    if releases.contains(&built_for) {
        Ok(magic)
    } else {
        Err(OutputError::WrongKernel {
            expected: releases.join(" or "),
            found: built_for.to_owned(),
        })
    }
}

/// Removes an earlier build's output and checksum, so that a failed build leaves nothing that looks
/// like its result.
pub fn clear(dest: &Path) {
    for path in [dest.to_path_buf(), checksum_path(dest)] {
        if path.exists() {
            tracing::info!(path = %path.display(), "removing the previous output");
            let _ = std::fs::remove_file(path);
        }
    }
}

pub fn checksum_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    dest.with_file_name(name)
}

/// Moves a finished file to `dest` (creating its directory) and writes `dest.sha256`. Returns the digest.
pub fn install(built: &Path, dest: &Path) -> Result<String, OutputError> {
    let write = |path: &Path| {
        let path = path.to_owned();
        move |source| OutputError::Write { path, source }
    };
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write(dir))?;
    }
    let digest = sha256_file(built).map_err(write(built))?;
    let staging = dest.with_file_name(format!(
        ".{}.partial",
        dest.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::copy(built, &staging).map_err(write(&staging))?;
    std::fs::rename(&staging, dest).map_err(write(dest))?;
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    std::fs::write(checksum_path(dest), format!("{digest}  {name}\n")).map_err(write(&checksum_path(dest)))?;
    Ok(digest)
}

/// The sha256 of bytes, hex.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vermagic_is_read_from_modinfo() {
        let module = b"\x7fELF....license=GPL\0vermagic=6.1.0-47-amd64 SMP preempt mod_unload modversions \0name=scap\0";
        assert_eq!(
            vermagic(module).as_deref(),
            Some("6.1.0-47-amd64 SMP preempt mod_unload modversions ")
        );
        assert_eq!(vermagic(b"no magic here"), None);
    }

    #[test]
    fn a_module_for_another_kernel_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let ko = dir.path().join("scap.ko");
        std::fs::write(&ko, b"vermagic=6.1.0-56-amd64 SMP mod_unload \0").expect("write");
        let err = check_vermagic(&ko, &["6.1.0-47-amd64"]).expect_err("wrong kernel").to_string();
        assert!(err.contains("`6.1.0-56-amd64`") && err.contains("6.1.0-47-amd64"), "{err}");
        check_vermagic(&ko, &["6.1.0-56-amd64"]).expect("right kernel");
    }

    #[test]
    fn installed_outputs_carry_a_checksum_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let built = dir.path().join("built.ko");
        std::fs::write(&built, b"module").expect("write");
        let dest = dir.path().join("out/nested/scap.ko");
        let digest = install(&built, &dest).expect("installed");
        assert_eq!(std::fs::read(&dest).expect("dest"), b"module");
        assert_eq!(
            std::fs::read_to_string(checksum_path(&dest)).expect("sum"),
            format!("{digest}  scap.ko\n")
        );
        assert_eq!(digest, super::digest(b"module"));
        clear(&dest);
        assert!(!dest.exists() && !checksum_path(&dest).exists());
    }
}
