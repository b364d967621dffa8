//! Which frames or messages a user means: one selection shared by
//! `wsscope export` flags and the TUI's filter (`f`), so both always agree.

use crate::event::{ConnId, Dir, FrameEvent, MessageEvent};
use regex::Regex;

/// Frames or messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unit {
    /// Complete data messages, inflated (the default).
    #[default]
    Messages,
    /// Every frame, control frames included.
    Frames,
}

/// A filter over WebSocket frames and messages. Empty fields match everything.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these connections (`--conn`, repeatable).
    pub conns: Vec<ConnId>,
    /// Only this direction (`--dir`).
    pub dir: Option<Dir>,
    /// Only these opcodes (`--opcode`, repeatable).
    pub opcodes: Vec<u8>,
    /// Only payloads whose text (lossy UTF-8) matches (`--grep`).
    pub grep: Option<Regex>,
    pub unit: Unit,
}

impl Selection {
    /// The one matching rule, for any payload-bearing row (frames,
    /// messages, and the TUI's indexed rows).
    pub fn matches(&self, conn: ConnId, dir: Dir, opcode: u8, payload: &[u8]) -> bool {
        (self.conns.is_empty() || self.conns.contains(&conn))
            && self.dir.is_none_or(|d| d == dir)
            && (self.opcodes.is_empty() || self.opcodes.contains(&opcode))
            && self
                .grep
                .as_ref()
                .is_none_or(|re| re.is_match(&String::from_utf8_lossy(payload)))
    }

    pub fn matches_frame(&self, f: &FrameEvent) -> bool {
        self.matches(f.conn, f.dir, f.opcode, &f.payload)
    }

    pub fn matches_message(&self, m: &MessageEvent) -> bool {
        self.matches(m.conn, m.dir, m.opcode, &m.data)
    }

    /// Whether a connection is selected at all (for pcap export).
    pub fn matches_conn(&self, conn: ConnId) -> bool {
        self.conns.is_empty() || self.conns.contains(&conn)
    }
}

/// Parses an opcode given by name (`text`, `binary`, `close`, `ping`, `pong`,
/// `continuation`) or number (`1`, `0x3`).
pub fn parse_opcode(s: &str) -> Result<u8, String> {
    let v = match s.to_ascii_lowercase().as_str() {
        "continuation" | "cont" => 0,
        "text" => 1,
        "binary" | "bin" => 2,
        "close" => 8,
        "ping" => 9,
        "pong" => 10,
        other => {
            let n = match other.strip_prefix("0x") {
                Some(h) => u8::from_str_radix(h, 16),
                None => other.parse::<u8>(),
            };
            match n {
                Ok(n) if n <= 0xF => n,
                _ => {
                    return Err(format!(
                        "unknown opcode `{s}`: use text, binary, close, ping, pong, continuation or a number 0-15"
                    ));
                }
            }
        }
    };
    Ok(v)
}

/// Parses `c2s` / `s2c` (also `client` / `server` for the sender).
pub fn parse_dir(s: &str) -> Result<Dir, String> {
    match s.to_ascii_lowercase().as_str() {
        "c2s" | "client" | ">" => Ok(Dir::C2S),
        "s2c" | "server" | "<" => Ok(Dir::S2C),
        _ => Err(format!("unknown direction `{s}`: use c2s or s2c")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_by_name_and_number() {
        assert_eq!(parse_opcode("TEXT"), Ok(1));
        assert_eq!(parse_opcode("pong"), Ok(10));
        assert_eq!(parse_opcode("0xb"), Ok(11));
        assert_eq!(parse_opcode("3"), Ok(3));
        assert!(parse_opcode("16").is_err());
        assert!(parse_opcode("hello").unwrap_err().contains("unknown opcode"));
        assert_eq!(parse_dir("s2c"), Ok(Dir::S2C));
        assert!(parse_dir("up").is_err());
    }
}
