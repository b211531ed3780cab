//! The command line: `airlock [--demo]` opens the window; subcommands use the engine headless.

mod logs;
mod params;
mod signing;
pub mod steps;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand, ValueEnum};

use crate::capture::NewFile;
use crate::link::Baud;
use crate::privacy::{self, PrivacyConfig, SealState};
use crate::review::export::{write_export, Direction, Export};
use crate::review::{self, Summary};
use crate::session::{self, Control, FlightDir, SessionConfig, SessionEvent};
use crate::sim::{self, Faults, PtyOptions};

/// Airlock: a ground station that keeps every byte on your disk.
#[derive(Debug, Parser)]
#[command(name = "airlock", version, about)]
pub struct Cli {
    /// Open the window on the built-in simulated vehicle (connected over a pseudo-terminal).
    #[arg(long)]
    pub demo: bool,
    /// Map tiles for the window: a folder of z/x/y tiles or an MBTiles file.
    #[arg(long)]
    pub tiles: Option<PathBuf>,
    /// Open the window connected to this serial port.
    #[arg(long, conflicts_with = "demo")]
    pub port: Option<String>,
    /// Baud rate for --port, or `auto`.
    #[arg(long, default_value = "auto", requires = "port")]
    pub baud: Baud,
    /// Plot this field in the window as soon as the vehicle sends it: MESSAGE.field
    /// (e.g. ATTITUDE.roll); repeat for more.
    #[arg(long = "plot", value_name = "MESSAGE.FIELD")]
    pub plots: Vec<String>,
    /// Where flights are kept [default: the platform's data folder].
    #[arg(long, global = true, env = "AIRLOCK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Privacy mode for this run only, overriding the saved setting.
    #[arg(long, global = true, value_enum)]
    pub privacy: Option<OnOff>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a simulated vehicle on a new pseudo-terminal; prints its device path first.
    Sim {
        /// Link speed the output is paced to (about baud/10 bytes per second).
        #[arg(long, default_value_t = 57600)]
        baud: u32,
        /// Also make this path a symbolic link to the device.
        #[arg(long)]
        link: Option<PathBuf>,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
        /// Chance per frame of a burst of garbage bytes after it (0..1).
        #[arg(long, default_value_t = 0.0)]
        noise: f64,
        /// Chance per frame of one flipped bit (0..1).
        #[arg(long, default_value_t = 0.0)]
        corrupt: f64,
        /// Chance per frame that it is lost (0..1).
        #[arg(long, default_value_t = 0.0)]
        drop: f64,
        /// Seed of the fault injection.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Wait on the ground for commands, with no mission (as SITL starts), instead of flying
        /// the demo plan by itself.
        #[arg(long)]
        idle: bool,
        /// Refuse every MAVLink FTP request, as a vehicle without FTP does (parameters then
        /// come by the list).
        #[arg(long)]
        no_ftp: bool,
        /// Keep the vehicle's onboard logs as files in this folder too (`00000001.BIN`…, as
        /// ArduPilot's `logs/`).
        #[arg(long)]
        logs_dir: Option<PathBuf>,
        /// Act as a vehicle's radio port rather than its USB port: once a signing key is
        /// installed (SETUP_SIGNING) only signed frames are obeyed. Without it, as on
        /// ArduPilot's first port (SERIAL0, USB), unsigned frames are still taken.
        #[arg(long)]
        radio_port: bool,
    },
    /// Record one flight from a serial port, headless; Ctrl-C closes it cleanly.
    Record {
        /// Serial device, e.g. /dev/ttyACM0, or (privacy off) tcp:HOST:PORT, udp:ADDR:PORT
        /// to listen, udpout:ADDR:PORT to send.
        #[arg(long)]
        port: String,
        /// Baud rate, or `auto` to detect it.
        #[arg(long, default_value = "auto")]
        baud: Baud,
        /// The exact flight folder to create [default: a new folder in the data folder].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
        /// Only listen: send no heartbeat and no stream requests.
        #[arg(long)]
        listen_only: bool,
        /// Also send the live stream to another ground station at HOST:PORT over UDP
        /// (a network feature: needs privacy off).
        #[arg(long, value_name = "HOST:PORT")]
        forward: Option<String>,
    },
    /// Fly the vehicle from a script: run STEPs in order over one recorded connection.
    ///
    /// Each STEP is one argument: "mode NAME", arm, disarm, force-disarm, "takeoff ALT_M", land,
    /// rtl, brake, "goto LAT LON ALT_M" (altitude above home), "alt ALT_M", mission-start,
    /// "mission-item N" (fly on from item N),
    /// reboot, wait-ready, wait-armed, wait-disarmed, "wait-mode NAME", "wait-alt ALT_M",
    /// "sleep S". Exit 0 when every step succeeds, 1 at the first failure, 2 on a usage error.
    #[command(name = "command")]
    Fly {
        /// Serial device (or, privacy off, a network port as for `record`).
        #[arg(long)]
        port: String,
        /// Baud rate, or `auto` to detect it.
        #[arg(long, default_value = "auto")]
        baud: Baud,
        /// The vehicle to command, SYS or SYS:COMP [default: the first autopilot heard].
        #[arg(long, value_parser = steps::parse_target)]
        target: Option<crate::protocol::services::Target>,
        /// Longest wait of each wait step (and for the vehicle to be heard), seconds.
        #[arg(long, default_value_t = 120.0)]
        timeout: f64,
        /// The exact flight folder to create [default: a new folder in the data folder].
        #[arg(long)]
        out: Option<PathBuf>,
        /// The steps.
        #[arg(required = true, value_name = "STEP")]
        steps: Vec<steps::StepArg>,
    },
    /// Mission files: show one, or convert between QGroundControl .plan and QGC WPL 110.
    Mission {
        #[command(subcommand)]
        action: MissionAction,
    },
    /// A vehicle's parameters: fetch, get, set, load a file; compare files.
    Params {
        #[command(subcommand)]
        action: params::ParamsAction,
    },
    /// The vehicle's onboard logs: list, pull to the local disk, erase.
    Logs {
        #[command(subcommand)]
        action: logs::LogsAction,
    },
    /// MAVLink 2 signing: the key shared with the vehicle (status, set-passphrase,
    /// import-key, export-key, install, remove).
    Signing {
        #[command(subcommand)]
        action: signing::SigningAction,
    },
    /// Whether a flight folder is as it was recorded: `intact`, `altered` (where), `truncated`
    /// (after when) or `not signed`. Exits 0 only when intact.
    Verify {
        /// The flight folder (or a file in it).
        path: PathBuf,
        /// The public key to trust: a file `airlock keys export-public` wrote, or the key's
        /// 64 hex digits [default: this installation's].
        #[arg(long)]
        key: Option<String>,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// This installation's flight-sealing key.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// List the flights in the data folder, newest first.
    Flights {
        /// One JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Summarise a flight folder or any .tlog.
    Info {
        path: PathBuf,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Privacy mode: status, on, off, check, ledger.
    Privacy {
        #[arg(value_enum, default_value_t = PrivacyAction::Status)]
        action: PrivacyAction,
    },
    /// Open a flight folder, a raw capture or any .tlog for review in the window.
    Open { path: PathBuf },
    /// Export a flight folder or .tlog.
    Export {
        path: PathBuf,
        /// Start of the range: seconds since the first frame (`90`, `1:30`, `1:02:03.5`) or a
        /// UTC time (`2026-11-25T16:45:14Z`).
        #[arg(long, value_name = "T")]
        from: Option<String>,
        /// End of the range, in the same forms as --from.
        #[arg(long, value_name = "T")]
        to: Option<String>,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// For `raw`: which direction's bytes.
        #[arg(long, value_enum, default_value_t = Direction::Rx)]
        direction: Direction,
        /// For `csv`: the message type, e.g. ATTITUDE.
        #[arg(long = "type", value_name = "NAME")]
        message_type: Option<String>,
        /// For `bundle`: encrypt it with age to this recipient (`age1…`, or a file of them).
        #[arg(long, value_name = "RECIPIENT")]
        encrypt_to: Option<String>,
        /// Output file (must not exist).
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
}

/// What `airlock mission` does.
#[derive(Debug, Subcommand)]
pub enum MissionAction {
    /// Print a mission file's items, fence, rally points and statistics.
    Show {
        file: PathBuf,
        /// One JSON object: home, items, fence, rally, stats.
        #[arg(long)]
        json: bool,
    },
    /// Upload a mission file to the vehicle and verify it by reading it back.
    Upload {
        #[command(flatten)]
        link: LinkArgs,
        file: PathBuf,
        /// What to upload [default: all that the file holds].
        #[arg(long = "type", value_enum)]
        kind: Option<MissionType>,
    },
    /// Download the vehicle's mission to a file (the format from its extension).
    Download {
        #[command(flatten)]
        link: LinkArgs,
        /// Output file (must not exist).
        #[arg(short = 'o', long)]
        output: PathBuf,
        #[arg(long = "type", value_enum, default_value_t = MissionType::Mission)]
        kind: MissionType,
    },
    /// Remove the vehicle's mission, fence or rally points.
    Clear {
        #[command(flatten)]
        link: LinkArgs,
        #[arg(long = "type", value_enum, default_value_t = MissionType::Mission)]
        kind: MissionType,
    },
    /// Convert a mission file; the formats come from the extensions (.plan, .waypoints/.txt).
    Convert {
        input: PathBuf,
        /// Output file (must not exist).
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
}

/// Which of the vehicle's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MissionType {
    Mission,
    Fence,
    Rally,
    All,
}

impl MissionType {
    fn kinds(self) -> Vec<crate::protocol::services::MissionKind> {
        use crate::protocol::services::MissionKind;
        match self {
            Self::Mission => vec![MissionKind::Mission],
            Self::Fence => vec![MissionKind::Fence],
            Self::Rally => vec![MissionKind::Rally],
            Self::All => vec![MissionKind::Mission, MissionKind::Fence, MissionKind::Rally],
        }
    }
}

/// How to reach the vehicle, for the commands that talk to it.
#[derive(Debug, Clone, clap::Args)]
pub struct LinkArgs {
    /// Serial device (or, privacy off, a network port as for `record`).
    #[arg(long)]
    pub port: String,
    /// Baud rate, or `auto` to detect it.
    #[arg(long, default_value = "auto")]
    pub baud: Baud,
    /// The vehicle, SYS or SYS:COMP [default: the first autopilot heard].
    #[arg(long, value_parser = steps::parse_target)]
    pub target: Option<crate::protocol::services::Target>,
    /// Longest wait for the vehicle to be heard, seconds.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// The exact flight folder to create [default: a new folder in the data folder].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What `airlock keys` does.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Write the public key that checks this installation's flights to a new file: all an
    /// auditor needs, with the flight folder, to run `airlock verify --key FILE`.
    ExportPublic {
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

/// A switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// What `airlock privacy` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrivacyAction {
    /// Show the saved setting and this process's seal.
    Status,
    /// Turn privacy mode on (the default).
    On,
    /// Turn privacy mode off from the next start on.
    Off,
    /// Seal a process exactly as the app does and prove the seal holds.
    Check,
    /// Print the ledger of network attempts.
    Ledger,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A standard telemetry log of every valid frame.
    Tlog,
    /// The bytes of one direction exactly as they crossed the wire.
    Raw,
    /// One message type (`--type NAME`) as CSV, the way mavlogdump.py writes it.
    Csv,
    /// The flown track with time and elevation.
    Gpx,
    /// The 3-D flown track, coloured by flight mode.
    Kml,
    /// The whole flight folder with its seal in one tar file, to hand over (with
    /// `--encrypt-to`, encrypted with age).
    Bundle,
}

/// Airlock's data folder: `--data-dir`, else the platform's.
pub fn data_dir(data_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    match data_dir {
        Some(dir) => Ok(dir.to_owned()),
        None => Ok(directories::ProjectDirs::from("", "", "airlock")
            .context("cannot find a home folder for the data; pass --data-dir")?
            .data_dir()
            .to_owned()),
    }
}

/// The folder flights are kept in.
pub fn flights_dir(data_dir_override: Option<&Path>) -> anyhow::Result<PathBuf> {
    Ok(data_dir(data_dir_override)?.join("flights"))
}

/// The network ledger file.
pub fn ledger_file(data_dir_override: Option<&Path>) -> anyhow::Result<PathBuf> {
    Ok(data_dir(data_dir_override)?.join("network-ledger.jsonl"))
}

/// Where the privacy setting is saved: `AIRLOCK_CONFIG_DIR`, else the platform's config folder.
pub fn privacy_config_file() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("privacy.json"))
}

/// The window's settings (port, baud, tab, units…).
pub fn window_settings_file() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("window.json"))
}

/// Signing for a session: the key store's key when one is set (then every frame sent is signed
/// and every frame received checked), none otherwise.
pub fn signing_setup() -> anyhow::Result<Option<session::SigningSetup>> {
    let store = crate::keys::KeyStore::new(&config_dir()?);
    Ok(store.signing_key()?.map(|key| session::SigningSetup {
        key,
        store: Some(store),
        verify: true,
    }))
}

/// The key that seals the flights recorded (made on first use). When it cannot be had the
/// flight is still recorded, unsealed, and the operator is told why.
pub fn seal_key() -> Option<Arc<crate::capture::seal::SealKey>> {
    let key = config_dir().and_then(|dir| Ok(crate::keys::KeyStore::new(&dir).flight_key()?));
    match key {
        Ok(key) => Some(key),
        Err(error) => {
            eprintln!(
                "problem: flights will not be sealed (airlock verify will say so): {}",
                error_chain(&error)
            );
            None
        }
    }
}

/// Airlock's config folder: `AIRLOCK_CONFIG_DIR`, else the platform's.
pub fn config_dir() -> anyhow::Result<PathBuf> {
    Ok(match std::env::var_os("AIRLOCK_CONFIG_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => directories::ProjectDirs::from("", "", "airlock")
            .context("cannot find a home folder for the settings")?
            .config_dir()
            .to_owned(),
    })
}

/// Whether privacy is on for this run: `--privacy`, else the saved setting (on by default).
pub fn privacy_for_run(cli: &Cli) -> bool {
    match cli.privacy {
        Some(choice) => choice == OnOff::On,
        None => privacy_config_file()
            .map(|path| PrivacyConfig::load(&path).privacy)
            .unwrap_or(true),
    }
}

fn seconds(value: Option<f64>) -> anyhow::Result<Option<Duration>> {
    value
        .map(|s| Duration::try_from_secs_f64(s).with_context(|| format!("bad duration: {s}")))
        .transpose()
}

/// A flag set by SIGINT or SIGTERM.
pub fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("cannot handle signals")?;
    }
    Ok(stop)
}

/// Runs a subcommand.
/// An error and its causes in one line, each cause once: errors that already name their cause
/// (`{path}: {source}`) are not followed by it again.
pub fn error_chain(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

/// Fails at once when `path` exists: Airlock never overwrites a file, and a transfer that ends
/// on "file exists" would have been for nothing.
pub fn not_there_yet(path: &std::path::Path) -> anyhow::Result<()> {
    if path.exists() {
        bail!(
            "{}: already exists (Airlock never overwrites a file; choose another name)",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod error_tests {
    #[test]
    fn a_cause_already_named_is_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        let error = anyhow::Error::new(crate::capture::CaptureError::io(
            std::path::Path::new("/tmp/x.params"),
            io,
        ))
        .context("cannot save");
        let line = super::error_chain(&error);
        assert_eq!(line.matches("exists").count(), 1, "{line}");
        assert!(line.starts_with("cannot save: /tmp/x.params: "), "{line}");
    }
}

pub fn run(cli: &Cli, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Sim {
            baud,
            link,
            duration,
            noise,
            corrupt,
            drop,
            seed,
            idle,
            no_ftp,
            logs_dir,
            radio_port,
        } => {
            for (name, rate) in [("noise", noise), ("corrupt", corrupt), ("drop", drop)] {
                if !(0.0..=1.0).contains(rate) {
                    bail!("--{name} must be between 0 and 1, not {rate}");
                }
            }
            let options = PtyOptions {
                baud: *baud,
                faults: Faults {
                    noise: *noise,
                    corrupt: *corrupt,
                    drop: *drop,
                    refuse_ftp: *no_ftp,
                },
                seed: *seed,
                duration: seconds(*duration)?,
                demo_pilot: !idle,
                logs_dir: logs_dir.clone(),
                signing_enforced: *radio_port,
            };
            let stop = stop_on_signals()?;
            let result = sim::run_on_pty(
                &options,
                |path| {
                    if let Some(link) = link {
                        let _ = std::fs::remove_file(link);
                        std::os::unix::fs::symlink(path, link)?;
                    }
                    let mut stdout = std::io::stdout().lock();
                    writeln!(stdout, "{path}")?;
                    stdout.flush()
                },
                || stop.load(Ordering::SeqCst),
            );
            if let Some(link) = link {
                let _ = std::fs::remove_file(link);
            }
            result.context("simulator failed")
        }
        Command::Record {
            port,
            baud,
            out,
            duration,
            listen_only,
            forward,
        } => {
            let config = SessionConfig {
                duration: seconds(*duration)?,
                act_as_gcs: !listen_only,
                ask_telemetry: true,
                forward: forward.clone(),
                ..session_config(cli, port, *baud, out.as_deref())?
            };
            let stop = stop_on_signals()?;
            let (_unused, commands) = crossbeam_channel::unbounded();
            let control = Control { stop, commands };
            // With signing: its state when it changes, and the counts at the end.
            let mut signing: Option<crate::protocol::signing::SigningStatus> = None;
            let meta = session::run(&config, &control, &mut |event| match event {
                SessionEvent::Signing(status) => {
                    if signing.is_none_or(|last| last.words() != status.words()) {
                        eprintln!("signing: {}", status.words());
                    }
                    signing = Some(status);
                }
                event => report_to_terminal(event),
            })?;
            let total: u64 = meta.counts.messages.values().sum();
            eprintln!(
                "closed: {total} messages received, {} bytes in, {} bytes out, {} CRC errors",
                meta.bytes_rx, meta.bytes_tx, meta.counts.crc_errors
            );
            if let Some(status) = signing {
                let counts = status.counts;
                eprintln!(
                    "signatures: {} signed, {} unsigned, {} bad, {} stale; {} frames kept out",
                    counts.signed,
                    counts.unsigned,
                    counts.bad_signature,
                    counts.stale,
                    status.rejected
                );
            }
            Ok(())
        }
        Command::Fly {
            port,
            baud,
            target,
            timeout,
            out,
            steps,
        } => {
            let config = session_config(cli, port, *baud, out.as_deref())?;
            let timeout = seconds(Some(*timeout))?.unwrap_or_default();
            let session = session::SessionHandle::spawn(config, Box::new(|| {}))
                .context("cannot start the session")?;
            let stop = stop_on_signals()?;
            let mut print = |line: &str| {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{line}");
                let _ = stdout.flush();
            };
            let mut runner = steps::Runner::new(&session, *target, timeout, &mut print);
            let mut result = Ok(());
            for step in steps {
                if stop.load(Ordering::SeqCst) {
                    result = Err(anyhow::anyhow!("interrupted"));
                    break;
                }
                if let Err(error) = runner.run(&step.text, &step.step) {
                    result = Err(error.context(format!("step `{}` failed", step.text)));
                    break;
                }
            }
            drop(runner);
            // Closes the flight cleanly, whatever happened.
            session.stop();
            result
        }
        Command::Mission { action } => run_mission(cli, action),
        Command::Params { action } => params::run(cli, action),
        Command::Logs { action } => logs::run(cli, action),
        Command::Signing { action } => signing::run(cli, action),
        Command::Info { path, json } => {
            let summary = review::summarize(path)?;
            let mut stdout = std::io::stdout().lock();
            if *json {
                serde_json::to_writer_pretty(&mut stdout, &summary)?;
                writeln!(stdout)?;
            } else {
                write!(stdout, "{}", human_summary(&summary))?;
            }
            Ok(())
        }
        Command::Privacy { action } => run_privacy(cli, *action),
        Command::Verify { path, key, json } => {
            if !path.exists() {
                bail!("{}: no such flight folder", path.display());
            }
            let public_key = match key {
                Some(given) => match crate::keys::parse_public_key(given.as_bytes()) {
                    Some(key) if !Path::new(given).exists() => key,
                    _ => {
                        let bytes = std::fs::read(given)
                            .with_context(|| format!("cannot read the public key {given}"))?;
                        crate::keys::parse_public_key(&bytes).with_context(|| {
                            format!("{given}: not a public key (`airlock keys export-public` writes one)")
                        })?
                    }
                },
                None => {
                    let store = crate::keys::KeyStore::new(&config_dir()?);
                    let Some(key) = store.existing_flight_key()? else {
                        bail!(
                            "this installation has no flight key yet: give the recorder's public \
                             key with --key FILE (`airlock keys export-public` on its computer)"
                        );
                    };
                    let mut bytes = [0u8; 32];
                    bytes.copy_from_slice(key.public());
                    bytes
                }
            };
            let verdict = review::verify::verify(path, &public_key)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mut stdout = std::io::stdout().lock();
            if *json {
                serde_json::to_writer_pretty(&mut stdout, &verdict)?;
                writeln!(stdout)?;
            } else {
                writeln!(stdout, "{verdict}")?;
            }
            if !verdict.is_intact() {
                bail!("{}: {}", path.display(), verdict.word());
            }
            Ok(())
        }
        Command::Keys {
            action: KeysAction::ExportPublic { output },
        } => {
            let key = crate::keys::KeyStore::new(&config_dir()?).flight_key()?;
            write_new_file(
                output,
                crate::keys::public_key_text(key.public()).as_bytes(),
            )?;
            eprintln!(
                "wrote the public key (fingerprint {}) to {}",
                crate::capture::seal::key_fingerprint(key.public()),
                output.display()
            );
            Ok(())
        }
        Command::Flights { json } => {
            let dir = flights_dir(cli.data_dir.as_deref())?;
            let flights = crate::review::library::list_flights(&dir)
                .with_context(|| format!("cannot read {}", dir.display()))?;
            // What each flight's index adds (built and kept beside it the first time).
            let cache = dir.with_file_name("review-cache");
            let listed: Vec<Listed> = flights
                .into_iter()
                .map(|entry| {
                    let facts = crate::review::library::FlightFacts::of_flight(&entry.dir, &cache);
                    Listed {
                        max_alt_rel_m: facts.as_ref().and_then(|f| f.max_alt_rel_m),
                        distance_m: facts.as_ref().map(|f| f.distance_m),
                        entry,
                    }
                })
                .collect();
            let mut stdout = std::io::stdout().lock();
            if *json {
                serde_json::to_writer_pretty(&mut stdout, &listed)?;
                writeln!(stdout)?;
                return Ok(());
            }
            if listed.is_empty() {
                writeln!(stdout, "no flights in {}", dir.display())?;
            }
            for Listed {
                entry: flight,
                max_alt_rel_m,
                distance_m,
            } in listed
            {
                let when = std::time::UNIX_EPOCH + Duration::from_micros(flight.started_us);
                let mark = if flight.recording {
                    "recording"
                } else if flight.recovered {
                    "recovered"
                } else {
                    ""
                };
                writeln!(
                    stdout,
                    "{}  {:>8}  {:<14} {:>7} {:>9} {:>9} msgs {:>10}  {mark}  {}",
                    humantime::format_rfc3339_seconds(when),
                    flight
                        .duration_s
                        .map_or("?".into(), |d| format!("{d:.0} s")),
                    flight
                        .vehicle
                        .as_deref()
                        .unwrap_or("-")
                        .trim_start_matches("MAV_TYPE_"),
                    max_alt_rel_m.map_or("-".into(), |a| format!("{a:.0} m")),
                    distance_m.map_or("-".into(), |d| format!("{:.2} km", d / 1000.0)),
                    flight.messages,
                    crate::ui::connection::bytes_text(flight.size_bytes),
                    flight.dir.display()
                )?;
            }
            Ok(())
        }
        Command::Open { .. } => bail!("`open` shows the window: run it from the desktop"),
        Command::Export {
            path,
            from,
            to,
            format,
            direction,
            message_type,
            encrypt_to,
            output,
        } => {
            let what = match format {
                ExportFormat::Bundle => {
                    if from.is_some() || to.is_some() {
                        bail!("a bundle holds the whole flight: --from and --to do not apply");
                    }
                    return export_bundle(path, encrypt_to.as_deref(), output);
                }
                ExportFormat::Raw => Export::Raw(*direction),
                ExportFormat::Tlog => Export::Tlog,
                ExportFormat::Csv => Export::Csv(message_type.as_deref().unwrap_or_default()),
                ExportFormat::Gpx => Export::Gpx,
                ExportFormat::Kml => Export::Kml,
            };
            if encrypt_to.is_some() {
                bail!("--encrypt-to applies to --format bundle");
            }
            let opened = review::open(path)?;
            opened.check_frames()?;
            let span = export_span(&opened, from.as_deref(), to.as_deref())?;
            if *format == ExportFormat::Raw && span != review::frames::Span::ALL {
                bail!("--from and --to apply to csv, kml, gpx and tlog exports, not raw bytes");
            }
            let bar = progress_bar(opened.bytes().len() as u64);
            let mut progress = |done: u64, _total: u64| bar.set_position(done);
            if *format == ExportFormat::Csv {
                match message_type {
                    None => bail!("--format csv needs --type NAME (e.g. --type ATTITUDE)"),
                    Some(name) if crate::protocol::dialect::message_id(name).is_none() => {
                        bail!("no message type named {name} in the ArduPilot dialect")
                    }
                    Some(_) => {}
                }
            }
            let mut writer = NewFile::create(output)?;
            let name = path.display().to_string();
            let result = write_export(&opened, what, span, &name, &mut progress, &mut writer);
            bar.finish_and_clear();
            let written = result
                .map_err(anyhow::Error::from)
                .and_then(|written| Ok(writer.commit().map(|()| written)?))
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!("wrote {written} to {}", output.display());
            Ok(())
        }
    }
}

/// `airlock export FOLDER --format bundle`: the folder and its seal in one file, checked
/// first (the verdict is printed: a bundle of an altered flight is still made, and says so).
fn export_bundle(path: &Path, encrypt_to: Option<&str>, output: &Path) -> anyhow::Result<()> {
    let recipients = match encrypt_to {
        Some(spec) => review::bundle::recipients(spec)?,
        None => Vec::new(),
    };
    let store = crate::keys::KeyStore::new(&config_dir()?);
    match store.existing_flight_key()? {
        Some(key) => match review::verify::verify(path, key.public()) {
            Ok(verdict) => eprintln!("{verdict}"),
            Err(error) => eprintln!("cannot check the flight: {error}"),
        },
        None => eprintln!("this installation has no flight key: the flight is not checked"),
    }
    let mut writer = NewFile::create(output)?;
    let bundled = review::bundle::write_bundle(path, &recipients, &mut writer)
        .map_err(anyhow::Error::from)
        .and_then(|bundled| Ok(writer.commit().map(|()| bundled)?))
        .with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!(
        "wrote {} files ({} bytes) to {}{}",
        bundled.files,
        bundled.bytes,
        output.display(),
        if recipients.is_empty() {
            String::new()
        } else {
            format!(", encrypted with age to {} recipient(s)", recipients.len())
        }
    );
    Ok(())
}

/// Writes a whole new file the operator named (never over one), or nothing.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = NewFile::create(path)?;
    out.write_all(bytes)
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(out.commit()?))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A recorded session on `port` acting as a ground station, into `out` or a new folder of the
/// data folder.
fn session_config(
    cli: &Cli,
    port: &str,
    baud: Baud,
    out: Option<&Path>,
) -> anyhow::Result<SessionConfig> {
    Ok(SessionConfig {
        port: port.to_owned(),
        baud,
        flight_dir: match out {
            Some(dir) => FlightDir::Exact(dir.to_owned()),
            None => FlightDir::Under(flights_dir(cli.data_dir.as_deref())?),
        },
        duration: None,
        act_as_gcs: true,
        ask_telemetry: true,
        forward: None,
        signing: signing_setup()?,
        seal: seal_key(),
        inject: None,
    })
}

/// A flight as `airlock flights` lists it.
#[derive(serde::Serialize)]
struct Listed {
    #[serde(flatten)]
    entry: crate::review::library::FlightEntry,
    /// Highest altitude above home, metres.
    max_alt_rel_m: Option<f64>,
    /// Distance flown, metres.
    distance_m: Option<f64>,
}

/// A progress bar on the terminal for a scan of `total` bytes (nothing when not a terminal).
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("reading");
    bar
}

/// The time of the first frame (or record) of a stored flight.
fn first_time_us(opened: &review::Opened) -> Option<u64> {
    match opened.kind {
        review::StoredKind::Tlog => {
            review::tlog::TlogReader::new(opened.bytes()).find_map(|item| match item {
                review::tlog::TlogItem::Frame { time_us, .. } => Some(time_us),
                review::tlog::TlogItem::CrcError { .. } => None,
            })
        }
        review::StoredKind::RawCapture => crate::capture::raw::RecordIter::new(opened.bytes())
            .next()
            .map(|record| record.time.wall_us),
    }
}

/// A time given on the command line: seconds since the flight's first frame (`90`, `1:30`,
/// `1:02:03.5`) or a UTC time (RFC 3339).
pub fn parse_time(text: &str, start_us: u64) -> anyhow::Result<u64> {
    let text = text.trim();
    if let Ok(when) = humantime::parse_rfc3339_weak(text) {
        let since = when
            .duration_since(std::time::UNIX_EPOCH)
            .context("a time before 1970")?;
        return Ok(since.as_micros() as u64);
    }
    let not_a_time = || {
        anyhow::anyhow!(
            "`{text}` is not a time: use seconds (90), m:ss (1:30), h:mm:ss or 2026-11-25T16:45:14Z"
        )
    };
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 {
        return Err(not_a_time());
    }
    let mut seconds = 0.0f64;
    for (i, part) in parts.iter().enumerate() {
        let value: f64 = part.parse().map_err(|_| not_a_time())?;
        // Minutes and seconds after a colon are below 60.
        if !(value.is_finite() && value >= 0.0) || (i > 0 && value >= 60.0) {
            return Err(not_a_time());
        }
        seconds = seconds * 60.0 + value;
    }
    // Float to integer saturates, and the sum must not wrap: found by fuzzing.
    let micros = (seconds * 1e6).round();
    (micros < u64::MAX as f64)
        .then(|| start_us.checked_add(micros as u64))
        .flatten()
        .with_context(|| format!("`{text}` is too far after the flight's start"))
}

/// The range of `--from`/`--to`.
fn export_span(
    opened: &review::Opened,
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<review::frames::Span> {
    if from.is_none() && to.is_none() {
        return Ok(review::frames::Span::ALL);
    }
    let start = first_time_us(opened).unwrap_or(0);
    let span = review::frames::Span {
        from_us: from.map(|t| parse_time(t, start)).transpose()?.unwrap_or(0),
        to_us: to
            .map(|t| parse_time(t, start))
            .transpose()?
            .unwrap_or(u64::MAX),
    };
    if span.from_us > span.to_us {
        bail!("--from is after --to");
    }
    Ok(span)
}

/// Reads a mission file, naming it in the error.
fn read_plan(path: &Path) -> anyhow::Result<crate::mission::Plan> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    crate::mission::Plan::parse(&text).with_context(|| format!("{}", path.display()))
}

/// Runs `work` over a recorded session with the vehicle; the flight is closed cleanly after.
fn with_vehicle(
    cli: &Cli,
    link: &LinkArgs,
    telemetry: bool,
    work: impl FnOnce(&mut steps::Runner<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    with_session(cli, link, |config| config.ask_telemetry = telemetry, work)
}

/// [`with_vehicle`] with the session's configuration changed by `adjust` first.
fn with_session(
    cli: &Cli,
    link: &LinkArgs,
    adjust: impl FnOnce(&mut SessionConfig),
    work: impl FnOnce(&mut steps::Runner<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut config = session_config(cli, &link.port, link.baud, link.out.as_deref())?;
    adjust(&mut config);
    let timeout = seconds(Some(link.timeout))?.unwrap_or_default();
    let session = session::SessionHandle::spawn(config, Box::new(|| {}))
        .context("cannot start the session")?;
    let mut print = |line: &str| {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    };
    let mut runner = steps::Runner::new(&session, link.target, timeout, &mut print);
    let result = work(&mut runner);
    drop(runner);
    session.stop();
    result
}

fn run_mission(cli: &Cli, action: &MissionAction) -> anyhow::Result<()> {
    use crate::mission::{stats, wire, Format, Plan};
    use crate::protocol::services::{Action, MissionKind};
    match action {
        MissionAction::Upload { link, file, kind } => {
            let plan = read_plan(file)?;
            let kinds = match kind {
                Some(kind) => kind.kinds(),
                None => {
                    let mut kinds = vec![MissionKind::Mission];
                    if !plan.fence.is_empty() {
                        kinds.push(MissionKind::Fence);
                    }
                    if !plan.rally.is_empty() {
                        kinds.push(MissionKind::Rally);
                    }
                    kinds
                }
            };
            // Every kind is checked before anything is sent.
            let uploads = kinds
                .into_iter()
                .map(|kind| wire::to_wire(&plan, kind).map(|items| (kind, items)))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("{}", file.display()))?;
            with_vehicle(cli, link, true, |runner| {
                for (kind, items) in uploads {
                    let count = items.len();
                    // Timed from the request: the vehicle is heard first.
                    runner.wait_for_vehicle()?;
                    let started = std::time::Instant::now();
                    let (outcome, _) = runner.transfer(Action::UploadMission { kind, items })?;
                    if !outcome.is_accepted() {
                        runner.say(&format!("upload {}: {outcome}", kind.name()));
                        bail!("the {} was not uploaded: {outcome}", kind.name());
                    }
                    runner.say(&format!(
                        "upload {}: {count} items uploaded and verified in {:.1} s",
                        kind.name(),
                        started.elapsed().as_secs_f64()
                    ));
                }
                Ok(())
            })
        }
        MissionAction::Download { link, output, kind } => {
            let format = Format::of_path(output)
                .with_context(|| format!("{}: use .plan, .waypoints or .txt", output.display()))?;
            not_there_yet(output)?;
            let mut plan = Plan::default();
            with_vehicle(cli, link, true, |runner| {
                for kind in kind.kinds() {
                    // Timed from the request: the vehicle is heard first.
                    runner.wait_for_vehicle()?;
                    let started = std::time::Instant::now();
                    let (outcome, items) = runner.transfer(Action::DownloadMission { kind })?;
                    match items {
                        Some(items) if outcome.is_accepted() => {
                            runner.say(&format!(
                                "download {}: {} items in {:.1} s",
                                kind.name(),
                                items.len(),
                                started.elapsed().as_secs_f64()
                            ));
                            wire::from_wire(&mut plan, kind, &items);
                        }
                        _ => {
                            runner.say(&format!("download {}: {outcome}", kind.name()));
                            bail!("the {} was not downloaded: {outcome}", kind.name());
                        }
                    }
                }
                Ok(())
            })?;
            let text = plan
                .write(format)
                .with_context(|| format!("cannot write {}", output.display()))?;
            write_new_file(output, text.as_bytes())
        }
        MissionAction::Clear { link, kind } => with_vehicle(cli, link, true, |runner| {
            for kind in kind.kinds() {
                let (outcome, _) = runner.transfer(Action::ClearMission { kind })?;
                runner.say(&format!("clear {}: {outcome}", kind.name()));
                if !outcome.is_accepted() {
                    bail!("the {} was not cleared: {outcome}", kind.name());
                }
            }
            Ok(())
        }),
        MissionAction::Show { file, json } => {
            let plan = read_plan(file)?;
            let mut stdout = std::io::stdout().lock();
            if *json {
                serde_json::to_writer_pretty(&mut stdout, &plan.to_json())?;
                writeln!(stdout)?;
                return Ok(());
            }
            if let Some(home) = &plan.home {
                writeln!(
                    stdout,
                    "home  {:.7}, {:.7}, {} m (frame {})",
                    home.x, home.y, home.z, home.frame
                )?;
            }
            for (index, item) in plan.items.iter().enumerate() {
                let [p1, p2, p3, p4] = item.params;
                writeln!(
                    stdout,
                    "{:>4}  {:<20} frame {:<2} {:>12.7} {:>12.7} {:>9} m  params {p1} {p2} {p3} {p4}{}",
                    index + 1,
                    stats::command_name(item.command),
                    item.frame,
                    item.x,
                    item.y,
                    item.z,
                    if item.autocontinue { "" } else { "  (no autocontinue)" }
                )?;
            }
            let fence = &plan.fence;
            if !fence.is_empty() {
                writeln!(
                    stdout,
                    "fence {} circles, {} polygons{}",
                    fence.circles.len(),
                    fence.polygons.len(),
                    if fence.return_point.is_some() {
                        ", a return point"
                    } else {
                        ""
                    }
                )?;
            }
            if !plan.rally.is_empty() {
                writeln!(stdout, "rally {} points", plan.rally.len())?;
            }
            let stats = stats::Stats::of(&plan);
            writeln!(
                stdout,
                "{:.2} km, about {:.0} min at {} m/s, highest {}",
                stats.distance_m / 1000.0,
                stats.time_s / 60.0,
                stats.cruise_speed_m_s,
                stats
                    .highest_alt_m
                    .map_or("-".to_owned(), |a| format!("{a} m"))
            )?;
            Ok(())
        }
        MissionAction::Convert { input, output } => {
            let format = Format::of_path(output)
                .with_context(|| format!("{}: use .plan, .waypoints or .txt", output.display()))?;
            let plan = read_plan(input)?;
            let text = plan
                .write(format)
                .with_context(|| format!("cannot write {}", output.display()))?;
            write_new_file(output, text.as_bytes())?;
            let flattened = plan.complex.len();
            eprintln!(
                "wrote {} items{} to {}",
                plan.items.len(),
                if format == Format::Waypoints && flattened > 0 {
                    format!(" ({flattened} complex items flattened)")
                } else {
                    String::new()
                },
                output.display()
            );
            Ok(())
        }
    }
}

fn run_privacy(cli: &Cli, action: PrivacyAction) -> anyhow::Result<()> {
    let config_file = privacy_config_file()?;
    match action {
        PrivacyAction::Status => {
            let saved = PrivacyConfig::load(&config_file);
            println!(
                "privacy mode: {} (saved in {})",
                if saved.privacy { "on" } else { "off" },
                config_file.display()
            );
            let seal = privacy::state();
            println!("this process: {}", seal.badge());
            if let SealState::NotEnforced(reason) = &seal {
                println!("  reason: {reason}");
            }
            Ok(())
        }
        PrivacyAction::On | PrivacyAction::Off => {
            let on = action == PrivacyAction::On;
            PrivacyConfig { privacy: on }
                .store(&config_file)
                .with_context(|| format!("cannot save {}", config_file.display()))?;
            if on {
                println!("privacy mode on: every Airlock process seals itself off the network from now on");
            } else {
                println!("privacy mode off: network features may run from the next start (running windows stay sealed)");
            }
            Ok(())
        }
        PrivacyAction::Check => {
            let (seal, probes) = privacy::check::run();
            println!("seal: {}", seal.badge());
            if let Some(layer) = privacy::seal::landlock_status() {
                println!("second layer (Landlock network rules): {layer}");
            }
            if let SealState::NotEnforced(reason) = &seal {
                println!("  reason: {reason}");
            }
            for probe in &probes {
                println!(
                    "{} {:<48} expected {:<8} observed: {}",
                    if probe.passed { "PASS" } else { "FAIL" },
                    probe.what,
                    probe.expected,
                    probe.observed
                );
            }
            let held = seal == SealState::Sealed && probes.iter().all(|p| p.passed);
            if held {
                println!("the seal holds: no IP or other network socket can be created; serial ports and files work");
                Ok(())
            } else {
                bail!("the seal does not hold on this system")
            }
        }
        PrivacyAction::Ledger => {
            let ledger = privacy::NetworkLedger::new(ledger_file(cli.data_dir.as_deref())?);
            let entries = ledger
                .read()
                .with_context(|| format!("cannot read {}", ledger.path().display()))?;
            if entries.is_empty() {
                println!("no network attempts recorded ({})", ledger.path().display());
            }
            for entry in entries {
                let when = std::time::UNIX_EPOCH + Duration::from_micros(entry.time_us);
                println!(
                    "{}  {:<8} {:<24} {}",
                    humantime::format_rfc3339_seconds(when),
                    if entry.allowed { "allowed" } else { "BLOCKED" },
                    entry.feature,
                    entry.destination
                );
            }
            Ok(())
        }
    }
}

fn report_to_terminal(event: SessionEvent) {
    match event {
        SessionEvent::FlightStarted(dir) => eprintln!("recording to {}", dir.display()),
        SessionEvent::Link(state) => eprintln!("link: {state}"),
        SessionEvent::Problem(problem) => eprintln!("problem: {problem}"),
        SessionEvent::Recording(news) => eprintln!("{news}"),
        _ => {}
    }
}

/// The text `airlock info` prints.
pub fn human_summary(summary: &Summary) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let _ = writeln!(text, "{}", summary.path.display());
    if let Some(start) = summary.start_us {
        let when = std::time::UNIX_EPOCH + Duration::from_micros(start);
        let _ = writeln!(
            text,
            "  started   {}",
            humantime::format_rfc3339_seconds(when)
        );
    }
    let _ = writeln!(text, "  duration  {:.1} s", summary.duration_s);
    if let Some(port) = &summary.port {
        let baud = summary
            .baud
            .map(|b| format!(" at {b} baud"))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "  link      {port}{baud}, {} reconnects",
            summary.reconnects
        );
    }
    for vehicle in &summary.counts.vehicles {
        let _ = writeln!(
            text,
            "  vehicle   system {} component {}: {} ({})",
            vehicle.system_id, vehicle.component_id, vehicle.vehicle_type, vehicle.autopilot
        );
    }
    let total: u64 = summary.counts.messages.values().sum();
    let _ = writeln!(
        text,
        "  bytes     {} received, {} sent",
        summary.bytes_rx, summary.bytes_tx
    );
    let _ = writeln!(
        text,
        "  frames    {total} received; {} CRC errors, {} unknown ids, {} garbage bytes, {} lost",
        summary.counts.crc_errors,
        summary.counts.unknown_frames,
        summary.counts.garbage_bytes,
        summary.counts.lost_frames
    );
    for (name, count) in &summary.counts.messages {
        let _ = writeln!(text, "    {name:<32} {count:>9}");
    }
    for (name, count) in &summary.counts.unknown_messages {
        let _ = writeln!(
            text,
            "    {name:<32} {count:>9}  (unknown id, CRC not checkable)"
        );
    }
    if !summary.counts.sent_messages.is_empty() {
        let _ = writeln!(text, "  sent by the ground station");
        for (name, count) in &summary.counts.sent_messages {
            let _ = writeln!(text, "    {name:<32} {count:>9}");
        }
    }
    if summary.recording {
        let _ = writeln!(text, "  note: this flight is being recorded right now");
    }
    for notice in &summary.notices {
        let _ = writeln!(text, "  note: {notice}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_times_read_seconds_clock_and_utc() {
        let start = 1_000_000_000;
        assert_eq!(parse_time("90", start).unwrap(), start + 90_000_000);
        assert_eq!(parse_time("1:30.5", start).unwrap(), start + 90_500_000);
        assert_eq!(parse_time("1:00:00", start).unwrap(), start + 3_600_000_000);
        assert_eq!(
            parse_time("2026-11-25T16:45:14Z", start).unwrap(),
            1_795_625_114_000_000
        );
        assert!(parse_time("soon", start).is_err());
        assert!(parse_time("-5", start).is_err());
        // Found by fuzzing: a huge offset wrapped the sum (a panic in debug builds).
        assert!(parse_time("999999999999999", start).is_err());
        assert!(parse_time("1:75", start).is_err());
        assert!(parse_time("1:2:3:4", start).is_err());
    }
}
