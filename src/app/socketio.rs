//! Engine.IO (v3, v4) and Socket.IO (protocols 4 and 5: socket.io 2.x to
//! 4.x) over the WebSocket transport.
//!
//! Each WebSocket message is one Engine.IO packet: a type digit (`0` open,
//! `1` close, `2` ping, `3` pong, `4` message, `5` upgrade, `6` noop) and
//! its data. A message packet carries a Socket.IO packet: a type digit, for
//! binary packets the attachment count and `-`, the namespace and `,` when
//! not `/`, the ack id, and JSON. Binary attachments follow as binary
//! WebSocket messages (Engine.IO 3 prefixes them with a `4` byte).

use super::json::{redact, short};
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::{Value, json};

const SIO_TYPES: [&str; 7] = [
    "CONNECT",
    "DISCONNECT",
    "EVENT",
    "ACK",
    "CONNECT_ERROR",
    "BINARY_EVENT",
    "BINARY_ACK",
];

const EIO_TYPES: [&str; 7] = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];

/// Which Engine.IO revision a connection speaks, as far as its messages
/// have told. The decoder does not see the upgrade URL's `EIO=`, and the
/// revisions frame a binary message differently: Engine.IO 3 puts the
/// packet type (a `4` byte) before the bytes, 4 sends the bytes alone, so
/// a leading 4 byte is the type in one and data in the other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Eio {
    #[default]
    Unknown,
    V3,
    V4,
}

#[derive(Debug, Default)]
pub struct SocketIo {
    /// Binary attachments still to come per direction: (of which packet, left, total).
    attachments: [Option<(String, u32, u32)>; 2],
    eio: Eio,
}

impl SocketIo {
    fn engine(&mut self, dir: Dir, s: &str) -> Result<AppMessage, String> {
        let mut chars = s.chars();
        let t = chars.next().ok_or("engine.io: an empty packet")?;
        let rest = chars.as_str();
        let kind = t
            .to_digit(10)
            .and_then(|d| EIO_TYPES.get(d as usize))
            .ok_or_else(|| format!("engine.io: unknown packet type {t:?}"))?;
        if *kind == "message" {
            return self.socket(dir, rest);
        }
        let mut m = AppMessage {
            protocol: "engine.io",
            kind: (*kind).into(),
            ..AppMessage::default()
        };
        self.learn_from_heartbeat(dir, kind, rest);
        let mut tree = json!({ "type": kind });
        match *kind {
            "open" => {
                let v: Value = serde_json::from_str(rest)
                    .map_err(|e| format!("engine.io: open packet is not JSON: {e}"))?;
                let sid = v
                    .get("sid")
                    .and_then(Value::as_str)
                    .ok_or("engine.io: open packet without sid")?;
                // `maxPayload` came with revision 4's handshake.
                if v.get("maxPayload").is_some() {
                    self.eio = Eio::V4;
                }
                m.summary = format!("engine.io open sid {sid:?}");
                tree["data"] = v;
            }
            // Probes ("2probe") and plain pings carry text or nothing.
            _ => {
                m.summary = if rest.is_empty() {
                    format!("engine.io {kind}")
                } else {
                    format!("engine.io {kind} {rest:?}")
                };
                if !rest.is_empty() {
                    tree["data"] = Value::String(rest.into());
                }
            }
        }
        m.tree = tree;
        Ok(m)
    }

    /// Engine.IO 3 clients send the heartbeat (`2`) and servers answer (`3`);
    /// 4 turned it round. Probes (`2probe`, `3probe`) go from the client in
    /// both, so they say nothing.
    fn learn_from_heartbeat(&mut self, dir: Dir, kind: &str, data: &str) {
        if data == "probe" {
            return;
        }
        self.eio = match (kind, dir) {
            ("ping", Dir::C2S) | ("pong", Dir::S2C) => Eio::V3,
            ("ping", Dir::S2C) | ("pong", Dir::C2S) => Eio::V4,
            _ => return,
        };
    }

    fn socket(&mut self, dir: Dir, s: &str) -> Result<AppMessage, String> {
        let b = s.as_bytes();
        let t = b.first().ok_or("socket.io: an empty packet")?;
        let kind = char::from(*t)
            .to_digit(10)
            .and_then(|d| SIO_TYPES.get(d as usize))
            .ok_or_else(|| format!("socket.io: unknown packet type {:?}", char::from(*t)))?;
        let mut i = 1;
        let mut attachments = None;
        if *kind == "BINARY_EVENT" || *kind == "BINARY_ACK" {
            let n = b
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if n == 0 || b.get(i + n) != Some(&b'-') {
                return Err("socket.io: binary packet without its attachment count".into());
            }
            attachments = s.get(i..i + n).and_then(|d| d.parse::<u32>().ok());
            i += n + 1;
        }
        let mut ns = "/";
        if b.get(i) == Some(&b'/') {
            let end = s.get(i..).and_then(|r| r.find(',')).map_or(s.len(), |e| i + e);
            ns = s.get(i..end).unwrap_or("/");
            i = (end + 1).min(s.len());
        }
        let digits = b
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let ack: Option<u64> = if digits > 0 {
            s.get(i..i + digits).and_then(|d| d.parse().ok())
        } else {
            None
        };
        i += digits;
        let body = s.get(i..).unwrap_or_default();
        let data: Option<Value> = if body.is_empty() {
            None
        } else {
            Some(serde_json::from_str(body).map_err(|e| format!("socket.io: {kind} data is not JSON: {e}"))?)
        };
        let mut m = AppMessage {
            protocol: "socket.io",
            kind: (*kind).into(),
            ..AppMessage::default()
        };
        let ns_txt = if ns == "/" {
            String::new()
        } else {
            format!(" ns {ns}")
        };
        let key = |id: u64| format!("{ns}#{id}");
        match *kind {
            "EVENT" | "BINARY_EVENT" => {
                let arr = data
                    .as_ref()
                    .and_then(Value::as_array)
                    .ok_or("socket.io: event data is not an array")?;
                let name = arr
                    .first()
                    .and_then(Value::as_str)
                    .ok_or("socket.io: event without a name")?;
                m.event = Some(name.to_string());
                let args: Vec<String> = arr.iter().skip(1).map(|a| short(a, 30)).collect();
                m.summary = format!("socket.io {kind} {name:?}");
                if let Some(a) = ack {
                    m.summary.push_str(&format!(" ack {a}"));
                    m.corr = Corr::Request(key(a));
                    m.id = Some(a.to_string());
                }
                m.summary.push_str(&ns_txt);
                if !args.is_empty() {
                    m.summary.push(' ');
                    m.summary.push_str(&args.join(", "));
                }
            }
            "ACK" | "BINARY_ACK" => {
                let a = ack.ok_or("socket.io: ACK without an id")?;
                m.id = Some(a.to_string());
                m.corr = Corr::Response {
                    id: key(a),
                    last: true,
                };
                m.summary = format!("socket.io {kind} {a}{ns_txt}");
                if let Some(d) = &data {
                    m.summary.push(' ');
                    m.summary.push_str(&short(d, 40));
                }
            }
            _ => {
                // Only Socket.IO 5 (over Engine.IO 4) answers a CONNECT
                // with the socket's sid; 4 answers with no data.
                if *kind == "CONNECT" && dir == Dir::S2C && data.as_ref().and_then(|d| d.get("sid")).is_some()
                {
                    self.eio = Eio::V4;
                }
                m.summary = format!("socket.io {kind}{ns_txt}");
                if let Some(msg) = data
                    .as_ref()
                    .and_then(|d| d.get("message"))
                    .and_then(Value::as_str)
                {
                    m.summary.push_str(&format!(" {msg:?}"));
                }
            }
        }
        if let Some(n) = attachments {
            m.summary.push_str(&format!(
                " ({n} binary attachment{})",
                if n == 1 { "" } else { "s" }
            ));
            if n > 0 {
                self.attachments[dir.index()] = Some((m.summary.clone(), n, n));
            }
        }
        let mut tree = json!({ "type": kind, "namespace": ns });
        if let Some(a) = ack {
            tree["ack"] = json!(a);
        }
        if let Some(n) = attachments {
            tree["attachments"] = json!(n);
        }
        if let Some(mut d) = data {
            redact(&mut d);
            tree["data"] = d;
        }
        m.tree = tree;
        Ok(m)
    }

    /// A binary message: the next attachment of a binary packet.
    fn attachment(&mut self, dir: Dir, data: &[u8]) -> Result<AppMessage, String> {
        let slot = &mut self.attachments[dir.index()];
        let Some((of, left, total)) = slot.as_mut() else {
            return Err("socket.io: a binary message that no binary packet announced".into());
        };
        let n = *total - *left + 1;
        let mut m = AppMessage {
            protocol: "socket.io",
            kind: "attachment".into(),
            summary: format!("socket.io attachment {n}/{total} of {of}, {} bytes", data.len()),
            tree: json!({ "type": "attachment", "index": n - 1, "bytes": data.len() }),
            ..AppMessage::default()
        };
        *left -= 1;
        if *left == 0 {
            *slot = None;
        }
        m.summary = super::json::cut(&m.summary, 200);
        Ok(m)
    }
}

impl AppDecoder for SocketIo {
    fn decode(&mut self, dir: Dir, data: &[u8], text: bool, out: &mut Vec<AppMessage>) -> Result<(), String> {
        let m = if text {
            let s = std::str::from_utf8(data).map_err(|_| "socket.io: text is not UTF-8")?;
            self.engine(dir, s)?
        } else {
            // Engine.IO 3 marks a binary message with a leading 4 (its
            // message type), 4 does not. Before the wire has said which, a
            // leading 4 with more after it is taken for the mark.
            let raw = match (self.eio, data.split_first()) {
                (Eio::V4, _) => data,
                (Eio::V3, Some((4, rest))) => rest,
                (Eio::Unknown, Some((4, rest)))
                    if self.attachments[dir.index()].is_some() && !rest.is_empty() =>
                {
                    rest
                }
                _ => data,
            };
            self.attachment(dir, raw)?
        };
        out.push(m);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(d: &mut SocketIo, dir: Dir, s: &[u8], text: bool) -> Result<AppMessage, String> {
        let mut out = Vec::new();
        d.decode(dir, s, text, &mut out).map(|_| out.remove(0))
    }

    #[test]
    fn the_issue_example_and_its_ack() {
        let mut d = SocketIo::default();
        let m = dec(&mut d, Dir::C2S, br#"42/admin,13["chat",{"text":"hi"}]"#, true).unwrap();
        assert_eq!(
            m.summary,
            r#"socket.io EVENT "chat" ack 13 ns /admin {"text":"hi"}"#
        );
        assert_eq!(m.corr, Corr::Request("/admin#13".into()));
        let a = dec(&mut d, Dir::S2C, br#"43/admin,13["ok"]"#, true).unwrap();
        assert_eq!(a.kind, "ACK");
        assert_eq!(
            a.corr,
            Corr::Response {
                id: "/admin#13".into(),
                last: true
            }
        );
    }

    #[test]
    fn engine_packets_and_binary_attachments() {
        let mut d = SocketIo::default();
        let m = dec(
            &mut d,
            Dir::S2C,
            br#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#,
            true,
        )
        .unwrap();
        assert_eq!(m.summary, "engine.io open sid \"abc\"");
        assert_eq!(
            dec(&mut d, Dir::S2C, b"2", true).unwrap().summary,
            "engine.io ping"
        );
        assert_eq!(
            dec(&mut d, Dir::S2C, b"40", true).unwrap().summary,
            "socket.io CONNECT"
        );
        let m = dec(
            &mut d,
            Dir::C2S,
            br#"451-["upload",{"_placeholder":true,"num":0}]"#,
            true,
        )
        .unwrap();
        assert_eq!(m.kind, "BINARY_EVENT");
        assert!(m.summary.ends_with("(1 binary attachment)"), "{}", m.summary);
        let a = dec(&mut d, Dir::C2S, b"\x01\x02\x03", false).unwrap();
        assert_eq!(a.kind, "attachment");
        assert!(
            a.summary
                .starts_with("socket.io attachment 1/1 of socket.io BINARY_EVENT \"upload\"")
        );
        // Nothing announced another.
        assert!(dec(&mut d, Dir::C2S, b"\x01", false).is_err());
    }

    /// The size an attachment is given after `setup`, for a binary message
    /// of a 4 byte and `rest`.
    fn attachment_bytes(setup: &[(Dir, &[u8])], rest: &[u8]) -> u64 {
        let mut d = SocketIo::default();
        for (dir, s) in setup {
            dec(&mut d, *dir, s, true).unwrap();
        }
        dec(
            &mut d,
            Dir::C2S,
            br#"451-["up",{"_placeholder":true,"num":0}]"#,
            true,
        )
        .unwrap();
        let mut msg = vec![4];
        msg.extend_from_slice(rest);
        let a = dec(&mut d, Dir::C2S, &msg, false).unwrap();
        a.tree["bytes"].as_u64().unwrap()
    }

    #[test]
    fn the_engine_io_revision_decides_what_a_leading_4_byte_is() {
        // Engine.IO 3 (python-engineio 3.14 as recorded): the client pings,
        // so a lone 4 byte is the mark of an empty attachment.
        assert_eq!(attachment_bytes(&[(Dir::C2S, b"2")], b""), 0);
        assert_eq!(attachment_bytes(&[(Dir::S2C, b"3")], b"\x04\x05"), 2);
        // Probes do not tell.
        assert_eq!(attachment_bytes(&[(Dir::C2S, b"2probe")], b""), 1);
        // Engine.IO 4: the server pings, the handshake has maxPayload, or
        // Socket.IO 5's CONNECT reply has a sid; the 4 is data.
        assert_eq!(attachment_bytes(&[(Dir::S2C, b"2")], b"\x05"), 2);
        assert_eq!(
            attachment_bytes(
                &[(
                    Dir::S2C,
                    br#"0{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":1,"maxPayload":9}"#
                )],
                b"\x05"
            ),
            2
        );
        assert_eq!(attachment_bytes(&[(Dir::S2C, br#"40{"sid":"x"}"#)], b""), 1);
        // Not known: a 4 before more bytes is taken for the mark.
        assert_eq!(attachment_bytes(&[], b"\x05"), 1);
        assert_eq!(attachment_bytes(&[], b""), 1);
    }

    #[test]
    fn broken_packets_say_why() {
        let mut d = SocketIo::default();
        assert!(dec(&mut d, Dir::C2S, b"9", true).is_err());
        assert!(dec(&mut d, Dir::C2S, b"42[not json", true).is_err());
        assert!(dec(&mut d, Dir::C2S, b"43", true).is_err());
        assert!(dec(&mut d, Dir::C2S, b"45[]", true).is_err());
    }
}
