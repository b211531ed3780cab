//! The network ledger: one JSON line per network attempt, in the data folder, never sent
//! anywhere.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// One attempt to use the network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// When, µs since the Unix epoch.
    pub time_us: u64,
    pub feature: String,
    pub destination: String,
    pub allowed: bool,
}

/// The ledger file.
#[derive(Debug, Clone)]
pub struct NetworkLedger {
    path: PathBuf,
}

impl NetworkLedger {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an entry (the file is created private to the user).
    pub fn record(&self, feature: &str, destination: &str, allowed: bool) -> std::io::Result<()> {
        let entry = LedgerEntry {
            time_us: crate::capture::wall_clock_us(),
            feature: feature.to_owned(),
            destination: destination.to_owned(),
            allowed,
        };
        if let Some(dir) = self.path.parent() {
            crate::capture::create_private_dir(dir).map_err(std::io::Error::other)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        let mut line = serde_json::to_vec(&entry).unwrap_or_default();
        line.push(b'\n');
        file.write_all(&line)
    }

    /// Reads every entry; lines that do not parse are skipped.
    pub fn read(&self) -> std::io::Result<Vec<LedgerEntry>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }
}
