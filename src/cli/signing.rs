//! `airlock signing`: the MAVLink 2 signing key this ground station shares with its vehicles —
//! set it from a passphrase or a key file, export it for a backup, see whether one is set. The
//! key itself is never printed: its fingerprint is.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::keys::{self, KeyStore};
use crate::protocol::signing::SigningKey;

/// What `airlock signing` does.
#[derive(Debug, Subcommand)]
pub enum SigningAction {
    /// Whether a signing key is set, and its fingerprint (never the key).
    Status,
    /// Set the key from a passphrase read from standard input (not echoed on a terminal), made
    /// as Mission Planner and MAVProxy make it (its SHA-256), so theirs and Airlock's match.
    SetPassphrase,
    /// Set the key from a key file: 64 hexadecimal digits, or 32 bytes.
    ImportKey { file: PathBuf },
    /// Write the key to a new file (0600, never over a file), as 64 hexadecimal digits: a
    /// backup, or the key for another ground station. Whoever holds it can command the vehicle.
    ExportKey { file: PathBuf },
}

pub fn run(action: &SigningAction) -> anyhow::Result<()> {
    let store = KeyStore::new(&super::config_dir()?);
    match action {
        SigningAction::Status => match store.signing_key()? {
            Some(key) => println!(
                "signing key: set (fingerprint {}) in {}",
                keys::fingerprint(&key),
                store.signing_key_path().display()
            ),
            None => {
                println!("signing key: none (airlock signing set-passphrase, or import-key FILE)")
            }
        },
        SigningAction::SetPassphrase => {
            let passphrase = read_passphrase()?;
            set(
                &store,
                &SigningKey::from_passphrase(&passphrase),
                "the passphrase",
            )?;
        }
        SigningAction::ImportKey { file } => {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let key =
                keys::parse_key(&bytes).ok_or_else(|| keys::KeyError::NotAKey(file.clone()))?;
            set(&store, &key, &file.display().to_string())?;
        }
        SigningAction::ExportKey { file } => {
            let Some(key) = store.signing_key()? else {
                bail!("no signing key to export (airlock signing set-passphrase)");
            };
            super::write_new_file(file, keys::key_text(&key).as_bytes())?;
            eprintln!(
                "wrote the signing key (fingerprint {}) to {}: keep it as safe as the vehicle",
                keys::fingerprint(&key),
                file.display()
            );
        }
    }
    Ok(())
}

fn set(store: &KeyStore, key: &SigningKey, from: &str) -> anyhow::Result<()> {
    store.set_signing_key(key)?;
    eprintln!(
        "signing key set from {from} (fingerprint {}); the vehicle must hold the same key",
        keys::fingerprint(key)
    );
    Ok(())
}

/// One line from standard input, without echo when it is a terminal.
fn read_passphrase() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let echo = terminal.then(|| {
        eprint!("passphrase: ");
        let _ = std::io::stderr().flush();
        set_echo(false)
    });
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(Some(saved)) = echo {
        restore_echo(&saved);
        eprintln!();
    }
    read.context("cannot read the passphrase")?;
    let passphrase = line.trim_end_matches(['\n', '\r']);
    if passphrase.is_empty() {
        bail!("an empty passphrase is not a key");
    }
    Ok(passphrase.to_owned())
}

/// Turns the terminal's echo off; returns its settings to restore.
fn set_echo(on: bool) -> Option<libc::termios> {
    // SAFETY: tcgetattr/tcsetattr on standard input with a zeroed, then filled, termios.
    unsafe {
        let mut saved: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
            return None;
        }
        let mut changed = saved;
        if on {
            changed.c_lflag |= libc::ECHO;
        } else {
            changed.c_lflag &= !libc::ECHO;
        }
        (libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &changed) == 0).then_some(saved)
    }
}

fn restore_echo(saved: &libc::termios) {
    // SAFETY: puts back settings tcgetattr gave.
    unsafe {
        libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
    }
}
