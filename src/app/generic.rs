//! Payloads of no particular protocol, taken only when the bytes parse
//! completely, as a whole, into a container:
//! - text: a JSON object or array (a bare string or number is too easily
//!   text that merely looks like JSON);
//! - binary: a MessagePack or CBOR map or array with every byte used, or a
//!   protobuf message (no schema: field numbers and wire types) whose every
//!   field is well-formed and plausible.

use super::json::{redact, short};
use super::{AppDecoder, AppMessage};
use crate::model::Dir;
use serde_json::{Map, Value, json};

#[derive(Debug)]
pub struct Generic;

impl AppDecoder for Generic {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        let m = take(data, text).ok_or(if text {
            "not a whole JSON object or array"
        } else {
            "no generic format (MessagePack, CBOR, protobuf) reads all of this binary message"
        })?;
        out.push(m);
        Ok(())
    }
}

/// The generic view of a message, if it has one (no reason is built when
/// not: every message is tried, and most are not one).
pub fn take(data: &[u8], text: bool) -> Option<AppMessage> {
    let (protocol, mut v) = if text {
        // Nothing is built: the tree is the message itself (or, holding a
        // secret, its value redacted).
        let top = super::json::top_of(data).ok()?;
        let kind = if top.is_object() { "object" } else { "array" };
        let mut m = AppMessage {
            protocol: "json",
            kind: kind.into(),
            ..AppMessage::default()
        };
        super::json_tree(data, (0, data.len()), top.secret_key, &mut m);
        m.summary = match &m.raw_tree {
            Some(_) => format!("json {}", super::json::cut(&fold(data), 60)),
            None => format!("json {}", short(&m.tree, 60)),
        };
        return Some(m);
    } else if let Some(v) = msgpack_to_json(data)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
    {
        ("msgpack", v)
    } else if let Some(v) = cbor_to_json(data).ok().filter(|v| v.is_object() || v.is_array()) {
        ("cbor", v)
    } else if let Some(v) = protobuf(data, 0) {
        ("protobuf", v)
    } else {
        return None;
    };
    let kind = if protocol == "protobuf" {
        "message"
    } else if v.is_object() {
        "object"
    } else {
        "array"
    };
    redact(&mut v);
    Some(AppMessage {
        protocol,
        kind: kind.into(),
        summary: format!("{protocol} {}", short(&v, 60)),
        tree: v,
        ..AppMessage::default()
    })
}

/// JSON text on one line: whitespace outside strings dropped (the first
/// 200 bytes are plenty for a 60-character summary).
fn fold(data: &[u8]) -> String {
    let head = data.get(..200).unwrap_or(data);
    let mut out = String::with_capacity(head.len());
    let mut in_str = false;
    let mut esc = false;
    for c in String::from_utf8_lossy(head).chars() {
        if in_str {
            out.push(c);
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            if c == '"' {
                in_str = true;
            }
            out.push(c);
        }
    }
    out
}

/// A MessagePack value, every byte used, as JSON (see [`msgpack_json`]).
pub fn msgpack_to_json(data: &[u8]) -> Result<Value, String> {
    let mut cur = std::io::Cursor::new(data);
    let v = rmpv::decode::read_value(&mut cur).map_err(|e| format!("not MessagePack: {e}"))?;
    if cur.position() as usize != data.len() {
        return Err(format!(
            "MessagePack value ends at byte {} of {}",
            cur.position(),
            data.len()
        ));
    }
    Ok(msgpack_json(v))
}

/// Bytes shown (as hex) of a binary value in a tree: its length says the rest.
const HEX_BYTES: usize = 64;

/// Binary bytes in a tree: their length and the first [`HEX_BYTES`] in hex.
fn bytes_json(b: &[u8]) -> Value {
    json!({ "bytes": b.len(), "hex": hex::encode(b.get(..HEX_BYTES).unwrap_or(b)) })
}

/// A MessagePack value as JSON, for every decoder that reads MessagePack
/// (generic payloads, WAMP, SignalR): binaries, extensions and non-UTF-8
/// strings as [`bytes_json`], map keys as strings (other keys as their JSON
/// text).
pub fn msgpack_json(v: rmpv::Value) -> Value {
    use rmpv::Value as M;
    match v {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        M::Integer(i) => i
            .as_i64()
            .map(Value::from)
            .or_else(|| i.as_u64().map(Value::from))
            .unwrap_or(Value::Null),
        M::F32(f) => json!(f64::from(f)),
        M::F64(f) => json!(f),
        M::String(s) if s.is_str() => Value::String(s.into_str().unwrap_or_default()),
        M::String(s) => bytes_json(s.as_bytes()),
        M::Binary(b) => bytes_json(&b),
        M::Array(a) => Value::Array(a.into_iter().map(msgpack_json).collect()),
        M::Map(m) => Value::Object(
            m.into_iter()
                .map(|(k, val)| {
                    let key = match k {
                        M::String(s) if s.as_str().is_some() => s.into_str().unwrap_or_default(),
                        other => msgpack_json(other).to_string(),
                    };
                    (key, msgpack_json(val))
                })
                .collect(),
        ),
        M::Ext(t, b) => {
            let mut v = bytes_json(&b);
            v["ext"] = json!(t);
            v
        }
    }
}

/// A CBOR value, every byte used, as JSON (as [`msgpack_to_json`]).
pub fn cbor_to_json(data: &[u8]) -> Result<Value, String> {
    let mut cur = std::io::Cursor::new(data);
    let v: ciborium::Value = ciborium::de::from_reader(&mut cur).map_err(|e| format!("not CBOR: {e}"))?;
    if cur.position() as usize != data.len() {
        return Err(format!(
            "CBOR value ends at byte {} of {}",
            cur.position(),
            data.len()
        ));
    }
    Ok(cb(&v))
}

fn cb(v: &ciborium::Value) -> Value {
    use ciborium::Value as C;
    match v {
        C::Null => Value::Null,
        C::Bool(b) => Value::Bool(*b),
        C::Integer(i) => {
            let n = i128::from(*i);
            i64::try_from(n)
                .map(Value::from)
                .or_else(|_| u64::try_from(n).map(Value::from))
                .unwrap_or(Value::Null)
        }
        C::Float(f) => json!(f),
        C::Text(s) => Value::String(s.clone()),
        C::Bytes(b) => bytes_json(b),
        C::Array(a) => Value::Array(a.iter().map(cb).collect()),
        C::Map(m) => {
            let mut o = Map::new();
            for (k, val) in m {
                let key = match k {
                    C::Text(s) => s.clone(),
                    other => cb(other).to_string(),
                };
                o.insert(key, cb(val));
            }
            Value::Object(o)
        }
        C::Tag(t, inner) => json!({ "tag": t, "value": cb(inner) }),
        _ => Value::Null,
    }
}

/// Field numbers a schema-less walk accepts: real schemas number their
/// fields from 1, rarely past a few thousand; random bytes spread over all
/// 2^29.
const MAX_FIELD: u64 = 1 << 13;

/// Nested messages looked into.
const MAX_DEPTH: usize = 8;

fn pb_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A protobuf message without its schema: `{"<field>": value or [values]}`
/// with varints as numbers, fixed 32/64-bit as `{"fixed32": n}`, and
/// length-delimited fields as a nested message when they read as one,
/// else text when UTF-8, else hex. `None` unless every byte belongs to a
/// well-formed field.
fn protobuf(data: &[u8], depth: usize) -> Option<Value> {
    if data.is_empty() || depth > MAX_DEPTH {
        return None;
    }
    let mut fields: Map<String, Value> = Map::new();
    let mut at = 0;
    while at < data.len() {
        let key = pb_varint(data, &mut at)?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 || field > MAX_FIELD {
            return None;
        }
        let v = match wire {
            0 => Value::from(pb_varint(data, &mut at)?),
            1 => {
                let b = data.get(at..at + 8)?;
                at += 8;
                let n = u64::from_le_bytes(b.try_into().ok()?);
                // Without a schema a fixed64 may be a double (most are).
                match f64::from_bits(n) {
                    d if d.is_finite() => json!({ "fixed64": n, "double": d }),
                    _ => json!({ "fixed64": n }),
                }
            }
            5 => {
                let b = data.get(at..at + 4)?;
                at += 4;
                let n = u32::from_le_bytes(b.try_into().ok()?);
                match f32::from_bits(n) {
                    f if f.is_finite() => json!({ "fixed32": n, "float": f64::from(f) }),
                    _ => json!({ "fixed32": n }),
                }
            }
            2 => {
                let len = usize::try_from(pb_varint(data, &mut at)?).ok()?;
                let b = data.get(at..at.checked_add(len)?)?;
                at += len;
                match protobuf(b, depth + 1) {
                    Some(nested) => nested,
                    None => match std::str::from_utf8(b) {
                        Ok(s) => Value::String(s.to_string()),
                        Err(_) => json!({ "hex": hex::encode(b) }),
                    },
                }
            }
            _ => return None,
        };
        let k = field.to_string();
        match fields.get_mut(&k) {
            Some(Value::Array(list)) => list.push(v),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, v]);
            }
            None => {
                fields.insert(k, v);
            }
        }
    }
    Some(Value::Object(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(data: &[u8], text: bool) -> Result<AppMessage, String> {
        let mut out = Vec::new();
        Generic
            .decode(Dir::C2S, data, text, &mut out)
            .map(|_| out.remove(0))
    }

    #[test]
    fn json_objects_and_arrays_only() {
        assert_eq!(
            one(br#" {"a":[1,2]} "#, true).unwrap().summary,
            r#"json {"a":[1,2]}"#
        );
        for no in [&b"42"[..], b"\"s\"", b"{broken", b"hello", b"[1,2] x"] {
            assert!(one(no, true).is_err(), "{no:?}");
        }
    }

    #[test]
    fn binary_formats_read_whole() {
        // msgpack spec example: {"compact":true,"schema":0}
        let m = one(b"\x82\xa7compact\xc3\xa6schema\x00", false).unwrap();
        assert_eq!(m.protocol, "msgpack");
        assert_eq!(m.tree, json!({"compact": true, "schema": 0}));
        // RFC 8949 Appendix A: {"a": 1, "b": [2, 3]}
        let c = one(b"\xa2\x61\x61\x01\x61\x62\x82\x02\x03", false).unwrap();
        assert_eq!(c.protocol, "cbor");
        assert_eq!(c.tree, json!({"a": 1, "b": [2, 3]}));
        // protobuf encoding guide: field 1 = 150, then field 2 = "testing".
        let p = one(b"\x08\x96\x01\x12\x07testing", false).unwrap();
        assert_eq!(p.protocol, "protobuf");
        assert_eq!(p.tree, json!({"1": 150, "2": "testing"}));
        // A trailing byte, a lone scalar, a cut field: nothing.
        assert!(one(b"\x82\xa7compact\xc3\xa6schema\x00\x00", false).is_err());
        assert!(one(b"\x08\x96", false).is_err());
        assert!(one(b"\xff\xff\xff", false).is_err());
    }
}
