//! A session worker that fails reaches its owner as *disconnected* with the reason within a
//! second, a request to a dead session is answered at once, and a port whose writes fail has
//! the failure recorded in the capture and reported.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use airlock::capture::raw::{RecordIter, RecordKind};
use airlock::capture::LinkEvent;
use airlock::link::Baud;
use airlock::protocol::services::{Action, Outcome, Request, ServiceEvent};
use airlock::session::{
    FlightDir, InjectedFault, LinkState, SessionConfig, SessionEvent, SessionHandle,
};

fn config(port: String, flight: &std::path::Path, inject: Option<InjectedFault>) -> SessionConfig {
    SessionConfig {
        port,
        baud: Baud::Fixed(57600),
        flight_dir: FlightDir::Exact(flight.to_owned()),
        duration: None,
        act_as_gcs: true,
        ask_telemetry: true,
        forward: None,
        signing: None,
        seal: None,
        inject,
    }
}

/// Waits for an event that `wanted` picks, for at most `limit`.
fn wait_for<T>(
    session: &SessionHandle,
    limit: Duration,
    mut wanted: impl FnMut(&SessionEvent) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    while let Ok(event) = session
        .events
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        if let Some(found) = wanted(&event) {
            return Some(found);
        }
    }
    None
}

fn the_worker_failing_shows_disconnected_with_its_reason(fault: InjectedFault, after: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let vehicle = airlock::app::DemoVehicle::start(57600).unwrap();
    let session = SessionHandle::spawn(
        config(
            vehicle.device.clone(),
            &dir.path().join("flight"),
            Some(fault),
        ),
        Box::new(|| {}),
    )
    .unwrap();
    // The worker's clock starts when it has made the flight record.
    wait_for(&session, Duration::from_secs(5), |event| {
        matches!(event, SessionEvent::FlightStarted(_)).then_some(())
    })
    .expect("the flight starts");
    let started = Instant::now();
    let reason = wait_for(
        &session,
        after + Duration::from_secs(5),
        |event| match event {
            SessionEvent::Link(LinkState::Failed { reason }) => Some(reason.clone()),
            _ => None,
        },
    )
    .expect("the failure is reported");
    let late = started.elapsed().saturating_sub(after);
    assert!(
        late < Duration::from_secs(1),
        "reported {late:?} after the fault"
    );
    println!("{fault:?}: reported {late:?} after the fault: {reason}");
    assert_eq!(
        LinkState::Failed {
            reason: reason.clone()
        }
        .to_string(),
        format!("disconnected — {reason}")
    );
    // A request now is answered at once.
    let asked = Instant::now();
    let id = session.request(Request {
        target: None,
        action: Action::Arm,
    });
    let outcome = wait_for(&session, Duration::from_secs(1), |event| match event {
        SessionEvent::Service(ServiceEvent::Finished { id: done, outcome }) if *done == id => {
            Some(outcome.clone())
        }
        _ => None,
    })
    .expect("an outcome");
    assert!(matches!(outcome, Outcome::NotSent { .. }), "{outcome:?}");
    assert!(asked.elapsed() < Duration::from_millis(100));
    reason_check(&reason, fault);
}

fn reason_check(reason: &str, fault: InjectedFault) {
    match fault {
        InjectedFault::PanicAfter(_) => {
            assert!(reason.contains("injected worker panic"), "{reason}")
        }
        InjectedFault::ReadErrorAfter(..) => {
            assert!(reason.contains("Bad file descriptor"), "{reason}")
        }
    }
}

#[test]
fn a_panicking_worker_shows_disconnected_and_why() {
    let after = Duration::from_secs(2);
    the_worker_failing_shows_disconnected_with_its_reason(InjectedFault::PanicAfter(after), after);
}

#[test]
fn a_port_error_that_is_not_a_disconnect_ends_the_session_with_its_reason() {
    let after = Duration::from_secs(2);
    let fault = InjectedFault::ReadErrorAfter(after, libc::EBADF);
    the_worker_failing_shows_disconnected_with_its_reason(fault, after);
}

#[test]
fn a_port_that_takes_no_bytes_has_its_failed_writes_recorded_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let flight = dir.path().join("flight");
    // A pty whose far end never reads: once its buffer is full, writes time out.
    let (_master, slave) = serialport::TTYPort::pair().unwrap();
    let path = serialport::SerialPort::name(&slave).unwrap();
    let mut filler = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path)
        .unwrap();
    let block = [0u8; 1024];
    while filler.write(&block).is_ok() {}
    let session = SessionHandle::spawn(config(path, &flight, None), Box::new(|| {})).unwrap();
    let problem = wait_for(&session, Duration::from_secs(10), |event| match event {
        SessionEvent::Problem(text) if text.contains("cannot write to the port") => {
            Some(text.clone())
        }
        _ => None,
    })
    .expect("the failed write is reported");
    println!("{problem}");
    session.stop();
    let capture = std::fs::read(flight.join("capture.alc")).unwrap();
    let mut records = RecordIter::new(&capture);
    let mut sent_then_failed = false;
    let mut last_tx = None;
    for record in records.by_ref() {
        match record.kind {
            RecordKind::Tx => last_tx = Some(record.data.len() as u64),
            RecordKind::Event => {
                if let Some(LinkEvent::WriteFailed { bytes, .. }) = LinkEvent::parse(record.data) {
                    assert_eq!(
                        Some(bytes),
                        last_tx,
                        "the failure names the record before it"
                    );
                    sent_then_failed = true;
                }
            }
            RecordKind::Rx => {}
        }
    }
    assert!(
        sent_then_failed,
        "a write_failed event follows the bytes that were not sent"
    );
}
