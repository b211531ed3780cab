//! MAVLink 2 signing end to end with real processes on a pseudo-terminal, no SITL needed:
//! `airlock sim --radio-port` (a vehicle port where, as on ArduPilot's radios, a key once
//! installed means only signed frames are obeyed). The key is installed with
//! `airlock signing install`, the link then shows signed, a ground station without the key is
//! ignored while Airlock is obeyed, `remove` turns it off, and the key is in no file but the
//! key store. (`tests/sitl.rs` does the same against the real ArduPilot.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");
const PASSPHRASE: &[u8] = b"airlock pty signing test";

fn airlock(config: &Path, data: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(AIRLOCK)
        .args(args)
        .env("AIRLOCK_CONFIG_DIR", config)
        .env("AIRLOCK_DATA_DIR", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    common::wait_within(child, &args.join(" "), Duration::from_secs(120))
}

fn text(out: &Output) -> String {
    format!(
        "{:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn install_sign_refuse_strangers_remove_and_keep_the_key_out_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    let stranger = dir.path().join("stranger-config");
    let (mut sim, device) = common::spawn_with_device(
        Command::new(AIRLOCK)
            .args([
                "sim",
                "--idle",
                "--radio-port",
                "--baud",
                "115200",
                "--duration",
                "120",
            ])
            .env("AIRLOCK_DATA_DIR", &data),
    );
    let link = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend([
            "--port".into(),
            device.clone(),
            "--baud".into(),
            "115200".into(),
        ]);
        all
    };
    let run = |config: &Path, args: &[&str], stdin: &[u8]| {
        let args = link(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        airlock(config, &data, &args, stdin)
    };

    let set = airlock(&config, &data, &["signing", "set-passphrase"], PASSPHRASE);
    assert!(set.status.success(), "{}", text(&set));

    // A pseudo-terminal is not known to be a cable: refused unless said.
    let refused = run(&config, &["signing", "install", "--yes"], b"");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let install = run(&config, &["signing", "install", "--wired"], b"install\n");
    assert!(install.status.success(), "{}", text(&install));
    let said = String::from_utf8_lossy(&install.stdout).into_owned();
    assert!(said.contains("signing installed"), "{said}");
    let install_flight = said
        .lines()
        .find_map(|line| line.strip_prefix("recording to "))
        .map(PathBuf::from)
        .unwrap();

    let record = run(&config, &["record", "--duration", "3"], b"");
    let stderr = String::from_utf8_lossy(&record.stderr).into_owned();
    assert!(record.status.success(), "{stderr}");
    assert!(stderr.contains("signing: signed"), "{stderr}");
    assert!(stderr.contains(" signed, 0 unsigned, 0 bad"), "{stderr}");

    // A ground station without the key is ignored; Airlock with it is obeyed.
    let ignored = run(
        &stranger,
        &["command", "--timeout", "20", "mode GUIDED"],
        b"",
    );
    assert_eq!(ignored.status.code(), Some(1), "{}", text(&ignored));
    assert!(
        String::from_utf8_lossy(&ignored.stdout).contains("timed out"),
        "{}",
        text(&ignored)
    );
    let obeyed = run(&config, &["command", "--timeout", "20", "mode GUIDED"], b"");
    assert!(obeyed.status.success(), "{}", text(&obeyed));

    let remove = run(&config, &["signing", "remove", "--wired", "--yes"], b"");
    assert!(remove.status.success(), "{}", text(&remove));
    assert!(String::from_utf8_lossy(&remove.stdout).contains("signing turned off"));
    let after = run(
        &stranger,
        &["command", "--timeout", "20", "mode LOITER"],
        b"",
    );
    assert!(after.status.success(), "{}", text(&after));
    let _ = sim.kill();
    let _ = sim.wait();

    // The key (its bytes, its hex either case) is in the key store and nowhere else.
    use sha2::Digest;
    let key: [u8; 32] = sha2::Sha256::digest(PASSPHRASE).into();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let files: Vec<PathBuf> = [&config, &data, &stranger]
        .iter()
        .flat_map(|root| common::walk(root))
        .collect();
    let holding: Vec<&PathBuf> = files
        .iter()
        .filter(|file| {
            let bytes = std::fs::read(file).unwrap();
            contains(&bytes, &key)
                || contains(&bytes, hex.as_bytes())
                || contains(&bytes, hex.to_uppercase().as_bytes())
        })
        .collect();
    assert_eq!(
        holding,
        [&config.join("signing.key")],
        "of {} files",
        files.len()
    );
    for name in ["capture.alc", "flight.tlog"] {
        let bytes = std::fs::read(install_flight.join(name)).unwrap();
        assert!(
            contains(&bytes, &[b'*'; 32]),
            "the redacted SETUP_SIGNING in {name}"
        );
    }
    println!("key searched in {} files: only the key store", files.len());
}
