//! `airlock signing`: the MAVLink 2 signing key this ground station shares with its vehicles —
//! set it from a passphrase or a key file, export it for a backup, see whether one is set,
//! install it on a vehicle or turn the vehicle's signing off. The key itself is never printed:
//! its fingerprint is.
//!
//! SETUP_SIGNING carries the key in clear, so it goes only over a wired link, after the
//! operator confirms a text that says how to recover. ArduPilot always accepts unsigned frames
//! on its first MAVLink port (SERIAL0, the USB port on a flight controller): that is the way
//! back in when the key is lost, and why signing protects the other ports (the radios).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;

use super::{Cli, LinkArgs};
use crate::keys::{self, KeyStore};
use crate::protocol::services::Action;
use crate::protocol::signing::{timestamp_of_wall, SigningKey};

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
    /// Give the vehicle this key (SETUP_SIGNING) over a wired link, after a confirmation; it
    /// then signs what it sends and obeys only signed frames on its other ports.
    Install {
        #[command(flatten)]
        link: LinkArgs,
        #[command(flatten)]
        wired: WiredArgs,
    },
    /// Turn the vehicle's signing off (SETUP_SIGNING with a zero key) over a wired link,
    /// after a confirmation.
    Remove {
        #[command(flatten)]
        link: LinkArgs,
        #[command(flatten)]
        wired: WiredArgs,
    },
}

/// How `install` and `remove` are made sure of.
#[derive(Debug, clap::Args)]
pub struct WiredArgs {
    /// The port is a cable to the autopilot although not a USB CDC device (ttyACM): a
    /// USB-serial adapter wired to it, or a simulator's pseudo-terminal. Never a radio.
    #[arg(long)]
    pub wired: bool,
    /// Do not ask: the confirmation was read (for scripts).
    #[arg(long)]
    pub yes: bool,
}

pub fn run(cli: &Cli, action: &SigningAction) -> anyhow::Result<()> {
    let store = KeyStore::new(&super::config_dir()?);
    match action {
        SigningAction::Install { link, wired } => install(cli, &store, link, wired, true)?,
        SigningAction::Remove { link, wired } => install(cli, &store, link, wired, false)?,
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

/// Installs the key on the vehicle (`on`) or turns its signing off.
fn install(
    cli: &Cli,
    store: &KeyStore,
    link: &LinkArgs,
    wired: &WiredArgs,
    on: bool,
) -> anyhow::Result<()> {
    let key = store.signing_key()?;
    let fingerprint = match (&key, on) {
        (Some(key), _) => keys::fingerprint(key),
        (None, true) => bail!("no signing key to install (airlock signing set-passphrase)"),
        (None, false) => "none".to_owned(),
    };
    let how = wired_link(&link.port, wired.wired)?;
    let word = if on { "install" } else { "remove" };
    eprintln!("{}", confirmation(&link.port, &how, &fingerprint, on));
    if !wired.yes {
        eprint!("Type `{word}` to go on: ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the confirmation")?;
        if line.trim() != word {
            bail!("not confirmed: nothing was sent");
        }
    }
    let now_us = crate::capture::wall_clock_us();
    let action = if on {
        Action::InstallSigning {
            initial_timestamp: timestamp_of_wall(now_us).max(store.last_timestamp() + 1),
        }
    } else {
        Action::RemoveSigning
    };
    super::with_session(
        cli,
        link,
        |config| {
            config.ask_telemetry = false;
            // A vehicle that stops signing is seen by its unsigned heartbeat, and one that
            // signs with another key is heard at all only so: frames are not checked for a
            // removal. (Without a key of its own Airlock can still turn a vehicle's signing
            // off over USB, where ArduPilot takes unsigned frames.)
            if let Some(setup) = &mut config.signing {
                setup.verify = on;
            }
        },
        |runner| {
            runner.wait_for_vehicle()?;
            let started = std::time::Instant::now();
            let (outcome, _) = runner.request_collecting(action)?;
            if !outcome.is_accepted() {
                bail!("{word} signing: {outcome}");
            }
            let seconds = started.elapsed().as_secs_f64();
            if on {
                runner.say(&format!(
                    "signing installed (fingerprint {fingerprint}): the vehicle's heartbeat came \
                     signed {seconds:.1} s after the key was sent"
                ));
            } else {
                runner.say(&format!(
                    "signing turned off: the vehicle's heartbeat came unsigned {seconds:.1} s \
                     after the request"
                ));
            }
            Ok(())
        },
    )
}

/// Why `port` may carry the key in clear, or why not.
fn wired_link(port: &str, said_wired: bool) -> anyhow::Result<String> {
    if crate::link::net::NetSpec::parse(port).is_some() {
        bail!("{port} is a network link: SETUP_SIGNING carries the key in clear, so it goes over a cable only");
    }
    let resolved = std::fs::canonicalize(port).with_context(|| format!("cannot open {port}"))?;
    let name = resolved
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with("ttyACM") {
        return Ok(format!(
            "{} is a USB CDC device: the autopilot's own USB port",
            resolved.display()
        ));
    }
    if said_wired {
        return Ok(format!(
            "{} is a cable, as --wired says",
            resolved.display()
        ));
    }
    bail!(
        "{port} ({}) is not known to be a cable: a telemetry radio (often ttyUSB*) would send \
         the key over the air in clear. Connect the autopilot's USB port (ttyACM*), or, if this \
         is a cable (a USB-serial adapter wired to the autopilot, a simulator's pseudo-terminal), \
         say so with --wired",
        resolved.display()
    )
}

/// What the operator reads before the key goes to the vehicle (or signing is turned off).
fn confirmation(port: &str, how: &str, fingerprint: &str, on: bool) -> String {
    if on {
        format!(
            "Install the signing key (fingerprint {fingerprint}) on the vehicle on {port}\n\
             ({how}).\n\
             From then on the vehicle signs what it sends and obeys only frames signed with this\n\
             key on its radio and other ports; ground stations without the key can no longer\n\
             command it there. The vehicle must be disarmed.\n\
             If the key is lost: ArduPilot still accepts unsigned frames on its USB port, so\n\
             connect by USB and run `airlock signing remove --port DEV` (or install a new key).\n\
             Keep a backup first: `airlock signing export-key FILE`."
        )
    } else {
        format!(
            "Turn signing off on the vehicle on {port}\n\
             ({how}).\n\
             The vehicle will again obey unsigned frames on every port, from any ground station\n\
             in radio range. The vehicle must be disarmed."
        )
    }
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
