//! The seal itself: a seccomp-bpf filter installed on every thread (TSYNC).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

use super::SealState;

/// Socket families that stay allowed: local IPC (X11, Wayland, D-Bus, file dialogs) and the
/// kernel's netlink (device events). Everything else (IPv4, IPv6, packet, Bluetooth, CAN…) is
/// refused.
const ALLOWED_FAMILIES: [u64; 2] = [libc::AF_UNIX as u64, libc::AF_NETLINK as u64];

fn target_arch() -> Result<seccompiler::TargetArch, String> {
    seccompiler::TargetArch::try_from(std::env::consts::ARCH).map_err(|error| error.to_string())
}

/// Builds the filter program.
pub fn program() -> Result<BpfProgram, String> {
    let family_not_allowed = || -> Result<SeccompRule, String> {
        let conditions = ALLOWED_FAMILIES
            .iter()
            .map(|&family| {
                SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, family)
                    .map_err(|error| error.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        SeccompRule::new(conditions).map_err(|error| error.to_string())
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(libc::SYS_socket, vec![family_not_allowed()?]);
    rules.insert(libc::SYS_socketpair, vec![family_not_allowed()?]);
    // io_uring can create sockets without the socket syscall: forbid it outright.
    rules.insert(libc::SYS_io_uring_setup, vec![]);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        target_arch()?,
    )
    .map_err(|error| error.to_string())?;
    BpfProgram::try_from(filter).map_err(|error| error.to_string())
}

/// Seals the whole process: all its threads, now and later.
pub fn seal_process() -> SealState {
    let installed = program().and_then(|program| {
        seccompiler::apply_filter_all_threads(&program).map_err(|error| error.to_string())
    });
    // The second layer is best effort: the seccomp filter alone is the guarantee.
    let layer = landlock_layer();
    if let Ok(mut last) = LANDLOCK.lock() {
        *last = Some(layer);
    }
    match installed {
        Ok(()) => SealState::Sealed,
        Err(reason) => SealState::NotEnforced(reason),
    }
}

static LANDLOCK: std::sync::Mutex<Option<LandlockLayer>> = std::sync::Mutex::new(None);

/// What the Landlock layer achieved when the process was last sealed.
pub fn landlock_status() -> Option<LandlockLayer> {
    LANDLOCK.lock().ok().and_then(|last| *last)
}

/// What the Landlock layer achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockLayer {
    /// TCP bind and connect (and UDP where the kernel has it) are refused by Landlock too.
    Enforced,
    /// The kernel enforces only part of the request.
    Partial,
    /// This kernel has no Landlock network rules.
    Unavailable,
}

impl std::fmt::Display for LandlockLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Enforced => "enforced",
            Self::Partial => "partly enforced (this kernel's Landlock covers only some of TCP/UDP)",
            Self::Unavailable => "not available on this kernel",
        })
    }
}

/// Adds Landlock's network rules (no TCP bind or connect at all) to the calling thread and the
/// threads it starts later; called from `main` before any thread, it covers the process.
pub fn landlock_layer() -> LandlockLayer {
    use landlock::{Access, AccessNet, Ruleset, RulesetAttr, RulesetStatus, ABI};
    let restricted = Ruleset::default()
        .handle_access(AccessNet::from_all(ABI::V10))
        .and_then(|ruleset| ruleset.create())
        .and_then(|ruleset| ruleset.restrict_self());
    match restricted.map(|status| status.ruleset) {
        Ok(RulesetStatus::FullyEnforced) => LandlockLayer::Enforced,
        Ok(RulesetStatus::PartiallyEnforced) => LandlockLayer::Partial,
        Ok(RulesetStatus::NotEnforced) | Err(_) => LandlockLayer::Unavailable,
    }
}
