//! Tamper evidence for a flight folder: a signed hash chain while recording, a signed
//! manifest at the end. Specified in `docs/flight-integrity.md`; checked by
//! [`crate::review::verify`], or by anyone with the public key and that document.
//!
//! Every file is cut into blocks of [`BLOCK`] bytes, each summed by its SHA-256 and three
//! position-weighted sums modulo the prime 2⁶¹−1 ([`BlockSum`]): the SHA-256 says whether a
//! block changed, the sums say where when one byte did (two "syndromes" of a single error
//! give its position, the third checks the answer).
//!
//! While recording, each durable write (the files' `fsync`, once a second) appends one entry
//! to the journal `integrity.jsonl`: the files' lengths and the sums of the blocks that
//! changed, chained to the previous entry by SHA-256 and signed with this installation's
//! Ed25519 key. A recorder that dies leaves a journal that still proves the flight up to its
//! last durable write. On close, `manifest.json` lists every file of the folder (size,
//! SHA-256, block sums) with the journal's last hash, and `manifest.sig` signs it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ring::signature::{Ed25519KeyPair, KeyPair};
use sha2::{Digest, Sha256};

use super::{write_private_atomic, CaptureError};

/// Block size of the sums.
pub const BLOCK: u64 = 64 * 1024;
/// The journal, one signed entry per durable write.
pub const JOURNAL_FILE: &str = "integrity.jsonl";
/// The manifest written on close.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Its signature (hex, one line).
pub const MANIFEST_SIG_FILE: &str = "manifest.sig";
/// What a journal entry's signature covers: this, then its 32-byte chain hash.
pub const ENTRY_CONTEXT: &[u8] = b"airlock flight journal v1\n";
/// What the manifest's signature covers: this, then the bytes of `manifest.json`.
pub const MANIFEST_CONTEXT: &[u8] = b"airlock flight manifest v1\n";
/// The chain hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];
/// The modulus of the position sums: the Mersenne prime 2⁶¹−1.
pub const PRIME: u64 = (1 << 61) - 1;
/// The ending of the review index kept beside a log (`flight.tlog.alidx`).
pub const INDEX_ENDING: &str = ".alidx";

/// Whether a file of a flight folder is evidence the seal covers: not the seal's own manifest,
/// not a temporary file, not the review index (made from the log when it is first reviewed,
/// rebuilt at will; it proves nothing and changes nothing).
pub fn is_evidence(name: &str) -> bool {
    name != MANIFEST_FILE
        && name != MANIFEST_SIG_FILE
        && !name.ends_with(".tmp")
        && !name.ends_with(".partial")
        && !name.ends_with(INDEX_ENDING)
}

/// This installation's Ed25519 key that signs its flights.
pub struct SealKey(Ed25519KeyPair);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealKey({})", key_fingerprint(self.public()))
    }
}

impl SealKey {
    /// A new key, as PKCS#8 bytes to keep.
    pub fn generate() -> Result<Vec<u8>, String> {
        let random = ring::rand::SystemRandom::new();
        Ed25519KeyPair::generate_pkcs8(&random)
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| "the system's random source failed".to_owned())
    }

    pub fn from_pkcs8(bytes: &[u8]) -> Option<Self> {
        Ed25519KeyPair::from_pkcs8(bytes).ok().map(Self)
    }

    /// The 32-byte public key.
    pub fn public(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }

    pub fn sign(&self, context: &[u8], message: &[u8]) -> Vec<u8> {
        let mut signed = context.to_vec();
        signed.extend_from_slice(message);
        self.0.sign(&signed).as_ref().to_vec()
    }
}

/// Whether `signature` is `public_key`'s signature of `context` then `message`.
pub fn signature_holds(
    public_key: &[u8],
    context: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    let mut signed = context.to_vec();
    signed.extend_from_slice(message);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
        .verify(&signed, signature)
        .is_ok()
}

/// A public key's fingerprint: the first 8 bytes of its SHA-256, in hex.
pub fn key_fingerprint(public_key: &[u8]) -> String {
    hex::encode(&Sha256::digest(public_key)[..8])
}

/// What stands for one block of a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlockSum {
    /// SHA-256 of the block, hex.
    pub sha256: String,
    /// Σ bᵢ, Σ i·bᵢ, Σ i²·bᵢ (i from 1) modulo [`PRIME`].
    pub sums: [u64; 3],
}

fn mul_mod(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(PRIME)) as u64
}

fn pow_mod(mut base: u64, mut exp: u64) -> u64 {
    let mut result = 1;
    while exp > 0 {
        if exp & 1 == 1 {
            result = mul_mod(result, base);
        }
        base = mul_mod(base, base);
        exp >>= 1;
    }
    result
}

impl BlockSum {
    pub fn of(bytes: &[u8]) -> Self {
        // Within a block of 2¹⁶ bytes the sums stay below 2²⁴, 2⁴⁰ and 2⁵⁶: no reduction is
        // needed on the way.
        debug_assert!(bytes.len() as u64 <= BLOCK);
        let mut sums = [0u64; 3];
        for (i, &byte) in bytes.iter().enumerate() {
            let position = i as u64 + 1;
            let byte = u64::from(byte);
            sums[0] += byte;
            sums[1] += position * byte;
            sums[2] += position * position * byte;
        }
        let sums = sums.map(|sum| sum % PRIME);
        Self {
            sha256: hex::encode(Sha256::digest(bytes)),
            sums,
        }
    }

    /// Where in the block (from 0) the one byte that differs between the block this sums and
    /// one that sums to `now` lies, when exactly one byte of a block of `len` bytes changed.
    pub fn single_change(&self, now: &Self, len: u64) -> Option<u64> {
        let delta = |k: usize| (now.sums[k] + PRIME - self.sums[k]) % PRIME;
        let (d0, d1, d2) = (delta(0), delta(1), delta(2));
        if d0 == 0 {
            return None;
        }
        let position = mul_mod(d1, pow_mod(d0, PRIME - 2));
        (position >= 1 && position <= len && mul_mod(position, d1) == d2).then(|| position - 1)
    }
}

/// A file's length and the sums of (some of) its blocks, by block index.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileState {
    pub len: u64,
    pub blocks: BTreeMap<u64, BlockSum>,
}

/// One journal entry, as its chain hash covers it (its compact JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// Wall clock, µs since the Unix epoch.
    pub t: u64,
    /// The files' state now: their length and the blocks that changed since the last entry.
    pub files: BTreeMap<String, FileState>,
    /// The signer's public key (hex), in the first entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Entry {
    /// The chain hash after this entry: SHA-256(previous hash ‖ the entry's compact JSON).
    pub fn chain(&self, previous: &[u8; 32]) -> [u8; 32] {
        let body = serde_json::to_vec(self).unwrap_or_default();
        Sha256::new()
            .chain_update(previous)
            .chain_update(&body)
            .finalize()
            .into()
    }
}

/// A journal line: the entry, its chain hash and the signature of that hash (hex).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub entry: Entry,
    pub hash: String,
    pub sig: String,
}

/// A file as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub blocks: Vec<BlockSum>,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// When the flight was closed (µs since the Unix epoch).
    pub closed_us: u64,
    /// The journal's entries and last chain hash (hex).
    pub journal_entries: u64,
    pub journal_head: String,
    /// The signer's public key, hex.
    pub key: String,
    pub files: Vec<ManifestFile>,
}

/// A file's size, SHA-256 (hex) and block sums, read a block at a time (a flight may be
/// bigger than memory).
pub fn sum_file(path: &Path) -> std::io::Result<(u64, String, Vec<BlockSum>)> {
    let mut file = File::open(path)?;
    let mut whole = Sha256::new();
    let mut blocks = Vec::new();
    let mut size = 0;
    let mut buf = vec![0u8; BLOCK as usize];
    loop {
        // A whole block, or what is left.
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        if filled == 0 {
            break;
        }
        whole.update(&buf[..filled]);
        blocks.push(BlockSum::of(&buf[..filled]));
        size += filled as u64;
        if filled < buf.len() {
            break;
        }
    }
    Ok((size, hex::encode(whole.finalize()), blocks))
}

/// A file the journal follows while it grows.
#[derive(Debug)]
struct Followed {
    name: String,
    path: PathBuf,
    sums: Vec<BlockSum>,
    len: u64,
}

/// Extends a flight's journal at each durable write, and writes its manifest on close.
#[derive(Debug)]
pub struct Seal {
    dir: PathBuf,
    key: std::sync::Arc<SealKey>,
    journal: File,
    journal_len: u64,
    head: [u8; 32],
    seq: u64,
    followed: Vec<Followed>,
}

impl Seal {
    /// Starts the journal of the flight in `dir`, following `files` (names in `dir`).
    pub fn create(
        dir: &Path,
        files: &[&str],
        key: std::sync::Arc<SealKey>,
    ) -> Result<Self, CaptureError> {
        let path = dir.join(JOURNAL_FILE);
        let journal = super::create_private_file(&path)?;
        Ok(Self {
            dir: dir.to_owned(),
            key,
            journal,
            journal_len: 0,
            head: GENESIS,
            seq: 0,
            followed: files
                .iter()
                .map(|name| Followed {
                    name: (*name).to_owned(),
                    path: dir.join(name),
                    sums: Vec::new(),
                    len: 0,
                })
                .collect(),
        })
    }

    /// After a durable write: one entry for what the files hold now, signed, on disk. On an
    /// error the journal is cut back to its last whole entry, and the next call covers
    /// everything since.
    pub fn extend(&mut self, wall_us: u64) -> std::io::Result<()> {
        let mut files = BTreeMap::new();
        let mut sums_now = Vec::with_capacity(self.followed.len());
        for file in &self.followed {
            let (state, sums) = changes(file)?;
            files.insert(file.name.clone(), state);
            sums_now.push(sums);
        }
        let entry = Entry {
            seq: self.seq,
            t: wall_us,
            files,
            key: (self.seq == 0).then(|| hex::encode(self.key.public())),
        };
        let hash = entry.chain(&self.head);
        let line = Line {
            sig: hex::encode(self.key.sign(ENTRY_CONTEXT, &hash)),
            hash: hex::encode(hash),
            entry,
        };
        let mut text = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let written = self
            .journal
            .write_all(&text)
            .and_then(|()| self.journal.sync_data());
        if let Err(error) = written {
            let _ = self.journal.set_len(self.journal_len);
            let _ = self.journal.seek(SeekFrom::Start(self.journal_len));
            return Err(error);
        }
        self.journal_len += text.len() as u64;
        self.head = hash;
        self.seq += 1;
        for (file, (len, sums)) in self.followed.iter_mut().zip(sums_now) {
            file.len = len;
            file.sums = sums;
        }
        Ok(())
    }

    /// Writes the signed manifest of every file the seal covers ([`is_evidence`]). The
    /// journal's last entry is the flight's last durable write (the recorder syncs, which
    /// extends the journal, before it closes the seal).
    pub fn close(self, wall_us: u64) -> Result<(), CaptureError> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(|source| CaptureError::io(&self.dir, source))?
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| is_evidence(name))
            .collect();
        names.sort();
        let mut files = Vec::with_capacity(names.len());
        for name in names {
            let path = self.dir.join(&name);
            let (size, sha256, blocks) =
                sum_file(&path).map_err(|source| CaptureError::io(&path, source))?;
            files.push(ManifestFile {
                size,
                sha256,
                blocks,
                name,
            });
        }
        let manifest = Manifest {
            format: 1,
            closed_us: wall_us,
            journal_entries: self.seq,
            journal_head: hex::encode(self.head),
            key: hex::encode(self.key.public()),
            files,
        };
        let mut text = serde_json::to_vec_pretty(&manifest)
            .map_err(|error| CaptureError::io(&self.dir, std::io::Error::other(error)))?;
        text.push(b'\n');
        write_private_atomic(&self.dir.join(MANIFEST_FILE), &text)?;
        let signature = hex::encode(self.key.sign(MANIFEST_CONTEXT, &text)) + "\n";
        write_private_atomic(&self.dir.join(MANIFEST_SIG_FILE), signature.as_bytes())
    }
}

/// A followed file's state now: its length and the sums of the blocks that changed (from the
/// block where it last ended); and all its block sums.
fn changes(file: &Followed) -> std::io::Result<(FileState, (u64, Vec<BlockSum>))> {
    let mut handle = match File::open(&file.path) {
        Ok(handle) => handle,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok((FileState::default(), (0, Vec::new())));
        }
        Err(error) => return Err(error),
    };
    let len = handle.metadata()?.len();
    let first = (file.len.min(len) / BLOCK) as usize;
    handle.seek(SeekFrom::Start(first as u64 * BLOCK))?;
    let mut tail = Vec::new();
    handle
        .take(len - first as u64 * BLOCK)
        .read_to_end(&mut tail)?;
    let mut sums: Vec<BlockSum> = file.sums[..first.min(file.sums.len())].to_vec();
    let mut blocks = BTreeMap::new();
    for (i, chunk) in tail.chunks(BLOCK as usize).enumerate() {
        let sum = BlockSum::of(chunk);
        let index = first + i;
        if file.sums.get(index) != Some(&sum) {
            blocks.insert(index as u64, sum.clone());
        }
        sums.push(sum);
    }
    Ok((FileState { len, blocks }, (len, sums)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_byte_is_located_and_more_are_not_mistaken_for_one() {
        let block: Vec<u8> = (0..BLOCK).map(|i| (i * 7 % 251) as u8).collect();
        let before = BlockSum::of(&block);
        for at in [0usize, 1, 4097, BLOCK as usize - 1] {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut after = block.clone();
                after[at] ^= flip;
                let now = BlockSum::of(&after);
                assert_ne!(before.sha256, now.sha256);
                assert_eq!(before.single_change(&now, BLOCK), Some(at as u64));
            }
        }
        let mut two = block.clone();
        two[10] ^= 1;
        two[20] ^= 2;
        assert_eq!(before.single_change(&BlockSum::of(&two), BLOCK), None);
        assert_eq!(before.single_change(&before, BLOCK), None);
    }

    #[test]
    fn signatures_hold_for_their_key_only() {
        let key = SealKey::from_pkcs8(&SealKey::generate().unwrap()).unwrap();
        let other = SealKey::from_pkcs8(&SealKey::generate().unwrap()).unwrap();
        let signature = key.sign(ENTRY_CONTEXT, b"abc");
        assert!(signature_holds(
            key.public(),
            ENTRY_CONTEXT,
            b"abc",
            &signature
        ));
        assert!(!signature_holds(
            key.public(),
            ENTRY_CONTEXT,
            b"abd",
            &signature
        ));
        assert!(!signature_holds(
            key.public(),
            MANIFEST_CONTEXT,
            b"abc",
            &signature
        ));
        assert!(!signature_holds(
            other.public(),
            ENTRY_CONTEXT,
            b"abc",
            &signature
        ));
    }
}
