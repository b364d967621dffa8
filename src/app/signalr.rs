//! ASP.NET Core SignalR, JSON hub protocol ("SignalR Hub Protocol",
//! aspnetcore `src/SignalR/docs/specs/HubProtocol.md`).
//!
//! Every record is a JSON object terminated by the ASCII record separator
//! 0x1E, and one WebSocket message may carry several records. The client
//! opens with a `HandshakeRequest` (`{"protocol":"json","version":1}`),
//! the server answers with a `HandshakeResponse` (`{}`, or `{"error":…}`);
//! then messages by `type`: 1 Invocation, 2 StreamItem, 3 Completion, 4
//! StreamInvocation, 5 CancelInvocation, 6 Ping, 7 Close, and for stateful
//! reconnect 8 Ack and 9 Sequence. An invocation with an `invocationId`
//! expects StreamItems (streams) and one Completion with the same id, from
//! the other side: pairs for latency.
//!
//! The MessagePack hub protocol sends binary messages of records, each a
//! VarInt length then a MessagePack array `[type, headers, invocationId,
//! target, arguments, streamIds]` (and the like per type): read into the
//! JSON protocol's form, so both share names, summaries and pairing; the
//! tree says `"encoding":"messagepack"`. Its handshake stays JSON (the
//! server's answer in a binary message, maybe before the first records).

use super::json::{redact, short, word};
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::{Map, Value};

/// The record separator ending every JSON record.
const RS: u8 = 0x1e;

#[derive(Debug, Default)]
pub struct SignalR;

/// The spec's names of the message types, by number.
fn type_name(t: u64) -> Option<&'static str> {
    Some(match t {
        1 => "Invocation",
        2 => "StreamItem",
        3 => "Completion",
        4 => "StreamInvocation",
        5 => "CancelInvocation",
        6 => "Ping",
        7 => "Close",
        8 => "Ack",
        9 => "Sequence",
        _ => return None,
    })
}

/// A handshake request exactly: `{"protocol":"json"|"messagepack","version":N}`
/// and its separator, alone in the message.
pub fn is_handshake_request(data: &[u8]) -> bool {
    let Some(body) = data.strip_suffix(&[RS]) else {
        return false;
    };
    if body.contains(&RS) {
        return false;
    }
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    o.len() == 2
        && matches!(
            o.get("protocol").and_then(Value::as_str),
            Some("json" | "messagepack")
        )
        && o.get("version").is_some_and(Value::is_u64)
}

/// Fails when `o` has a key outside `allowed` (the spec makes an
/// unrecognised field a protocol error).
fn only(o: &Map<String, Value>, kind: &str, allowed: &[&str]) -> Result<(), String> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("signalr: {kind} with an unknown field {k:?}")),
        None => Ok(()),
    }
}

fn str_field<'a>(o: &'a Map<String, Value>, kind: &str, key: &str) -> Result<&'a str, String> {
    o.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("signalr: {kind} without a string {key}"))
}

/// Headers, when present, are an object of strings.
fn check_headers(o: &Map<String, Value>, kind: &str) -> Result<(), String> {
    match o.get("headers") {
        None => Ok(()),
        Some(Value::Object(h)) if h.values().all(Value::is_string) => Ok(()),
        Some(_) => Err(format!("signalr: {kind} headers are not an object of strings")),
    }
}

fn record(rec: &[u8]) -> Result<AppMessage, String> {
    let v: Value = serde_json::from_slice(rec).map_err(|e| format!("signalr: a record is not JSON: {e}"))?;
    message(v)
}

/// One hub message in the JSON protocol's form.
fn message(mut v: Value) -> Result<AppMessage, String> {
    // Summaries are made from the redacted values too.
    redact(&mut v);
    let o = v.as_object().ok_or("signalr: a record is not a JSON object")?;
    let mut m = AppMessage {
        protocol: "signalr",
        ..AppMessage::default()
    };
    match o.get("type") {
        // The handshake: the only records without a type.
        None => {
            if o.contains_key("protocol") {
                only(o, "HandshakeRequest", &["protocol", "version"])?;
                let p = str_field(o, "HandshakeRequest", "protocol")?;
                let ver = o
                    .get("version")
                    .and_then(Value::as_u64)
                    .ok_or("signalr: HandshakeRequest without a version number")?;
                m.kind = "HandshakeRequest".into();
                m.summary = format!("signalr HandshakeRequest {} v{ver}", word(p));
                m.corr = Corr::Request("handshake".into());
            } else {
                // `minorVersion` came with older servers.
                only(o, "HandshakeResponse", &["error", "minorVersion"])?;
                m.kind = "HandshakeResponse".into();
                m.summary = match o.get("error") {
                    None => "signalr HandshakeResponse ok".into(),
                    Some(Value::String(e)) => format!(
                        "signalr HandshakeResponse error {}",
                        short(&Value::from(e.as_str()), 80)
                    ),
                    Some(_) => return Err("signalr: HandshakeResponse error is not a string".into()),
                };
                m.corr = Corr::Response {
                    id: "handshake".into(),
                    last: true,
                };
            }
        }
        Some(t) => {
            let t = t.as_u64().ok_or("signalr: the message type is not a number")?;
            let kind = type_name(t).ok_or_else(|| format!("signalr: unknown message type {t}"))?;
            m.kind = kind.into();
            match t {
                1 | 4 => {
                    only(
                        o,
                        kind,
                        &[
                            "type",
                            "headers",
                            "invocationId",
                            "target",
                            "arguments",
                            "streamIds",
                        ],
                    )?;
                    check_headers(o, kind)?;
                    let target = str_field(o, kind, "target")?;
                    let args = o
                        .get("arguments")
                        .and_then(Value::as_array)
                        .ok_or_else(|| format!("signalr: {kind} without an arguments array"))?;
                    if o.get("streamIds")
                        .is_some_and(|s| !s.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
                    {
                        return Err(format!("signalr: {kind} streamIds are not an array of strings"));
                    }
                    m.method = Some(target.to_string());
                    m.summary = format!("signalr {kind} {target:?}");
                    match o.get("invocationId") {
                        Some(Value::String(id)) => {
                            m.summary.push_str(&format!(" id {}", word(id)));
                            m.id = Some(id.clone());
                            m.corr = Corr::Request(id.clone());
                        }
                        None if t == 1 => {}
                        _ => return Err(format!("signalr: {kind} without a string invocationId")),
                    }
                    if !args.is_empty() {
                        let a: Vec<String> = args.iter().map(|a| short(a, 30)).collect();
                        m.summary.push(' ');
                        m.summary.push_str(&super::json::cut(&a.join(", "), 100));
                    }
                    if let Some(s) = o.get("streamIds").and_then(Value::as_array) {
                        let s: Vec<String> = s.iter().filter_map(Value::as_str).map(word).collect();
                        m.summary.push_str(&format!(" streams {}", s.join(",")));
                    }
                }
                2 | 3 | 5 => {
                    let allowed: &[&str] = match t {
                        2 => &["type", "headers", "invocationId", "item"],
                        3 => &["type", "headers", "invocationId", "result", "error"],
                        _ => &["type", "headers", "invocationId"],
                    };
                    only(o, kind, allowed)?;
                    check_headers(o, kind)?;
                    let id = str_field(o, kind, "invocationId")?.to_string();
                    m.summary = format!("signalr {kind} id {}", word(&id));
                    m.id = Some(id.clone());
                    match t {
                        2 => {
                            let item = o.get("item").ok_or("signalr: StreamItem without an item")?;
                            m.summary.push(' ');
                            m.summary.push_str(&short(item, 60));
                            m.corr = Corr::Response { id, last: false };
                        }
                        3 => {
                            match (o.get("result"), o.get("error")) {
                                (Some(_), Some(_)) => {
                                    return Err("signalr: Completion with both a result and an error".into());
                                }
                                (Some(r), None) => m.summary.push_str(&format!(" result {}", short(r, 60))),
                                (None, Some(Value::String(e))) => m
                                    .summary
                                    .push_str(&format!(" error {}", short(&Value::from(e.as_str()), 80))),
                                (None, Some(_)) => {
                                    return Err("signalr: Completion error is not a string".into());
                                }
                                (None, None) => {}
                            }
                            m.corr = Corr::Response { id, last: true };
                        }
                        _ => {}
                    }
                }
                6 => {
                    only(o, kind, &["type"])?;
                    m.summary = "signalr Ping".into();
                }
                7 => {
                    only(o, kind, &["type", "headers", "error", "allowReconnect"])?;
                    check_headers(o, kind)?;
                    m.summary = "signalr Close".into();
                    match o.get("error") {
                        None => {}
                        Some(Value::String(e)) => m
                            .summary
                            .push_str(&format!(" error {}", short(&Value::from(e.as_str()), 80))),
                        Some(_) => return Err("signalr: Close error is not a string".into()),
                    }
                    match o.get("allowReconnect") {
                        None => {}
                        Some(Value::Bool(b)) => m.summary.push_str(&format!(" allowReconnect {b}")),
                        Some(_) => return Err("signalr: Close allowReconnect is not a boolean".into()),
                    }
                }
                _ => {
                    only(o, kind, &["type", "sequenceId"])?;
                    let n = o
                        .get("sequenceId")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| format!("signalr: {kind} without a sequenceId number"))?;
                    m.summary = format!("signalr {kind} sequenceId {n}");
                }
            }
        }
    }
    m.tree = v;
    Ok(m)
}

/// The length prefix of a MessagePack record: a VarInt of at most 5 bytes,
/// 7 bits each, least significant first. The length and the bytes it took.
fn varint(data: &[u8]) -> Result<(usize, usize), String> {
    let mut n: u64 = 0;
    for (i, b) in data.iter().take(5).enumerate() {
        n |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let n = usize::try_from(n).map_err(|_| "signalr: a record length past usize")?;
            return Ok((n, i + 1));
        }
    }
    Err(if data.len() < 5 {
        "signalr: a MessagePack length prefix cut short".into()
    } else {
        "signalr: a MessagePack length prefix longer than 5 bytes".into()
    })
}

/// A MessagePack hub message (`[type, headers, …]`) in the JSON form.
fn from_msgpack(v: rmpv::Value) -> Result<Value, String> {
    let Value::Array(a) = super::generic::msgpack_json(v) else {
        return Err("signalr: a MessagePack message is not an array".into());
    };
    let t = a
        .first()
        .and_then(Value::as_u64)
        .ok_or("signalr: a MessagePack message without a type number")?;
    let kind = type_name(t).ok_or_else(|| format!("signalr: unknown message type {t}"))?;
    let mut o = Map::new();
    o.insert("type".into(), Value::from(t));
    let bad = || format!("signalr: a MessagePack {kind} of {} elements", a.len());
    let headers = |o: &mut Map<String, Value>| -> Result<(), String> {
        match a.get(1) {
            Some(Value::Object(h)) if h.is_empty() => Ok(()),
            Some(Value::Object(h)) => {
                o.insert("headers".into(), Value::Object(h.clone()));
                Ok(())
            }
            _ => Err(format!("signalr: MessagePack {kind} headers are not a map")),
        }
    };
    let field = |o: &mut Map<String, Value>, i: usize, key: &str, nil_absent: bool| match a.get(i) {
        Some(Value::Null) if nil_absent => {}
        Some(v) => {
            o.insert(key.into(), v.clone());
        }
        None => {}
    };
    match (t, a.len()) {
        // StreamIds came later: older peers send 5 elements.
        (1 | 4, 5 | 6) => {
            headers(&mut o)?;
            field(&mut o, 2, "invocationId", true);
            field(&mut o, 3, "target", false);
            field(&mut o, 4, "arguments", false);
            match a.get(5) {
                Some(Value::Array(s)) if s.is_empty() => {}
                _ => field(&mut o, 5, "streamIds", false),
            }
        }
        (2, 4) => {
            headers(&mut o)?;
            field(&mut o, 2, "invocationId", false);
            field(&mut o, 3, "item", false);
        }
        (3, 4 | 5) => {
            headers(&mut o)?;
            field(&mut o, 2, "invocationId", false);
            // The result kind: 1 error, 2 void, 3 a result.
            match (a.get(3).and_then(Value::as_u64), a.len()) {
                (Some(1), 5) => field(&mut o, 4, "error", false),
                (Some(2), 4) => {}
                (Some(3), 5) => field(&mut o, 4, "result", false),
                _ => return Err("signalr: a MessagePack Completion with a bad result kind".into()),
            }
        }
        (5, 3) => {
            headers(&mut o)?;
            field(&mut o, 2, "invocationId", false);
        }
        (6, 1) => {}
        (7, 2 | 3) => {
            field(&mut o, 1, "error", true);
            field(&mut o, 2, "allowReconnect", false);
        }
        (8 | 9, 2) => field(&mut o, 1, "sequenceId", false),
        _ => return Err(bad()),
    }
    Ok(Value::Object(o))
}

/// The MessagePack records of a binary message, each whole.
fn msgpack_records(mut data: &[u8], found: &mut Vec<AppMessage>) -> Result<(), String> {
    if data.is_empty() {
        return Err("signalr: an empty binary message".into());
    }
    while !data.is_empty() {
        let (len, n) = varint(data)?;
        let rec = data
            .get(n..)
            .and_then(|r| r.get(..len))
            .ok_or("signalr: a MessagePack record cut short")?;
        let mut rd = rec;
        let v = rmpv::decode::read_value(&mut rd)
            .map_err(|e| format!("signalr: a record is not MessagePack: {e}"))?;
        if !rd.is_empty() {
            return Err(format!(
                "signalr: {} bytes after the MessagePack value of a record",
                rd.len()
            ));
        }
        let mut m = message(from_msgpack(v)?)?;
        if let Value::Object(o) = &mut m.tree {
            o.insert("encoding".into(), Value::from("messagepack"));
        }
        found.push(m);
        data = data.get(n + len..).unwrap_or_default();
    }
    Ok(())
}

/// JSON records, each ended by the separator.
fn json_records(data: &[u8], found: &mut Vec<AppMessage>) -> Result<(), String> {
    let body = data
        .strip_suffix(&[RS])
        .ok_or("signalr: the message does not end with the record separator 0x1E")?;
    for rec in body.split(|b| *b == RS) {
        found.push(record(rec)?);
    }
    Ok(())
}

impl AppDecoder for SignalR {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        let mut found = Vec::new();
        if text {
            json_records(data, &mut found)?;
        } else {
            // The MessagePack protocol's handshake response is JSON, in a
            // binary message, and MessagePack records may follow it.
            let handshake = match data.iter().position(|b| *b == RS) {
                Some(end) if data.first() == Some(&b'{') => {
                    let (json, rest) = data.split_at(end + 1);
                    let mut hs = Vec::new();
                    json_records(json, &mut hs)
                        .ok()
                        .filter(|_| hs.iter().all(|m| m.kind.starts_with("Handshake")))
                        .map(|_| (hs, rest))
                }
                _ => None,
            };
            match handshake {
                Some((hs, rest)) => {
                    found.extend(hs);
                    if !rest.is_empty() {
                        msgpack_records(rest, &mut found)?;
                    }
                }
                None => msgpack_records(data, &mut found)?,
            }
        }
        if found.len() > 1 {
            let n = found.len();
            for (i, m) in found.iter_mut().enumerate() {
                m.summary.push_str(&format!(" [{}/{n}]", i + 1));
            }
        }
        out.extend(found);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(dir: Dir, s: &str) -> Result<Vec<AppMessage>, String> {
        let mut out = Vec::new();
        SignalR.decode(dir, s.as_bytes(), true, &mut out).map(|_| out)
    }

    fn one(dir: Dir, s: &str) -> AppMessage {
        let mut v = dec(dir, s).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    // The examples of HubProtocol.md ("JSON Encoding" and the handshake
    // in "Overview"), pretty-printed there, byte for byte here with their
    // whitespace, each ended by the 0x1E the spec requires.

    #[test]
    fn handshake_request_and_responses() {
        let r = one(
            Dir::C2S,
            "{\n    \"protocol\": \"messagepack\",\n    \"version\": 1\n}\u{1e}",
        );
        assert_eq!(r.kind, "HandshakeRequest");
        assert_eq!(r.summary, "signalr HandshakeRequest messagepack v1");
        assert_eq!(r.corr, Corr::Request("handshake".into()));
        let e = one(
            Dir::S2C,
            "{\n    \"error\": \"Requested protocol 'messagepack' is not available.\"\n}\u{1e}",
        );
        assert_eq!(e.kind, "HandshakeResponse");
        assert_eq!(
            e.summary,
            "signalr HandshakeResponse error \"Requested protocol 'messagepack' is not available.\""
        );
        assert_eq!(
            e.corr,
            Corr::Response {
                id: "handshake".into(),
                last: true
            }
        );
        assert_eq!(one(Dir::S2C, "{}\u{1e}").summary, "signalr HandshakeResponse ok");
        assert!(is_handshake_request(b"{\"protocol\":\"json\",\"version\":1}\x1e"));
        assert!(!is_handshake_request(b"{\"protocol\":\"json\",\"version\":1}"));
        assert!(!is_handshake_request(b"{\"protocol\":\"xml\",\"version\":1}\x1e"));
    }

    #[test]
    fn invocations_items_and_completions() {
        let i = one(
            Dir::C2S,
            "{\n    \"type\": 1,\n    \"invocationId\": \"123\",\n    \"target\": \"Send\",\n    \"arguments\": [\n        42,\n        \"Test Message\"\n    ]\n}\u{1e}",
        );
        assert_eq!(i.kind, "Invocation");
        assert_eq!(
            i.summary,
            "signalr Invocation \"Send\" id 123 42, \"Test Message\""
        );
        assert_eq!(i.method.as_deref(), Some("Send"));
        assert_eq!(i.id.as_deref(), Some("123"));
        assert_eq!(i.corr, Corr::Request("123".into()));
        assert_eq!(i.tree["arguments"][1], "Test Message");
        // Non-blocking: no id, nothing to pair.
        let nb = one(
            Dir::C2S,
            "{\n    \"type\": 1,\n    \"target\": \"Send\",\n    \"arguments\": [\n        42,\n        \"Test Message\"\n    ]\n}\u{1e}",
        );
        assert_eq!(nb.corr, Corr::None);
        assert_eq!(nb.summary, "signalr Invocation \"Send\" 42, \"Test Message\"");
        let up = one(
            Dir::C2S,
            "{\n    \"type\": 1,\n    \"invocationId\": \"123\",\n    \"target\": \"Send\",\n    \"arguments\": [\n        42\n    ],\n    \"streamIds\": [\n        \"1\"\n    ]\n}\u{1e}",
        );
        assert_eq!(up.summary, "signalr Invocation \"Send\" id 123 42 streams 1");
        let si = one(
            Dir::C2S,
            "{\n    \"type\": 4,\n    \"invocationId\": \"123\",\n    \"target\": \"Send\",\n    \"arguments\": [\n        42,\n        \"Test Message\"\n    ]\n}\u{1e}",
        );
        assert_eq!(si.kind, "StreamInvocation");
        assert_eq!(si.corr, Corr::Request("123".into()));
        let item = one(
            Dir::S2C,
            "{\n    \"type\": 2,\n    \"invocationId\": \"123\",\n    \"item\": 42\n}\u{1e}",
        );
        assert_eq!(item.summary, "signalr StreamItem id 123 42");
        assert_eq!(
            item.corr,
            Corr::Response {
                id: "123".into(),
                last: false
            }
        );
        let done = one(
            Dir::S2C,
            "{\n    \"type\": 3,\n    \"invocationId\": \"123\"\n}\u{1e}",
        );
        assert_eq!(done.summary, "signalr Completion id 123");
        assert_eq!(
            done.corr,
            Corr::Response {
                id: "123".into(),
                last: true
            }
        );
        let res = one(
            Dir::S2C,
            "{\n    \"type\": 3,\n    \"invocationId\": \"123\",\n    \"result\": 42\n}\u{1e}",
        );
        assert_eq!(res.summary, "signalr Completion id 123 result 42");
        let err = one(
            Dir::S2C,
            "{\n    \"type\": 3,\n    \"invocationId\": \"123\",\n    \"error\": \"It didn't work!\"\n}\u{1e}",
        );
        assert_eq!(err.summary, "signalr Completion id 123 error \"It didn't work!\"");
        // The spec's own protocol-error example: both a result and an error.
        assert!(
            dec(
                Dir::S2C,
                "{\n    \"type\": 3,\n    \"invocationId\": \"123\",\n    \"result\": 42,\n    \"error\": \"It didn't work!\"\n}\u{1e}"
            )
            .unwrap_err()
            .contains("both a result and an error")
        );
        let h = one(
            Dir::C2S,
            "{\n    \"type\": 1,\n    \"headers\": {\n        \"Foo\": \"Bar\"\n    },\n    \"invocationId\": \"123\",\n    \"target\": \"Send\",\n    \"arguments\": [\n        42,\n        \"Test Message\"\n    ]\n}\u{1e}",
        );
        assert_eq!(h.tree["headers"]["Foo"], "Bar");
    }

    #[test]
    fn cancel_ping_close_ack_sequence() {
        let c = one(
            Dir::C2S,
            "{\n    \"type\": 5,\n    \"invocationId\": \"123\"\n}\u{1e}",
        );
        assert_eq!(c.summary, "signalr CancelInvocation id 123");
        assert_eq!(c.corr, Corr::None);
        assert_eq!(
            one(Dir::S2C, "{\n    \"type\": 6\n}\u{1e}").summary,
            "signalr Ping"
        );
        assert_eq!(
            one(Dir::S2C, "{\n    \"type\": 7\n}\u{1e}").summary,
            "signalr Close"
        );
        assert_eq!(
            one(
                Dir::S2C,
                "{\n    \"type\": 7,\n    \"error\": \"Connection closed because of an error!\"\n}\u{1e}"
            )
            .summary,
            "signalr Close error \"Connection closed because of an error!\""
        );
        assert_eq!(
            one(
                Dir::S2C,
                "{\n    \"type\": 7,\n    \"error\": \"Connection closed because of an error!\",\n    \"allowReconnect\": true\n}\u{1e}"
            )
            .summary,
            "signalr Close error \"Connection closed because of an error!\" allowReconnect true"
        );
        assert_eq!(
            one(Dir::C2S, "{\n    \"type\": 8,\n    \"sequenceId\": 1394\n}\u{1e}").summary,
            "signalr Ack sequenceId 1394"
        );
        assert_eq!(
            one(Dir::C2S, "{\n    \"type\": 9,\n    \"sequenceId\": 1234\n}\u{1e}").summary,
            "signalr Sequence sequenceId 1234"
        );
    }

    #[test]
    fn several_records_in_one_message() {
        // A server's handshake answer and its first ping, as the .NET
        // server writes them back to back.
        let v = dec(Dir::S2C, "{}\u{1e}{\"type\":6}\u{1e}{\"type\":1,\"target\":\"ReceiveMessage\",\"arguments\":[\"ann\",\"hi\"]}\u{1e}").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].kind, "HandshakeResponse");
        assert_eq!(v[0].summary, "signalr HandshakeResponse ok [1/3]");
        assert_eq!(v[1].kind, "Ping");
        assert_eq!(v[2].method.as_deref(), Some("ReceiveMessage"));
        assert_eq!(
            v[2].summary,
            "signalr Invocation \"ReceiveMessage\" \"ann\", \"hi\" [3/3]"
        );
    }

    #[test]
    fn malformed_records_are_errors_and_leave_out_alone() {
        for bad in [
            "{\"type\":6}",                                         // no separator
            "{\"type\":6}\u{1e}{\"type\":6}",                       // the last one unterminated
            "{\"type\":6}\u{1e}{\"type\":\u{1e}",                   // a broken second record
            "[1]\u{1e}",                                            // not an object
            "{\"type\":10}\u{1e}",                                  // unknown type
            "{\"type\":1,\"target\":\"Send\"}\u{1e}",               // no arguments
            "{\"type\":1,\"arguments\":[]}\u{1e}",                  // no target
            "{\"type\":4,\"target\":\"S\",\"arguments\":[]}\u{1e}", // a stream needs an id
            "{\"type\":2,\"invocationId\":\"1\"}\u{1e}",            // no item
            "{\"type\":3,\"invocationId\":1}\u{1e}",                // id not a string
            "{\"type\":6,\"extra\":1}\u{1e}",                       // unknown field
            "{\"type\":7,\"allowReconnect\":\"yes\"}\u{1e}",
            "{\"protocol\":\"json\"}\u{1e}", // no version
            "{\"hello\":1}\u{1e}",
            "\u{1e}",
        ] {
            let mut out = vec![AppMessage::default()];
            assert!(
                SignalR.decode(Dir::C2S, bad.as_bytes(), true, &mut out).is_err(),
                "{bad:?}"
            );
            assert_eq!(out.len(), 1, "{bad:?}");
        }
        let mut out = Vec::new();
        // Unframed MessagePack (no length prefix).
        assert!(
            SignalR
                .decode(Dir::S2C, b"\x94\x02\x80\xa3xyz\x2a", false, &mut out)
                .is_err()
        );
        // A handshake in a binary message (the MessagePack protocol's
        // transfer format) is still read.
        SignalR.decode(Dir::S2C, b"{}\x1e", false, &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    /// A MessagePack record with its VarInt length prefix.
    fn framed(body: &[u8]) -> Vec<u8> {
        assert!(body.len() < 128);
        let mut v = vec![body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    fn bin(data: &[u8]) -> Result<Vec<AppMessage>, String> {
        let mut out = Vec::new();
        SignalR.decode(Dir::S2C, data, false, &mut out).map(|_| out)
    }

    // HubProtocol.md, "MessagePack (MsgPack) encoding": the payloads of its
    // examples byte for byte, framed as "Binary encoding" says.

    #[test]
    fn messagepack_examples_of_the_spec() {
        let inv = [
            0x96, 0x01, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x91, 0x2a,
            0x90,
        ];
        let m = bin(&framed(&inv)).unwrap().remove(0);
        assert_eq!(m.kind, "Invocation");
        assert_eq!(m.summary, "signalr Invocation \"method\" id xyz 42");
        assert_eq!(m.corr, Corr::Request("xyz".into()));
        assert_eq!(m.method.as_deref(), Some("method"));
        assert_eq!(m.tree["encoding"], "messagepack");
        assert_eq!(m.tree["arguments"][0], 42);
        let nb = [
            0x96, 0x01, 0x80, 0xc0, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x91, 0x2a, 0x90,
        ];
        let m = bin(&framed(&nb)).unwrap().remove(0);
        assert_eq!(m.corr, Corr::None);
        assert_eq!(m.summary, "signalr Invocation \"method\" 42");
        let si = [
            0x96, 0x04, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x91, 0x2a,
            0x90,
        ];
        assert_eq!(bin(&framed(&si)).unwrap()[0].kind, "StreamInvocation");
        let item = bin(&framed(&[0x94, 0x02, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x2a]))
            .unwrap()
            .remove(0);
        assert_eq!(item.summary, "signalr StreamItem id xyz 42");
        assert_eq!(
            item.corr,
            Corr::Response {
                id: "xyz".into(),
                last: false
            }
        );
        let err = [
            0x95, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x01, 0xa5, 0x45, 0x72, 0x72, 0x6f, 0x72,
        ];
        assert_eq!(
            bin(&framed(&err)).unwrap()[0].summary,
            "signalr Completion id xyz error \"Error\""
        );
        let void = [0x94, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x02];
        let v = bin(&framed(&void)).unwrap().remove(0);
        assert_eq!(v.summary, "signalr Completion id xyz");
        assert_eq!(
            v.corr,
            Corr::Response {
                id: "xyz".into(),
                last: true
            }
        );
        let res = [0x95, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x03, 0x2a];
        assert_eq!(
            bin(&framed(&res)).unwrap()[0].summary,
            "signalr Completion id xyz result 42"
        );
        assert_eq!(
            bin(&framed(&[0x93, 0x05, 0x80, 0xa3, 0x78, 0x79, 0x7a])).unwrap()[0].summary,
            "signalr CancelInvocation id xyz"
        );
        assert_eq!(bin(&framed(&[0x91, 0x06])).unwrap()[0].summary, "signalr Ping");
        assert_eq!(
            bin(&framed(&[0x92, 0x07, 0xa3, 0x78, 0x79, 0x7a])).unwrap()[0].summary,
            "signalr Close error \"xyz\""
        );
        assert_eq!(
            bin(&framed(&[0x93, 0x07, 0xa3, 0x78, 0x79, 0x7a, 0xc3])).unwrap()[0].summary,
            "signalr Close error \"xyz\" allowReconnect true"
        );
        assert_eq!(
            bin(&framed(&[0x92, 0x08, 0xcc, 0x24])).unwrap()[0].summary,
            "signalr Ack sequenceId 36"
        );
        assert_eq!(
            bin(&framed(&[0x92, 0x09, 0xcc, 0x13])).unwrap()[0].summary,
            "signalr Sequence sequenceId 19"
        );
        let hdr = [
            0x96, 0x01, 0x82, 0xa1, 0x78, 0xa1, 0x79, 0xa1, 0x7a, 0xa1, 0x7a, 0xa3, 0x78, 0x79, 0x7a, 0xa6,
            0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x91, 0x2a, 0x90,
        ];
        let h = bin(&framed(&hdr)).unwrap().remove(0);
        assert_eq!(h.tree["headers"]["x"], "y");
        assert_eq!(h.tree["headers"]["z"], "z");
    }

    #[test]
    fn messagepack_framing() {
        // "VarInt" examples.
        assert_eq!(varint(&[0x35]), Ok((53, 1)));
        assert_eq!(varint(&[0x80, 0x29]), Ok((5248, 2)));
        assert_eq!(varint(&[0xff, 0xff, 0xff, 0xff, 0x07]), Ok((0x7fff_ffff, 5)));
        assert!(varint(&[0x80]).is_err());
        assert!(varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).is_err());
        // "Binary encoding": two frames, the first 11 bytes long ("Hello\nWorld",
        // not MessagePack: an error), the second 2.
        assert_eq!(varint(b"\x0bHello\nWorld\x02\x01\x02"), Ok((11, 1)));
        assert!(bin(b"\x0bHello\nWorld\x02\x01\x02").is_err());
        // Several records in one message, and the handshake response in
        // front of them (the server's first binary message).
        let mut two = framed(&[0x91, 0x06]);
        two.extend(framed(&[0x94, 0x02, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x2a]));
        let v = bin(&two).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].summary, "signalr Ping [1/2]");
        assert_eq!(v[1].summary, "signalr StreamItem id xyz 42 [2/2]");
        let mut hs = b"{}\x1e".to_vec();
        hs.extend(&two);
        let v = bin(&hs).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].kind, "HandshakeResponse");
        assert_eq!(v[2].kind, "StreamItem");
        // Cut short, trailing bytes, wrong shapes: errors, nothing added.
        let mut out = vec![AppMessage::default()];
        for bad in [
            &[0x05, 0x91, 0x06][..],                                 // length past the data
            &[0x03, 0x91, 0x06, 0x00],                               // a byte after the value
            &[0x02, 0x91, 0x06, 0x02, 0x91],                         // the second record cut short
            &[0x02, 0x92, 0x06],                                     // MessagePack cut short
            &[0x01, 0x06],                                           // not an array
            &[0x02, 0x91, 0x0a],                                     // unknown type
            &[0x03, 0x92, 0x06, 0x80],                               // a Ping with headers
            &[0x08, 0x94, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x03], // non-void without a result
            &[0x04, 0x93, 0x05, 0x01, 0xa1],                         // broken string
            &[0x05, 0x93, 0x05, 0x01, 0xa1, 0x78],                   // headers not a map
        ] {
            assert!(
                SignalR.decode(Dir::S2C, bad, false, &mut out).is_err(),
                "{bad:x?}"
            );
        }
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn ids_from_the_wire_stay_on_one_line() {
        let m = one(Dir::S2C, "{\"type\":5,\"invocationId\":\"1\\n2\"}\u{1e}");
        assert_eq!(m.summary, "signalr CancelInvocation id \"1\\n2\"");
        assert_eq!(m.id.as_deref(), Some("1\n2"));
    }

    #[test]
    fn secrets_in_arguments_are_redacted() {
        let m = one(
            Dir::C2S,
            "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Login\",\"arguments\":[{\"user\":\"a\",\"password\":\"hunter2\"}]}\u{1e}",
        );
        assert_eq!(m.tree["arguments"][0]["password"], "<redacted, 7 chars>");
        assert!(!m.summary.contains("hunter2"), "{}", m.summary);
    }
}
