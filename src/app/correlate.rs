//! Requests paired with their responses, per connection: each response gets
//! its latency (capture time from the request's last packet to its own
//! last packet), and the connection's end says latencies per method or
//! event name and what was never answered.

use super::{AppMessage, Choice, Corr};
use crate::model::Dir;
use crate::model::{Stamp, Timestamp};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Requests waiting for an answer, per connection. Past this, new requests
/// are counted as unanswered without being remembered (a peer that never
/// answers must not grow the table).
const MAX_PENDING: usize = 4096;

/// Latencies kept per name for the median and the 95th percentile.
const MAX_SAMPLES: usize = 65_536;

#[derive(Debug)]
struct Pending {
    at: Stamp,
    name: Option<String>,
}

/// The pairing table of one connection.
#[derive(Debug, Default)]
pub struct Correlator {
    /// By the requester's direction and the id.
    pending: FxHashMap<(Dir, String), Pending>,
    /// Requests not remembered because the table was full.
    overflow: u64,
    latencies: BTreeMap<String, Vec<f64>>,
    /// Answers past [`MAX_SAMPLES`] for a name: counted, not kept.
    samples_dropped: u64,
}

impl Correlator {
    /// Notes a request, or pairs a response with its request.
    pub fn pair(&mut self, dir: Dir, at: Stamp, m: &mut AppMessage) {
        match &m.corr {
            Corr::None => {}
            Corr::Request(id) => {
                if self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&(dir, id.clone())) {
                    self.overflow = self.overflow.saturating_add(1);
                    return;
                }
                let name = m
                    .method
                    .clone()
                    .or_else(|| m.event.clone())
                    .or_else(|| m.topic.clone());
                self.pending.insert((dir, id.clone()), Pending { at, name });
            }
            Corr::Response { id, last } => {
                let key = (dir.reverse(), id.clone());
                let Some(p) = self.pending.get(&key) else {
                    return;
                };
                let latency = at.ts.seconds_since(p.at.ts).max(0.0);
                m.latency = Some(latency);
                m.request_packet = Some(p.at.packet);
                // An answer is about what was asked.
                if m.method.is_none() && m.event.is_none() {
                    m.method = p.name.clone();
                }
                let name = p.name.clone().unwrap_or_else(|| m.kind.clone());
                let v = self.latencies.entry(name).or_default();
                if v.len() < MAX_SAMPLES {
                    v.push(latency);
                } else {
                    self.samples_dropped = self.samples_dropped.saturating_add(1);
                }
                if *last {
                    self.pending.remove(&key);
                }
            }
        }
    }

    /// The connection's latencies and unanswered requests.
    pub fn summary(&mut self, choice: &Choice) -> AppSummary {
        let latency = std::mem::take(&mut self.latencies)
            .into_iter()
            .map(|(name, mut v)| {
                v.sort_by(f64::total_cmp);
                let at = |q: f64| {
                    // Nearest rank.
                    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
                    v.get(i).copied().unwrap_or_default()
                };
                NameLatency {
                    count: v.len() as u64,
                    min: v.first().copied().unwrap_or_default(),
                    median: at(0.5),
                    p95: at(0.95),
                    max: v.last().copied().unwrap_or_default(),
                    name,
                }
            })
            .collect();
        let oldest = self.pending.values().min_by_key(|p| (p.at.ts, p.at.packet));
        AppSummary {
            protocol: choice.proto.name(),
            evidence: choice.evidence.to_string(),
            latency,
            unanswered: (self.pending.len() as u64).saturating_add(self.overflow),
            oldest_unanswered: oldest.map(|p| (p.at.ts, p.at.packet)),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        let pending = self.pending.capacity() * (std::mem::size_of::<((Dir, String), Pending)>() + 1)
            + self.pending.keys().map(|(_, k)| k.capacity()).sum::<usize>();
        let samples: usize = self
            .latencies
            .iter()
            .map(|(k, v)| k.capacity() + v.capacity() * 8 + 64)
            .sum();
        pending + samples
    }
}

/// Latencies of one method or event name on a connection, in seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct NameLatency {
    pub name: String,
    pub count: u64,
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
}

/// What the application layer found on a connection, for its `close` record.
#[derive(Clone, Debug, PartialEq)]
pub struct AppSummary {
    pub protocol: &'static str,
    pub evidence: String,
    pub latency: Vec<NameLatency>,
    /// Requests no answer was seen for.
    pub unanswered: u64,
    /// The oldest of them: when, and the packet that completed it.
    pub oldest_unanswered: Option<(Timestamp, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{AppProto, Evidence};

    fn at(ms: i64, packet: u64) -> Stamp {
        Stamp::new(
            Timestamp {
                secs: 100 + ms / 1000,
                nanos: ((ms % 1000) * 1_000_000) as u32,
            },
            packet,
        )
    }

    fn msg(corr: Corr, method: Option<&str>) -> AppMessage {
        AppMessage {
            kind: "k".into(),
            method: method.map(str::to_string),
            corr,
            ..AppMessage::default()
        }
    }

    #[test]
    fn responses_get_the_time_since_their_request() {
        let mut c = Correlator::default();
        let mut req = msg(Corr::Request("1".into()), Some("get"));
        c.pair(Dir::C2S, at(0, 3), &mut req);
        let mut other_dir = msg(
            Corr::Response {
                id: "1".into(),
                last: true,
            },
            None,
        );
        // A "response" in the request's own direction answers nothing.
        c.pair(Dir::C2S, at(5, 4), &mut other_dir);
        assert_eq!(other_dir.latency, None);
        let mut resp = msg(
            Corr::Response {
                id: "1".into(),
                last: true,
            },
            None,
        );
        c.pair(Dir::S2C, at(250, 7), &mut resp);
        assert!((resp.latency.unwrap() - 0.25).abs() < 1e-9);
        assert_eq!(resp.request_packet, Some(3));
        assert_eq!(resp.method.as_deref(), Some("get"));
        let mut late = msg(Corr::Request("2".into()), Some("put"));
        c.pair(Dir::C2S, at(300, 9), &mut late);
        let s = c.summary(&Choice {
            proto: AppProto::JsonRpc,
            evidence: Evidence::Shape,
        });
        assert_eq!(s.latency.len(), 1);
        assert_eq!(s.latency[0].name, "get");
        assert_eq!(s.latency[0].count, 1);
        assert_eq!(s.unanswered, 1);
        assert_eq!(s.oldest_unanswered.map(|o| o.1), Some(9));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut c = Correlator::default();
        for i in 1..=20 {
            let id = i.to_string();
            c.pair(Dir::C2S, at(0, i), &mut msg(Corr::Request(id.clone()), Some("m")));
            c.pair(
                Dir::S2C,
                at(i as i64 * 10, 100 + i),
                &mut msg(Corr::Response { id, last: true }, None),
            );
        }
        let s = c.summary(&Choice {
            proto: AppProto::JsonRpc,
            evidence: Evidence::Shape,
        });
        let l = &s.latency[0];
        assert_eq!(l.count, 20);
        assert!((l.min - 0.01).abs() < 1e-9 && (l.max - 0.2).abs() < 1e-9);
        assert!((l.median - 0.1).abs() < 1e-9, "{}", l.median);
        assert!((l.p95 - 0.19).abs() < 1e-9, "{}", l.p95);
        assert_eq!(s.unanswered, 0);
    }
}
