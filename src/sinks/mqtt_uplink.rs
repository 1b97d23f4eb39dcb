//! The MQTT uplink's bookkeeping as a pure state machine: rows leased and not yet
//! published, publishes in flight with their packet ids, the acknowledged prefix
//! that may leave the outbox, and which row to set aside when the broker keeps
//! dropping the connection with it at the head. The async sink only moves rows
//! between the outbox, this core and rumqttc; every decision lives here.

use crate::store::OutboxRow;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

struct InFlight {
    row: OutboxRow,
    pkid: Option<u16>,
    acked: bool,
    sent: Instant,
}

/// What one PUBACK settled.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Acked {
    /// From hand-over to this acknowledgement, when it matched a publish.
    pub latency: Option<Duration>,
    /// The contiguous acknowledged prefix now ends at this sequence number.
    pub upto: Option<u64>,
    /// Rows that left the in-flight list with it.
    pub delivered: u64,
}

pub struct Uplink {
    window: usize,
    dead_letter_after: u32,
    queue: VecDeque<OutboxRow>,
    inflight: VecDeque<InFlight>,
    cursor: u64,
    /// The in-flight head when the broker last dropped the connection, and in how
    /// many drops in a row it was the head.
    suspect: (u64, u32),
}

impl Uplink {
    pub fn new(window: usize, dead_letter_after: u32) -> Self {
        Uplink {
            window: window.max(1),
            dead_letter_after,
            queue: VecDeque::new(),
            inflight: VecDeque::new(),
            cursor: 0,
            suspect: (0, 0),
        }
    }

    /// The last sequence number leased from the outbox.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// How many rows to lease now (0: enough queued or in flight).
    pub fn wants(&self) -> usize {
        if self.queue.is_empty() {
            self.window.saturating_sub(self.inflight.len())
        } else {
            0
        }
    }

    pub fn leased(&mut self, rows: Vec<OutboxRow>) {
        if let Some(last) = rows.last() {
            self.cursor = self.cursor.max(last.seq);
        }
        self.queue.extend(rows);
    }

    /// The next row to publish, if the window has room.
    pub fn next_to_send(&mut self) -> Option<OutboxRow> {
        if self.inflight.len() >= self.window {
            return None;
        }
        self.queue.pop_front()
    }

    /// rumqttc took the publish of `row`.
    pub fn handed_over(&mut self, row: OutboxRow, now: Instant) {
        self.inflight.push_back(InFlight {
            row,
            pkid: None,
            acked: false,
            sent: now,
        });
    }

    /// rumqttc's request queue was full: `row` goes first next time.
    pub fn not_taken(&mut self, row: OutboxRow) {
        self.queue.push_front(row);
    }

    /// rumqttc wrote a publish with `pkid`: publishes go out in hand-over order.
    pub fn written(&mut self, pkid: u16) {
        if let Some(f) = self.inflight.iter_mut().find(|f| f.pkid.is_none()) {
            f.pkid = Some(pkid);
        }
    }

    pub fn puback(&mut self, pkid: u16, now: Instant) -> Acked {
        let mut acked = Acked::default();
        if let Some(f) = self
            .inflight
            .iter_mut()
            .find(|f| f.pkid == Some(pkid) && !f.acked)
        {
            f.acked = true;
            acked.latency = Some(now.saturating_duration_since(f.sent));
        }
        while self.inflight.front().is_some_and(|f| f.acked) {
            if let Some(f) = self.inflight.pop_front() {
                acked.upto = Some(f.row.seq);
                acked.delivered += 1;
            }
        }
        if acked.upto.is_some_and(|seq| seq >= self.suspect.0) {
            self.suspect = (0, 0);
        }
        acked
    }

    /// True when nothing waits to be published and the window has room.
    pub fn can_take_more(&self) -> bool {
        self.queue.is_empty() && self.inflight.len() < self.window
    }

    /// Rows waiting for a connection (queued and unacknowledged).
    pub fn unsent(&self) -> usize {
        self.queue.len() + self.inflight.iter().filter(|f| !f.acked).count()
    }

    /// A new connection: whatever the last one did not get acknowledged goes first,
    /// in order (packet ids of the old connection mean nothing on the new).
    pub fn reconnecting(&mut self) {
        while let Some(f) = self.inflight.pop_back() {
            self.queue.push_front(f.row);
        }
    }

    /// The broker dropped a working connection. A broker acknowledges in order, so
    /// the oldest unacknowledged publish is the likely cause: once it was the head
    /// at `dead-letter-after` drops in a row it is returned (with the reason) to
    /// be set aside, so the queue behind it moves.
    pub fn dropped(&mut self, error: &str) -> Option<(u64, String)> {
        let head = self
            .inflight
            .front()
            .filter(|f| f.pkid.is_some() && !f.acked)?;
        let seq = head.row.seq;
        self.suspect = if self.suspect.0 == seq {
            (seq, self.suspect.1.saturating_add(1))
        } else {
            (seq, 1)
        };
        if self.dead_letter_after == 0 || self.suspect.1 < self.dead_letter_after {
            return None;
        }
        self.inflight.pop_front();
        let reason = format!(
            "the broker dropped the connection {} times in a row while this item was the oldest unacknowledged (last: {})",
            self.suspect.1,
            crate::untrusted::quote(error, &[], 300)
        );
        self.suspect = (0, 0);
        Some((seq, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ItemKind;

    fn row(seq: u64) -> OutboxRow {
        OutboxRow {
            seq,
            epoch: 0,
            kind: ItemKind::Aggregate,
            created_ms: 0,
            body: String::new(),
        }
    }

    fn uplink_with(n: u64, window: usize) -> Uplink {
        let mut u = Uplink::new(window, 3);
        u.leased((1..=n).map(row).collect());
        u
    }

    /// Hands over and writes as much as the window takes; returns the seqs sent.
    fn send_all(u: &mut Uplink, first_pkid: u16) -> Vec<u64> {
        let mut sent = Vec::new();
        let mut pkid = first_pkid;
        while let Some(r) = u.next_to_send() {
            sent.push(r.seq);
            u.handed_over(r, Instant::now());
            u.written(pkid);
            pkid += 1;
        }
        sent
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_contiguous_acknowledged_prefix_is_delivered() {
        let mut u = uplink_with(4, 10);
        assert_eq!(send_all(&mut u, 1), vec![1, 2, 3, 4]);
        tokio::time::advance(Duration::from_millis(7)).await;
        let a = u.puback(2, Instant::now());
        assert_eq!(a.upto, None, "seq 1 is still unacknowledged");
        assert_eq!(a.latency, Some(Duration::from_millis(7)));
        let a = u.puback(1, Instant::now());
        assert_eq!((a.upto, a.delivered), (Some(2), 2));
        assert_eq!(
            u.puback(1, Instant::now()),
            Acked::default(),
            "a repeated PUBACK settles nothing"
        );
        assert_eq!(u.unsent(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_bounds_what_is_in_flight() {
        let mut u = uplink_with(5, 2);
        assert_eq!(send_all(&mut u, 1), vec![1, 2]);
        assert!(!u.can_take_more());
        assert_eq!(u.wants(), 0);
        u.puback(1, Instant::now());
        assert_eq!(send_all(&mut u, 3), vec![3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reconnect_resends_the_unacknowledged_in_order() {
        let mut u = uplink_with(3, 10);
        send_all(&mut u, 1);
        u.puback(1, Instant::now());
        u.reconnecting();
        assert_eq!(send_all(&mut u, 1), vec![2, 3]);
        assert_eq!(u.cursor(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_head_of_repeated_drops_is_set_aside_and_the_rest_moves() {
        let mut u = uplink_with(3, 10);
        for strike in 1..=3 {
            u.reconnecting();
            send_all(&mut u, 1);
            let out = u.dropped("connection reset");
            assert_eq!(out.is_some(), strike == 3, "strike {strike}");
            if let Some((seq, why)) = out {
                assert_eq!(seq, 1);
                assert!(
                    why.contains("3 times") && why.contains("connection reset"),
                    "{why}"
                );
            }
        }
        u.reconnecting();
        assert_eq!(send_all(&mut u, 1), vec![2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_past_the_suspect_clears_its_strikes() {
        let mut u = uplink_with(3, 10);
        for _ in 0..2 {
            u.reconnecting();
            send_all(&mut u, 1);
            assert!(u.dropped("eof").is_none());
        }
        u.reconnecting();
        send_all(&mut u, 1);
        u.puback(1, Instant::now());
        u.reconnecting();
        send_all(&mut u, 1);
        assert!(
            u.dropped("eof").is_none(),
            "seq 2 has its first strike only"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_drop_before_anything_was_written_strikes_nobody() {
        let mut u = uplink_with(2, 10);
        let r = u.next_to_send().unwrap();
        u.handed_over(r, Instant::now());
        for _ in 0..5 {
            assert!(u.dropped("eof").is_none());
        }
    }
}
