//! When uploads may happen: the flush interval and threshold, spacing between uploads,
//! exponential backoff with jitter, and the server's Retry-After (core.md §9-§10, product.md
//! §4 decisions 2 and 9). Pure state over a monotonic millisecond clock.

use crate::config::Config;

#[derive(Clone, Debug)]
pub struct Schedule {
    interval_ms: u64,
    min_spacing_ms: u64,
    threshold: u32,
    retry_initial_ms: u64,
    retry_max_ms: u64,
    /// A flush was asked for (threshold reached, reconnect, failure to retry).
    requested: bool,
    next_interval_at: u64,
    /// Backoff after a failure: no `tick()` upload before this.
    next_retry_at: u64,
    /// Spacing: no upload before this (after a successful one).
    next_outbound_at: u64,
    /// The server's Retry-After: nothing at all is sent before this.
    server_hold_until: u64,
    retry_delay_ms: u64,
}

impl Schedule {
    pub fn new(config: &Config, now: u64) -> Self {
        let interval_ms = u64::from(config.flush_interval_seconds) * 1000;
        Self {
            interval_ms,
            min_spacing_ms: u64::from(config.flush_min_interval_ms),
            threshold: config.flush_event_threshold,
            retry_initial_ms: u64::from(config.flush_retry_initial_ms),
            retry_max_ms: u64::from(config.flush_retry_max_ms),
            requested: false,
            next_interval_at: now.saturating_add(interval_ms),
            next_retry_at: 0,
            next_outbound_at: 0,
            server_hold_until: 0,
            retry_delay_ms: u64::from(config.flush_retry_initial_ms),
        }
    }

    /// After an event was queued: a deep enough queue asks for a flush.
    pub fn note_depth(&mut self, depth: u32) {
        if depth >= self.threshold {
            self.requested = true;
        }
    }

    /// Asks for an upload at the next `tick()` (for example after a reconnect).
    pub fn request(&mut self) {
        self.requested = true;
    }

    /// Is a server-given Retry-After still running?
    pub fn server_hold(&self, now: u64) -> bool {
        now < self.server_hold_until
    }

    /// Milliseconds left of the server's Retry-After.
    pub fn server_hold_left(&self, now: u64) -> u64 {
        self.server_hold_until.saturating_sub(now)
    }

    /// Inside the spacing window after the last successful upload?
    pub fn spacing(&self, now: u64) -> bool {
        self.min_spacing_ms > 0 && now < self.next_outbound_at
    }

    /// Should `tick()` upload now? (Queue depth and connectivity are the caller's checks.)
    pub fn tick_due(&self, now: u64) -> bool {
        !self.server_hold(now)
            && now >= self.next_retry_at
            && (self.requested || now >= self.next_interval_at)
            && !self.spacing(now)
    }

    /// An upload attempt is starting: the request is being served.
    pub fn begin(&mut self) {
        self.requested = false;
    }

    /// Nothing to send: the interval starts again.
    pub fn idle(&mut self, now: u64) {
        self.requested = false;
        self.next_interval_at = now.saturating_add(self.interval_ms);
    }

    /// A message was delivered (or the upload ended without a retryable failure).
    pub fn succeeded(&mut self, now: u64, sent_anything: bool) {
        self.retry_delay_ms = self.retry_initial_ms;
        self.next_retry_at = 0;
        if sent_anything {
            self.next_outbound_at = now.saturating_add(self.min_spacing_ms);
        }
        self.next_interval_at = now.saturating_add(self.interval_ms);
    }

    /// A retryable failure: back off (±25 % jitter from `random`), honouring the server's
    /// Retry-After (in milliseconds) as a floor capped at `flush_retry_max_ms`. Returns the wait.
    pub fn failed(&mut self, now: u64, retry_after_ms: Option<u32>, random: u32) -> u64 {
        let delay = self.retry_delay_ms;
        let quarter = delay / 4;
        let mut wait = if quarter == 0 {
            delay
        } else {
            delay - quarter + u64::from(random) % (2 * quarter + 1)
        };
        if let Some(ms) = retry_after_ms {
            let floor = u64::from(ms).min(self.retry_max_ms);
            self.server_hold_until = now.saturating_add(floor);
            wait = wait.max(floor);
        }
        self.retry_delay_ms = delay.saturating_mul(2).min(self.retry_max_ms);
        self.next_retry_at = now.saturating_add(wait);
        self.next_interval_at = now.saturating_add(self.interval_ms);
        self.requested = true;
        wait
    }

    /// The wait the next failure would start from (for tests and stats).
    pub fn retry_delay_ms(&self) -> u64 {
        self.retry_delay_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigBuilder, Field};

    fn config(pairs: &[(Field, i64)]) -> Config {
        let mut b = ConfigBuilder::new();
        for (f, v) in [
            (Field::ApiKey, "k"),
            (Field::DeviceId, "d"),
            (Field::DeviceModel, "m"),
        ] {
            b.set_text(f, Some(v)).unwrap();
        }
        b.set_text(Field::FirmwareVersion, Some("1")).unwrap();
        for &(f, v) in pairs {
            b.set_int(f, Some(v)).unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn due_on_threshold_or_interval() {
        let mut s = Schedule::new(&config(&[(Field::FlushEventThreshold, 3)]), 0);
        assert!(!s.tick_due(1000));
        s.note_depth(2);
        assert!(!s.tick_due(1000));
        s.note_depth(3);
        assert!(s.tick_due(1000));
        s.begin();
        s.succeeded(1000, true);
        assert!(!s.tick_due(2000), "nothing requested");
        assert!(s.tick_due(1000 + 120_000), "the interval elapsed");
    }

    #[test]
    fn spacing_after_success_unless_disabled() {
        let mut s = Schedule::new(&config(&[]), 0);
        s.succeeded(0, true);
        s.request();
        assert!(s.spacing(14_999) && !s.tick_due(14_999));
        assert!(s.tick_due(15_000));
        for disabled in [0, 0xFFFF_FFFF] {
            let mut s = Schedule::new(&config(&[(Field::FlushMinIntervalMs, disabled)]), 0);
            s.succeeded(0, true);
            s.request();
            assert!(!s.spacing(1) && s.tick_due(1), "{disabled}");
        }
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_resets() {
        let mut s = Schedule::new(&config(&[(Field::FlushRetryMaxMs, 10_000)]), 0);
        let mut expected = 1000u64;
        for random in [0u32, u32::MAX, 12345, 7, 99, 3, 1] {
            let wait = s.failed(0, None, random);
            assert!(
                wait >= expected - expected / 4 && wait <= expected + expected / 4,
                "{wait} vs {expected}"
            );
            expected = (expected * 2).min(10_000);
        }
        assert_eq!(s.retry_delay_ms(), 10_000);
        s.succeeded(0, true);
        assert_eq!(s.retry_delay_ms(), 1000);
    }

    #[test]
    fn retry_after_is_a_capped_floor_and_holds_everything() {
        let mut s = Schedule::new(&config(&[(Field::FlushRetryMaxMs, 60_000)]), 0);
        let wait = s.failed(0, Some(2000), 0);
        assert!(wait >= 2000);
        assert!(s.server_hold(1999) && !s.server_hold(2000));
        assert!(!s.tick_due(1999));
        let wait = s.failed(0, Some(3_600_000), 0);
        assert_eq!(wait, 60_000, "capped at flush_retry_max_ms");
        assert_eq!(s.server_hold_left(0), 60_000);
    }
}
