//! Privacy mode: the setting, the kernel-enforced network seal, the only door to the network
//! (`NetworkPermit`), and the ledger of every network attempt.
//!
//! With privacy on (the default), the process installs a seccomp filter, for all its threads,
//! that makes creating any socket other than a local (`AF_UNIX`) or kernel (`AF_NETLINK`) one
//! fail with `EPERM`, and forbids `io_uring` (which could create sockets behind the filter's
//! back). A seal cannot be lifted inside the process. Code that may use the network must hold a
//! [`NetworkPermit`], which only [`request_permit`] makes, only while privacy is off, and every
//! request is written to the ledger. This module never opens a network connection itself.

pub mod check;
pub mod ledger;
pub mod seal;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use ledger::{LedgerEntry, NetworkLedger};

/// What the operator chose, persisted in the config folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// Privacy mode: on unless the operator turned it off.
    pub privacy: bool,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self { privacy: true }
    }
}

impl PrivacyConfig {
    /// Reads the setting; a missing or unreadable file means privacy on.
    pub fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Saves the setting (private file, written atomically).
    pub fn store(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            crate::capture::create_private_dir(dir).map_err(std::io::Error::other)?;
        }
        let text = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::capture::write_private_atomic(path, &text).map_err(std::io::Error::other)
    }
}

/// Whether the network is sealed off for this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealState {
    /// Privacy on, and the kernel enforces it for every thread.
    Sealed,
    /// Privacy off: network features may ask for permits.
    NetworkAllowed,
    /// Privacy on, but this system could not install the filter: nothing is claimed.
    NotEnforced(String),
}

impl SealState {
    /// The badge's words.
    pub fn badge(&self) -> &'static str {
        match self {
            Self::Sealed => "Privacy: sealed",
            Self::NetworkAllowed => "Network allowed",
            Self::NotEnforced(_) => "Privacy: not enforced on this system",
        }
    }

    /// Whether privacy is on (sealed or trying to be).
    pub fn privacy_on(&self) -> bool {
        !matches!(self, Self::NetworkAllowed)
    }
}

struct Process {
    seal: SealState,
    ledger: Option<NetworkLedger>,
}

static PROCESS: Mutex<Option<Process>> = Mutex::new(None);

fn with_process<T>(f: impl FnOnce(&mut Process) -> T) -> T {
    let mut guard = PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let process = guard.get_or_insert_with(|| Process {
        // Until `init` runs, nothing may use the network.
        seal: SealState::NotEnforced("privacy not initialised".into()),
        ledger: None,
    });
    f(process)
}

/// Sets the process up: call first thing in `main`, before any thread starts. With privacy on
/// it seals the process; `ledger` is where network attempts are written.
pub fn init(privacy_on: bool, ledger: Option<PathBuf>) -> SealState {
    let seal = if privacy_on {
        seal::seal_process()
    } else {
        SealState::NetworkAllowed
    };
    with_process(|process| {
        process.seal = seal.clone();
        process.ledger = ledger.map(NetworkLedger::new);
    });
    seal
}

/// Turns privacy on now: seals every thread of the running process.
pub fn seal_now() -> SealState {
    let seal = seal::seal_process();
    with_process(|process| process.seal = seal.clone());
    seal
}

/// The current state of the seal.
pub fn state() -> SealState {
    with_process(|process| process.seal.clone())
}

/// The ledger file, if one is set.
pub fn ledger_path() -> Option<PathBuf> {
    with_process(|process| {
        process
            .ledger
            .as_ref()
            .map(|ledger| ledger.path().to_owned())
    })
}

/// Proof that privacy was off when a network feature asked to run. Only this module makes one.
#[derive(Debug)]
pub struct NetworkPermit {
    feature: String,
    destination: String,
}

impl NetworkPermit {
    pub fn feature(&self) -> &str {
        &self.feature
    }

    pub fn destination(&self) -> &str {
        &self.destination
    }
}

/// Why a network feature may not run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("privacy mode is on: {feature} to {destination} is blocked (turn privacy off with `airlock privacy off`, or `--privacy off` for one run)")]
pub struct Refused {
    pub feature: String,
    pub destination: String,
}

/// Asks to use the network for `feature` towards `destination`; granted only with privacy off.
/// Every request, granted or not, goes into the ledger.
pub fn request_permit(feature: &str, destination: &str) -> Result<NetworkPermit, Refused> {
    with_process(|process| {
        let allowed = process.seal == SealState::NetworkAllowed;
        if let Some(ledger) = &process.ledger {
            // A ledger that cannot be written must not silently allow: refuse then.
            if ledger.record(feature, destination, allowed).is_err() && allowed {
                return Err(Refused {
                    feature: feature.to_owned(),
                    destination: format!("{destination} (the network ledger cannot be written)"),
                });
            }
        }
        if allowed {
            Ok(NetworkPermit {
                feature: feature.to_owned(),
                destination: destination.to_owned(),
            })
        } else {
            Err(Refused {
                feature: feature.to_owned(),
                destination: destination.to_owned(),
            })
        }
    })
}
