//! One memory budget for a whole run (`--max-memory`, default 1 GiB).
//!
//! A hostile capture decides how much state a naive analyzer keeps: a
//! million SYNs, a million open handshakes, millions of tiny segments
//! behind a hole, dozens of connections inside 15 MiB frames. The budget
//! turns all of that into one number the user chose. It is divided once,
//! up front, between the three things that grow:
//!
//! - **the analysis** (connection table, reassembly buffers, every layer's
//!   state: frames and messages in progress, inflater windows, held heads,
//!   TLS records waiting for keys). Each piece reports its real heap cost,
//!   overheads included; when the sum passes the analysis' share, the least
//!   recently active connections are summarised early (`end: "evicted"`)
//!   until it is back under [`LOW_WATER`] of it, and a `memory-budget`
//!   diagnostic says how many and how to raise the budget;
//! - **the output** (`conns`' rows waiting for an earlier connection to end,
//!   the timeline's index), whose share each sink manages itself;
//! - **a reserve** for what is not counted piece by piece: the program, the
//!   capture reader's buffer, a message being written out, allocator slack
//!   (an eighth, at least 64 MiB).
//!
//! No single connection may hold more than `--max-conn-memory` (default a
//! quarter of the budget): the per-connection caps (out-of-order bytes,
//! frame and message payload kept) are clamped under it. `--max-buffer`,
//! `--max-total-buffer` and `--max-conns` stay as finer caps beneath.

/// The least reserve (see [`Budget::reserve`]).
const MIN_RESERVE: usize = 64 << 20;

/// The default `--max-memory`.
pub const DEFAULT_MAX_MEMORY: usize = 1 << 30;

/// After an eviction the analysis is brought down to this fraction of its
/// share (in eighths), so evictions come in rare batches, not per packet.
pub const LOW_WATER: usize = 7;

/// How a run's memory is divided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// `--max-memory`.
    pub total: usize,
    /// `--max-conn-memory`.
    pub per_conn: usize,
    /// What the sink may keep (rows waiting for order, the timeline index).
    pub output: usize,
}

/// What the sink of a command needs from the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputShare {
    /// Streams everything as it comes (`dump`, `export`).
    Streaming,
    /// Keeps rows until they can go out in order (`conns`).
    Ordering,
    /// Keeps an index of every row (the timeline).
    Index,
}

impl Budget {
    /// `total` bytes in all; `per_conn` or a quarter of `total` for one
    /// connection.
    pub fn new(total: usize, per_conn: Option<usize>, output: OutputShare) -> Self {
        let eighth = total / 8;
        let output = match output {
            OutputShare::Streaming => 0,
            OutputShare::Ordering => eighth.saturating_mul(2),
            OutputShare::Index => eighth.saturating_mul(3),
        };
        Budget {
            total,
            per_conn: per_conn.unwrap_or(total / 4).min(total),
            output,
        }
    }

    /// The analysis' share: what is left after the output's share and the
    /// reserve.
    pub fn analysis(&self) -> usize {
        self.total
            .saturating_sub(self.output)
            .saturating_sub(self.reserve())
    }

    /// What is kept back for what is not counted piece by piece: an eighth,
    /// but at least 64 MiB (up to a quarter of a small budget) — the
    /// program, the reader's buffer and one message being written out
    /// (base64 of a 16 MiB message is 22 MB) weigh the same at any budget.
    pub fn reserve(&self) -> usize {
        (self.total / 8).max(MIN_RESERVE.min(self.total / 4))
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_MAX_MEMORY, None, OutputShare::Streaming)
    }
}

/// Parses a size as users write it: `1G`, `256M`, `512MiB`, `64k`,
/// `1048576`. Units are binary (1K = 1024), as for `--max-buffer`'s peers
/// `ulimit` and `sort -S`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => {
            return Err(format!(
                "unknown unit in {s:?}: give bytes or a number with K, M, G or T (e.g. 256M, 1G)"
            ));
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("not a size: {s:?} (e.g. 256M, 1G, 1073741824)"))?;
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > usize::MAX as f64 {
        return Err(format!("size out of range: {s:?}"));
    }
    Ok(bytes as usize)
}

/// A size for messages: `256 MiB`, `1.5 GiB`, `900 KiB`, `12 B`.
pub fn human(n: usize) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    let unit = UNITS.get(u).copied().unwrap_or("TiB");
    if v.fract() == 0.0 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_users_write_them() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("256mb"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn shares_add_up_to_the_total() {
        for out in [OutputShare::Streaming, OutputShare::Ordering, OutputShare::Index] {
            let b = Budget::new(1 << 30, None, out);
            assert!(b.analysis() + b.output + b.reserve() <= b.total);
            assert!(b.analysis() >= b.total / 2, "{out:?}: {}", b.analysis());
            assert_eq!(b.per_conn, 1 << 28);
        }
        assert_eq!(
            Budget::new(1 << 30, Some(1 << 40), OutputShare::Streaming).per_conn,
            1 << 30
        );
        // Small budgets keep a larger part back.
        assert_eq!(
            Budget::new(256 << 20, None, OutputShare::Streaming).reserve(),
            64 << 20
        );
        assert_eq!(
            Budget::new(4 << 20, None, OutputShare::Streaming).reserve(),
            1 << 20
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(12), "12 B");
        assert_eq!(human(1 << 30), "1 GiB");
        assert_eq!(human(256 << 20), "256 MiB");
        assert_eq!(human(3 << 29), "1.5 GiB");
    }
}
