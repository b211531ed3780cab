//! Stored flights read back: opening a flight folder or any `.tlog`, summaries, exports.
//!
//! It reads through the same framer and decoder as the live session and never writes into a
//! flight except to rebuild the metadata of one whose recorder died.

pub mod bundle;
pub mod csv;
pub mod export;
pub mod frames;
pub mod index;
pub mod library;
pub mod open;
pub mod player;
pub mod plot;
pub mod replay;
pub mod summary;
pub mod tlog;
pub mod track;
pub mod verify;
pub mod walk;

pub use open::{open, Opened, StoredKind};
pub use summary::{summarize, Summary};

/// Errors reading a stored flight.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Capture(#[from] crate::capture::CaptureError),
    #[error("{path}: no MAVLink frames found: this is not a telemetry log")]
    NoFrames { path: std::path::PathBuf },
    #[error("{path}: not a flight folder (it holds neither {raw} nor {tlog})", raw = crate::capture::RAW_FILE, tlog = crate::capture::TLOG_FILE)]
    NotAFlight { path: std::path::PathBuf },
}
