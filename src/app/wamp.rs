//! WAMP v2 (the Web Application Messaging Protocol): every message is an
//! array whose first element is its type code — HELLO `[1, realm,
//! details]`, CALL `[48, request, options, procedure, args?, kwargs?]`,
//! RESULT `[50, request, details, …]` — serialised as JSON
//! (`wamp.2.json`), MessagePack (`wamp.2.msgpack`) or CBOR (`wamp.2.cbor`).
//! Requests and their answers share a request id (session scope).

use super::generic::{cbor_to_json, msgpack_to_json};
use super::json::{redact, short};
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::Value;

/// How a session's messages are serialised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serializer {
    Json,
    MsgPack,
    Cbor,
}

#[derive(Debug)]
pub struct Wamp {
    ser: Serializer,
}

impl Wamp {
    pub fn new(ser: Serializer) -> Self {
        Wamp { ser }
    }
}

/// A WAMP type code's name.
fn name(code: u64) -> Option<&'static str> {
    Some(match code {
        1 => "HELLO",
        2 => "WELCOME",
        3 => "ABORT",
        4 => "CHALLENGE",
        5 => "AUTHENTICATE",
        6 => "GOODBYE",
        8 => "ERROR",
        16 => "PUBLISH",
        17 => "PUBLISHED",
        32 => "SUBSCRIBE",
        33 => "SUBSCRIBED",
        34 => "UNSUBSCRIBE",
        35 => "UNSUBSCRIBED",
        36 => "EVENT",
        48 => "CALL",
        49 => "CANCEL",
        50 => "RESULT",
        64 => "REGISTER",
        65 => "REGISTERED",
        66 => "UNREGISTER",
        67 => "UNREGISTERED",
        68 => "INVOCATION",
        69 => "INTERRUPT",
        70 => "YIELD",
        _ => return None,
    })
}

/// A HELLO opening a session (for detection by shape).
pub fn is_hello(v: &Value) -> bool {
    let Some(a) = v.as_array() else { return false };
    a.len() == 3
        && a.first().and_then(Value::as_u64) == Some(1)
        && a.get(1)
            .and_then(Value::as_str)
            .is_some_and(|r| !r.is_empty() && !r.contains(' '))
        && a.get(2)
            .and_then(|d| d.get("roles"))
            .is_some_and(Value::is_object)
}

/// One WAMP message, already as JSON.
pub fn decode_value(v: Value) -> Result<AppMessage, String> {
    let a = v.as_array().ok_or("wamp: not an array")?;
    let code = a
        .first()
        .and_then(Value::as_u64)
        .ok_or("wamp: no message type code")?;
    let kind = name(code).ok_or_else(|| format!("wamp: unknown message type {code}"))?;
    let at = |i: usize| {
        a.get(i)
            .ok_or_else(|| format!("wamp: {kind} has too few elements"))
    };
    let uri = |i: usize| -> Result<String, String> {
        at(i)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("wamp: {kind} element {i} is not a URI"))
    };
    let id = |i: usize| -> Result<String, String> {
        at(i)?
            .as_u64()
            .map(|n| n.to_string())
            .ok_or_else(|| format!("wamp: {kind} element {i} is not an id"))
    };
    let mut m = AppMessage {
        protocol: "wamp",
        kind: kind.into(),
        ..AppMessage::default()
    };
    // Fixed elements before the optional arguments, per type.
    let (min, max) = match code {
        1..=6 => (3, 3),
        8 => (5, 7),
        16 | 48 => (4, 6),
        17 | 33 | 65 | 34 | 66 | 49 | 69 => (3, 3),
        35 | 67 => (2, 2),
        36 | 68 => (4, 6),
        50 | 70 => (3, 5),
        32 | 64 => (4, 4),
        _ => (1, usize::MAX),
    };
    if a.len() < min || a.len() > max {
        return Err(format!("wamp: {kind} with {} elements", a.len()));
    }
    let args = |from: usize| -> String {
        let parts: Vec<String> = a.iter().skip(from).map(|x| short(x, 30)).collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" {}", parts.join(" "))
        }
    };
    let req = |m: &mut AppMessage, r: String| {
        m.id = Some(r.clone());
        m.corr = Corr::Request(r);
    };
    let resp = |m: &mut AppMessage, r: String| {
        m.id = Some(r.clone());
        m.corr = Corr::Response { id: r, last: true };
    };
    m.summary = match code {
        1 => {
            let realm = uri(1)?;
            m.corr = Corr::Request("hello".into());
            m.topic = Some(realm.clone());
            format!("wamp HELLO realm {realm}")
        }
        2 => {
            m.corr = Corr::Response {
                id: "hello".into(),
                last: true,
            };
            format!("wamp WELCOME session {}", id(1)?)
        }
        3 => {
            m.corr = Corr::Response {
                id: "hello".into(),
                last: true,
            };
            format!("wamp ABORT {}", uri(2)?)
        }
        6 => format!("wamp GOODBYE {}", uri(2)?),
        8 => {
            let of = at(1)?.as_u64().and_then(name).unwrap_or("?");
            let r = id(2)?;
            let e = uri(4)?;
            resp(&mut m, r.clone());
            format!("wamp ERROR {e} for {of} {r}")
        }
        16 => {
            let r = id(1)?;
            let topic = uri(3)?;
            // Only an acknowledged publication is answered.
            if at(2)?.get("acknowledge") == Some(&Value::Bool(true)) {
                req(&mut m, r.clone());
            } else {
                m.id = Some(r.clone());
            }
            m.topic = Some(topic.clone());
            format!("wamp PUBLISH {topic} id {r}{}", args(4))
        }
        32 => {
            let r = id(1)?;
            let topic = uri(3)?;
            req(&mut m, r.clone());
            m.topic = Some(topic.clone());
            format!("wamp SUBSCRIBE {topic} id {r}")
        }
        48 | 64 => {
            let r = id(1)?;
            let proc = uri(3)?;
            req(&mut m, r.clone());
            m.method = Some(proc.clone());
            format!(
                "wamp {kind} {proc} id {r}{}",
                if code == 48 { args(4) } else { String::new() }
            )
        }
        34 | 66 | 49 => {
            let r = id(1)?;
            req(&mut m, r.clone());
            format!("wamp {kind} id {r}")
        }
        17 | 33 | 65 | 35 | 67 => {
            let r = id(1)?;
            resp(&mut m, r.clone());
            format!("wamp {kind} id {r}")
        }
        50 => {
            let r = id(1)?;
            resp(&mut m, r.clone());
            format!("wamp RESULT id {r}{}", args(3))
        }
        36 => format!(
            "wamp EVENT subscription {} publication {}{}",
            id(1)?,
            id(2)?,
            args(4)
        ),
        68 => {
            let r = id(1)?;
            req(&mut m, r.clone());
            format!("wamp INVOCATION id {r} registration {}{}", id(2)?, args(4))
        }
        70 => {
            let r = id(1)?;
            resp(&mut m, r.clone());
            format!("wamp YIELD id {r}{}", args(3))
        }
        69 => {
            let r = id(1)?;
            format!("wamp INTERRUPT id {r}")
        }
        _ => format!("wamp {kind}"),
    };
    let mut tree = v;
    redact(&mut tree);
    m.tree = tree;
    Ok(m)
}

impl AppDecoder for Wamp {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        let v = match self.ser {
            Serializer::Json if text => super::json::parse(data)?,
            Serializer::Json => return Err("wamp: a binary message in a JSON session".into()),
            Serializer::MsgPack => msgpack_to_json(data).map_err(|e| format!("wamp: {e}"))?,
            Serializer::Cbor => cbor_to_json(data).map_err(|e| format!("wamp: {e}"))?,
        };
        out.push(decode_value(v)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<AppMessage, String> {
        let mut out = Vec::new();
        Wamp::new(Serializer::Json)
            .decode(Dir::C2S, s.as_bytes(), true, &mut out)
            .map(|_| out.remove(0))
    }

    #[test]
    fn the_spec_examples() {
        // WAMP spec (wamp-proto.org), section "Message Definitions".
        let h = dec(r#"[1, "somerealm", {"roles": {"publisher": {}, "subscriber": {}}}]"#).unwrap();
        assert_eq!(h.summary, "wamp HELLO realm somerealm");
        assert!(is_hello(
            &serde_json::from_str(r#"[1, "somerealm", {"roles": {}}]"#).unwrap()
        ));
        let c = dec(r#"[48, 7814135, {}, "com.myapp.echo", ["Hello, world!"]]"#).unwrap();
        assert_eq!(
            c.summary,
            r#"wamp CALL com.myapp.echo id 7814135 ["Hello, world!"]"#
        );
        assert_eq!(c.corr, Corr::Request("7814135".into()));
        let r = dec(r#"[50, 7814135, {}, [30]]"#).unwrap();
        assert_eq!(
            r.corr,
            Corr::Response {
                id: "7814135".into(),
                last: true
            }
        );
        let e = dec(r#"[8, 48, 7814135, {}, "com.myapp.error.object_write_protected", ["Object is write protected."]]"#).unwrap();
        assert_eq!(
            e.summary,
            "wamp ERROR com.myapp.error.object_write_protected for CALL 7814135"
        );
        let p = dec(r#"[16, 239714735, {}, "com.myapp.mytopic1", ["Hello, world!"]]"#).unwrap();
        assert_eq!(p.corr, Corr::None);
        let p = dec(r#"[16, 239714735, {"acknowledge": true}, "com.myapp.mytopic1"]"#).unwrap();
        assert_eq!(p.corr, Corr::Request("239714735".into()));
        let ev = dec(r#"[36, 5512315355, 4429313566, {}, ["Hello, world!"]]"#).unwrap();
        assert_eq!(ev.kind, "EVENT");
        assert!(dec(r#"[48, 1, {}]"#).is_err());
        assert!(dec(r#"[99, 1]"#).is_err());
        assert!(dec(r#"{"a":1}"#).is_err());
    }
}
