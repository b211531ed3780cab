//! Byte links to a vehicle: serial ports (USB cables, telemetry radios) and their discovery.
//!
//! A link moves bytes and nothing else: it never parses MAVLink and never records. Network
//! links live here too, and can only be opened with the privacy module's permit.

pub mod net;
pub mod serial;

pub use net::{NetLink, NetSpec, UdpForward};
pub use serial::{list_ports, PortInfo, SerialLink};

use std::time::Duration;

/// Baud rates tried by auto-detection, most common on MAVLink telemetry first.
pub const AUTO_BAUD_RATES: [u32; 9] = [
    57600, 115200, 921600, 500000, 230400, 460800, 38400, 19200, 9600,
];

/// How long a read waits for bytes before returning none: bounds the session loop's latency.
pub const READ_TIMEOUT: Duration = Duration::from_millis(50);

/// How often a lost link is retried.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(400);

/// The baud rate to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Baud {
    /// Try [`AUTO_BAUD_RATES`] until valid frames arrive.
    Auto,
    Fixed(u32),
}

impl std::str::FromStr for Baud {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        match text.parse::<u32>() {
            Ok(baud) if baud > 0 => Ok(Self::Fixed(baud)),
            _ => Err(format!(
                "baud must be a positive number or `auto`, not `{text}`"
            )),
        }
    }
}

impl std::fmt::Display for Baud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Fixed(baud) => write!(f, "{baud}"),
        }
    }
}

/// Errors of a link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot open {port}: {reason}")]
    Open { port: String, reason: String },
    #[error("link lost: {0}")]
    Lost(#[from] std::io::Error),
    #[error("{0}")]
    Refused(#[from] crate::privacy::Refused),
}

impl LinkError {
    /// Whether the error means the device went away (unplugged, closed, hung up), so that
    /// reconnecting is the cure. Errors that say the program misused the port (a bad file
    /// descriptor, an invalid argument, no permission) are not: retrying would not help.
    pub fn is_disconnect(&self) -> bool {
        match self {
            Self::Open { .. } => true,
            Self::Refused(_) => false,
            Self::Lost(error) => !matches!(
                error.raw_os_error(),
                Some(
                    libc::EBADF
                        | libc::EINVAL
                        | libc::EFAULT
                        | libc::ENOTTY
                        | libc::EPERM
                        | libc::EACCES
                        | libc::ENOMEM
                        | libc::ENOSYS
                )
            ),
        }
    }

    /// Whether a write gave up waiting (the other side is not taking bytes): the bytes were
    /// not all sent, but the link is still there.
    pub fn is_stalled(&self) -> bool {
        matches!(self, Self::Lost(error) if matches!(
            error.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ))
    }
}

/// Opens a port by name: a network spec (`tcp:`, `udp:`, `udpout:`) asks the privacy module for
/// a permit first; anything else is a serial device.
pub fn open(port: &str, baud: u32) -> Result<Box<dyn Link>, LinkError> {
    match NetSpec::parse(port) {
        Some(spec) => {
            let permit = crate::privacy::request_permit(spec.feature(), spec.address())?;
            Ok(Box::new(NetLink::open(&spec, &permit)?))
        }
        None => Ok(Box::new(SerialLink::open(port, baud)?)),
    }
}

/// A byte link to a vehicle.
pub trait Link: Send {
    /// Reads available bytes, waiting at most [`READ_TIMEOUT`]; `Ok(0)` means none arrived.
    /// An error means the link is gone.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkError>;
    /// Writes all bytes; an error means the link is gone.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError>;
    /// Changes the baud rate, where that means something.
    fn set_baud(&mut self, baud: u32) -> Result<(), LinkError>;
    /// What the link is, for humans and the flight's metadata.
    fn describe(&self) -> PortInfo;
}
