//! Ping → pong round-trip times.
//!
//! A pong answers the most recent ping with the same payload (RFC 6455
//! §5.5.3 lets a peer answer only the latest, so earlier unanswered pings
//! are forgotten when a later one is answered). Memory is bounded: a few
//! outstanding pings per direction, and a cap on the samples kept for the
//! min/median/max summary.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::collections::VecDeque;

use crate::model::{Dir, PerDir, Timestamp};

/// Outstanding pings remembered per direction for RTT matching.
const MAX_PINGS: usize = 64;
/// Ping round-trip times kept for the min/median/max summary.
const MAX_RTT_SAMPLES: usize = 100_000;
/// The largest valid control payload: an oversized ping is already a
/// violation and must not pin memory.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// Pings of both directions and the round-trip times measured so far.
#[derive(Debug, Default)]
pub struct PingTracker {
    /// Pings sent in each direction: (payload, ts), oldest first.
    pings: PerDir<VecDeque<(Vec<u8>, Timestamp)>>,
    rtts: Vec<f64>,
    /// Pongs stamped before the ping they answer (the capture's clock went
    /// backwards): no RTT sample, only counted.
    backwards: u64,
}

impl PingTracker {
    /// A ping sent in `dir`.
    pub fn ping(&mut self, dir: Dir, payload: &[u8], ts: Timestamp) {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return;
        }
        let q = &mut self.pings[dir];
        if q.len() >= MAX_PINGS {
            q.pop_front();
        }
        q.push_back((payload.to_vec(), ts));
    }

    /// A pong sent in `dir`: the round-trip time to the ping it answers.
    ///
    /// A pong stamped *before* its ping (a capture whose clock went
    /// backwards, which the file reader reports as `pcap-time-backwards`)
    /// gives no sample: a negative RTT is impossible, and 0 would be an
    /// invented value that drags the minimum and median down. It is counted.
    pub fn pong(&mut self, dir: Dir, payload: &[u8], ts: Timestamp) -> Option<f64> {
        let q = &mut self.pings[dir.reverse()];
        let k = q.iter().position(|(p, _)| p == payload)?;
        let rtt = q.get(k).map(|(_, pts)| ts.seconds_since(*pts));
        // Earlier unanswered pings are not going to be answered now.
        q.drain(..=k);
        let rtt = match rtt {
            Some(r) if r < 0.0 => {
                self.backwards = self.backwards.saturating_add(1);
                None
            }
            r => r,
        };
        if let Some(r) = rtt
            && self.rtts.len() < MAX_RTT_SAMPLES
        {
            self.rtts.push(r);
        }
        rtt
    }

    /// Pongs that were stamped before their ping: no RTT was measured.
    pub fn backwards(&self) -> u64 {
        self.backwards
    }

    /// (min, median, max) of the round-trip times, in seconds.
    pub fn summary(&mut self) -> Option<(f64, f64, f64)> {
        let v = &mut self.rtts;
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mid = n / 2;
        let median = if n % 2 == 1 {
            v.get(mid).copied().unwrap_or(0.0)
        } else {
            (v.get(mid.saturating_sub(1)).copied().unwrap_or(0.0) + v.get(mid).copied().unwrap_or(0.0)) / 2.0
        };
        Some((
            v.first().copied().unwrap_or(0.0),
            median,
            v.last().copied().unwrap_or(0.0),
        ))
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        let pings: usize = self
            .pings
            .iter()
            .flat_map(|(_, q)| q.iter())
            .map(|(p, _)| {
                p.capacity()
                    .saturating_add(std::mem::size_of::<(Vec<u8>, Timestamp)>())
            })
            .sum();
        pings.saturating_add(self.rtts.capacity().saturating_mul(std::mem::size_of::<f64>()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::new(ms / 1000, ((ms % 1000) * 1_000_000) as u32)
    }

    #[test]
    fn pong_answers_the_matching_ping_and_forgets_older_ones() {
        let mut p = PingTracker::default();
        p.ping(Dir::C2S, b"a", t(0));
        p.ping(Dir::C2S, b"b", t(100));
        // A pong from the other side answering "b": "a" is forgotten.
        let rtt = p.pong(Dir::S2C, b"b", t(150)).unwrap();
        assert!((rtt - 0.05).abs() < 1e-9);
        assert_eq!(p.pong(Dir::S2C, b"a", t(200)), None);
        // A pong in the same direction as the ping answers nothing.
        p.ping(Dir::C2S, b"c", t(300));
        assert_eq!(p.pong(Dir::C2S, b"c", t(310)), None);
        let (min, med, max) = p.summary().unwrap();
        assert!((min - 0.05).abs() < 1e-9 && (med - 0.05).abs() < 1e-9 && (max - 0.05).abs() < 1e-9);
    }

    #[test]
    fn a_pong_stamped_before_its_ping_gives_no_rtt() {
        let mut p = PingTracker::default();
        p.ping(Dir::C2S, b"x", t(1000));
        assert_eq!(p.pong(Dir::S2C, b"x", t(900)), None);
        assert_eq!(p.backwards(), 1);
        // The ping was answered: it is not matched again.
        assert_eq!(p.pong(Dir::S2C, b"x", t(1100)), None);
        assert!(p.summary().is_none());
        // Equal times are a real (zero) RTT.
        p.ping(Dir::C2S, b"y", t(2000));
        assert_eq!(p.pong(Dir::S2C, b"y", t(2000)), Some(0.0));
        assert_eq!(p.backwards(), 1);
    }

    #[test]
    fn oversized_pings_are_not_remembered_and_the_queue_is_bounded() {
        let mut p = PingTracker::default();
        p.ping(Dir::S2C, &[0u8; 126], t(0));
        assert_eq!(p.pong(Dir::C2S, &[0u8; 126], t(1)), None);
        for i in 0..1000u32 {
            p.ping(Dir::S2C, &i.to_be_bytes(), t(0));
        }
        assert_eq!(p.pings[Dir::S2C].len(), MAX_PINGS);
    }
}
