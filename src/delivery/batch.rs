//! The events of one message, read in place from the queue: the oldest records that share
//! the first one's distinct id and session (a message carries one identity in its context),
//! with boot-relative timestamps normalised (core.md §7).

use crate::packed::Malformed;
use crate::queue::Queue;
use crate::record::{RecordView, FLAG_BOOT_RELATIVE};
use crate::wire::{DeviceTimeSource, EventSource, EventView};

/// Most events one message may carry (wire limit).
pub const MAX_MESSAGE_EVENTS: usize = 50;

/// Why no batch could be formed from the head of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// The queue is empty.
    Empty,
    /// The oldest record cannot be read (the application overwrote the buffer).
    CorruptHead,
}

/// How boot-relative timestamps become wall-clock time at this flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeBase {
    /// `now - uptime` when the real-time clock is valid now; `None` otherwise.
    pub boot_epoch: Option<u64>,
    /// Monotonic milliseconds now: only stamps from this boot (≤ now) are converted.
    pub uptime_now: u64,
}

pub struct Candidates<'a> {
    records: [&'a [u8]; MAX_MESSAGE_EVENTS],
    len: usize,
    time: TimeBase,
    first: RecordView<'a>,
}

impl<'a> Candidates<'a> {
    /// The oldest records (at most `limit`, at most 50) that share the first one's identity.
    pub fn collect(queue: &Queue, buf: &'a [u8], limit: usize, time: TimeBase) -> Result<Self, BatchError> {
        let mut iter = queue.iter(buf);
        let first_payload = match iter.next() {
            None => return Err(BatchError::Empty),
            Some(None) => return Err(BatchError::CorruptHead),
            Some(Some(p)) => p,
        };
        let first = RecordView::parse(first_payload).ok_or(BatchError::CorruptHead)?;
        let mut records: [&'a [u8]; MAX_MESSAGE_EVENTS] = [&[]; MAX_MESSAGE_EVENTS];
        records[0] = first_payload;
        let mut len = 1;
        let limit = limit.clamp(1, MAX_MESSAGE_EVENTS);
        for payload in iter {
            if len >= limit {
                break;
            }
            // A record that cannot be read ends the batch; it will head the next one.
            let Some(payload) = payload else { break };
            let Some(view) = RecordView::parse(payload) else {
                break;
            };
            if view.distinct_id != first.distinct_id || view.session_id != first.session_id {
                break;
            }
            records[len] = payload;
            len += 1;
        }
        Ok(Self {
            records,
            len,
            time,
            first,
        })
    }

    /// The first record (its identity is the message's context).
    pub fn first(&self) -> &RecordView<'a> {
        &self.first
    }

    /// Only the first `n` candidates.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    fn normalise(&self, view: &RecordView<'_>) -> (u64, Stamp) {
        if view.flags & FLAG_BOOT_RELATIVE == 0 {
            return (view.timestamp_ms, Stamp::Realtime);
        }
        match self.time.boot_epoch {
            Some(epoch) if view.timestamp_ms <= self.time.uptime_now => {
                (epoch.saturating_add(view.timestamp_ms), Stamp::Converted)
            }
            _ => (view.timestamp_ms, Stamp::Unknown),
        }
    }

    /// `device_time_source` for the first `n` events (wire context key 9).
    pub fn time_source(&self, n: usize) -> DeviceTimeSource {
        let mut converted = false;
        for payload in &self.records[..n.min(self.len)] {
            let Some(view) = RecordView::parse(payload) else {
                continue;
            };
            match self.normalise(&view).1 {
                Stamp::Unknown => return DeviceTimeSource::Unknown,
                Stamp::Converted => converted = true,
                Stamp::Realtime => {}
            }
        }
        if converted {
            DeviceTimeSource::MonotonicPlusBootEpoch
        } else {
            DeviceTimeSource::RealtimeClock
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stamp {
    Realtime,
    Converted,
    Unknown,
}

impl<'a> EventSource<'a> for Candidates<'a> {
    fn len(&self) -> usize {
        self.len
    }

    fn event(&self, index: usize) -> Result<EventView<'a>, Malformed> {
        let payload = self
            .records
            .get(index)
            .filter(|_| index < self.len)
            .ok_or(Malformed)?;
        let view = RecordView::parse(payload).ok_or(Malformed)?;
        let (timestamp_ms, _) = self.normalise(&view);
        Ok(EventView {
            name: view.name,
            timestamp_ms,
            properties: view.properties,
        })
    }
}
