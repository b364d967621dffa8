//! The vocabulary every layer shares: time, direction, identity, stamps.
//!
//! These types carry no protocol knowledge. [`Stamp`] and [`PacketSpan`]
//! keep packet identity through reassembly (and later decryption and
//! demultiplexing), so an event can say which packets made it; [`SessionId`]
//! names one WebSocket session — a TCP connection, or one HTTP/2 stream on
//! it; [`PerDir`] makes direction a type instead of an array index.

use std::fmt;
use std::ops::{Index, IndexMut};

/// Connection id: numbered from 0 in order of first appearance, exactly like
/// Wireshark's `tcp.stream`, so `conn 3` here is `tcp.stream eq 3` there.
pub type ConnId = u64;

/// A capture timestamp. Packets' timestamps are the analyzer's only clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Timestamp {
    pub const fn new(secs: i64, nanos: u32) -> Self {
        Self { secs, nanos }
    }

    /// Seconds since the epoch as a float (microsecond precision survives
    /// for dates up to year ~2200).
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// `self - earlier` in seconds (negative if `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        // Wire timestamps can lie (pcapng offsets span all of i64): no overflow.
        (i128::from(self.secs) - i128::from(earlier.secs)) as f64
            + (f64::from(self.nanos) - f64::from(earlier.nanos)) / 1e9
    }

    /// Exact decimal rendering with 9 fractional digits (`1700000000.123456789`),
    /// used for JSON so that no precision is lost to float formatting.
    pub fn to_decimal(self) -> String {
        if self.secs < 0 && self.nanos > 0 {
            // -1.5 s is secs = -2, nanos = 500_000_000.
            let total = i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos);
            let abs = total.unsigned_abs();
            format!("-{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
        } else {
            format!("{}.{:09}", self.secs, self.nanos)
        }
    }
}

impl fmt::Display for Timestamp {
    /// UTC `HH:MM:SS.ffffff` — the timeline format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day_secs = self.secs.rem_euclid(86_400);
        write!(
            f,
            "{:02}:{:02}:{:02}.{:06}",
            day_secs / 3600,
            (day_secs / 60) % 60,
            day_secs % 60,
            self.nanos / 1000
        )
    }
}

/// Direction of travel within a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    /// Client → server (the side that sent the SYN, or the HTTP request).
    C2S,
    /// Server → client.
    S2C,
}

impl Dir {
    pub const BOTH: [Dir; 2] = [Dir::C2S, Dir::S2C];

    pub fn as_str(self) -> &'static str {
        match self {
            Dir::C2S => "c2s",
            Dir::S2C => "s2c",
        }
    }

    pub fn reverse(self) -> Dir {
        match self {
            Dir::C2S => Dir::S2C,
            Dir::S2C => Dir::C2S,
        }
    }

    /// 0 for c2s, 1 for s2c: for per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Dir::C2S => 0,
            Dir::S2C => 1,
        }
    }

    /// A terminal arrow: `→` for c2s, `←` for s2c.
    pub fn arrow(self) -> &'static str {
        match self {
            Dir::C2S => "→",
            Dir::S2C => "←",
        }
    }
}

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The connection's client and server, for records a layer writes of its
/// own (an HTTP/2 stream's `close`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub client: std::net::SocketAddr,
    pub server: std::net::SocketAddr,
}

impl Default for Endpoints {
    fn default() -> Self {
        let none: std::net::SocketAddr = ([0, 0, 0, 0], 0).into();
        Endpoints {
            client: none,
            server: none,
        }
    }
}

/// Identity of one session above TCP: the connection, and the HTTP/2 stream
/// when the session is one of several multiplexed on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SessionId {
    pub conn: ConnId,
    /// HTTP/2 stream id; `None` for a session that is the whole connection.
    pub stream: Option<u32>,
}

impl SessionId {
    /// The session that is a whole TCP connection (HTTP/1.1 upgrade, or
    /// WebSocket picked up without a handshake).
    pub const fn conn(conn: ConnId) -> Self {
        SessionId { conn, stream: None }
    }
}

/// When, and by which packet, something became known: the packet that
/// completed a chunk of bytes, a frame, or a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    pub ts: Timestamp,
    /// 1-based packet number in the capture (as Wireshark numbers frames);
    /// 0 when no packet is involved (end of input).
    pub packet: u64,
}

impl Stamp {
    pub const fn new(ts: Timestamp, packet: u64) -> Self {
        Stamp { ts, packet }
    }
}

/// The packets that contributed bytes to something, by number: the lowest
/// and the highest. A frame split over packets 5, 6 and 7 is `5..=7`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PacketSpan {
    pub first: u64,
    pub last: u64,
}

impl PacketSpan {
    /// One packet.
    pub const fn one(packet: u64) -> Self {
        PacketSpan {
            first: packet,
            last: packet,
        }
    }

    /// The smallest span covering both.
    pub fn union(self, other: PacketSpan) -> PacketSpan {
        PacketSpan {
            first: self.first.min(other.first),
            last: self.last.max(other.last),
        }
    }

    /// `self` widened by `other`, when there is one.
    pub fn join(a: Option<PacketSpan>, b: PacketSpan) -> PacketSpan {
        a.map_or(b, |a| a.union(b))
    }
}

/// One value per direction, indexed by [`Dir`]: `stats[Dir::C2S]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PerDir<T>(pub [T; 2]);

impl<T> PerDir<T> {
    pub const fn new(c2s: T, s2c: T) -> Self {
        PerDir([c2s, s2c])
    }

    /// `f` applied to each direction's value.
    pub fn map<U>(self, mut f: impl FnMut(Dir, T) -> U) -> PerDir<U> {
        let [c, s] = self.0;
        PerDir([f(Dir::C2S, c), f(Dir::S2C, s)])
    }

    /// Both directions' values, mutably and at once: `(c2s, s2c)`.
    pub fn both_mut(&mut self) -> (&mut T, &mut T) {
        let [c, s] = &mut self.0;
        (c, s)
    }

    /// This direction's value and the other's, mutably: `(mine, peer)`.
    pub fn split_mut(&mut self, dir: Dir) -> (&mut T, &mut T) {
        let (c, s) = self.both_mut();
        match dir {
            Dir::C2S => (c, s),
            Dir::S2C => (s, c),
        }
    }

    /// Both directions' values by reference.
    pub fn as_ref(&self) -> PerDir<&T> {
        let [c, s] = &self.0;
        PerDir([c, s])
    }

    pub fn iter(&self) -> impl Iterator<Item = (Dir, &T)> {
        Dir::BOTH.into_iter().zip(self.0.iter())
    }

    pub fn swap(&mut self) {
        self.0.swap(0, 1);
    }

    pub fn into_array(self) -> [T; 2] {
        self.0
    }
}

impl<T> From<[T; 2]> for PerDir<T> {
    fn from(a: [T; 2]) -> Self {
        PerDir(a)
    }
}

impl<T> Index<Dir> for PerDir<T> {
    type Output = T;
    fn index(&self, d: Dir) -> &T {
        let [c, s] = &self.0;
        match d {
            Dir::C2S => c,
            Dir::S2C => s,
        }
    }
}

impl<T> IndexMut<Dir> for PerDir<T> {
    fn index_mut(&mut self, d: Dir) -> &mut T {
        let [c, s] = &mut self.0;
        match d {
            Dir::C2S => c,
            Dir::S2C => s,
        }
    }
}

/// A WebSocket opcode, kept open: reserved values are shown, not rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Opcode(pub u8);

impl Opcode {
    pub const CONTINUATION: Opcode = Opcode(0x0);
    pub const TEXT: Opcode = Opcode(0x1);
    pub const BINARY: Opcode = Opcode(0x2);
    pub const CLOSE: Opcode = Opcode(0x8);
    pub const PING: Opcode = Opcode(0x9);
    pub const PONG: Opcode = Opcode(0xA);

    /// Control frames have the high opcode bit set (0x8..=0xF).
    pub fn is_control(self) -> bool {
        self.0 & 0x8 != 0
    }

    /// One of the six opcodes RFC 6455 defines.
    pub fn is_defined(self) -> bool {
        matches!(self.0, 0x0..=0x2 | 0x8..=0xA)
    }

    /// The RFC 6455 §5.2 name of a defined opcode; `None` for reserved ones.
    /// The one table of opcode names: every rendering starts here.
    pub fn known_name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "continuation",
            0x1 => "text",
            0x2 => "binary",
            0x8 => "close",
            0x9 => "ping",
            0xA => "pong",
            _ => return None,
        })
    }

    /// `text`, `ping`, … or `reserved-0x3`.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self.known_name() {
            Some(n) => n.into(),
            None => format!("reserved-0x{:x}", self.0).into(),
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_decimal_is_exact() {
        assert_eq!(
            Timestamp::new(1_700_000_000, 123_456_789).to_decimal(),
            "1700000000.123456789"
        );
        assert_eq!(Timestamp::new(-2, 500_000_000).to_decimal(), "-1.500000000");
        assert_eq!(Timestamp::new(0, 0).to_decimal(), "0.000000000");
    }

    #[test]
    fn timestamp_display_is_utc_time_of_day() {
        // 2023-11-14T22:13:20.123456Z
        assert_eq!(
            Timestamp::new(1_700_000_000, 123_456_789).to_string(),
            "22:13:20.123456"
        );
    }

    #[test]
    fn seconds_since_does_not_overflow_on_lying_timestamps() {
        let d = Timestamp::new(i64::MAX, 0).seconds_since(Timestamp::new(i64::MIN, 0));
        assert!(d > 1.8e19);
    }

    #[test]
    fn seconds_since_handles_nanosecond_borrow() {
        let a = Timestamp::new(10, 900_000_000);
        let b = Timestamp::new(12, 100_000_000);
        assert!((b.seconds_since(a) - 1.2).abs() < 1e-9);
    }

    #[test]
    fn per_dir_indexes_by_direction() {
        let mut p = PerDir::new(1, 2);
        p[Dir::S2C] += 10;
        assert_eq!((p[Dir::C2S], p[Dir::S2C]), (1, 12));
        let (mine, peer) = p.split_mut(Dir::S2C);
        *mine += 1;
        *peer += 1;
        assert_eq!(p.into_array(), [2, 13]);
    }

    #[test]
    fn packet_span_union() {
        let s = PacketSpan::one(7).union(PacketSpan::one(5));
        assert_eq!((s.first, s.last), (5, 7));
        assert_eq!(PacketSpan::join(None, s), s);
    }
}
