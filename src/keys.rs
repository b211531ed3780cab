//! This installation's keys, kept in the config folder, private to the user (folder `0700`,
//! files `0600`, each written whole): the MAVLink 2 signing key shared with the vehicle
//! (`signing.key`, 64 hex digits), the latest signing timestamp used (`signing.timestamp`),
//! so the next run never signs with an older one, and the Ed25519 key that seals this
//! installation's flights (`flight-seal.key`, PKCS#8, made on first use; its public half is
//! what an auditor needs: `airlock keys export-public`).
//!
//! The key's bytes are never printed and never go anywhere else; what is shown is its
//! fingerprint (the first 8 bytes of the SHA-256 of the key, in hex), enough to tell two
//! ground stations hold the same key.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::capture::seal::SealKey;
use crate::capture::{write_private_atomic, CaptureError};
use crate::protocol::signing::SigningKey;

/// The signing key's file in the key store.
pub const SIGNING_KEY_FILE: &str = "signing.key";
/// The latest signing timestamp used.
pub const SIGNING_STAMP_FILE: &str = "signing.timestamp";
/// The Ed25519 key that seals flights (PKCS#8).
pub const FLIGHT_KEY_FILE: &str = "flight-seal.key";
/// The first word of a public key file.
pub const PUBLIC_KEY_TAG: &str = "airlock-flight-key ed25519";

/// Errors of the key store.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] CaptureError),
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{0}: not a signing key (32 bytes, or 64 hexadecimal digits as `airlock signing export-key` writes)"
    )]
    NotAKey(PathBuf),
    #[error("{0}: not a flight key (this file is made by Airlock; it may be damaged)")]
    NotAFlightKey(PathBuf),
    #[error("cannot make a flight key: {0}")]
    Random(String),
}

/// The keys in a config folder.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    pub fn new(config_dir: &Path) -> Self {
        Self {
            dir: config_dir.to_owned(),
        }
    }

    pub fn signing_key_path(&self) -> PathBuf {
        self.dir.join(SIGNING_KEY_FILE)
    }

    /// The signing key, if one is set.
    pub fn signing_key(&self) -> Result<Option<SigningKey>, KeyError> {
        let path = self.signing_key_path();
        match std::fs::read(&path) {
            Ok(bytes) => parse_key(&bytes).map(Some).ok_or(KeyError::NotAKey(path)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyError::Read { path, source }),
        }
    }

    /// Keeps `key` as the signing key (replacing any other).
    pub fn set_signing_key(&self, key: &SigningKey) -> Result<(), KeyError> {
        crate::capture::create_private_dir(&self.dir)?;
        write_private_atomic(&self.signing_key_path(), key_text(key).as_bytes())?;
        Ok(())
    }

    /// The key that seals this installation's flights, if it was made.
    pub fn existing_flight_key(&self) -> Result<Option<std::sync::Arc<SealKey>>, KeyError> {
        let path = self.dir.join(FLIGHT_KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => SealKey::from_pkcs8(&bytes)
                .map(|key| Some(std::sync::Arc::new(key)))
                .ok_or(KeyError::NotAFlightKey(path)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyError::Read { path, source }),
        }
    }

    /// The key that seals this installation's flights, made (and kept) on first use.
    pub fn flight_key(&self) -> Result<std::sync::Arc<SealKey>, KeyError> {
        let path = self.dir.join(FLIGHT_KEY_FILE);
        if let Some(key) = self.existing_flight_key()? {
            return Ok(key);
        }
        crate::capture::create_private_dir(&self.dir)?;
        let made = SealKey::generate().map_err(KeyError::Random)?;
        // Never over a key another process made meanwhile: then that one is the key.
        let kept = crate::capture::NewFile::create(&path).and_then(|mut file| {
            std::io::Write::write_all(&mut file, &made)
                .map_err(|source| CaptureError::io(&path, source))?;
            file.commit()
        });
        match (self.existing_flight_key()?, kept) {
            (Some(key), _) => Ok(key),
            (None, Err(error)) => Err(error.into()),
            (None, Ok(())) => Err(KeyError::NotAFlightKey(path)),
        }
    }

    /// The latest signing timestamp used (0 if none kept).
    pub fn last_timestamp(&self) -> u64 {
        std::fs::read_to_string(self.dir.join(SIGNING_STAMP_FILE))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Keeps the latest signing timestamp used.
    pub fn store_timestamp(&self, timestamp: u64) -> Result<(), KeyError> {
        crate::capture::create_private_dir(&self.dir)?;
        write_private_atomic(
            &self.dir.join(SIGNING_STAMP_FILE),
            format!("{timestamp}\n").as_bytes(),
        )?;
        Ok(())
    }
}

/// A public key file's text: the tag, the key in hex, its fingerprint.
pub fn public_key_text(public_key: &[u8]) -> String {
    format!(
        "{PUBLIC_KEY_TAG} {} fingerprint {}\n",
        hex::encode(public_key),
        crate::capture::seal::key_fingerprint(public_key)
    )
}

/// Reads a public key: a file `public_key_text` wrote, or the 64 hex digits alone.
pub fn parse_public_key(bytes: &[u8]) -> Option<[u8; 32]> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let text = text.strip_prefix(PUBLIC_KEY_TAG).unwrap_or(text).trim();
    let digits = text.split_whitespace().next()?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(digits, &mut key).ok()?;
    Some(key)
}

/// A key file's text: 64 hex digits and a newline.
pub fn key_text(key: &SigningKey) -> String {
    let mut text: String = key.bytes().iter().map(|b| format!("{b:02x}")).collect();
    text.push('\n');
    text
}

/// Reads a key file: 64 hexadecimal digits (surrounding blanks allowed), or exactly 32 bytes.
pub fn parse_key(bytes: &[u8]) -> Option<SigningKey> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim);
    if let Some(text) = text.filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        return Some(SigningKey::from_bytes(key));
    }
    <[u8; 32]>::try_from(bytes).ok().map(SigningKey::from_bytes)
}

/// A key's fingerprint: the first 8 bytes of its SHA-256, in hex (shows nothing of the key).
pub fn fingerprint(key: &SigningKey) -> String {
    Sha256::digest(key.bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_is_kept_private_and_read_back_in_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(&dir.path().join("config"));
        assert!(store.signing_key().unwrap().is_none());
        let key = SigningKey::from_passphrase("airlock test passphrase");
        store.set_signing_key(&key).unwrap();
        assert_eq!(store.signing_key().unwrap(), Some(key.clone()));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.signing_key_path()), 0o600);
        assert_eq!(mode(&dir.path().join("config")), 0o700);
        // Hex with blanks, and the raw 32 bytes, are the same key; anything else is not one.
        let text = key_text(&key);
        assert_eq!(
            parse_key(format!("  {text}\n").as_bytes()),
            Some(key.clone())
        );
        assert_eq!(parse_key(key.bytes()), Some(key.clone()));
        assert_eq!(parse_key(&text.as_bytes()[..63]), None);
        assert_eq!(parse_key(b"not a key"), None);
        std::fs::write(store.signing_key_path(), b"garbage").unwrap();
        let error = store.signing_key().unwrap_err().to_string();
        assert!(error.contains("not a signing key"), "{error}");
        // The fingerprint is stable and shows nothing of the key.
        assert_eq!(fingerprint(&key).len(), 16);
        assert!(!text.contains(&fingerprint(&key)));
        // Timestamps: 0 until kept.
        assert_eq!(store.last_timestamp(), 0);
        store.store_timestamp(123_456).unwrap();
        assert_eq!(store.last_timestamp(), 123_456);
    }
}
