//! Splitting a batch the server refused as too large or unprocessable (413 or 422) down to the
//! events it refuses on their own (product.md §4 decision 14).
//!
//! A refused message of `n > 1` events becomes two runs, `ceil(n/2)` then `floor(n/2)`
//! events, each then sent as a message of its own; a refused run is split again, and a
//! refused single event is dead-lettered. The runs still to send are kept as a small stack
//! of lengths over the head of the queue (the next run on top), anchored at the queue
//! sequence of their first event: anything else that moves the head (an eviction, a reset)
//! abandons them, and the queue is batched as usual again.
//!
//! When the first half of a refused run is delivered, the second half must hold what the
//! server refused, so it is split at once instead of being sent whole first. (A single event
//! is always sent alone before it is dead-lettered: only the server's own answer condemns
//! it.) Isolating one refused event among `n` so takes at most `2·ceil(log2(n)) + 1` requests,
//! and refusing all `n` about `2n`.

/// A run's length; [`SUSPECT`] marks a run whose sibling run has not (yet) been refused: if
/// the sibling is delivered, the run holds the refused event.
const LEN: u8 = 0x7f;
const SUSPECT: u8 = 0x80;

/// At most 50 events per message: six halvings isolate one, so seven runs are pending at most.
const MAX_RUNS: usize = 8;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Queue sequence of the first event of the runs (the head of the queue).
    first_sequence: u64,
    /// Run lengths (with [`SUSPECT`]), the next to send last.
    runs: [u8; MAX_RUNS],
    len: u8,
}

impl Split {
    /// Whether runs remain to be sent from the head at `head_sequence`; forgets them when the
    /// head has moved under them.
    fn active(&mut self, head_sequence: u64) -> bool {
        if self.len > 0 && self.first_sequence != head_sequence {
            *self = Split::default();
        }
        self.len > 0
    }

    fn top(&self) -> Option<u8> {
        self.runs.get(usize::from(self.len).checked_sub(1)?).copied()
    }

    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    fn push(&mut self, run: u8) -> bool {
        match self.runs.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = run;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Replaces the top run (of `n > 1` events) by its halves, the second one suspect.
    fn halve_top(&mut self, n: u8) -> bool {
        if usize::from(self.len) + 1 > MAX_RUNS {
            return false;
        }
        self.pop();
        self.push((n / 2) | SUSPECT) && self.push(n.div_ceil(2))
    }

    /// How many events the next message may carry, when a split is under way: the top run.
    /// A suspect run (its sibling was delivered) is halved first, without being sent whole.
    pub fn next_limit(&mut self, head_sequence: u64) -> Option<usize> {
        if !self.active(head_sequence) {
            return None;
        }
        while let Some(top) = self.top() {
            let n = top & LEN;
            if top & SUSPECT == 0 || n <= 1 || !self.halve_top(n) {
                return Some(usize::from(n.max(1)));
            }
        }
        None
    }

    /// The message of `events` events at `head_sequence` was refused with 413 or 422.
    /// Returns `false` when it cannot be split (a single event): dead-letter it, then call
    /// [`Self::removed`].
    pub fn refused(&mut self, head_sequence: u64, events: u16) -> bool {
        let Ok(n) = u8::try_from(events) else {
            return false;
        };
        if n <= 1 || n > LEN {
            return false;
        }
        if !self.active(head_sequence) {
            // A whole batch: it becomes the only run.
            self.first_sequence = head_sequence;
            self.len = 0;
            self.push(n);
        }
        // The message was the top run (or the first part of it).
        let top = self.top().unwrap_or(n) & LEN;
        if top > n {
            // Only its first `n` events were sent: they become a run of their own.
            self.pop();
            self.push(top - n);
            self.push(n);
        }
        // The sibling below no longer has to hold the refused event.
        self.clear_suspect_below_top();
        self.halve_top(n)
    }

    fn clear_suspect_below_top(&mut self) {
        if let Some(below) = usize::from(self.len)
            .checked_sub(2)
            .and_then(|i| self.runs.get_mut(i))
        {
            *below &= LEN;
        }
    }

    /// `n` events left the head of the queue (delivered, or a single one dead-lettered after
    /// being refused on its own when `refused`).
    pub fn removed(&mut self, head_sequence_before: u64, n: u32, refused: bool) {
        if n == 0 || !self.active(head_sequence_before) {
            return;
        }
        if refused {
            self.clear_suspect_below_top();
        }
        let mut left = n;
        while left > 0 {
            let Some(top) = self.top() else { break };
            let len = u32::from(top & LEN);
            if len > left {
                if let Some(slot) = usize::from(self.len)
                    .checked_sub(1)
                    .and_then(|i| self.runs.get_mut(i))
                {
                    *slot = (top & SUSPECT) | (len - left) as u8;
                }
                left = 0;
            } else {
                self.pop();
                left -= len;
            }
        }
        self.first_sequence = head_sequence_before.wrapping_add(u64::from(n));
        if self.len == 0 {
            *self = Split::default();
        }
    }

    /// Forgets any split (the queue was cleared).
    pub fn clear(&mut self) {
        *self = Split::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Runs the split against a server that refuses any message holding one of `bad`;
    /// returns the messages sent (first index, length) and the events dead-lettered.
    fn simulate(n: usize, batch: usize, bad: &[usize]) -> (Vec<(usize, usize)>, Vec<usize>) {
        let mut split = Split::default();
        let mut head = 0usize;
        let mut sent = Vec::new();
        let mut dead = Vec::new();
        while head < n {
            let limit = split.next_limit(head as u64).unwrap_or(batch).min(n - head);
            sent.push((head, limit));
            assert!(sent.len() < 10 * n, "no progress");
            let refused = (head..head + limit).any(|i| bad.contains(&i));
            if !refused {
                split.removed(head as u64, limit as u32, false);
                head += limit;
            } else if !split.refused(head as u64, limit as u16) {
                assert_eq!(limit, 1);
                dead.push(head);
                split.removed(head as u64, 1, true);
                head += 1;
            }
        }
        (sent, dead)
    }

    #[test]
    fn one_bad_event_among_twenty_is_isolated_in_few_requests() {
        for bad in 0..20 {
            let (sent, dead) = simulate(20, 20, &[bad]);
            assert_eq!(dead, [bad]);
            // ceil(log2(20)) = 5 halvings, each costing at most two requests, plus the first.
            assert!(sent.len() <= 11, "bad {bad}: {} requests: {sent:?}", sent.len());
            // Every event but the bad one went out in exactly one accepted message.
            let mut covered = 0;
            for &(first, len) in &sent {
                if !(first..first + len).contains(&bad) {
                    covered += len;
                }
            }
            assert_eq!(covered, 19, "bad {bad}: {sent:?}");
        }
        let (sent, _) = simulate(20, 20, &[7]);
        assert_eq!(
            sent,
            [(0, 20), (0, 10), (0, 5), (5, 3), (5, 2), (7, 1), (8, 2), (10, 10)],
            "the half after a delivered half is split at once"
        );
    }

    #[test]
    fn several_bad_events_and_full_batches() {
        for bad in [
            &[0usize, 1][..],
            &[3, 17, 18],
            &[49],
            &(0..50).collect::<Vec<_>>()[..],
        ] {
            let (sent, dead) = simulate(50, 50, bad);
            assert_eq!(dead, bad, "{sent:?}");
        }
        let (sent, dead) = simulate(120, 50, &[60]);
        assert_eq!(dead, [60]);
        assert_eq!(sent[0], (0, 50), "batches before the refused one are whole");
        assert_eq!(*sent.last().unwrap(), (100, 20), "and after it too");
    }

    #[test]
    fn a_moved_head_abandons_the_split() {
        let mut split = Split::default();
        assert!(split.refused(10, 8));
        assert_eq!(split.next_limit(10), Some(4));
        assert_eq!(split.next_limit(11), None, "an eviction moved the head");
        assert_eq!(split.next_limit(10), None);
        assert!(!split.refused(10, 1), "a single event is not split");
    }
}
