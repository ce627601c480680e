//! The event queue, stored in the caller's `event_buffer` and nowhere else.
//!
//! The buffer is a ring of contiguous records, oldest first. Each record is a 4-byte
//! little-endian length (of the whole record, header included) followed by its payload
//! ([`crate::record`]). A record never straddles the end of the buffer: when it does not fit
//! between the write position and the end, the ring wraps and the unused tail of the buffer
//! is skipped (`wrap` marks where the data stops). That keeps every record readable in place,
//! so encoding a batch copies nothing.
//!
//! The few indices and counters below live in [`Queue`] (72 bytes whatever the queue holds); the
//! buffer holds only records. The buffer itself is handed in again on every call, because
//! MicroPython's `bytearray` may move between calls; a buffer whose length changed is
//! refused. Records are validated when read, so a buffer the application scribbled over
//! yields dead-lettered records, never out-of-bounds access.
//!
//! Push and pop are O(1) (a push evicts the oldest records while it lacks room).

use crate::status::{Error, Result, Status};

/// Bytes of the length prefix of every record.
pub const RECORD_HEADER: usize = 4;

/// Counters and high-water marks reported by `queue_stats()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub depth: u32,
    pub bytes_used: u32,
    pub bytes_capacity: u32,
    pub capacity_dropped_events: u32,
    pub oversized_rejected_events: u32,
    pub dead_lettered_events: u32,
    pub high_watermark_depth: u32,
    pub high_watermark_bytes: u32,
}

/// Ring indices over the caller's buffer.
#[derive(Clone, Debug)]
pub struct Queue {
    capacity: u32,
    max_events: u32,
    /// Offset of the oldest record.
    head: u32,
    /// Offset where the next record goes.
    tail: u32,
    /// End of the data when the ring has wrapped (`tail < head`); `capacity` otherwise.
    wrap: u32,
    count: u32,
    used: u32,
    /// Sequence number of the oldest record; each record's is this plus its position.
    head_sequence: u64,
    stats: QueueStats,
}

/// Where a new record may be written without evicting anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub offset: u32,
    pub len: u32,
}

pub const BUFFER_CHANGED: Error = Error::new(
    Status::Io,
    "event_buffer changed size since the client was created; the queue cannot use it",
);
pub const BUFFER_TOO_SMALL: Error =
    Error::invalid("event_buffer is too small (at least 64 bytes are needed)");
pub const EVENT_TOO_LARGE_FOR_BUFFER: Error = Error::new(
    Status::QueueFull,
    "event does not fit in event_buffer even when it is empty",
);

/// Smallest buffer the queue accepts.
pub const MIN_BUFFER: usize = 64;

impl Queue {
    pub fn new(buffer_len: usize, max_events: u32) -> Result<Self> {
        if buffer_len < MIN_BUFFER {
            return Err(BUFFER_TOO_SMALL);
        }
        let capacity =
            u32::try_from(buffer_len).map_err(|_| Error::invalid("event_buffer is larger than 4 GiB"))?;
        Ok(Self {
            capacity,
            max_events: max_events.max(1),
            head: 0,
            tail: 0,
            wrap: capacity,
            count: 0,
            used: 0,
            head_sequence: 0,
            stats: QueueStats {
                bytes_capacity: capacity,
                ..QueueStats::default()
            },
        })
    }

    /// Checks that the buffer handed in is the one the queue was built over.
    pub fn check(&self, buf: &[u8]) -> Result<()> {
        if buf.len() == self.capacity as usize {
            Ok(())
        } else {
            Err(BUFFER_CHANGED)
        }
    }

    pub fn len(&self) -> u32 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn stats(&self) -> QueueStats {
        QueueStats {
            depth: self.count,
            bytes_used: self.used,
            ..self.stats
        }
    }

    /// Sequence number the oldest record carries.
    pub fn head_sequence(&self) -> u64 {
        self.head_sequence
    }

    /// The largest region a record can be written to now without evicting.
    pub fn free_slot(&self) -> Slot {
        if self.count == 0 {
            return Slot {
                offset: 0,
                len: self.capacity,
            };
        }
        if self.tail > self.head {
            let at_end = self.capacity - self.tail;
            if at_end >= self.head {
                Slot {
                    offset: self.tail,
                    len: at_end,
                }
            } else {
                Slot {
                    offset: 0,
                    len: self.head,
                }
            }
        } else {
            Slot {
                offset: self.tail,
                len: self.head - self.tail,
            }
        }
    }

    /// Room for a record of `len` bytes at `slot`-like placement without evicting?
    fn place(&self, len: u32) -> Option<u32> {
        if self.count == 0 {
            return (len <= self.capacity).then_some(0);
        }
        if self.tail > self.head {
            if self.capacity - self.tail >= len {
                return Some(self.tail);
            }
            return (self.head >= len).then_some(0);
        }
        (self.head - self.tail >= len).then_some(self.tail)
    }

    /// Makes room for a record of `len` bytes (evicting the oldest as needed, and to stay
    /// under `max_queued_events`) and returns the offset to write it at. Nothing changes on
    /// error.
    pub fn reserve(&mut self, buf: &[u8], len: u32) -> Result<u32> {
        if len > self.capacity {
            self.stats.oversized_rejected_events += 1;
            return Err(EVENT_TOO_LARGE_FOR_BUFFER);
        }
        self.make_room_for_one_more(buf)?;
        loop {
            if let Some(offset) = self.place(len) {
                return Ok(offset);
            }
            self.drop_oldest(buf)?;
        }
    }

    /// Evicts the oldest records until one more fits under `max_queued_events`.
    pub fn make_room_for_one_more(&mut self, buf: &[u8]) -> Result<()> {
        while self.count >= self.max_events {
            self.drop_oldest(buf)?;
        }
        Ok(())
    }

    /// Keeps a record of `len` bytes already written at `offset` (from [`Self::free_slot`]
    /// or [`Self::reserve`]). `len` must include the header, which this writes.
    pub fn commit(&mut self, buf: &mut [u8], offset: u32, len: u32) -> Result<()> {
        const MISPLACED: Error = Error::status(Status::Internal);
        let end = offset.checked_add(len).filter(|&end| end <= self.capacity);
        let end = end.ok_or(MISPLACED)?;
        if len as usize <= RECORD_HEADER {
            return Err(MISPLACED);
        }
        let start = offset as usize;
        let header = buf.get_mut(start..start + RECORD_HEADER).ok_or(MISPLACED)?;
        header.copy_from_slice(&len.to_le_bytes());
        if self.count == 0 {
            self.head = offset;
            self.wrap = self.capacity;
        } else if offset == 0 && self.tail > self.head {
            self.wrap = self.tail;
        }
        self.tail = end;
        self.count = self.count.saturating_add(1);
        self.used = self.used.saturating_add(len).min(self.capacity);
        self.stats.high_watermark_depth = self.stats.high_watermark_depth.max(self.count);
        self.stats.high_watermark_bytes = self.stats.high_watermark_bytes.max(self.used);
        Ok(())
    }

    /// Whether the data wraps: it runs from `head` to `wrap`, then from 0 to `tail`.
    /// Otherwise it runs from `head` to `tail`.
    fn wrapped(&self) -> bool {
        self.count > 0 && self.tail <= self.head
    }

    /// Length of the record at `offset`, checked against the ring's bounds: a record ends
    /// at `wrap` at the latest in the upper part of a wrapped ring, at `tail` otherwise. The
    /// length is read from the caller's buffer, which the application may have overwritten,
    /// so nothing else about it is trusted.
    fn record_len_at(&self, buf: &[u8], offset: u32) -> Option<u32> {
        let start = offset as usize;
        let bytes = buf.get(start..start.checked_add(RECORD_HEADER)?)?;
        let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let limit = if self.wrapped() && offset >= self.head {
            self.wrap
        } else {
            self.tail
        };
        let end = offset.checked_add(len)?;
        (len as usize > RECORD_HEADER && end <= limit && len <= self.used).then_some(len)
    }

    /// Removes the oldest record. Returns `false` when its bounds were corrupt (the
    /// application overwrote the buffer): the ring cannot be walked any further, so every
    /// queued record is dead-lettered and the queue is left empty.
    fn pop(&mut self, buf: &[u8]) -> bool {
        if self.count == 0 {
            return true;
        }
        let Some(len) = self.record_len_at(buf, self.head) else {
            self.stats.dead_lettered_events = self.stats.dead_lettered_events.saturating_add(self.count);
            self.clear();
            return false;
        };
        self.count -= 1;
        self.head_sequence = self.head_sequence.wrapping_add(1);
        if self.count == 0 {
            self.clear();
            return true;
        }
        // `record_len_at` bounds `len` by `used` and by the end of the data.
        self.used = self.used.saturating_sub(len);
        self.head = self.head.saturating_add(len);
        if self.head >= self.wrap && self.tail < self.head {
            self.head = 0;
            self.wrap = self.capacity;
        }
        true
    }

    /// Evicts the oldest record to make room (counted as `capacity_dropped_events`). A
    /// corrupt buffer empties the queue instead (those records are dead-lettered), which
    /// makes room all the same.
    pub fn drop_oldest(&mut self, buf: &[u8]) -> Result<()> {
        if self.count == 0 {
            return Err(Error::status(Status::Internal));
        }
        if self.pop(buf) {
            self.stats.capacity_dropped_events = self.stats.capacity_dropped_events.saturating_add(1);
        }
        Ok(())
    }

    /// Removes the oldest `n` records after the server accepted them. Returns how many left
    /// as delivered; records lost to a corrupt buffer on the way are dead-lettered instead.
    pub fn consume(&mut self, buf: &[u8], n: u32) -> u32 {
        let mut done = 0;
        while done < n && self.count > 0 {
            if !self.pop(buf) {
                break;
            }
            done += 1;
        }
        done
    }

    /// Removes the oldest `n` records after a permanent rejection (`dead_lettered_events`).
    pub fn dead_letter(&mut self, buf: &[u8], n: u32) {
        let done = self.consume(buf, n);
        self.stats.dead_lettered_events = self.stats.dead_lettered_events.saturating_add(done);
    }

    /// Empties the queue (`reset()`); counters are kept.
    pub fn clear(&mut self) {
        self.head_sequence = self.head_sequence.wrapping_add(u64::from(self.count));
        self.head = 0;
        self.tail = 0;
        self.wrap = self.capacity;
        self.count = 0;
        self.used = 0;
    }

    /// The payloads of the queued records, oldest first (without their length headers).
    pub fn iter<'b>(&self, buf: &'b [u8]) -> Records<'_, 'b> {
        Records {
            queue: self,
            buf,
            offset: self.head,
            left: self.count,
        }
    }
}

/// Iterator over queued record payloads; yields `None` for a record whose bounds are
/// corrupt, after which iteration stops.
pub struct Records<'q, 'b> {
    queue: &'q Queue,
    buf: &'b [u8],
    offset: u32,
    left: u32,
}

impl<'b> Iterator for Records<'_, 'b> {
    type Item = Option<&'b [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let Some(len) = self.queue.record_len_at(self.buf, self.offset) else {
            self.left = 0;
            return Some(None);
        };
        let start = self.offset as usize;
        let Some(payload) = self.buf.get(start + RECORD_HEADER..start + len as usize) else {
            self.left = 0;
            return Some(None);
        };
        self.offset += len;
        if self.offset >= self.queue.wrap && self.offset > self.queue.tail {
            self.offset = 0;
        }
        Some(Some(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn push(q: &mut Queue, buf: &mut [u8], tag: u8, len: u32) -> Result<()> {
        let at = q.reserve(buf, len)?;
        for b in &mut buf[at as usize + RECORD_HEADER..(at + len) as usize] {
            *b = tag;
        }
        q.commit(buf, at, len)
    }

    fn tags(q: &Queue, buf: &[u8]) -> Vec<u8> {
        q.iter(buf).map(|p| p.unwrap()[0]).collect()
    }

    #[test]
    fn fifo_with_wraparound_and_drop_oldest() {
        let mut buf = [0u8; 100];
        let mut q = Queue::new(100, 1000).unwrap();
        for t in 1..=3 {
            push(&mut q, &mut buf, t, 30).unwrap();
        }
        assert_eq!(tags(&q, &buf), [1, 2, 3]);
        // 10 bytes left at the end: the 4th record wraps and evicts record 1.
        push(&mut q, &mut buf, 4, 30).unwrap();
        assert_eq!(tags(&q, &buf), [2, 3, 4]);
        assert_eq!(q.stats().capacity_dropped_events, 1);
        assert_eq!(q.consume(&buf, 2), 2);
        assert_eq!(tags(&q, &buf), [4]);
        push(&mut q, &mut buf, 5, 60).unwrap();
        assert_eq!(tags(&q, &buf), [4, 5]);
        assert_eq!(q.head_sequence(), 3);
        let s = q.stats();
        assert_eq!((s.depth, s.bytes_used, s.high_watermark_depth), (2, 90, 3));
    }

    #[test]
    fn max_events_and_oversized() {
        let mut buf = [0u8; 200];
        let mut q = Queue::new(200, 2).unwrap();
        for t in 1..=5 {
            push(&mut q, &mut buf, t, 10).unwrap();
        }
        assert_eq!(tags(&q, &buf), [4, 5]);
        assert_eq!(q.stats().capacity_dropped_events, 3);
        assert_eq!(push(&mut q, &mut buf, 9, 201), Err(EVENT_TOO_LARGE_FOR_BUFFER));
        assert_eq!(q.stats().oversized_rejected_events, 1);
        assert_eq!(tags(&q, &buf), [4, 5]);
    }

    #[test]
    fn long_random_workload_stays_consistent() {
        let mut buf = [0u8; 512];
        let mut q = Queue::new(512, 40).unwrap();
        let mut model: std::collections::VecDeque<u8> = Default::default();
        let mut seed = 7u32;
        for i in 0..20_000u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let len = 5 + (seed >> 16) % 120;
            if seed % 3 == 0 && !model.is_empty() {
                assert_eq!(q.consume(&buf, 1), 1);
                model.pop_front();
            } else {
                let before = q.stats().capacity_dropped_events;
                push(&mut q, &mut buf, (i % 251) as u8, len).unwrap();
                for _ in before..q.stats().capacity_dropped_events {
                    model.pop_front();
                }
                model.push_back((i % 251) as u8);
            }
            assert_eq!(tags(&q, &buf), model.iter().copied().collect::<Vec<_>>());
            assert!(q.stats().bytes_used <= 512);
        }
    }

    #[test]
    fn bookkeeping_outside_the_buffer_is_fixed_and_small() {
        assert_eq!(core::mem::size_of::<Queue>(), 72);
    }

    #[test]
    fn corrupt_buffer_is_detected_not_trusted() {
        let mut buf = [0u8; 100];
        let mut q = Queue::new(100, 10).unwrap();
        push(&mut q, &mut buf, 1, 20).unwrap();
        push(&mut q, &mut buf, 2, 20).unwrap();
        buf[0..4].copy_from_slice(&9999u32.to_le_bytes());
        assert_eq!(q.iter(&buf).next(), Some(None));
        assert_eq!(q.consume(&buf, 1), 0);
        assert!(q.is_empty());
        assert_eq!(q.stats().dead_lettered_events, 2);
        assert_eq!(q.check(&[0u8; 99]), Err(BUFFER_CHANGED));
    }

    fn consistent(q: &Queue) {
        let s = q.stats();
        assert!(s.bytes_used <= s.bytes_capacity, "{s:?}");
        assert_eq!(s.depth == 0, s.bytes_used == 0, "{s:?}");
    }

    #[test]
    fn a_length_past_the_data_of_an_unwrapped_ring_is_corrupt() {
        // Two records in [0, 40) of a 100-byte ring: the first one's length is rewritten to
        // 60, past the data's end (40) but within the buffer. It used to be accepted, and
        // `used -= 60` with 40 used underflowed.
        let mut buf = [0u8; 100];
        let mut q = Queue::new(100, 10).unwrap();
        push(&mut q, &mut buf, 1, 20).unwrap();
        push(&mut q, &mut buf, 2, 20).unwrap();
        buf[0..4].copy_from_slice(&60u32.to_le_bytes());
        assert_eq!(q.iter(&buf).next(), Some(None));
        assert_eq!(q.consume(&buf, 1), 0);
        consistent(&q);
        assert_eq!(q.stats().dead_lettered_events, 2);
        // The queue is usable again.
        push(&mut q, &mut buf, 3, 30).unwrap();
        assert_eq!(tags(&q, &buf), [3]);
        consistent(&q);
    }

    #[test]
    fn eviction_over_a_corrupt_record_makes_room_and_counts_the_loss() {
        let mut buf = [0u8; 100];
        let mut q = Queue::new(100, 10).unwrap();
        for t in 1..=3 {
            push(&mut q, &mut buf, t, 30).unwrap();
        }
        buf[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        push(&mut q, &mut buf, 4, 30).unwrap();
        assert_eq!(tags(&q, &buf), [4]);
        let s = q.stats();
        assert_eq!((s.dead_lettered_events, s.capacity_dropped_events), (3, 0));
        consistent(&q);
    }

    #[test]
    fn random_corruption_never_panics_and_keeps_counters_consistent() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..200 {
            let size = 64 + (next() % 400) as usize;
            let mut buf = alloc::vec![0u8; size];
            let mut q = Queue::new(size, 1 + (next() % 20) as u32).unwrap();
            let mut accounted = 0u64;
            for _ in 0..300 {
                let before = q.stats();
                match next() % 8 {
                    0..=3 => {
                        let len = 5 + (next() % (size as u64 / 2)) as u32;
                        if push(&mut q, &mut buf, round as u8, len).is_ok() {
                            accounted += 1;
                        }
                    }
                    4 => accounted -= u64::from(q.consume(&buf, (next() % 4) as u32)),
                    5 => q.dead_letter(&buf, (next() % 4) as u32),
                    6 => {
                        let _ = q.iter(&buf).count();
                    }
                    _ => {
                        let at = (next() % size as u64) as usize;
                        let n = (1 + next() % 8) as usize;
                        for b in buf.iter_mut().skip(at).take(n) {
                            *b = next() as u8;
                        }
                    }
                }
                consistent(&q);
                let s = q.stats();
                assert!(s.dead_lettered_events >= before.dead_lettered_events);
                // Every record pushed is queued, delivered, dropped or dead-lettered.
                let gone = u64::from(s.dead_lettered_events) + u64::from(s.capacity_dropped_events);
                assert_eq!(accounted, u64::from(s.depth) + gone, "round {round}");
            }
        }
    }
}
