//! Serial ports through the `serialport` crate.

use std::io::{ErrorKind, Read, Write};

use serialport::{SerialPort, SerialPortType};

use super::{Link, LinkError, READ_TIMEOUT};

/// A serial port as the system lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PortInfo {
    /// Device path, e.g. `/dev/ttyACM0`.
    pub path: String,
    pub usb_vid: Option<u16>,
    pub usb_pid: Option<u16>,
    pub usb_serial: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
}

impl PortInfo {
    /// A one-line description: product, VID:PID and serial number where known.
    pub fn description(&self) -> String {
        let mut parts = Vec::new();
        if let Some(product) = &self.product {
            parts.push(product.clone());
        } else if let Some(manufacturer) = &self.manufacturer {
            parts.push(manufacturer.clone());
        }
        if let (Some(vid), Some(pid)) = (self.usb_vid, self.usb_pid) {
            parts.push(format!("{vid:04x}:{pid:04x}"));
        }
        if let Some(serial) = &self.usb_serial {
            parts.push(format!("S/N {serial}"));
        }
        if parts.is_empty() {
            "serial port".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// Lists the serial ports the system has now (empty when the system cannot tell).
pub fn list_ports() -> Vec<PortInfo> {
    serialport::available_ports()
        .unwrap_or_default()
        .into_iter()
        .map(|port| match port.port_type {
            SerialPortType::UsbPort(usb) => PortInfo {
                path: port.port_name,
                usb_vid: Some(usb.vid),
                usb_pid: Some(usb.pid),
                usb_serial: usb.serial_number,
                manufacturer: usb.manufacturer,
                product: usb.product,
            },
            _ => PortInfo {
                path: port.port_name,
                ..PortInfo::default()
            },
        })
        .collect()
}

/// An open serial port.
pub struct SerialLink {
    port: Box<dyn SerialPort>,
    info: PortInfo,
}

impl SerialLink {
    /// Opens `path` at `baud`, 8N1, no flow control.
    pub fn open(path: &str, baud: u32) -> Result<Self, LinkError> {
        let port = serialport::new(path, baud)
            .timeout(READ_TIMEOUT)
            .open()
            .map_err(|error| LinkError::Open {
                port: path.to_owned(),
                reason: error.to_string(),
            })?;
        let info = list_ports()
            .into_iter()
            .find(|info| info.path == path)
            .unwrap_or_else(|| PortInfo {
                path: path.to_owned(),
                ..PortInfo::default()
            });
        Ok(Self { port, info })
    }

    /// Opens the port whose USB serial number is `serial`, wherever the system put it now.
    pub fn open_by_usb_serial(serial: &str, baud: u32) -> Result<Self, LinkError> {
        let found = list_ports()
            .into_iter()
            .find(|info| info.usb_serial.as_deref() == Some(serial));
        match found {
            Some(info) => Self::open(&info.path, baud),
            None => Err(LinkError::Open {
                port: format!("USB serial number {serial}"),
                reason: "no such device".to_owned(),
            }),
        }
    }
}

impl Link for SerialLink {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkError> {
        match self.port.read(buf) {
            // A serial port never reaches end of file; zero bytes means the device is gone.
            Ok(0) => Err(LinkError::Lost(ErrorKind::UnexpectedEof.into())),
            Ok(count) => Ok(count),
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::TimedOut | ErrorKind::Interrupted | ErrorKind::WouldBlock
                ) =>
            {
                Ok(0)
            }
            Err(error) => Err(LinkError::Lost(error)),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.port.write_all(bytes).map_err(LinkError::Lost)
    }

    fn set_baud(&mut self, baud: u32) -> Result<(), LinkError> {
        self.port
            .set_baud_rate(baud)
            .map_err(|error| LinkError::Lost(std::io::Error::other(error.to_string())))
    }

    fn describe(&self) -> PortInfo {
        self.info.clone()
    }
}
