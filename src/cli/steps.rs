//! `airlock command`: steps run in order over one recorded connection, each printing one line.
//!
//! Actions go to the vehicle through the session's services and end in their outcome; waits
//! watch the vehicle's state until a condition holds or `--timeout` passes. The first failure
//! stops the run with its reason.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::protocol::services::{Action, Outcome, Request, RequestId, ServiceEvent, Target};
use crate::session::{LinkState, SessionEvent, SessionHandle};
use crate::vehicle::{Status, VehicleState};

/// One step of `airlock command`, as written on the command line (one argument each).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Ask the vehicle for something and wait for its answer.
    Do(Action),
    /// The vehicle can arm: pre-arm checks pass, 3-D fix, EKF using it.
    WaitReady,
    WaitArmed,
    WaitDisarmed,
    WaitMode(String),
    /// Relative altitude within 1 m of this.
    WaitAlt(f32),
    Sleep(Duration),
}

/// A step and its words as the operator wrote them (for the output lines).
#[derive(Debug, Clone, PartialEq)]
pub struct StepArg {
    pub text: String,
    pub step: Step,
}

impl std::str::FromStr for StepArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(Self {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            step: text.parse()?,
        })
    }
}

/// The vehicle's state as told by a heartbeat newer than `since`. Waits for the armed state or
/// the mode judge by it: a request's answer comes before the vehicle's next heartbeat, so the
/// one already seen may say "disarmed" of a vehicle that has just armed (ArduPilot arms, then
/// answers, then says so in its next heartbeat, up to a second later).
fn heard_since(vehicle: &VehicleState, since: Option<u64>) -> Result<&Status, String> {
    match &vehicle.status {
        Some(status) if since.is_none_or(|since| status.last_heartbeat_mono_us > since) => {
            Ok(status)
        }
        Some(_) => Err("no heartbeat since the step began".to_owned()),
        None => Err("no heartbeat yet".to_owned()),
    }
}

/// How close `wait-alt` must get.
const ALT_TOLERANCE_M: f64 = 1.0;
/// How close to its point a `goto` must get before the step is done.
const ARRIVAL_M: f64 = 3.0;

fn number<T: std::str::FromStr>(word: Option<&str>, what: &str) -> Result<T, String> {
    let word = word.ok_or_else(|| format!("missing {what}"))?;
    word.parse()
        .map_err(|_| format!("`{word}` is not a number ({what})"))
}

impl std::str::FromStr for Step {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let verb = words.next().unwrap_or_default().to_ascii_lowercase();
        let mut arg = || words.next();
        let step = match verb.as_str() {
            "arm" => Self::Do(Action::Arm),
            "disarm" => Self::Do(Action::Disarm),
            "force-disarm" => Self::Do(Action::ForceDisarm),
            "mode" => Self::Do(Action::SetMode {
                name: arg().ok_or("`mode` needs a mode name, e.g. \"mode GUIDED\"")?.to_owned(),
            }),
            "takeoff" => Self::Do(Action::Takeoff {
                alt_m: number(arg(), "takeoff altitude in metres")?,
            }),
            "land" => Self::Do(Action::Land),
            "rtl" => Self::Do(Action::Rtl),
            "brake" => Self::Do(Action::Brake),
            "goto" => Self::Do(Action::GoTo {
                lat_deg: number(arg(), "latitude")?,
                lon_deg: number(arg(), "longitude")?,
                alt_m: number(arg(), "altitude in metres above home")?,
            }),
            "alt" => Self::Do(Action::ChangeAltitude {
                alt_m: number(arg(), "altitude in metres above home")?,
            }),
            "mission-start" => Self::Do(Action::MissionStart),
            "mission-item" => Self::Do(Action::SetMissionCurrent {
                seq: number(arg(), "mission item number")?,
            }),
            "reboot" => Self::Do(Action::Reboot),
            "wait-ready" => Self::WaitReady,
            "wait-armed" => Self::WaitArmed,
            "wait-disarmed" => Self::WaitDisarmed,
            "wait-mode" => Self::WaitMode(
                arg().ok_or("`wait-mode` needs a mode name")?.to_owned(),
            ),
            "wait-alt" => Self::WaitAlt(number(arg(), "altitude in metres above home")?),
            "sleep" => {
                let seconds: f64 = number(arg(), "seconds")?;
                Self::Sleep(
                    Duration::try_from_secs_f64(seconds)
                        .map_err(|_| format!("{seconds} is not a time to sleep"))?,
                )
            }
            _ => {
                return Err(format!(
                    "`{text}` is not a step (mode NAME, arm, disarm, force-disarm, takeoff ALT_M, \
                     land, rtl, brake, goto LAT LON ALT_M, alt ALT_M, mission-start, mission-item N, reboot, \
                     wait-ready, wait-armed, wait-disarmed, wait-mode NAME, wait-alt ALT_M, sleep S)"
                ))
            }
        };
        if let Some(extra) = words.next() {
            return Err(format!("`{text}`: unexpected `{extra}`"));
        }
        Ok(step)
    }
}

/// A `--target SYS[:COMP]`.
pub fn parse_target(text: &str) -> Result<Target, String> {
    let (system, component) = text.split_once(':').unwrap_or((text, "1"));
    let parse = |word: &str, what: &str| {
        word.trim()
            .parse::<u8>()
            .map_err(|_| format!("`{word}` is not a {what} id (0-255)"))
    };
    Ok(Target {
        system_id: parse(system, "system")?,
        component_id: parse(component, "component")?,
    })
}

/// The connection the steps run over, and what it has told so far.
pub struct Runner<'a> {
    session: &'a SessionHandle,
    target: Option<Target>,
    timeout: Duration,
    vehicle: VehicleState,
    link: LinkState,
    outcomes: Vec<(RequestId, Outcome)>,
    /// What requests brought besides their outcome (mission items, parameters).
    collected: Vec<ServiceEvent>,
    /// The flight folder the session records into.
    pub flight_dir: Option<std::path::PathBuf>,
    /// "recording to …" goes to stderr (standard output is one JSON document).
    pub flight_line_on_stderr: bool,
    out: &'a mut dyn FnMut(&str),
}

impl<'a> Runner<'a> {
    pub fn new(
        session: &'a SessionHandle,
        target: Option<Target>,
        timeout: Duration,
        out: &'a mut dyn FnMut(&str),
    ) -> Self {
        let mut vehicle = VehicleState::default();
        if let Some(target) = target {
            vehicle.system_id = Some(target.system_id);
            vehicle.component_id = Some(target.component_id);
        }
        Self {
            session,
            target,
            timeout,
            vehicle,
            link: LinkState::Connecting,
            outcomes: Vec::new(),
            collected: Vec::new(),
            flight_dir: None,
            flight_line_on_stderr: false,
            out,
        }
    }

    /// Applies the session's events for up to `wait`.
    fn pump(&mut self, wait: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(event) = self.session.events.recv_timeout(left) else {
                return Ok(());
            };
            match event {
                SessionEvent::FlightStarted(dir) => {
                    let line = format!("recording to {}", dir.display());
                    if self.flight_line_on_stderr {
                        eprintln!("{line}");
                    } else {
                        (self.out)(&line);
                    }
                    self.flight_dir = Some(dir);
                }
                SessionEvent::Message {
                    wall_us,
                    mono_us,
                    header,
                    message,
                } => self.vehicle.apply(wall_us, mono_us, &header, &message),
                SessionEvent::Link(state) => {
                    if let LinkState::Failed { reason } = &state {
                        bail!("the link failed: {reason}");
                    }
                    self.link = state;
                }
                SessionEvent::Problem(problem) => eprintln!("problem: {problem}"),
                SessionEvent::Recording(news) => eprintln!("{news}"),
                SessionEvent::Service(ServiceEvent::Finished { id, outcome }) => {
                    // At once: whoever waits for it need not wait out `wait`.
                    self.outcomes.push((id, outcome));
                    return Ok(());
                }
                SessionEvent::Service(
                    event @ (ServiceEvent::Mission { .. }
                    | ServiceEvent::Params { .. }
                    | ServiceEvent::ParamValue { .. }
                    | ServiceEvent::Logs { .. }
                    | ServiceEvent::LogData { .. }),
                ) => self.collected.push(event),
                // What a request is doing, for the operator (e.g. why a fetch uses the list).
                SessionEvent::Service(ServiceEvent::Step { step, .. }) => eprintln!("  {step}"),
                SessionEvent::Closed(_) => bail!("the session closed"),
                _ => {}
            }
            if Instant::now() >= deadline {
                return Ok(());
            }
        }
    }

    /// Waits until `done` holds; the error says what was still missing at the timeout.
    fn wait_for(
        &mut self,
        what: &str,
        done: &dyn Fn(&VehicleState) -> Result<(), String>,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let state = done(&self.vehicle);
            if state.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let why = state.err().unwrap_or_default();
                bail!(
                    "timed out after {:.0} s waiting for {what}: {why}",
                    self.timeout.as_secs_f64()
                );
            }
            self.pump(Duration::from_millis(100))?;
        }
    }

    /// Waits until the vehicle has been heard (its heartbeat): requests need to know it.
    pub fn wait_for_vehicle(&mut self) -> anyhow::Result<()> {
        self.wait_for("the vehicle's heartbeat", &|vehicle| {
            vehicle
                .status
                .as_ref()
                .map(drop)
                .ok_or_else(|| "no heartbeat from the vehicle yet".to_owned())
        })?;
        // The hub hears the heartbeat in the worker before this thread does: no race.
        Ok(())
    }

    /// Asks for a mission transfer; its outcome, and the items when it was a download.
    pub fn transfer(
        &mut self,
        action: Action,
    ) -> anyhow::Result<(
        Outcome,
        Option<Vec<crate::protocol::services::mission::WireItem>>,
    )> {
        let (outcome, events) = self.request_collecting(action)?;
        let items = events.into_iter().find_map(|event| match event {
            ServiceEvent::Mission { items, .. } => Some(items),
            _ => None,
        });
        Ok((outcome, items))
    }

    /// Runs a request to its outcome; with what it brought (mission items, parameters).
    pub fn request_collecting(
        &mut self,
        action: Action,
    ) -> anyhow::Result<(Outcome, Vec<ServiceEvent>)> {
        let (id, outcome) = self.request_id(action)?;
        Ok((outcome, self.take_collected(id)))
    }

    /// What request `id` brought so far, taken out of what was collected.
    fn take_collected(&mut self, id: RequestId) -> Vec<ServiceEvent> {
        let of_id = |event: &ServiceEvent| match event {
            ServiceEvent::Mission { id: of, .. }
            | ServiceEvent::Params { id: of, .. }
            | ServiceEvent::ParamValue { id: of, .. }
            | ServiceEvent::Logs { id: of, .. }
            | ServiceEvent::LogData { id: of, .. } => *of == id,
            _ => false,
        };
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.collected)
            .into_iter()
            .partition(of_id);
        self.collected = others;
        mine
    }

    /// Runs a request to its outcome, handing what it brings to `on` as it comes (a log's
    /// bytes go to disk while it downloads).
    pub fn request_streaming(
        &mut self,
        action: Action,
        on: &mut dyn FnMut(ServiceEvent) -> anyhow::Result<()>,
    ) -> anyhow::Result<Outcome> {
        self.wait_for_vehicle()?;
        let id = self.session.request(Request {
            target: self.target.or(self.vehicle.followed()),
            action,
        });
        loop {
            for event in self.take_collected(id) {
                on(event)?;
            }
            if let Some(index) = self.outcomes.iter().position(|(done, _)| *done == id) {
                return Ok(self.outcomes.remove(index).1);
            }
            self.pump(Duration::from_millis(100))?;
        }
    }

    /// What is known of the vehicle the waits watch.
    pub fn vehicle(&self) -> &VehicleState {
        &self.vehicle
    }

    /// Waits for a heartbeat newer than the last one seen (the vehicle is back after the link
    /// was lost).
    pub fn wait_for_fresh_heartbeat(&mut self) -> anyhow::Result<()> {
        let since = self.last_heartbeat();
        self.wait_for("the vehicle's heartbeat", &|vehicle| {
            heard_since(vehicle, since).map(drop)
        })
    }

    /// Prints a line of output.
    pub fn say(&mut self, line: &str) {
        (self.out)(line);
    }

    fn request(&mut self, action: Action) -> anyhow::Result<Outcome> {
        self.request_id(action).map(|(_, outcome)| outcome)
    }

    fn request_id(&mut self, action: Action) -> anyhow::Result<(RequestId, Outcome)> {
        self.wait_for_vehicle()?;
        // Without --target: the vehicle whose state the waits watch (the first one heard).
        let id = self.session.request(Request {
            target: self.target.or(self.vehicle.followed()),
            action,
        });
        loop {
            if let Some(index) = self.outcomes.iter().position(|(done, _)| *done == id) {
                return Ok((id, self.outcomes.remove(index).1));
            }
            self.pump(Duration::from_millis(100))?;
        }
    }

    /// When the newest heartbeat seen so far arrived (monotonic µs).
    fn last_heartbeat(&self) -> Option<u64> {
        self.vehicle
            .status
            .as_ref()
            .map(|status| status.last_heartbeat_mono_us)
    }

    /// Runs one step; prints its line; `Err` is the reason it failed.
    pub fn run(&mut self, text: &str, step: &Step) -> anyhow::Result<()> {
        let result = self.run_inner(step);
        match &result {
            Ok(words) => (self.out)(&format!("{text}: {words}")),
            Err(error) => (self.out)(&format!("{text}: failed: {error:#}")),
        }
        result.map(drop)
    }

    fn run_inner(&mut self, step: &Step) -> anyhow::Result<String> {
        match step {
            Step::Do(action) => {
                let outcome = self.request(action.clone())?;
                if !outcome.is_accepted() {
                    bail!("{outcome}")
                }
                // A script's "go to" is done when the vehicle is there.
                if let Action::GoTo {
                    lat_deg, lon_deg, ..
                } = *action
                {
                    let distance = |vehicle: &VehicleState| {
                        vehicle.position.as_ref().map(|p| {
                            crate::vehicle::haversine_m(p.lat_deg, p.lon_deg, lat_deg, lon_deg)
                        })
                    };
                    self.wait_for(
                        "the vehicle to arrive",
                        &|vehicle| match distance(vehicle) {
                            Some(d) if d <= ARRIVAL_M => Ok(()),
                            Some(d) => Err(format!("{d:.0} m away")),
                            None => Err("no position yet".to_owned()),
                        },
                    )?;
                    let left = distance(&self.vehicle).unwrap_or_default();
                    return Ok(format!("{outcome}; arrived ({left:.1} m from the point)"));
                }
                Ok(outcome.to_string())
            }
            Step::WaitReady => {
                self.wait_for("the vehicle to be ready to arm", &VehicleState::readiness)?;
                Ok("ready".to_owned())
            }
            Step::WaitArmed | Step::WaitDisarmed => {
                let want = matches!(step, Step::WaitArmed);
                let word = if want { "armed" } else { "disarmed" };
                let since = self.last_heartbeat();
                self.wait_for(word, &|vehicle| match heard_since(vehicle, since)? {
                    status if status.armed == want => Ok(()),
                    _ => Err(format!("not {word} yet")),
                })?;
                Ok(word.to_owned())
            }
            Step::WaitMode(name) => {
                let since = self.last_heartbeat();
                self.wait_for(
                    &format!("mode {name}"),
                    &|vehicle| match heard_since(vehicle, since)? {
                        status if status.mode_name.eq_ignore_ascii_case(name) => Ok(()),
                        status => Err(format!("the mode is {}", status.mode_name)),
                    },
                )?;
                Ok(format!("in {}", name.to_uppercase()))
            }
            Step::WaitAlt(alt_m) => {
                let want = f64::from(*alt_m);
                self.wait_for(
                    &format!("{want} m above home"),
                    &|vehicle| match &vehicle.position {
                        Some(p) if (p.alt_rel_m - want).abs() <= ALT_TOLERANCE_M => Ok(()),
                        Some(p) => Err(format!("at {:.1} m", p.alt_rel_m)),
                        None => Err("no position yet".to_owned()),
                    },
                )?;
                let at = self.vehicle.position.as_ref().map_or(0.0, |p| p.alt_rel_m);
                Ok(format!("at {at:.1} m"))
            }
            Step::Sleep(duration) => {
                let end = Instant::now() + *duration;
                while Instant::now() < end {
                    self.pump(
                        end.saturating_duration_since(Instant::now())
                            .min(Duration::from_millis(100)),
                    )?;
                }
                Ok("done".to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_the_issue_writes_them() {
        assert_eq!(
            "mode GUIDED".parse(),
            Ok(Step::Do(Action::SetMode {
                name: "GUIDED".into()
            }))
        );
        assert_eq!(
            "takeoff 20".parse(),
            Ok(Step::Do(Action::Takeoff { alt_m: 20.0 }))
        );
        assert_eq!(
            "goto -35.36 149.16 20".parse(),
            Ok(Step::Do(Action::GoTo {
                lat_deg: -35.36,
                lon_deg: 149.16,
                alt_m: 20.0
            }))
        );
        assert_eq!("wait-alt 19.5".parse(), Ok(Step::WaitAlt(19.5)));
        assert_eq!(
            "sleep 1.5".parse(),
            Ok(Step::Sleep(Duration::from_millis(1500)))
        );
        assert!("takeoff".parse::<Step>().is_err());
        assert!("takeoff high".parse::<Step>().is_err());
        assert!("arm now".parse::<Step>().is_err());
        assert!("fly".parse::<Step>().is_err());
        assert!("sleep -1".parse::<Step>().is_err());
        assert_eq!(
            parse_target("3"),
            Ok(Target {
                system_id: 3,
                component_id: 1
            })
        );
        assert_eq!(
            parse_target("3:0"),
            Ok(Target {
                system_id: 3,
                component_id: 0
            })
        );
        assert!(parse_target("300").is_err());
    }

    #[test]
    fn waits_judge_by_a_heartbeat_newer_than_the_step() {
        use crate::protocol::services::tests::{copter, header};
        let mut vehicle = VehicleState::default();
        assert_eq!(
            heard_since(&vehicle, None).err().as_deref(),
            Some("no heartbeat yet")
        );
        vehicle.apply(0, 1_000_000, &header(1, 1), &copter(4, false));
        assert!(!heard_since(&vehicle, None).unwrap().armed);
        // The vehicle armed and answered; its heartbeat saying so is yet to come.
        let since = Some(1_000_000);
        assert_eq!(
            heard_since(&vehicle, since).err().as_deref(),
            Some("no heartbeat since the step began")
        );
        vehicle.apply(0, 1_900_000, &header(1, 1), &copter(4, true));
        assert!(heard_since(&vehicle, since).unwrap().armed);
    }
}
