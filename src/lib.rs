//! Airlock: a drone ground-control station that keeps every byte on the operator's disk.
//!
//! Bytes come in from a [`link`]; **first** they are written to disk by [`capture`]; **then**
//! [`protocol`] frames and decodes them; [`vehicle`] reduces messages into plain-data state,
//! which the UI only reads. [`session`] wires those together on a worker thread; [`review`]
//! reads stored flights back through the same code; [`sim`] is a simulated vehicle on a real
//! pseudo-terminal. See `DESIGN.md` in the shared folder for the rules between modules.

pub mod app;
pub mod capture;
pub mod cli;
pub mod keys;
pub mod link;
pub mod mission;
pub mod onboard;
pub mod params;
pub mod privacy;
pub mod protocol;
pub mod review;
pub mod session;
pub mod sim;
pub mod tiles;
pub mod ui;
pub mod vehicle;
