//! The live session: one worker thread that owns the link and the flight record.
//!
//! Each loop turn reads what the link has, **records it first**, then frames and decodes it,
//! writes valid frames to the `.tlog`, sends the ground station's heartbeat and queued
//! commands (recorded the same way), and reports events to whoever listens (the GUI or the
//! CLI). When the link vanishes it is retried every 400 ms, by path and by USB serial number,
//! and the same flight continues. It never draws anything.

pub mod ports;
mod recorder;

pub use recorder::{counts_of, run, Control, FlightDir, SessionConfig};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::capture::FlightMeta;
use crate::protocol::{FrameHeader, MavMessage};

/// What the link is doing, in the operator's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    DetectingBaud { trying: u32 },
    Connected { baud: u32 },
    Lost { reason: String },
    Disconnected,
}

impl std::fmt::Display for LinkState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connecting => f.write_str("connecting"),
            Self::DetectingBaud { trying } => write!(f, "detecting baud (trying {trying})"),
            Self::Connected { baud: 0 } => f.write_str("connected"),
            Self::Connected { baud } => write!(f, "connected at {baud} baud"),
            Self::Lost { .. } => f.write_str("link lost — reconnecting"),
            Self::Disconnected => f.write_str("disconnected"),
        }
    }
}

/// What the session reports.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// The flight record was created in this folder.
    FlightStarted(std::path::PathBuf),
    Link(LinkState),
    /// Bytes moved (for rates): received or sent, at a monotonic time.
    Bytes {
        mono_us: u64,
        rx: usize,
        tx: usize,
    },
    /// A decoded message from the vehicle side.
    Message {
        wall_us: u64,
        mono_us: u64,
        header: FrameHeader,
        message: Box<MavMessage>,
    },
    /// Framing counters so far (received side).
    Framing(crate::protocol::frame::FramerStats),
    /// Size of the flight record on disk so far.
    Recorded {
        bytes: u64,
    },
    /// Something went wrong that the operator must know (e.g. the disk is full).
    Problem(String),
    /// The flight was closed; the session is over.
    Closed(Box<FlightMeta>),
}

/// What the operator asks the session to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Send a message to the vehicle.
    Send(Box<MavMessage>),
}

/// A session running on its own thread.
pub struct SessionHandle {
    pub events: Receiver<SessionEvent>,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SessionHandle {
    /// Starts a session; `waker` is called whenever events are queued (e.g. to repaint a UI).
    pub fn spawn(config: SessionConfig, waker: Box<dyn Fn() + Send>) -> std::io::Result<Self> {
        let (event_tx, events) = crossbeam_channel::unbounded();
        let (commands, command_rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let control = Control {
            stop: stop.clone(),
            commands: command_rx,
        };
        let thread = std::thread::Builder::new()
            .name("airlock-session".into())
            .spawn(move || {
                let mut emit = |event: SessionEvent| {
                    let _ = event_tx.send(event);
                    waker();
                };
                if let Err(error) = run(&config, &control, &mut emit) {
                    emit(SessionEvent::Problem(format!("{error:#}")));
                    emit(SessionEvent::Link(LinkState::Disconnected));
                }
            })?;
        Ok(Self {
            events,
            commands,
            stop,
            thread: Some(thread),
        })
    }

    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Asks the session to close its flight and stop; does not wait.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Stops the session and waits for the flight to be closed.
    pub fn stop(mut self) {
        self.request_stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.request_stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
