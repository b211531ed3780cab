//! SETUP_SIGNING: the key goes to the vehicle, the change is confirmed by its next heartbeat
//! (signed after an install, unsigned after a removal), retried, timed out, refused in flight.

use super::super::signing_setup::{ATTEMPTS, WAIT_US};
use super::*;
use crate::protocol::signing::{SigningKey, INCOMPAT_SIGNED};

fn setups_sent(rig: &Rig) -> Vec<apm::SETUP_SIGNING_DATA> {
    rig.sent
        .iter()
        .filter_map(|(_, message, _)| match message {
            MavMessage::SETUP_SIGNING(data) => Some(data.clone()),
            _ => None,
        })
        .collect()
}

/// The vehicle's heartbeat, its frame signed or not.
fn heartbeat_from_vehicle(rig: &mut Rig, signed: bool) {
    let mut head = header(1, 1);
    if signed {
        head.incompat_flags |= INCOMPAT_SIGNED;
    }
    rig.hub.on_message(rig.now_us, &head, &copter(0, false));
    rig.collect();
}

#[test]
fn an_install_sends_the_key_and_ends_when_the_heartbeat_comes_signed() {
    let key = SigningKey::from_passphrase("install me");
    let mut rig = Rig::new();
    rig.hub.set_signing_key(Some(key.clone()));
    rig.submit(
        1,
        Action::InstallSigning {
            initial_timestamp: 123_456,
        },
    );
    let sent = setups_sent(&rig);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (
            sent[0].secret_key,
            sent[0].initial_timestamp,
            sent[0].target_system,
            sent[0].target_component
        ),
        (*key.bytes(), 123_456, 1, 1)
    );
    // Unsigned heartbeats (sent before the key arrived) do not end it.
    rig.wait(500_000);
    heartbeat_from_vehicle(&mut rig, false);
    assert!(rig.outcomes(1).is_empty());
    rig.wait(500_000);
    heartbeat_from_vehicle(&mut rig, true);
    assert_eq!(rig.outcome(1), Outcome::Accepted);
    rig.wait(4 * WAIT_US);
    assert_eq!(setups_sent(&rig).len(), 1, "nothing sent after the answer");
    assert_eq!(rig.hub.pending(), 0);
}

#[test]
fn a_removal_sends_zeros_and_ends_when_the_heartbeat_comes_unsigned() {
    let mut rig = Rig::new();
    rig.hub
        .set_signing_key(Some(SigningKey::from_bytes([9; 32])));
    rig.submit(2, Action::RemoveSigning);
    let sent = setups_sent(&rig);
    assert_eq!(
        (sent[0].secret_key, sent[0].initial_timestamp),
        ([0; 32], 0)
    );
    heartbeat_from_vehicle(&mut rig, true);
    assert!(rig.outcomes(2).is_empty());
    heartbeat_from_vehicle(&mut rig, false);
    assert_eq!(rig.outcome(2), Outcome::Accepted);
}

#[test]
fn no_sign_of_the_change_is_retried_then_times_out() {
    let mut rig = Rig::new();
    rig.hub
        .set_signing_key(Some(SigningKey::from_bytes([3; 32])));
    rig.submit(
        3,
        Action::InstallSigning {
            initial_timestamp: 1,
        },
    );
    for _ in 0..6 {
        rig.wait(WAIT_US / 2);
        heartbeat_from_vehicle(&mut rig, false);
    }
    rig.wait(2 * WAIT_US);
    assert_eq!(setups_sent(&rig).len(), ATTEMPTS as usize);
    assert_eq!(
        rig.outcome(3),
        Outcome::TimedOut {
            step: "SETUP_SIGNING (waiting for a signed heartbeat)".into(),
            attempts: ATTEMPTS
        }
    );
    assert_eq!(rig.hub.pending(), 0);
}

#[test]
fn refused_without_a_key_or_while_armed_and_link_loss_ends_it() {
    let mut rig = Rig::new();
    rig.submit(
        4,
        Action::InstallSigning {
            initial_timestamp: 1,
        },
    );
    assert!(matches!(
        rig.outcome(4),
        Outcome::NotSent { reason } if reason.contains("no signing key")
    ));
    let mut armed = Rig::with_vehicle(copter(0, true));
    armed
        .hub
        .set_signing_key(Some(SigningKey::from_bytes([3; 32])));
    armed.submit(5, Action::RemoveSigning);
    assert!(matches!(
        armed.outcome(5),
        Outcome::NotSent { reason } if reason.contains("armed")
    ));
    assert!(setups_sent(&armed).is_empty() && setups_sent(&rig).is_empty());
    let mut lost = Rig::new();
    lost.submit(6, Action::RemoveSigning);
    lost.hub.link_lost("cable pulled");
    lost.collect();
    assert!(matches!(lost.outcome(6), Outcome::LinkLost { .. }));
}
