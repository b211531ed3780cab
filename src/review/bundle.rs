//! Hand-over bundles: a flight folder, with its seal, in one file — a POSIX tar archive holding
//! `FOLDER/` and its files as they are on disk (but the review index, which is derived) —
//! optionally encrypted with age to the
//! recipients' public keys (`age1…`). Whoever receives it runs `age -d -i KEY FILE | tar -x`
//! (or `tar -xf FILE`) and `airlock verify FOLDER --key RECORDER.pub`.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

/// Errors of a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{0}: a bundle holds a flight folder; this is not a folder")]
    NotAFolder(String),
    #[error("`{0}` is not an age recipient (age1…, or a file of them one a line)")]
    NotARecipient(String),
    #[error("no age recipient in {0}")]
    NoRecipient(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encrypt: {0}")]
    Encrypt(String),
}

/// The recipients `--encrypt-to` names: one `age1…` key, or a file of them (one a line,
/// `#` comments and blank lines skipped, as age's `-R` reads).
pub fn recipients(spec: &str) -> Result<Vec<age::x25519::Recipient>, BundleError> {
    if spec.starts_with("age1") {
        return age::x25519::Recipient::from_str(spec)
            .map(|recipient| vec![recipient])
            .map_err(|_| BundleError::NotARecipient(spec.to_owned()));
    }
    let text = std::fs::read_to_string(spec).map_err(|source| BundleError::Io {
        path: spec.to_owned(),
        source,
    })?;
    let keys: Vec<_> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            age::x25519::Recipient::from_str(line)
                .map_err(|_| BundleError::NotARecipient(line.to_owned()))
        })
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(BundleError::NoRecipient(spec.to_owned()));
    }
    Ok(keys)
}

/// What a bundle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundled {
    pub files: usize,
    pub bytes: u64,
}

/// Writes the bundle of flight folder `dir` to `out`, encrypted to `recipients` when there
/// are any.
pub fn write_bundle<W: Write>(
    dir: &Path,
    recipients: &[age::x25519::Recipient],
    out: W,
) -> Result<Bundled, BundleError> {
    if !dir.is_dir() {
        return Err(BundleError::NotAFolder(dir.display().to_string()));
    }
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| BundleError::Io { path, source }
    };
    let folder = dir
        .canonicalize()
        .map_err(io(dir))?
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "flight".to_owned());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        // The manifest goes in; the review index (derived, rebuilt at will) does not.
        .filter(|name| {
            !name.ends_with(crate::capture::seal::INDEX_ENDING) && !name.ends_with(".partial")
        })
        .collect();
    names.sort();
    if recipients.is_empty() {
        let (bundled, _) = write_tar(dir, &folder, &names, out)?;
        return Ok(bundled);
    }
    let encryptor = age::Encryptor::with_recipients(
        recipients
            .iter()
            .map(|recipient| recipient as &dyn age::Recipient),
    )
    .map_err(|error| BundleError::Encrypt(error.to_string()))?;
    let sealed = encryptor.wrap_output(out).map_err(io(dir))?;
    let (bundled, sealed) = write_tar(dir, &folder, &names, sealed)?;
    sealed.finish().map_err(io(dir))?;
    Ok(bundled)
}

fn write_tar<W: Write>(
    dir: &Path,
    folder: &str,
    names: &[String],
    out: W,
) -> Result<(Bundled, W), BundleError> {
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut bundled = Bundled { files: 0, bytes: 0 };
    for name in names {
        let path = dir.join(name);
        let io = |source| BundleError::Io {
            path: path.display().to_string(),
            source,
        };
        // Streamed: a flight may be bigger than memory.
        let file = std::fs::File::open(&path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut header = tar::Header::new_ustar();
        header.set_size(size);
        header.set_mode(0o600);
        // Exactly the bytes the header counts, should the file grow meanwhile.
        let bytes = std::io::Read::take(file, size);
        tar.append_data(&mut header, format!("{folder}/{name}"), bytes)
            .map_err(io)?;
        bundled.files += 1;
        bundled.bytes += size;
    }
    let out = tar.into_inner().map_err(|source| BundleError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    Ok((bundled, out))
}
