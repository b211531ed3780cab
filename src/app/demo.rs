//! The simulated vehicle of `--demo`, on its own thread and pseudo-terminal.

use std::time::Duration;

use crate::sim::{self, PtyOptions};

/// The simulated vehicle of `--demo`, on its own thread and pseudo-terminal.
pub struct DemoVehicle {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The device path of its pseudo-terminal.
    pub device: String,
}

impl DemoVehicle {
    /// Starts the simulator and waits (briefly) for its device path.
    pub fn start(baud: u32) -> anyhow::Result<Self> {
        Self::start_with(baud, true, None)
    }

    /// A simulator that waits on the ground (no demo flight), keeping its onboard logs as
    /// files in `logs_dir` too.
    pub fn on_ground(baud: u32, logs_dir: std::path::PathBuf) -> anyhow::Result<Self> {
        Self::start_with(baud, false, Some(logs_dir))
    }

    fn start_with(
        baud: u32,
        demo_pilot: bool,
        logs_dir: Option<std::path::PathBuf>,
    ) -> anyhow::Result<Self> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (path_tx, path_rx) = crossbeam_channel::bounded(1);
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("airlock-demo-vehicle".into())
            .spawn(move || {
                let options = PtyOptions {
                    baud,
                    faults: sim::Faults::default(),
                    seed: 1,
                    duration: None,
                    demo_pilot,
                    logs_dir,
                    signing_enforced: false,
                };
                let result = sim::run_on_pty(
                    &options,
                    |path| {
                        let _ = path_tx.send(Ok(path.to_owned()));
                        Ok(())
                    },
                    || stopped.load(Ordering::Relaxed),
                );
                if let Err(error) = result {
                    let _ = path_tx.send(Err(error.to_string()));
                }
            })?;
        let device = path_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| anyhow::anyhow!("the demo vehicle did not start"))?
            .map_err(|error| anyhow::anyhow!("the demo vehicle failed: {error}"))?;
        Ok(Self {
            stop,
            thread: Some(thread),
            device,
        })
    }
}

impl Drop for DemoVehicle {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
