//! MAVLink over UDP and TCP: network links, each built only with a [`NetworkPermit`].
//!
//! Specs: `tcp:HOST:PORT` (connect, e.g. a SITL vehicle on `tcp:127.0.0.1:5760`),
//! `udp:ADDR:PORT` (listen; replies go to whoever spoke last), `udpout:ADDR:PORT` (send to).

// The one place allowed to name network sockets (see clippy.toml).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use super::{Link, LinkError, PortInfo, READ_TIMEOUT};
use crate::privacy::NetworkPermit;

/// The kinds of network link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetSpec {
    Tcp(String),
    UdpListen(String),
    UdpOut(String),
}

impl NetSpec {
    /// Parses a port name; `None` when it is not a network spec (then it is a serial device).
    pub fn parse(port: &str) -> Option<Self> {
        if let Some(rest) = port.strip_prefix("tcp:") {
            Some(Self::Tcp(rest.to_owned()))
        } else if let Some(rest) = port.strip_prefix("udpout:") {
            Some(Self::UdpOut(rest.to_owned()))
        } else {
            port.strip_prefix("udp:")
                .map(|rest| Self::UdpListen(rest.to_owned()))
        }
    }

    /// The feature's name in the ledger.
    pub fn feature(&self) -> &'static str {
        match self {
            Self::Tcp(_) => "MAVLink over TCP",
            Self::UdpListen(_) => "MAVLink over UDP (listen)",
            Self::UdpOut(_) => "MAVLink over UDP (send)",
        }
    }

    pub fn address(&self) -> &str {
        match self {
            Self::Tcp(address) | Self::UdpListen(address) | Self::UdpOut(address) => address,
        }
    }
}

fn resolve(address: &str) -> Result<SocketAddr, LinkError> {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| LinkError::Open {
            port: address.to_owned(),
            reason: "not an address (HOST:PORT)".into(),
        })
}

enum Socket {
    Tcp(TcpStream),
    Udp {
        socket: UdpSocket,
        peer: Option<SocketAddr>,
    },
}

/// An open network link.
pub struct NetLink {
    socket: Socket,
    info: PortInfo,
}

impl NetLink {
    /// Opens the link `spec`; the permit proves privacy is off.
    pub fn open(spec: &NetSpec, _permit: &NetworkPermit) -> Result<Self, LinkError> {
        let open_error = |error: std::io::Error| LinkError::Open {
            port: spec.address().to_owned(),
            reason: error.to_string(),
        };
        let address = resolve(spec.address())?;
        let socket = match spec {
            NetSpec::Tcp(_) => {
                let stream = TcpStream::connect_timeout(&address, Duration::from_secs(3))
                    .map_err(open_error)?;
                stream
                    .set_read_timeout(Some(READ_TIMEOUT))
                    .map_err(open_error)?;
                stream.set_nodelay(true).map_err(open_error)?;
                Socket::Tcp(stream)
            }
            NetSpec::UdpListen(_) => {
                let socket = UdpSocket::bind(address).map_err(open_error)?;
                socket
                    .set_read_timeout(Some(READ_TIMEOUT))
                    .map_err(open_error)?;
                Socket::Udp { socket, peer: None }
            }
            NetSpec::UdpOut(_) => {
                let local: SocketAddr = if address.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let socket = UdpSocket::bind(local).map_err(open_error)?;
                socket
                    .set_read_timeout(Some(READ_TIMEOUT))
                    .map_err(open_error)?;
                Socket::Udp {
                    socket,
                    peer: Some(address),
                }
            }
        };
        let info = PortInfo {
            path: match spec {
                NetSpec::Tcp(a) => format!("tcp:{a}"),
                NetSpec::UdpListen(a) => format!("udp:{a}"),
                NetSpec::UdpOut(a) => format!("udpout:{a}"),
            },
            product: Some(spec.feature().to_owned()),
            ..PortInfo::default()
        };
        Ok(Self { socket, info })
    }
}

fn timed_out(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
    )
}

impl Link for NetLink {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkError> {
        match &mut self.socket {
            Socket::Tcp(stream) => match stream.read(buf) {
                Ok(0) => Err(LinkError::Lost(ErrorKind::UnexpectedEof.into())),
                Ok(count) => Ok(count),
                Err(error) if timed_out(&error) => Ok(0),
                Err(error) => Err(LinkError::Lost(error)),
            },
            Socket::Udp { socket, peer } => match socket.recv_from(buf) {
                Ok((count, from)) => {
                    *peer = Some(from);
                    Ok(count)
                }
                Err(error) if timed_out(&error) => Ok(0),
                // A UDP peer that is not listening yet is not a lost link.
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => Ok(0),
                Err(error) => Err(LinkError::Lost(error)),
            },
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        match &mut self.socket {
            Socket::Tcp(stream) => stream.write_all(bytes).map_err(LinkError::Lost),
            Socket::Udp { socket, peer } => match peer {
                Some(peer) => match socket.send_to(bytes, *peer) {
                    Ok(_) => Ok(()),
                    Err(error) if error.kind() == ErrorKind::ConnectionRefused => Ok(()),
                    Err(error) => Err(LinkError::Lost(error)),
                },
                // Nobody to answer yet.
                None => Ok(()),
            },
        }
    }

    fn set_baud(&mut self, _baud: u32) -> Result<(), LinkError> {
        Ok(())
    }

    fn describe(&self) -> PortInfo {
        self.info.clone()
    }
}

/// A copy of the live stream for another ground station, over UDP.
pub struct UdpForward {
    socket: UdpSocket,
    target: SocketAddr,
}

impl UdpForward {
    pub fn open(target: &str, _permit: &NetworkPermit) -> Result<Self, LinkError> {
        let target = resolve(target)?;
        let local: SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(LinkError::Lost)?;
        socket.set_nonblocking(true).map_err(LinkError::Lost)?;
        Ok(Self { socket, target })
    }

    /// Sends one frame; a full buffer or an absent listener drops it (like a radio).
    pub fn send(&self, frame: &[u8]) {
        let _ = self.socket.send_to(frame, self.target);
    }

    /// Bytes the other ground station sent back, if any.
    pub fn receive(&self, buf: &mut [u8]) -> usize {
        self.socket.recv_from(buf).map_or(0, |(count, _)| count)
    }
}
