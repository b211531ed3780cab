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
    match installed {
        Ok(()) => SealState::Sealed,
        Err(reason) => SealState::NotEnforced(reason),
    }
}
