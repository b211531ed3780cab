//! Watches the system's serial ports on a background thread, so the UI never waits on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::link::{list_ports, PortInfo};

/// How often the port list is refreshed.
const INTERVAL: Duration = Duration::from_millis(1500);

/// A thread that reports the port list whenever it changes.
pub struct PortWatcher {
    pub updates: Receiver<Vec<PortInfo>>,
    stop: Arc<AtomicBool>,
}

impl PortWatcher {
    pub fn spawn(waker: Box<dyn Fn() + Send>) -> std::io::Result<Self> {
        let (tx, updates) = crossbeam_channel::bounded(4);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("airlock-ports".into())
            .spawn(move || {
                let mut last: Option<Vec<PortInfo>> = None;
                while !stopped.load(Ordering::Relaxed) {
                    let ports = list_ports();
                    if last.as_ref() != Some(&ports) {
                        if tx.send(ports.clone()).is_err() {
                            return;
                        }
                        waker();
                        last = Some(ports);
                    }
                    std::thread::sleep(INTERVAL);
                }
            })?;
        Ok(Self { updates, stop })
    }
}

impl Drop for PortWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
