//! The live session: one worker thread that owns the link and the flight record.
//!
//! Each loop turn reads what the link has, **records it first**, then frames and decodes it,
//! writes valid frames to the `.tlog`, sends the ground station's heartbeat and queued
//! commands (recorded the same way), and reports events to whoever listens (the GUI or the
//! CLI). When the link vanishes it is retried every 400 ms, by path and by USB serial number,
//! and the same flight continues. It never draws anything.

pub mod ports;
mod recorder;

pub use recorder::{
    counts_of, run, Control, FlightDir, InjectedFault, SessionConfig, SigningSetup,
};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::capture::FlightMeta;
use crate::protocol::services::{Outcome, Request, RequestId, ServiceEvent};
use crate::protocol::{FrameHeader, MavMessage};

/// What the link is doing, in the operator's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    DetectingBaud {
        trying: u32,
    },
    Connected {
        baud: u32,
    },
    Lost {
        reason: String,
    },
    Disconnected,
    /// The session stopped on an error it could not recover from.
    Failed {
        reason: String,
    },
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
            Self::Failed { reason } => write!(f, "disconnected — {reason}"),
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
    /// Something went wrong that the operator must know.
    Problem(String),
    /// Recording paused (a full disk) or resumed: told at once.
    Recording(crate::capture::RecordingNews),
    /// With signing: what the received frames' signatures say, so far.
    Signing(crate::protocol::signing::SigningStatus),
    /// A request's progress or its outcome.
    Service(ServiceEvent),
    /// The flight was closed; the session is over.
    Closed(Box<FlightMeta>),
}

/// What the operator asks the session to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Ask the vehicle for something; the outcome comes back as a [`SessionEvent::Service`].
    Request(RequestId, Request),
    /// Stop a request (a log download): it ends `Cancelled`.
    Cancel(RequestId),
}

/// The way into a running worker: closed (set to `None`) by the worker when it ends, under the
/// lock, so that a command is either taken by the worker or answered by the handle, never lost.
type CommandGate = Arc<Mutex<Option<Sender<Command>>>>;

/// A session running on its own thread.
pub struct SessionHandle {
    pub events: Receiver<SessionEvent>,
    /// To answer requests for a session that has ended.
    event_tx: Sender<SessionEvent>,
    commands: CommandGate,
    next_request: AtomicU64,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SessionHandle {
    /// Starts a session; `waker` is called whenever events are queued (e.g. to repaint a UI).
    pub fn spawn(config: SessionConfig, waker: Box<dyn Fn() + Send>) -> std::io::Result<Self> {
        let (event_tx, events) = crossbeam_channel::unbounded();
        let (commands, command_rx) = crossbeam_channel::unbounded();
        let gate: CommandGate = Arc::new(Mutex::new(Some(commands)));
        let stop = Arc::new(AtomicBool::new(false));
        let control = Control {
            stop: stop.clone(),
            commands: command_rx,
        };
        let worker_events = event_tx.clone();
        let worker_gate = gate.clone();
        let thread = std::thread::Builder::new()
            .name("airlock-session".into())
            .spawn(move || {
                let queued = control.commands.clone();
                let emit = |event: SessionEvent| {
                    // Failing: from now on requests are answered at once, not after the flight
                    // has been synced and closed.
                    let failed = matches!(&event, SessionEvent::Link(LinkState::Failed { .. }));
                    let _ = worker_events.send(event);
                    if failed {
                        close_gate(
                            &worker_gate,
                            &queued,
                            &worker_events,
                            "the session has ended: the link failed",
                        );
                    }
                    waker();
                };
                // A panic must not leave the operator looking at a link that seems alive.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut emit = &emit;
                    run(&config, &control, &mut emit)
                }));
                let failure = match result {
                    Ok(Ok(_)) => None,
                    Ok(Err(error)) => Some(format!("{error:#}")),
                    Err(panic) => Some(format!(
                        "the link worker stopped on an internal error: {}",
                        panic_words(panic.as_ref())
                    )),
                };
                let reason = failure
                    .clone()
                    .unwrap_or_else(|| "the session has ended".to_owned());
                close_gate(&worker_gate, &control.commands, &worker_events, &reason);
                if let Some(reason) = failure {
                    emit(SessionEvent::Link(LinkState::Failed { reason }));
                }
            })?;
        Ok(Self {
            events,
            event_tx,
            commands: gate,
            next_request: AtomicU64::new(1),
            stop,
            thread: Some(thread),
        })
    }

    /// Asks the vehicle for something; returns the request's id. Its outcome always comes,
    /// as a [`SessionEvent::Service`] event — at once when the session has ended.
    pub fn request(&self, request: Request) -> RequestId {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let sent = match self.commands.lock() {
            Ok(gate) => gate
                .as_ref()
                .is_some_and(|commands| commands.send(Command::Request(id, request)).is_ok()),
            Err(_) => false,
        };
        if !sent {
            let _ = self
                .event_tx
                .send(not_sent(id, "the session has ended: connect again"));
        }
        id
    }

    /// Stops request `id` if it is still running (its outcome says `Cancelled`).
    pub fn cancel(&self, id: RequestId) {
        if let Ok(gate) = self.commands.lock() {
            if let Some(commands) = gate.as_ref() {
                let _ = commands.send(Command::Cancel(id));
            }
        }
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

/// Closes the way in, then answers what is still queued: nothing waits in silence.
fn close_gate(
    gate: &CommandGate,
    queued: &Receiver<Command>,
    events: &Sender<SessionEvent>,
    reason: &str,
) {
    let closed = gate.lock().map(|mut gate| gate.take());
    drop(closed);
    for command in queued.try_iter() {
        // A cancel of a request that ended with the session needs no answer.
        if let Command::Request(id, _) = command {
            let _ = events.send(not_sent(id, reason));
        }
    }
}

fn not_sent(id: RequestId, reason: &str) -> SessionEvent {
    SessionEvent::Service(ServiceEvent::Finished {
        id,
        outcome: Outcome::NotSent {
            reason: reason.to_owned(),
        },
    })
}

/// The message of a panic, for the operator.
fn panic_words(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.request_stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
