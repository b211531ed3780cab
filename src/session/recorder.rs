//! The session loop: link → raw capture → framer → tlog, decoder, services, events; and
//! services → raw capture → tlog → link. It does I/O only: what to send and when is the
//! protocol services' business ([`Hub`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossbeam_channel::Receiver;

use super::{Command, LinkState, SessionEvent};
use crate::capture::raw::RecordKind;
use crate::capture::{
    FlightCounts, FlightMeta, FlightRecord, FlightSource, LinkEvent, VehicleSeen,
};
use crate::keys::KeyStore;
use crate::link::{
    self, Baud, Link, LinkError, NetLink, NetSpec, SerialLink, UdpForward, AUTO_BAUD_RATES,
    RETRY_INTERVAL,
};
use crate::privacy::{self, NetworkPermit};
use crate::protocol::frame::{FramerStats, Parsed};
use crate::protocol::services::{Hub, Outcome, ServiceEvent};
use crate::protocol::signing::{Signer, SigningKey, Verifier};
use crate::protocol::{self, Framer, MavMessage, Outgoing, Tally};

/// How long auto-baud listens at one rate for valid frames.
const BAUD_WINDOW: Duration = Duration::from_millis(2200);
/// Valid frames needed at a rate to choose it (a single one could be chance).
const BAUD_FRAMES_NEEDED: u64 = 2;
/// How often counters are reported.
const REPORT_INTERVAL: Duration = Duration::from_millis(250);

/// Where the flight goes.
#[derive(Debug, Clone)]
pub enum FlightDir {
    /// Exactly this folder (created; must not hold a flight already).
    Exact(PathBuf),
    /// A new folder named after the start time, under this one.
    Under(PathBuf),
}

/// What to record from.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// A serial device path.
    pub port: String,
    pub baud: Baud,
    pub flight_dir: FlightDir,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Send the GCS heartbeat and ask ArduPilot vehicles for telemetry.
    pub act_as_gcs: bool,
    /// With `act_as_gcs`, whether to ask for telemetry streams (not for a transfer alone).
    pub ask_telemetry: bool,
    /// Also send every received frame to this UDP address (`HOST:PORT`), and pass what comes
    /// back to the vehicle: a second ground station. A network feature.
    pub forward: Option<String>,
    /// MAVLink 2 signing: sign every frame sent and check every frame received.
    pub signing: Option<SigningSetup>,
    /// This installation's key that seals its flights (a signed journal and manifest: see
    /// [`crate::capture::seal`]); none leaves the flight unsealed.
    pub seal: Option<std::sync::Arc<crate::capture::seal::SealKey>>,
    /// For tests of the failure paths only: a fault the worker injects into itself.
    #[doc(hidden)]
    pub inject: Option<InjectedFault>,
}

/// MAVLink 2 signing for a session: the key, and where the latest timestamp used is kept.
#[derive(Debug, Clone)]
pub struct SigningSetup {
    pub key: SigningKey,
    /// Keeps the latest timestamp between runs (None: the clock alone).
    pub store: Option<KeyStore>,
    /// Check received frames (and keep bad ones from the live state and the services). Off
    /// only to turn a vehicle's signing off: its unsigned heartbeat is the confirmation.
    pub verify: bool,
}

/// How often the latest signing timestamp is kept on disk.
const STAMP_INTERVAL: Duration = Duration::from_secs(10);

/// A fault a test makes the worker suffer, to check that it reaches the operator.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFault {
    /// The worker panics this long after it starts.
    PanicAfter(Duration),
    /// Reads fail with this OS error (`errno`) from this long after the start.
    ReadErrorAfter(Duration, i32),
}

/// How the owner steers a running session.
pub struct Control {
    pub stop: Arc<AtomicBool>,
    pub commands: Receiver<Command>,
}

enum BaudSearch {
    Fixed(u32),
    Trying {
        index: usize,
        since: Instant,
        frames_before: u64,
    },
    Found(u32),
}

struct Session<'a, E: FnMut(SessionEvent)> {
    config: &'a SessionConfig,
    /// For a network link: what it is and the permit that lets it open.
    network: Option<(NetSpec, NetworkPermit)>,
    forward: Option<UdpForward>,
    record: FlightRecord,
    rx: Framer,
    tx: Framer,
    tally: Tally,
    outgoing: Outgoing,
    hub: Hub,
    link: Option<Box<dyn Link>>,
    usb_serial: Option<String>,
    state: LinkState,
    baud: BaudSearch,
    next_attempt: Instant,
    last_report: Instant,
    started: Instant,
    /// A send to the port is failing (reported once per run of failures).
    send_failing: bool,
    connected_once: bool,
    /// With signing: what signs the frames sent and checks those received.
    signer: Option<Signer>,
    verifier: Option<Verifier>,
    stamp_kept: Instant,
    emit: &'a mut E,
}

/// Runs a session until `control.stop` is set or the duration is over; returns the closed
/// flight's metadata.
pub fn run(
    config: &SessionConfig,
    control: &Control,
    emit: &mut impl FnMut(SessionEvent),
) -> anyhow::Result<FlightMeta> {
    // Network features need a permit before anything starts; refused means no flight at all.
    let network = match NetSpec::parse(&config.port) {
        Some(spec) => {
            let permit = privacy::request_permit(spec.feature(), spec.address())?;
            Some((spec, permit))
        }
        None => None,
    };
    let forward = match &config.forward {
        Some(target) => {
            let target = target.strip_prefix("udp:").unwrap_or(target);
            let permit = privacy::request_permit("MAVLink forwarding over UDP", target)?;
            Some(UdpForward::open(target, &permit).context("cannot open the forwarding socket")?)
        }
        None => None,
    };
    let source = FlightSource {
        port: config.port.clone(),
        baud: match config.baud {
            Baud::Fixed(baud) => Some(baud),
            Baud::Auto => None,
        },
        ..FlightSource::default()
    };
    let mut record = match &config.flight_dir {
        FlightDir::Exact(dir) => FlightRecord::create(dir, source),
        FlightDir::Under(parent) => FlightRecord::create_in(parent, source),
    }
    .context("cannot start the flight record")?;
    emit(SessionEvent::FlightStarted(record.dir().to_owned()));
    if let Some(key) = &config.seal {
        // Recording goes on unsealed rather than not at all.
        if let Err(error) = record.seal_with(key.clone()) {
            emit(SessionEvent::Problem(format!(
                "this flight is not sealed (airlock verify will say so): {error}"
            )));
        }
    }
    let baud = match config.baud {
        _ if network.is_some() => BaudSearch::Fixed(0),
        Baud::Fixed(baud) => BaudSearch::Fixed(baud),
        Baud::Auto => BaudSearch::Trying {
            index: 0,
            since: Instant::now(),
            frames_before: 0,
        },
    };
    let mut session = Session {
        config,
        network,
        forward,
        record,
        rx: Framer::new(),
        tx: Framer::new(),
        tally: Tally::default(),
        outgoing: Outgoing::default(),
        hub: {
            let mut hub = Hub::new(config.act_as_gcs);
            hub.set_ask_telemetry(config.ask_telemetry);
            hub.set_signing_key(config.signing.as_ref().map(|setup| setup.key.clone()));
            hub
        },
        link: None,
        usb_serial: None,
        state: LinkState::Connecting,
        baud,
        next_attempt: Instant::now(),
        last_report: Instant::now(),
        started: Instant::now(),
        send_failing: false,
        connected_once: false,
        signer: config.signing.as_ref().map(|setup| {
            let last = setup.store.as_ref().map_or(0, KeyStore::last_timestamp);
            Signer::new(setup.key.clone(), 0, last)
        }),
        verifier: config
            .signing
            .as_ref()
            .filter(|setup| setup.verify)
            .map(|setup| Verifier::new(setup.key.clone())),
        stamp_kept: Instant::now(),
        emit,
    };
    (session.emit)(SessionEvent::Link(LinkState::Connecting));
    let mut buf = vec![0u8; 4096];
    while !control.stop.load(Ordering::SeqCst)
        && config
            .duration
            .is_none_or(|limit| session.started.elapsed() < limit)
    {
        if let Err(error) = session.turn(control, &mut buf) {
            return session.fail(&error);
        }
    }
    session.close("the session closed")
}

impl<E: FnMut(SessionEvent)> Session<'_, E> {
    /// One turn of the loop; an error is one the session cannot go on after.
    fn turn(&mut self, control: &Control, buf: &mut [u8]) -> Result<(), LinkError> {
        if let Some(InjectedFault::PanicAfter(after)) = self.config.inject {
            if self.started.elapsed() >= after {
                panic!("injected worker panic (test build)");
            }
        }
        if self.link.is_none() {
            if Instant::now() >= self.next_attempt {
                self.connect();
            }
            if self.link.is_none() {
                // Sleep until the next attempt, still answering commands.
                if let Ok(command) = control.commands.recv_timeout(link::READ_TIMEOUT) {
                    self.run_command(command);
                }
                self.service_tick();
                self.housekeeping();
                return Ok(());
            }
        }
        while let Ok(command) = control.commands.try_recv() {
            self.run_command(command);
        }
        let result = match (self.link.as_mut(), self.config.inject) {
            (Some(_), Some(InjectedFault::ReadErrorAfter(after, errno)))
                if self.started.elapsed() >= after =>
            {
                Err(LinkError::Lost(std::io::Error::from_raw_os_error(errno)))
            }
            (Some(link), _) => link.read(buf),
            (None, _) => Ok(0),
        };
        match result {
            Ok(0) => {}
            Ok(count) => self.on_rx(&buf[..count]),
            Err(error) if error.is_disconnect() => self.lose_link(&error),
            Err(error) => return Err(error),
        }
        let returned = self
            .forward
            .as_ref()
            .map_or(0, |forward| forward.receive(buf));
        if returned > 0 {
            let bytes = buf[..returned].to_vec();
            // A failure is recorded and reported by send_bytes; the other station retries.
            let _ = self.send_bytes(&bytes);
        }
        self.search_baud();
        self.service_tick();
        self.housekeeping();
        Ok(())
    }

    fn current_baud(&self) -> u32 {
        match self.baud {
            BaudSearch::Fixed(baud) | BaudSearch::Found(baud) => baud,
            BaudSearch::Trying { index, .. } => AUTO_BAUD_RATES[index % AUTO_BAUD_RATES.len()],
        }
    }

    fn open_link(&self, baud: u32) -> Result<Box<dyn Link>, LinkError> {
        if let Some((spec, permit)) = &self.network {
            return Ok(Box::new(NetLink::open(spec, permit)?));
        }
        let mut opened = SerialLink::open(&self.config.port, baud);
        if opened.is_err() {
            if let Some(serial) = &self.usb_serial {
                opened = SerialLink::open_by_usb_serial(serial, baud);
            }
        }
        Ok(Box::new(opened?))
    }

    fn connect(&mut self) {
        let baud = self.current_baud();
        match self.open_link(baud) {
            Ok(link) => {
                let info = link.describe();
                if self.connected_once {
                    self.record.meta_mut().reconnects += 1;
                }
                self.connected_once = true;
                self.usb_serial = info.usb_serial.clone().or(self.usb_serial.take());
                let source = &mut self.record.meta_mut().source;
                source.usb_serial = self.usb_serial.clone();
                source.description = Some(info.description());
                self.event(&LinkEvent::Open {
                    port: info.path.clone(),
                    baud,
                    description: info.description(),
                    usb_serial: info.usb_serial.clone(),
                });
                self.link = Some(link);
                if let BaudSearch::Trying {
                    since,
                    frames_before,
                    ..
                } = &mut self.baud
                {
                    *since = Instant::now();
                    *frames_before = self.rx.stats().frames;
                    self.set_state(LinkState::DetectingBaud { trying: baud });
                } else {
                    self.record.meta_mut().source.baud = Some(baud);
                    self.set_state(LinkState::Connected { baud });
                }
            }
            Err(error) => {
                self.next_attempt = Instant::now() + RETRY_INTERVAL;
                let reason = error.to_string();
                let state = if self.connected_once {
                    LinkState::Lost {
                        reason: reason.clone(),
                    }
                } else {
                    LinkState::Connecting
                };
                // Still lost (for another reason) is not news.
                if std::mem::discriminant(&self.state) != std::mem::discriminant(&state) {
                    if !self.connected_once {
                        (self.emit)(SessionEvent::Problem(reason));
                    }
                    self.set_state(state);
                }
            }
        }
    }

    fn lose_link(&mut self, error: &LinkError) {
        self.link = None;
        self.event(&LinkEvent::Lost {
            error: error.to_string(),
        });
        self.hub.link_lost(&error.to_string());
        self.pump();
        self.flush_rx();
        self.next_attempt = Instant::now();
        self.set_state(LinkState::Lost {
            reason: error.to_string(),
        });
    }

    fn search_baud(&mut self) {
        let BaudSearch::Trying {
            index,
            since,
            frames_before,
        } = self.baud
        else {
            return;
        };
        if self.link.is_none() {
            return;
        }
        let baud = AUTO_BAUD_RATES[index % AUTO_BAUD_RATES.len()];
        if self.rx.stats().frames >= frames_before + BAUD_FRAMES_NEEDED {
            self.baud = BaudSearch::Found(baud);
            self.record.meta_mut().source.baud = Some(baud);
            self.event(&LinkEvent::Baud {
                baud,
                detected: true,
            });
            self.set_state(LinkState::Connected { baud });
        } else if since.elapsed() >= BAUD_WINDOW {
            let next = AUTO_BAUD_RATES[(index + 1) % AUTO_BAUD_RATES.len()];
            let result = match self.link.as_mut() {
                Some(link) => link.set_baud(next),
                None => Ok(()),
            };
            self.flush_rx();
            self.baud = BaudSearch::Trying {
                index: (index + 1) % AUTO_BAUD_RATES.len(),
                since: Instant::now(),
                frames_before: self.rx.stats().frames,
            };
            self.event(&LinkEvent::Baud {
                baud: next,
                detected: false,
            });
            match result {
                Ok(()) => self.set_state(LinkState::DetectingBaud { trying: next }),
                Err(error) => self.lose_link(&error),
            }
        }
    }

    /// The monotonic time the services run on (the flight's clock).
    fn now_us(&self) -> u64 {
        self.record.now().mono_us
    }

    fn service_tick(&mut self) {
        let now_us = self.now_us();
        self.hub.tick(now_us);
        self.pump();
    }

    /// Sends what the services want sent and reports what they say.
    fn pump(&mut self) {
        while let Some(outbound) = self.hub.poll_transmit() {
            if let Err(reason) = self.send(&outbound.message) {
                if let Some(id) = outbound.request {
                    self.hub.abandon(id, Outcome::NotSent { reason });
                }
            }
        }
        while let Some(event) = self.hub.poll_event() {
            if let ServiceEvent::Finished { id, outcome } = &event {
                self.event(&LinkEvent::Outcome {
                    id: *id,
                    accepted: outcome.is_accepted(),
                    outcome: outcome.to_string(),
                });
            }
            (self.emit)(SessionEvent::Service(event));
        }
    }

    fn run_command(&mut self, command: Command) {
        match command {
            Command::Request(id, request) => {
                // On disk before anything of it is on the wire: not sent while the disk
                // cannot take it.
                if !self.record.try_resume() {
                    self.report_recording();
                    (self.emit)(SessionEvent::Service(ServiceEvent::Finished {
                        id,
                        outcome: Outcome::NotSent {
                            reason: "recording is paused (the disk cannot take it), and every \
                                     request is on disk before it is on the wire: free space \
                                     (recording resumes by itself) or use the RC transmitter"
                                .to_owned(),
                        },
                    }));
                    return;
                }
                self.report_recording();
                self.event(&LinkEvent::Request {
                    id,
                    target: request.target.map(|t| t.to_string()),
                    action: request.action.describe(),
                });
                let now_us = self.now_us();
                self.hub.submit(now_us, id, request);
                self.pump();
            }
            Command::Cancel(id) => {
                self.hub.abandon(id, Outcome::Cancelled);
                self.pump();
            }
        }
    }

    fn send(&mut self, message: &MavMessage) -> Result<(), String> {
        let mut bytes = self.outgoing.encode(message);
        if let Some(signer) = &mut self.signer {
            signer.sign(&mut bytes, self.record.now().wall_us);
        }
        self.send_bytes(&bytes)
    }

    /// Keeps the latest signing timestamp on disk, so the next run never signs with an older
    /// one (every `STAMP_INTERVAL`, and at the end).
    fn keep_stamp(&mut self, now: bool) {
        if !now && self.stamp_kept.elapsed() < STAMP_INTERVAL {
            return;
        }
        self.stamp_kept = Instant::now();
        let (Some(signer), Some(store)) = (
            &self.signer,
            self.config.signing.as_ref().and_then(|s| s.store.as_ref()),
        ) else {
            return;
        };
        if let Err(error) = store.store_timestamp(signer.last_timestamp()) {
            (self.emit)(SessionEvent::Problem(format!(
                "cannot keep the signing timestamp: {error}"
            )));
        }
    }

    /// Writes bytes to the vehicle, recording them first like every other byte: a frame is on
    /// disk before it is on the wire. A write that fails is recorded as failed and reported.
    fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.link.is_none() {
            return Err("the link is not connected".to_owned());
        }
        // The signing key never reaches a file: what is recorded has it redacted, said first.
        let redacted = crate::protocol::signing::redact_secrets(bytes);
        if let Some((_, frames)) = &redacted {
            self.event(&LinkEvent::Redacted {
                message: "SETUP_SIGNING".to_owned(),
                field: "secret_key".to_owned(),
                frames: *frames as u64,
            });
        }
        let recorded = redacted.as_ref().map_or(bytes, |(bytes, _)| bytes);
        let time = self.record.record(RecordKind::Tx, 0, recorded);
        let Self {
            tx, tally, record, ..
        } = self;
        tx.push(recorded, &mut |item| {
            if let Parsed::Frame(header, frame) = item {
                tally.on_sent(&header);
                record.record_frame(time.wall_us, frame);
            }
        });
        let result = match self.link.as_mut() {
            Some(link) => link.write_all(bytes),
            None => Ok(()),
        };
        (self.emit)(SessionEvent::Bytes {
            mono_us: time.mono_us,
            rx: 0,
            tx: if result.is_ok() { bytes.len() } else { 0 },
        });
        match result {
            Ok(()) => {
                self.send_failing = false;
                Ok(())
            }
            Err(error) => {
                let words = format!("cannot write to the port: {error}");
                self.event(&LinkEvent::WriteFailed {
                    bytes: bytes.len() as u64,
                    error: error.to_string(),
                });
                if !self.send_failing {
                    self.send_failing = true;
                    (self.emit)(SessionEvent::Problem(words.clone()));
                }
                if !error.is_stalled() {
                    self.lose_link(&error);
                }
                Err(words)
            }
        }
    }

    fn on_rx(&mut self, data: &[u8]) {
        let time = self.record.record(RecordKind::Rx, 0, data);
        (self.emit)(SessionEvent::Bytes {
            mono_us: time.mono_us,
            rx: data.len(),
            tx: 0,
        });
        self.parse_rx(Some(data), time);
    }

    fn flush_rx(&mut self) {
        let time = self.record.now();
        self.parse_rx(None, time);
    }

    /// Frames received bytes (or flushes held-back ones), writes frames to the tlog, decodes.
    fn parse_rx(&mut self, data: Option<&[u8]>, time: crate::capture::Timestamp) {
        let Self {
            rx,
            tally,
            record,
            emit,
            forward,
            hub,
            verifier,
            ..
        } = self;
        let mut on_item = |item: Parsed<'_>| {
            let frame_bytes = match item {
                Parsed::Frame(_, bytes) | Parsed::Unknown(_, bytes) => Some(bytes),
                _ => None,
            };
            if let Some(bytes) = frame_bytes {
                record.record_frame(time.wall_us, bytes);
                if let Some(forward) = forward.as_ref() {
                    forward.send(bytes);
                }
            }
            if let Some((header, bytes)) = tally.on_received(&item) {
                // Recorded and counted, but kept from the live state and the services.
                if verifier
                    .as_mut()
                    .is_some_and(|verifier| !verifier.admit(&header, bytes, time.wall_us))
                {
                    return;
                }
                match protocol::decode(&header, bytes) {
                    Ok(message) => {
                        tally.on_decoded(&header, &message);
                        hub.on_message(time.mono_us, &header, &message);
                        emit(SessionEvent::Message {
                            wall_us: time.wall_us,
                            mono_us: time.mono_us,
                            header,
                            message: Box::new(message),
                        });
                    }
                    Err(_) => tally.decode_errors += 1,
                }
            }
        };
        match data {
            Some(data) => rx.push(data, &mut on_item),
            None => rx.flush(&mut on_item),
        }
        self.pump();
    }

    fn event(&mut self, event: &LinkEvent) {
        self.record.record_event(0, event);
    }

    /// Tells the owner at once when recording pauses (a full disk) and when it resumes.
    fn report_recording(&mut self) {
        for news in self.record.take_news() {
            (self.emit)(SessionEvent::Recording(news));
        }
    }

    fn set_state(&mut self, state: LinkState) {
        if matches!(state, LinkState::Connected { .. })
            && !matches!(self.state, LinkState::Connected { .. })
        {
            let now_us = self.now_us();
            self.hub.link_up(now_us);
        }
        if self.state != state {
            self.state = state.clone();
            (self.emit)(SessionEvent::Link(state));
        }
    }

    fn housekeeping(&mut self) {
        self.record.tick();
        self.report_recording();
        if self.last_report.elapsed() >= REPORT_INTERVAL {
            self.last_report = Instant::now();
            (self.emit)(SessionEvent::Framing(self.rx.stats()));
            (self.emit)(SessionEvent::Recorded {
                bytes: self.record.size_bytes(),
            });
            if let Some(verifier) = &self.verifier {
                (self.emit)(SessionEvent::Signing(verifier.status()));
            }
            self.keep_stamp(false);
        }
    }

    /// The worker cannot go on: the failure is recorded, requests end, the flight is closed,
    /// and the owner hears *disconnected* with the reason.
    fn fail(mut self, error: &LinkError) -> anyhow::Result<FlightMeta> {
        let reason = error.to_string();
        self.event(&LinkEvent::Failed {
            error: reason.clone(),
        });
        let words = format!("the link failed: {reason}");
        (self.emit)(SessionEvent::Problem(words.clone()));
        // Told at once; closing the flight (syncing its files) comes after.
        (self.emit)(SessionEvent::Link(LinkState::Failed {
            reason: words.clone(),
        }));
        self.close(&reason)?;
        Err(anyhow::anyhow!(words))
    }

    fn close(mut self, reason: &str) -> anyhow::Result<FlightMeta> {
        self.keep_stamp(true);
        self.hub.link_lost(reason);
        self.pump();
        if self.link.take().is_some() {
            self.event(&LinkEvent::Close);
        }
        self.flush_rx();
        if let Some(verifier) = &self.verifier {
            (self.emit)(SessionEvent::Signing(verifier.status()));
        }
        self.record.meta_mut().counts = counts_of(&self.tally, &self.rx.stats());
        let meta = self
            .record
            .close()
            .context("cannot close the flight record")?;
        (self.emit)(SessionEvent::Link(LinkState::Disconnected));
        (self.emit)(SessionEvent::Closed(Box::new(meta.clone())));
        Ok(meta)
    }
}

/// A flight's counts from its tally and the receive side's framing counters.
pub fn counts_of(tally: &Tally, received: &FramerStats) -> FlightCounts {
    FlightCounts {
        vehicles: tally
            .senders
            .iter()
            .map(|(&(system_id, component_id), sender)| VehicleSeen {
                system_id,
                component_id,
                vehicle_type: sender.vehicle_type.clone(),
                autopilot: sender.autopilot.clone(),
            })
            .collect(),
        messages: tally.received_by_name(),
        sent_messages: tally.sent_by_name(),
        unknown_messages: tally.unknown_by_name(),
        crc_errors: received.crc_errors,
        unknown_frames: received.unknown_frames,
        garbage_bytes: received.garbage_bytes,
        lost_frames: tally.sequence.lost(),
        signed_frames: tally.signed_frames,
    }
}
