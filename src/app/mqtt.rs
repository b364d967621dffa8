//! MQTT 3.1, 3.1.1 and 5 over WebSocket (binary messages, subprotocol
//! `mqtt`). MQTT packets may span WebSocket messages or share one (the
//! standard allows any split): each direction's bytes are one stream, and
//! a packet is decoded on the message that completes it.

use super::json::cut;
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::{Map, Value, json};

/// Bytes of an unfinished packet kept per direction; a longer packet is
/// reported and its bytes dropped (MQTT allows 256 MB; no broker ships that).
const MAX_PENDING: usize = 16 << 20;

const TYPES: [&str; 16] = [
    "reserved",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

#[derive(Debug, Default)]
pub struct Mqtt {
    /// Bytes of a packet not yet complete, per direction.
    pending: [Vec<u8>; 2],
    /// The protocol level the CONNECT named (4: 3.1.1, 5: 5.0).
    level: u8,
}

/// Whether `data` opens with an MQTT CONNECT (for detection by shape).
pub fn is_connect(data: &[u8]) -> bool {
    let Some((&0x10, rest)) = data.split_first() else {
        return false;
    };
    let Some((len, n)) = varint(rest) else {
        return false;
    };
    let body = rest.get(n..).unwrap_or_default();
    len as usize == body.len() && (body.starts_with(b"\x00\x04MQTT") || body.starts_with(b"\x00\x06MQIsdp"))
}

/// A variable byte integer: its value and its length.
fn varint(b: &[u8]) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    for (i, byte) in b.iter().take(4).enumerate() {
        v |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    if b.len() >= 4 { None } else { Some((u32::MAX, 0)) }
}

/// Reads the fields of one packet body.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.b.len() < n {
            return Err(format!("mqtt: field of {n} bytes runs past the packet"));
        }
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?.first().copied().unwrap_or_default())
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    }

    fn bin(&mut self) -> Result<&'a [u8], String> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    fn string(&mut self) -> Result<String, String> {
        let b = self.bin()?;
        String::from_utf8(b.to_vec()).map_err(|_| "mqtt: a string is not UTF-8".to_string())
    }

    /// MQTT 5 properties: skipped, their length checked.
    fn properties(&mut self, v5: bool) -> Result<Option<usize>, String> {
        if !v5 {
            return Ok(None);
        }
        let (len, n) = varint(self.b)
            .filter(|(_, n)| *n > 0)
            .ok_or("mqtt: bad properties length")?;
        self.take(n)?;
        self.take(len as usize)?;
        Ok(Some(len as usize))
    }
}

/// A payload for a summary and a tree: text when it is UTF-8, else hex.
fn payload_value(p: &[u8]) -> Value {
    match std::str::from_utf8(p) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => json!({ "hex": hex::encode(p) }),
    }
}

impl Mqtt {
    /// One whole packet: its first byte and its body.
    fn packet(&mut self, dir: Dir, first: u8, body: &[u8]) -> Result<AppMessage, String> {
        let t = first >> 4;
        let kind = TYPES.get(usize::from(t)).copied().unwrap_or("reserved");
        if t == 0 || (t == 15 && self.level != 5) {
            return Err(format!("mqtt: reserved packet type {t}"));
        }
        let v5 = self.level == 5;
        let mut r = Reader { b: body };
        let mut tree = Map::new();
        tree.insert("type".into(), json!(kind));
        let mut m = AppMessage {
            protocol: "mqtt",
            kind: kind.into(),
            ..AppMessage::default()
        };
        let mut summary = format!("mqtt {kind}");
        let pid = |m: &mut AppMessage, tree: &mut Map<String, Value>, id: u16| {
            m.id = Some(id.to_string());
            tree.insert("packet_id".into(), json!(id));
        };
        match kind {
            "CONNECT" => {
                let name = r.string()?;
                let level = r.u8()?;
                if !matches!((name.as_str(), level), ("MQTT", 4 | 5) | ("MQIsdp", 3)) {
                    return Err(format!("mqtt: CONNECT for {name:?} level {level}"));
                }
                self.level = level;
                let flags = r.u8()?;
                let keepalive = r.u16()?;
                r.properties(level == 5)?;
                let client = r.string()?;
                if flags & 0x04 != 0 {
                    r.properties(level == 5)?;
                    tree.insert("will_topic".into(), json!(r.string()?));
                    tree.insert("will_payload".into(), payload_value(r.bin()?));
                }
                if flags & 0x80 != 0 {
                    tree.insert("username".into(), json!(r.string()?));
                }
                if flags & 0x40 != 0 {
                    let p = r.bin()?;
                    tree.insert("password".into(), json!(format!("<redacted, {} bytes>", p.len())));
                }
                let version = match level {
                    3 => "3.1",
                    4 => "3.1.1",
                    _ => "5",
                };
                tree.insert("protocol".into(), json!(name));
                tree.insert("version".into(), json!(version));
                tree.insert("clean_start".into(), json!(flags & 0x02 != 0));
                tree.insert("keepalive".into(), json!(keepalive));
                tree.insert("client_id".into(), json!(client));
                summary = format!("mqtt CONNECT client {client:?} v{version} keepalive {keepalive}");
                m.corr = Corr::Request("connect".into());
            }
            "CONNACK" => {
                let flags = r.u8()?;
                let code = r.u8()?;
                r.properties(v5)?;
                tree.insert("session_present".into(), json!(flags & 1 != 0));
                tree.insert("return_code".into(), json!(code));
                summary = format!("mqtt CONNACK code {code}");
                m.corr = Corr::Response {
                    id: "connect".into(),
                    last: true,
                };
            }
            "PUBLISH" => {
                let qos = (first >> 1) & 3;
                if qos == 3 {
                    return Err("mqtt: PUBLISH with QoS 3".into());
                }
                let topic = r.string()?;
                summary = format!("mqtt PUBLISH {topic} qos {qos}");
                tree.insert("topic".into(), json!(topic));
                tree.insert("qos".into(), json!(qos));
                tree.insert("retain".into(), json!(first & 1 != 0));
                tree.insert("dup".into(), json!(first & 8 != 0));
                if qos > 0 {
                    let id = r.u16()?;
                    pid(&mut m, &mut tree, id);
                    summary.push_str(&format!(" id {id}"));
                    m.corr = Corr::Request(format!("pub {id}"));
                }
                if first & 1 != 0 {
                    summary.push_str(" retain");
                }
                r.properties(v5)?;
                let payload = payload_value(r.b);
                summary.push(' ');
                summary.push_str(&super::json::short(&payload, 40));
                tree.insert("payload".into(), payload);
                r.b = &[];
                m.topic = Some(topic);
            }
            "PUBACK" | "PUBREC" | "PUBREL" | "PUBCOMP" => {
                let id = r.u16()?;
                pid(&mut m, &mut tree, id);
                if v5 && !r.b.is_empty() {
                    tree.insert("reason_code".into(), json!(r.u8()?));
                    if !r.b.is_empty() {
                        r.properties(true)?;
                    }
                }
                summary = format!("mqtt {kind} id {id}");
                // QoS 1: PUBACK ends it. QoS 2: PUBREC answers, PUBREL
                // (from the publisher) releases, PUBCOMP ends it.
                m.corr = match kind {
                    "PUBACK" | "PUBCOMP" => Corr::Response {
                        id: format!("pub {id}"),
                        last: true,
                    },
                    "PUBREC" => Corr::Response {
                        id: format!("pub {id}"),
                        last: false,
                    },
                    _ => Corr::None,
                };
            }
            "SUBSCRIBE" | "UNSUBSCRIBE" => {
                let id = r.u16()?;
                pid(&mut m, &mut tree, id);
                r.properties(v5)?;
                let mut filters = Vec::new();
                while !r.b.is_empty() {
                    let f = r.string()?;
                    if kind == "SUBSCRIBE" {
                        let opts = r.u8()?;
                        filters.push(json!({ "filter": f, "qos": opts & 3 }));
                    } else {
                        filters.push(json!({ "filter": f }));
                    }
                }
                if filters.is_empty() {
                    return Err(format!("mqtt: {kind} without a topic filter"));
                }
                let names: Vec<&str> = filters.iter().filter_map(|f| f["filter"].as_str()).collect();
                summary = format!("mqtt {kind} id {id} {}", cut(&names.join(" "), 60));
                m.topic = names.first().map(|s| s.to_string());
                tree.insert("filters".into(), Value::Array(filters));
                m.corr = Corr::Request(format!("sub {id}"));
            }
            "SUBACK" | "UNSUBACK" => {
                let id = r.u16()?;
                pid(&mut m, &mut tree, id);
                r.properties(v5)?;
                let codes: Vec<u8> = r.b.to_vec();
                r.b = &[];
                summary = format!("mqtt {kind} id {id}");
                if !codes.is_empty() {
                    summary.push_str(&format!(" codes {codes:?}"));
                }
                tree.insert("codes".into(), json!(codes));
                m.corr = Corr::Response {
                    id: format!("sub {id}"),
                    last: true,
                };
            }
            "PINGREQ" => m.corr = Corr::Request("ping".into()),
            "PINGRESP" => {
                m.corr = Corr::Response {
                    id: "ping".into(),
                    last: true,
                }
            }
            _ => {
                // DISCONNECT and AUTH: a v5 reason code and properties.
                if v5 && !r.b.is_empty() {
                    tree.insert("reason_code".into(), json!(r.u8()?));
                    if !r.b.is_empty() {
                        r.properties(true)?;
                    }
                }
            }
        }
        if !r.b.is_empty() {
            return Err(format!("mqtt: {} bytes left over in a {kind}", r.b.len()));
        }
        let _ = dir;
        m.summary = summary;
        m.tree = Value::Object(tree);
        Ok(m)
    }
}

impl AppDecoder for Mqtt {
    fn decode(&mut self, dir: Dir, data: &[u8], text: bool, out: &mut Vec<AppMessage>) -> Result<(), String> {
        if text {
            return Err("mqtt: a text message (MQTT travels in binary messages)".into());
        }
        let buf = &mut self.pending[dir.index()];
        buf.extend_from_slice(data);
        let bytes = std::mem::take(buf);
        let mut at = 0;
        let mut found = Vec::new();
        let result = loop {
            let rest = bytes.get(at..).unwrap_or_default();
            let Some((&first, after)) = rest.split_first() else {
                break Ok(());
            };
            let Some((len, n)) = varint(after) else {
                break Err("mqtt: remaining length longer than 4 bytes".to_string());
            };
            if n == 0 {
                // The length itself is not all here yet.
                break Ok(());
            }
            let total = 1 + n + len as usize;
            if rest.len() < total {
                if total > MAX_PENDING {
                    break Err(format!("mqtt: a packet of {total} bytes (more than kept)"));
                }
                break Ok(());
            }
            match self.packet(dir, first, rest.get(1 + n..total).unwrap_or_default()) {
                Ok(m) => found.push(m),
                Err(e) => break Err(e),
            }
            at += total;
        };
        out.extend(found);
        match result {
            Ok(()) => {
                // Keep the start of the packet still coming.
                self.pending[dir.index()] = bytes.get(at..).unwrap_or_default().to_vec();
                Ok(())
            }
            // The stream cannot be followed past a broken packet.
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(d: &mut Mqtt, dir: Dir, b: &[u8]) -> Result<Vec<AppMessage>, String> {
        let mut out = Vec::new();
        d.decode(dir, b, false, &mut out).map(|_| out)
    }

    const CONNECT: &[u8] = b"\x10\x12\x00\x04MQTT\x04\x02\x00\x3c\x00\x06client";

    #[test]
    fn a_session_in_packets() {
        assert!(is_connect(CONNECT));
        let mut d = Mqtt::default();
        let c = dec(&mut d, Dir::C2S, CONNECT).unwrap();
        assert_eq!(c[0].summary, "mqtt CONNECT client \"client\" v3.1.1 keepalive 60");
        let a = dec(&mut d, Dir::S2C, b"\x20\x02\x00\x00").unwrap();
        assert_eq!(
            a[0].corr,
            Corr::Response {
                id: "connect".into(),
                last: true
            }
        );
        let p = dec(&mut d, Dir::C2S, b"\x32\x0a\x00\x03a/b\x00\x05hi!").unwrap();
        assert_eq!(p[0].summary, "mqtt PUBLISH a/b qos 1 id 5 \"hi!\"");
        assert_eq!(p[0].corr, Corr::Request("pub 5".into()));
        let s = dec(&mut d, Dir::C2S, b"\x82\x08\x00\x01\x00\x03a/#\x01").unwrap();
        assert_eq!(s[0].summary, "mqtt SUBSCRIBE id 1 a/#");
        let s = dec(&mut d, Dir::S2C, b"\x90\x03\x00\x01\x01").unwrap();
        assert_eq!(s[0].summary, "mqtt SUBACK id 1 codes [1]");
    }

    #[test]
    fn packets_split_across_and_shared_by_messages() {
        let mut d = Mqtt::default();
        // Half a CONNECT: nothing yet.
        assert!(dec(&mut d, Dir::C2S, &CONNECT[..7]).unwrap().is_empty());
        // Its rest and a PINGREQ in one message.
        let mut rest = CONNECT[7..].to_vec();
        rest.extend_from_slice(b"\xc0\x00");
        let m = dec(&mut d, Dir::C2S, &rest).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].kind, "PINGREQ");
    }

    #[test]
    fn broken_packets_say_why() {
        let mut d = Mqtt::default();
        assert!(dec(&mut d, Dir::C2S, b"\x00\x00").is_err());
        assert!(dec(&mut d, Dir::C2S, b"\x10\x03\x00\x04M").is_err());
        assert!(dec(&mut d, Dir::C2S, b"\x36\x05\x00\x01a\x00\x01").is_err());
        assert!(dec(&mut d, Dir::C2S, b"\xc0\xff\xff\xff\xff\x01").is_err());
        assert!(d.decode(Dir::C2S, b"x", true, &mut Vec::new()).is_err());
    }
}
