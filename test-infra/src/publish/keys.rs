//! minisign keys and signatures, in the formats Debian's `minisign` reads.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use minisign::{KeyPair, PublicKey, SecretKey};

use super::PublishError;
use crate::artifacts::Staged;

/// Where `dbg` looks for the password of an encrypted signing key. Without it keys are stored
/// unencrypted, which suits a CI secret that is itself access-controlled.
pub const PASSWORD_ENV: &str = "DBG_KEY_PASSWORD";

pub const SECRET_KEY_FILE: &str = "dbg.key";
pub const PUBLIC_KEY_FILE: &str = "dbg.pub";

/// The files [`keygen`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub secret: PathBuf,
    pub public: PathBuf,
    /// minisign's key id, as `minisign` prints it (16 uppercase hex digits).
    pub key_id: String,
}

/// The password in [`PASSWORD_ENV`], if set and not empty.
pub fn password_from_env() -> Option<String> {
    std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty())
}

/// Writes a new key pair to `<dir>/dbg.key` (mode 0600; encrypted with scrypt when `password` is given,
/// else unencrypted) and `<dir>/dbg.pub`. Refuses to replace an existing key: a lost key means every
/// published index must be re-signed and every user given the new public key.
pub fn keygen(dir: &Path, password: Option<&str>) -> Result<KeyFiles, PublishError> {
    let secret = dir.join(SECRET_KEY_FILE);
    let public = dir.join(PUBLIC_KEY_FILE);
    for path in [&secret, &public] {
        if path.exists() {
            return Err(PublishError::Key {
                path: path.clone(),
                detail: "already exists; move it away first if you really mean to replace the key"
                    .into(),
            });
        }
    }
    let key_error = |path: &Path| {
        let path = path.to_owned();
        move |e: minisign::PError| PublishError::Key {
            path,
            detail: e.to_string(),
        }
    };
    let pair = match password {
        Some(p) => KeyPair::generate_encrypted_keypair(Some(p.to_owned())),
        None => KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(key_error(&secret))?;
    let key_id = key_id(pair.pk.keynum());
    let comment = format!("dbg signing key {key_id}");
    let secret_box = pair.sk.to_box(Some(&comment)).map_err(key_error(&secret))?;
    let public_box = pair.pk.to_box().map_err(key_error(&public))?;
    write_new(&secret, &secret_box.to_bytes(), 0o600)?;
    write_new(&public, &public_box.to_bytes(), 0o644)?;
    Ok(KeyFiles {
        secret,
        public,
        key_id,
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PublishError> {
    let io = PublishError::io(path);
    let mut staged = Staged::new(path, mode).map_err(io)?;
    staged
        .writer()
        .write_all(bytes)
        .map_err(PublishError::io(path))?;
    staged.commit().map_err(PublishError::io(path))
}

/// minisign's way of printing a key id: the 8 bytes as a little-endian number in hex.
fn key_id(keynum: &[u8]) -> String {
    keynum.iter().rev().map(|b| format!("{b:02X}")).collect()
}

/// Reads a secret key written by [`keygen`] or `minisign -G` (with `-W` when unencrypted).
pub fn load_secret_key(path: &Path, password: Option<&str>) -> Result<SecretKey, PublishError> {
    let text = std::fs::read_to_string(path).map_err(PublishError::io(path))?;
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(key = %path.display(), "the signing key is readable by other users: chmod 600 it");
            }
        }
    }
    let boxed = minisign::SecretKeyBox::from_string(&text).map_err(|e| PublishError::Key {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let loaded = match password {
        Some(p) => SecretKey::from_box(boxed, Some(p.to_owned())),
        None => {
            SecretKey::from_unencrypted_box(boxed).or_else(|e| unchecksummed_key(&text).ok_or(e))
        }
    };
    loaded.map_err(|e| PublishError::Key {
        path: path.to_owned(),
        detail: match password {
            None => format!("{e}; if the key is password-protected, set {PASSWORD_ENV}"),
            Some(_) => format!("{e}; check {PASSWORD_ENV}"),
        },
    })
}

/// Debian's `minisign` 0.11 writes unencrypted keys (`-G -W`) with an all-zero checksum, which the
/// crate takes for corruption. Such a key is accepted here; [`sign`] checks every signature it makes
/// against the public half of the key, so a damaged key still cannot sign.
fn unchecksummed_key(text: &str) -> Option<SecretKey> {
    use base64::Engine;
    const KDF_ALG: std::ops::Range<usize> = 2..4;
    const CHECKSUM_BYTES: usize = 32;
    let encoded = text.lines().nth(1)?.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let unencrypted = bytes.get(KDF_ALG)? == [0, 0];
    let no_checksum = bytes.len() > CHECKSUM_BYTES
        && bytes[bytes.len() - CHECKSUM_BYTES..]
            .iter()
            .all(|&b| b == 0);
    if !(unencrypted && no_checksum) {
        return None;
    }
    SecretKey::from_bytes(&bytes).ok()
}

/// Reads a public key box (`dbg.pub`, or `minisign -G`'s `minisign.pub`).
pub fn load_public_key(path: &Path) -> Result<PublicKey, minisign::PError> {
    PublicKey::from_file(path)
}

/// The `.minisig` text for `data`: prehashed (minisign's default since 0.8), with a trusted comment
/// naming the file, as `minisign -S` writes it.
pub(crate) fn sign(key: &SecretKey, data: &[u8], file_name: &str) -> Result<String, PublishError> {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let trusted = format!("timestamp:{timestamp}\tfile:{file_name}\thashed");
    let untrusted = format!("signature from dbg secret key {}", key_id(key.keynum()));
    let public = PublicKey::from_secret_key(key).map_err(|e| PublishError::Sign(e.to_string()))?;
    let signature = minisign::sign(
        Some(&public),
        key,
        Cursor::new(data),
        Some(&trusted),
        Some(&untrusted),
    )
    .map_err(|e| PublishError::Sign(e.to_string()))?;
    Ok(signature.into_string())
}

/// Checks `signature` (a `.minisig` text) over `data`; the trusted comment when it holds.
pub(crate) use driver_index::index::check_signature as check;
