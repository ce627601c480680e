//! Delivery: from queued records to confirmed uploads. `batch` picks the events of a
//! message, `policy` says what a response means, `schedule` says when to upload, and
//! `exchange` runs one HTTP request over the platform's [`Connector`].

pub mod batch;
pub mod exchange;
pub mod policy;
pub mod schedule;
pub mod split;
pub mod transport;
