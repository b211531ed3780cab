//! Tamper-evident flights, end to end with real processes: `airlock record` from `airlock sim`
//! seals each flight; `airlock verify` says intact, names the byte one flip changed in the
//! capture and in the tlog, says when a cut file was truncated, checks a flight whose
//! recorder was killed (-9), and needs only the exported public key in a fresh folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

mod common;

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");

struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `airlock ARGS` with this place's config and data folders.
    fn airlock(&self, args: &[&str]) -> Command {
        let mut command = Command::new(AIRLOCK);
        command
            .args(args)
            .env("AIRLOCK_CONFIG_DIR", self.path("config"))
            .env("AIRLOCK_DATA_DIR", self.path("data"));
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        common::output_within(&mut self.airlock(args), Duration::from_secs(120))
    }

    /// [`Place::run`] that must succeed (its stderr shown otherwise); what it wrote on stderr.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "airlock {}: {stderr}", args.join(" "));
        stderr
    }

    /// `airlock verify ARGS`: its exit code and first line.
    fn verify(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = self.run(&[&["verify"], args].concat());
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), stdout)
    }

    /// A simulated vehicle, and `airlock record` from it into `name` (for `seconds`, or until
    /// killed), started.
    fn start_recording(
        &self,
        name: &str,
        seconds: Option<&str>,
    ) -> (std::process::Child, std::process::Child, PathBuf) {
        let (sim, device) = common::spawn_with_device(&mut self.airlock(&[
            "sim",
            "--baud",
            "115200",
            "--duration",
            "30",
        ]));
        let flight = self.path(name);
        let mut args = vec![
            "record",
            "--port",
            &device,
            "--baud",
            "115200",
            "--out",
            flight.to_str().unwrap(),
        ];
        if let Some(seconds) = seconds {
            args.extend(["--duration", seconds]);
        }
        let recorder = self
            .airlock(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        (sim, recorder, flight)
    }

    /// A flight recorded for `seconds` from a simulated vehicle into `name`.
    fn record(&self, name: &str, seconds: &str) -> PathBuf {
        let (mut sim, recorder, flight) = self.start_recording(name, Some(seconds));
        let out = common::wait_within(recorder, "airlock record", Duration::from_secs(120));
        let _ = sim.kill();
        let _ = sim.wait();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        flight
    }
}

fn copy_flight(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn flip(file: &Path, offset: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset] ^= 0x10;
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn verify_says_intact_names_flipped_bytes_and_truncations() {
    let place = Place::new();
    let flight = place.record("data/flights/2026-11-27_09-00-00Z", "5");
    for name in [
        "capture.alc",
        "flight.tlog",
        "flight.json",
        "integrity.jsonl",
        "manifest.json",
        "manifest.sig",
    ] {
        assert!(flight.join(name).exists(), "{name} missing");
    }
    let (code, said) = place.verify(&[flight.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.starts_with("intact: 4 files"), "{said}");
    // The library's review index, made beside the log, is not evidence: no notice, same verdict.
    assert!(place.run(&["flights", "--json"]).status.success());
    assert!(flight.join("flight.tlog.alidx").exists());
    let (code, again) = place.verify(&[flight.to_str().unwrap()]);
    assert_eq!((code, again.as_str()), (Some(0), said.as_str()));

    // One flipped byte: the very offset, in the capture and in the tlog.
    for (file, offset) in [
        ("capture.alc", 1234),
        ("flight.tlog", 4321),
        ("capture.alc", 16),
    ] {
        let copy = place.path(&format!("flip-{file}-{offset}"));
        copy_flight(&flight, &copy);
        flip(&copy.join(file), offset);
        let (code, said) = place.verify(&[copy.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{said}");
        assert!(
            said.starts_with(&format!("altered: {file} byte {offset} differs")),
            "{file} {offset}: {said}"
        );
    }
    // A changed metadata file, a journal entry taken out, a manifest edited.
    let copy = place.path("meta");
    copy_flight(&flight, &copy);
    let meta = std::fs::read_to_string(copy.join("flight.json")).unwrap();
    std::fs::write(
        copy.join("flight.json"),
        meta.replacen("115200", "115201", 1) + " ",
    )
    .unwrap();
    let (code, said) = place.verify(&[copy.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(said.starts_with("altered: flight.json"), "{said}");
    let copy = place.path("journal");
    copy_flight(&flight, &copy);
    let journal = std::fs::read_to_string(copy.join("integrity.jsonl")).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    let without: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, line)| format!("{line}\n"))
        .collect();
    std::fs::write(copy.join("integrity.jsonl"), without).unwrap();
    let (code, said) = place.verify(&[copy.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(said.starts_with("altered: integrity.jsonl"), "{said}");

    // Cut: truncated after the last durable write the file still holds.
    let copy = place.path("cut");
    copy_flight(&flight, &copy);
    let tlog = copy.join("flight.tlog");
    let len = std::fs::metadata(&tlog).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tlog)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (code, said) = place.verify(&[copy.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.starts_with("truncated after 20")
            && said.contains(&format!("{} of its {len}", len / 2)),
        "{said}"
    );

    // A file added after the flight closed is named, not hidden.
    std::fs::write(flight.join("notes.txt"), "added later").unwrap();
    let (code, said) = place.verify(&[flight.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("notes.txt: not covered by the seal"),
        "{said}"
    );

    // Not signed: a tlog folder from elsewhere.
    let other = place.path("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(flight.join("flight.tlog"), other.join("flight.tlog")).unwrap();
    let (code, said) = place.verify(&[other.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(said.starts_with("not signed: no seal"), "{said}");
}

#[test]
fn a_killed_recorder_leaves_a_flight_that_verifies_with_only_the_public_key() {
    let place = Place::new();
    let (mut sim, mut recorder, flight) = place.start_recording("killed", None);
    std::thread::sleep(Duration::from_millis(4500));
    let _ = recorder.kill(); // SIGKILL
    let _ = recorder.wait();
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(!flight.join("manifest.json").exists());
    let public = place.path("recorder.pub");
    place.ok(&["keys", "export-public", "-o", public.to_str().unwrap()]);

    // An auditor: a fresh config and data folder, the public key and the folder alone.
    let auditor = Place::new();
    let (code, said) =
        auditor.verify(&[flight.to_str().unwrap(), "--key", public.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.starts_with("intact up to the last durable write at 20"),
        "{said}"
    );
    // A flipped byte in what was sealed is still found.
    let copy = auditor.path("copy");
    copy_flight(&flight, &copy);
    flip(&copy.join("capture.alc"), 2000);
    let (code, said) = auditor.verify(&[copy.to_str().unwrap(), "--key", public.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        said.starts_with("altered: capture.alc byte 2000 differs"),
        "{said}"
    );
    // The key's hex digits alone do as well as its file.
    let hex = std::fs::read_to_string(&public).unwrap();
    let hex = hex.split_whitespace().nth(2).unwrap().to_owned();
    let (code, said) = auditor.verify(&[flight.to_str().unwrap(), "--key", &hex]);
    assert_eq!(code, Some(0), "{said}");
    // Without the key, the auditor's own installation cannot vouch for it.
    let (code, _) = auditor.verify(&[flight.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let mine = auditor.path("mine.pub");
    auditor.ok(&["keys", "export-public", "-o", mine.to_str().unwrap()]);
    let (code, said) = auditor.verify(&[flight.to_str().unwrap(), "--key", mine.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(said.starts_with("not signed: sealed by key"), "{said}");
}

/// Whether a program is on the PATH (in CI it must be: `.ci/run` installs it).
fn have(program: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is required in CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED: no {program} on the PATH");
    }
    found
}

#[test]
fn a_bundle_unpacks_and_an_encrypted_one_decrypts_with_age_and_both_verify_intact() {
    let place = Place::new();
    let flight = place.record("2026-11-27_10-00-00Z", "4");
    let public = place.path("recorder.pub");
    place.ok(&["keys", "export-public", "-o", public.to_str().unwrap()]);
    let verify_unpacked = |tar: &Path, into: &str| {
        let into = place.path(into);
        std::fs::create_dir_all(&into).unwrap();
        common::ok(Command::new("tar").arg("-xf").arg(tar).arg("-C").arg(&into));
        let unpacked = into.join("2026-11-27_10-00-00Z");
        let auditor = Place::new();
        let (code, said) = auditor.verify(&[
            unpacked.to_str().unwrap(),
            "--key",
            public.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(0), "{said}");
        assert!(said.starts_with("intact: 4 files"), "{said}");
        said
    };

    let bundle = |out: &Path, encrypt_to: &[&str]| {
        let flight = flight.to_str().unwrap();
        let args = [&["export", flight, "--format", "bundle"], encrypt_to].concat();
        place.ok(&[args.as_slice(), &["-o", out.to_str().unwrap()]].concat())
    };
    let plain = place.path("flight.tar");
    let stderr = bundle(&plain, &[]);
    assert!(stderr.contains("wrote 6 files"), "{stderr}");
    println!("{}", verify_unpacked(&plain, "plain"));

    if !(have("age") && have("age-keygen")) {
        return;
    }
    let identity = place.path("investigator.key");
    common::ok(Command::new("age-keygen").arg("-o").arg(&identity));
    let recipient = common::ok(Command::new("age-keygen").arg("-y").arg(&identity));
    let recipient = String::from_utf8_lossy(&recipient.stdout).trim().to_owned();
    assert!(recipient.starts_with("age1"), "{recipient}");
    let sealed = place.path("flight.tar.age");
    bundle(&sealed, &["--encrypt-to", &recipient]);
    let bytes = std::fs::read(&sealed).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !bytes.windows(11).any(|w| w == b"capture.alc"),
        "names are hidden too"
    );
    let decrypted = place.path("decrypted.tar");
    common::ok(
        Command::new("age")
            .args(["-d", "-i"])
            .arg(&identity)
            .arg("-o")
            .arg(&decrypted)
            .arg(&sealed),
    );
    println!("{}", verify_unpacked(&decrypted, "decrypted"));
    // Someone else's key does not open it.
    let stranger = place.path("stranger.key");
    common::ok(Command::new("age-keygen").arg("-o").arg(&stranger));
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(&stranger)
        .arg(&sealed)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
