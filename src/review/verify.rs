//! `airlock verify`: whether a flight folder is as its recorder sealed it (see
//! [`crate::capture::seal`] and `docs/flight-integrity.md`).
//!
//! The journal is read entry by entry: each must continue the chain and carry a signature of
//! the trusted key. A last line cut short (the recorder died while writing it) is not an
//! entry. With a manifest (the flight was closed) its signature and chain head are checked
//! and its files are the reference; without one, the journal's last entry is (the flight up
//! to its last durable write). Each file is then compared block by block: the first block
//! whose SHA-256 differs is named, and the very byte when one byte changed in it.

use std::collections::BTreeMap;

use sha2::Digest;
use std::path::{Path, PathBuf};

use crate::capture::seal::{
    self, BlockSum, Entry, Line, Manifest, BLOCK, ENTRY_CONTEXT, GENESIS, JOURNAL_FILE,
    MANIFEST_CONTEXT, MANIFEST_FILE, MANIFEST_SIG_FILE,
};

/// Where a file differs from what was sealed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Place {
    /// Exactly this byte (one byte of its block changed).
    Byte { offset: u64 },
    /// Somewhere in these bytes (more than one changed in the first block that differs).
    Bytes { from: u64, to: u64 },
    /// The file is missing.
    Missing,
}

/// What `verify` finds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every sealed byte is as it was. `closed`: the manifest holds (the recorder closed the
    /// flight); otherwise the journal does, up to `through_us` (the last durable write).
    Intact {
        closed: bool,
        through_us: u64,
        files: Vec<String>,
        /// Bytes after the last durable write of a flight that was not closed (not sealed).
        unsealed_tail: BTreeMap<String, u64>,
        /// Files in the folder the seal does not cover (added after the flight closed).
        not_covered: Vec<String>,
        key: String,
    },
    /// A sealed byte differs.
    Altered {
        file: String,
        place: Place,
        why: String,
    },
    /// A file ends early: everything it holds is as sealed, up to the durable write at
    /// `after_us`.
    Truncated {
        file: String,
        after_us: u64,
        len: u64,
        sealed_len: u64,
    },
    /// There is no seal to check, or it is not the trusted key's.
    NotSigned { why: String },
}

impl Verdict {
    pub fn is_intact(&self) -> bool {
        matches!(self, Self::Intact { .. })
    }

    /// The first word of the report: `intact`, `altered`, `truncated` or `not signed`.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Intact { .. } => "intact",
            Self::Altered { .. } => "altered",
            Self::Truncated { .. } => "truncated",
            Self::NotSigned { .. } => "not signed",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let when = |us: u64| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_micros(us),
            )
        };
        match self {
            Self::Intact {
                closed,
                through_us,
                files,
                unsealed_tail,
                not_covered,
                key,
            } => {
                if *closed {
                    write!(f, "intact: {} files as sealed when the flight closed at {}", files.len(), when(*through_us))?;
                } else {
                    write!(
                        f,
                        "intact up to the last durable write at {} (the recorder did not close the flight): {}",
                        when(*through_us),
                        files.join(", ")
                    )?;
                }
                write!(f, "; signed by key {}", seal::key_fingerprint(&hex::decode(key).unwrap_or_default()))?;
                for (file, bytes) in unsealed_tail {
                    write!(f, "\n  {file}: {bytes} bytes after the last durable write are not sealed")?;
                }
                for file in not_covered {
                    write!(f, "\n  {file}: not covered by the seal (added after the flight closed)")?;
                }
                Ok(())
            }
            Self::Altered { file, place, why } => match place {
                Place::Byte { offset } => write!(f, "altered: {file} byte {offset} differs ({why})"),
                Place::Bytes { from, to } => write!(
                    f,
                    "altered: {file} differs first in bytes {from}..{to} ({why})"
                ),
                Place::Missing => write!(f, "altered: {file} is missing ({why})"),
            },
            Self::Truncated {
                file,
                after_us,
                len,
                sealed_len,
            } => write!(
                f,
                "truncated after {}: {file} holds {len} of its {sealed_len} sealed bytes, all as sealed",
                when(*after_us)
            ),
            Self::NotSigned { why } => write!(f, "not signed: {why}"),
        }
    }
}

/// The sealed state of a file, and its length at each durable write.
#[derive(Debug, Default, Clone)]
struct Sealed {
    len: u64,
    blocks: Vec<BlockSum>,
    sha256: Option<String>,
    /// At each entry: its time, the file's length and the sum of its last block.
    history: Vec<(u64, u64, Option<BlockSum>)>,
}

/// What the journal proves.
struct Journal {
    entries: u64,
    head: [u8; 32],
    last_t: u64,
    files: BTreeMap<String, Sealed>,
}

/// Checks the flight folder `dir` (a file in it names it too) against `public_key` (32 bytes).
pub fn verify(path: &Path, public_key: &[u8]) -> std::io::Result<Verdict> {
    let dir: PathBuf = if path.is_dir() {
        path.to_owned()
    } else {
        path.parent().map(Path::to_owned).unwrap_or_default()
    };
    let journal_bytes = match std::fs::read(dir.join(JOURNAL_FILE)) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(error),
    };
    let manifest_bytes = match std::fs::read(dir.join(MANIFEST_FILE)) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(error),
    };
    let Some(journal_bytes) = journal_bytes else {
        return Ok(Verdict::NotSigned {
            why: match manifest_bytes {
                Some(_) => "the integrity journal is missing".to_owned(),
                None => {
                    "no seal (recorded before sealing, by another program, or imported)".to_owned()
                }
            },
        });
    };
    let journal = match read_journal(&journal_bytes, public_key) {
        Ok(journal) => journal,
        Err(verdict) => return Ok(verdict),
    };
    let (closed, through_us, reference) = match manifest_bytes {
        Some(bytes) => match check_manifest(&dir, &bytes, public_key, &journal) {
            Ok((manifest, files)) => (true, manifest.closed_us, files),
            Err(verdict) => return Ok(verdict),
        },
        None => (false, journal.last_t, journal.files.clone()),
    };
    let mut unsealed_tail = BTreeMap::new();
    for (name, sealed) in &reference {
        let history = journal
            .files
            .get(name)
            .map(|s| s.history.as_slice())
            .unwrap_or_default();
        if let Some(verdict) = compare(&dir, name, sealed, history, closed, &mut unsealed_tail)? {
            return Ok(verdict);
        }
    }
    let not_covered = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !reference.contains_key(name)
                && seal::is_evidence(name)
                && (closed || (name != JOURNAL_FILE && name != crate::capture::META_FILE))
        })
        .collect();
    Ok(Verdict::Intact {
        closed,
        through_us,
        files: reference.keys().cloned().collect(),
        unsealed_tail,
        not_covered,
        key: hex::encode(public_key),
    })
}

/// Reads the journal: its chain and signatures, and the files' state at its end.
fn read_journal(bytes: &[u8], public_key: &[u8]) -> Result<Journal, Verdict> {
    let altered = |offset: usize, why: &str| {
        Err(Verdict::Altered {
            file: JOURNAL_FILE.to_owned(),
            place: Place::Byte {
                offset: offset as u64,
            },
            why: why.to_owned(),
        })
    };
    let mut journal = Journal {
        entries: 0,
        head: GENESIS,
        last_t: 0,
        files: BTreeMap::new(),
    };
    let mut at = 0;
    while at < bytes.len() {
        let Some(end) = bytes[at..].iter().position(|&b| b == b'\n') else {
            // A last line cut short: the recorder died while writing it.
            break;
        };
        let text = &bytes[at..at + end];
        let Ok(line) = serde_json::from_slice::<Line>(text) else {
            return altered(at, "a journal line is not an entry");
        };
        let entry: &Entry = &line.entry;
        if journal.entries == 0 {
            match &entry.key {
                Some(key) if hex::decode(key).is_ok_and(|key| key == public_key) => {}
                Some(key) => {
                    return Err(Verdict::NotSigned {
                        why: format!(
                            "sealed by key {}, not by the key given ({})",
                            seal::key_fingerprint(&hex::decode(key).unwrap_or_default()),
                            seal::key_fingerprint(public_key)
                        ),
                    })
                }
                None => return altered(at, "the first entry names no key"),
            }
        }
        if entry.seq != journal.entries {
            return altered(at, "an entry is out of sequence (one was removed or added)");
        }
        let hash = entry.chain(&journal.head);
        if hex::encode(hash) != line.hash {
            return altered(at, "an entry does not continue the chain");
        }
        let signature = hex::decode(&line.sig).unwrap_or_default();
        if !seal::signature_holds(public_key, ENTRY_CONTEXT, &hash, &signature) {
            return altered(at, "an entry's signature does not hold");
        }
        for (name, state) in &entry.files {
            let sealed = journal.files.entry(name.clone()).or_default();
            let blocks = state.len.div_ceil(BLOCK) as usize;
            sealed.blocks.truncate(blocks);
            for (&index, sum) in &state.blocks {
                let index = index as usize;
                if index >= blocks {
                    return altered(at, "an entry names a block past its file's end");
                }
                // Blocks change from the file's old end on, in order: one past the end at
                // most (so what is kept never outgrows the journal).
                match index.cmp(&sealed.blocks.len()) {
                    std::cmp::Ordering::Less => sealed.blocks[index] = sum.clone(),
                    std::cmp::Ordering::Equal => sealed.blocks.push(sum.clone()),
                    std::cmp::Ordering::Greater => {
                        return altered(at, "an entry leaves blocks of its file unsealed")
                    }
                }
            }
            if sealed.blocks.len() != blocks {
                return altered(at, "an entry leaves blocks of its file unsealed");
            }
            sealed.len = state.len;
            let last = sealed.blocks.last().cloned();
            sealed.history.push((entry.t, state.len, last));
        }
        journal.head = hash;
        journal.last_t = entry.t;
        journal.entries += 1;
        at += end + 1;
    }
    if journal.entries == 0 {
        return Err(Verdict::NotSigned {
            why: "the integrity journal holds no whole entry".to_owned(),
        });
    }
    Ok(journal)
}

/// Checks the manifest against the key and the journal; the files it lists.
fn check_manifest(
    dir: &Path,
    bytes: &[u8],
    public_key: &[u8],
    journal: &Journal,
) -> Result<(Manifest, BTreeMap<String, Sealed>), Verdict> {
    let altered = |why: &str| {
        Err(Verdict::Altered {
            file: MANIFEST_FILE.to_owned(),
            place: Place::Bytes {
                from: 0,
                to: bytes.len() as u64,
            },
            why: why.to_owned(),
        })
    };
    let signature = std::fs::read_to_string(dir.join(MANIFEST_SIG_FILE)).unwrap_or_default();
    let signature = hex::decode(signature.trim()).unwrap_or_default();
    if !seal::signature_holds(public_key, MANIFEST_CONTEXT, bytes, &signature) {
        return altered("its signature does not hold");
    }
    let Ok(manifest) = serde_json::from_slice::<Manifest>(bytes) else {
        return altered("it is not a manifest");
    };
    if manifest.journal_entries != journal.entries
        || manifest.journal_head != hex::encode(journal.head)
    {
        return Err(Verdict::Altered {
            file: JOURNAL_FILE.to_owned(),
            place: Place::Missing,
            why: format!(
                "the manifest sealed {} journal entries, the journal holds {}",
                manifest.journal_entries, journal.entries
            ),
        });
    }
    if let Some(file) = manifest
        .files
        .iter()
        .find(|file| file.blocks.len() as u64 != file.size.div_ceil(BLOCK))
    {
        return altered(&format!(
            "its block list of {} does not fit its size",
            file.name
        ));
    }
    let files = manifest
        .files
        .iter()
        .map(|file| {
            (
                file.name.clone(),
                Sealed {
                    len: file.size,
                    blocks: file.blocks.clone(),
                    sha256: Some(file.sha256.clone()),
                    history: Vec::new(),
                },
            )
        })
        .collect();
    Ok((manifest, files))
}

/// Compares one file with its sealed state; `None` when it is as sealed.
fn compare(
    dir: &Path,
    name: &str,
    sealed: &Sealed,
    history: &[(u64, u64, Option<BlockSum>)],
    closed: bool,
    unsealed_tail: &mut BTreeMap<String, u64>,
) -> std::io::Result<Option<Verdict>> {
    let altered = |place: Place, why: &str| {
        Some(Verdict::Altered {
            file: name.to_owned(),
            place,
            why: why.to_owned(),
        })
    };
    let path = dir.join(name);
    let mut file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(altered(Place::Missing, "it was sealed"));
        }
        Err(error) => return Err(error),
    };
    let len = file.metadata()?.len();
    // Read block by block (a flight may be bigger than memory), in order.
    let mut whole = sha2::Sha256::new();
    let mut buf = vec![0u8; BLOCK as usize];
    for (index, sum) in sealed.blocks.iter().enumerate() {
        let from = index as u64 * BLOCK;
        let to = (from + BLOCK).min(sealed.len);
        if to > len {
            // The file ends inside this block: what it still has is judged below.
            break;
        }
        let block = &mut buf[..(to - from) as usize];
        std::io::Read::read_exact(&mut file, block)?;
        whole.update(&*block);
        let now = BlockSum::of(block);
        if now.sha256 != sum.sha256 {
            return Ok(altered(
                match sum.single_change(&now, to - from) {
                    Some(at) => Place::Byte { offset: from + at },
                    None => Place::Bytes { from, to },
                },
                "its SHA-256 differs from the sealed one",
            ));
        }
    }
    if len < sealed.len {
        // Whole blocks before the cut are as sealed. A truncation leaves the file as it was
        // at an earlier durable write (and maybe some of what followed): the latest one whose
        // last block it still holds, unchanged, is when.
        let fits = history.iter().rev().find(|(_, then_len, last)| {
            let from = then_len.saturating_sub(1) / BLOCK * BLOCK;
            *then_len <= len
                && last.as_ref().is_none_or(|sum| {
                    read_range(&path, from, *then_len)
                        .is_ok_and(|bytes| BlockSum::of(&bytes).sha256 == sum.sha256)
                })
        });
        let cut_block = len / BLOCK * BLOCK;
        return Ok(Some(match fits {
            Some((after_us, _, _)) => Verdict::Truncated {
                file: name.to_owned(),
                after_us: *after_us,
                len,
                sealed_len: sealed.len,
            },
            None => Verdict::Altered {
                file: name.to_owned(),
                place: Place::Bytes {
                    from: cut_block,
                    to: len,
                },
                why: format!(
                    "it is {} bytes shorter than sealed, and what is left of its last block \
                     matches no durable write",
                    sealed.len - len
                ),
            },
        }));
    }
    if len > sealed.len {
        if closed {
            return Ok(altered(
                Place::Byte { offset: sealed.len },
                "bytes were added after its sealed end",
            ));
        }
        unsealed_tail.insert(name.to_owned(), len - sealed.len);
    }
    if let Some(sha256) = &sealed.sha256 {
        if hex::encode(whole.finalize()) != *sha256 {
            return Ok(altered(
                Place::Bytes {
                    from: 0,
                    to: sealed.len,
                },
                "its SHA-256 differs from the manifest's",
            ));
        }
    }
    Ok(None)
}

/// Bytes `from..to` of the file at `path`.
fn read_range(path: &Path, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut file = std::fs::File::open(path)?;
    file.seek(std::io::SeekFrom::Start(from))?;
    let mut bytes = vec![0u8; to.saturating_sub(from) as usize];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}
