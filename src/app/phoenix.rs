//! Phoenix Channels (Elixir's Phoenix framework) over its WebSocket
//! transport, `/socket/websocket?vsn=…`.
//!
//! Two JSON serializers: `vsn=2.0.0` sends arrays `[join_ref, ref, topic,
//! event, payload]` (Phoenix.Socket.V2.JSONSerializer, the guide "Writing
//! a Channels Client"), `vsn=1.0.0` objects `{"topic","event","payload",
//! "ref","join_ref"}`. Both are read, whichever the connection uses.
//! Control events: `phx_join` and `phx_leave` (a topic), `heartbeat` (topic
//! `phoenix`), `phx_reply` (the server's answer `{"status","response"}` to
//! the client message with the same `ref`), `phx_error` and `phx_close`
//! (the channel crashed or closed); any other event is the application's.
//! A client message with a ref expects a reply: they pair for latency.
//!
//! V2 also sends binary frames (a push, reply or broadcast with a binary
//! payload): their headers are read, the payload shown as its length and
//! text or leading hex.

use super::json::{cut, id_key, redact, short, word};
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::{Value, json};

#[derive(Debug, Default)]
pub struct Phoenix;

/// The fields of one message, from either serializer.
struct Msg {
    join_ref: Value,
    reference: Value,
    topic: String,
    event: String,
    payload: Value,
    vsn: &'static str,
}

/// A ref: a string, a number (some clients) or null.
fn check_ref(v: &Value, what: &str) -> Result<(), String> {
    match v {
        Value::Null | Value::String(_) | Value::Number(_) => Ok(()),
        _ => Err(format!("phoenix: the {what} is not a string, number or null")),
    }
}

fn fields(v: Value) -> Result<Msg, String> {
    let (join_ref, reference, topic, event, payload, vsn) = match v {
        Value::Array(a) => {
            let Ok::<[Value; 5], _>([j, r, t, e, p]) = a.try_into() else {
                return Err("phoenix: a V2 message is not an array of 5 elements".into());
            };
            (j, r, t, e, p, "2.0.0")
        }
        Value::Object(mut o) => {
            if let Some(k) = o
                .keys()
                .find(|k| !matches!(k.as_str(), "topic" | "event" | "payload" | "ref" | "join_ref"))
            {
                return Err(format!("phoenix: a V1 message with an unknown field {k:?}"));
            }
            let t = o.remove("topic").ok_or("phoenix: a V1 message without a topic")?;
            let e = o
                .remove("event")
                .ok_or("phoenix: a V1 message without an event")?;
            let p = o
                .remove("payload")
                .ok_or("phoenix: a V1 message without a payload")?;
            let r = o.remove("ref").unwrap_or(Value::Null);
            let j = o.remove("join_ref").unwrap_or(Value::Null);
            (j, r, t, e, p, "1.0.0")
        }
        _ => return Err("phoenix: neither a V2 array nor a V1 object".into()),
    };
    check_ref(&join_ref, "join_ref")?;
    check_ref(&reference, "ref")?;
    let Value::String(topic) = topic else {
        return Err("phoenix: the topic is not a string".into());
    };
    let Value::String(event) = event else {
        return Err("phoenix: the event is not a string".into());
    };
    if event.is_empty() {
        return Err("phoenix: an empty event name".into());
    }
    Ok(Msg {
        join_ref,
        reference,
        topic,
        event,
        payload,
        vsn,
    })
}

/// Bytes kept as hex in the tree when a binary payload is not text.
const HEX_BYTES: usize = 64;

/// A binary payload in the tree: its length, and its text or leading hex.
fn blob(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => json!({ "bytes": b.len(), "text": cut(s, 200) }),
        Err(_) => json!({ "bytes": b.len(), "hex": hex::encode(b.get(..HEX_BYTES).unwrap_or(b)) }),
    }
}

/// A V2 binary frame (Phoenix.Socket.V2.JSONSerializer): a kind byte, the
/// sizes of the strings that follow, the strings, the payload bytes. A
/// push (0) from the client has join_ref, ref, topic and event; from the
/// server join_ref, topic and event; a reply (1) join_ref, ref, topic and
/// status; a broadcast (2) topic and event. An empty ref is none.
fn binary(dir: Dir, data: &[u8]) -> Result<Msg, String> {
    let (kind, rest) = data.split_first().ok_or("phoenix: an empty binary message")?;
    let n = match (kind, dir) {
        (0, Dir::C2S) | (1, _) => 4,
        (0, Dir::S2C) => 3,
        (2, _) => 2,
        (k, _) => return Err(format!("phoenix: unknown binary message kind {k}")),
    };
    let (sizes, mut body) = rest
        .split_at_checked(n)
        .ok_or("phoenix: a binary message cut short in its sizes")?;
    let mut fields = Vec::with_capacity(n);
    for size in sizes {
        let (f, b) = body
            .split_at_checked(usize::from(*size))
            .ok_or("phoenix: a binary message cut short in its header")?;
        let f = std::str::from_utf8(f).map_err(|_| "phoenix: a binary message header is not UTF-8")?;
        fields.push(f.to_string());
        body = b;
    }
    let opt = |s: &String| {
        if s.is_empty() {
            Value::Null
        } else {
            Value::String(s.clone())
        }
    };
    let get = |i: usize| fields.get(i).cloned().unwrap_or_default();
    let (join_ref, reference, topic, event, payload) = match (kind, n) {
        (0, 4) => (opt(&get(0)), opt(&get(1)), get(2), get(3), blob(body)),
        (0, _) => (opt(&get(0)), Value::Null, get(1), get(2), blob(body)),
        (1, _) => (
            opt(&get(0)),
            opt(&get(1)),
            get(2),
            "phx_reply".to_string(),
            json!({ "status": get(3), "response": blob(body) }),
        ),
        _ => (Value::Null, Value::Null, get(0), get(1), blob(body)),
    };
    if event.is_empty() {
        return Err("phoenix: an empty event name".into());
    }
    Ok(Msg {
        join_ref,
        reference,
        topic,
        event,
        payload,
        vsn: "2.0.0 binary",
    })
}

/// A V2 `phx_join` the decoder reads whole: a connection's opening.
pub fn is_join(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.len() == 5)
        && v.get(3).and_then(Value::as_str) == Some("phx_join")
        && fields(v.clone()).is_ok_and(|m| m.payload.is_object())
}

impl AppDecoder for Phoenix {
    fn decode(&mut self, dir: Dir, data: &[u8], text: bool, out: &mut Vec<AppMessage>) -> Result<(), String> {
        let mut f = if text {
            let v: Value = serde_json::from_slice(data).map_err(|e| format!("phoenix: not JSON: {e}"))?;
            fields(v)?
        } else {
            binary(dir, data)?
        };
        redact(&mut f.payload);
        let reference = id_key(&f.reference);
        let join_ref = id_key(&f.join_ref);
        let control = matches!(
            f.event.as_str(),
            "phx_join" | "phx_leave" | "heartbeat" | "phx_reply" | "phx_error" | "phx_close"
        );
        let mut m = AppMessage {
            protocol: "phoenix",
            kind: if control { f.event.clone() } else { "event".into() },
            id: reference.clone(),
            event: Some(f.event.clone()),
            topic: Some(f.topic.clone()),
            ..AppMessage::default()
        };
        m.summary = if control {
            format!("phoenix {}", f.event)
        } else {
            format!("phoenix event {:?}", f.event)
        };
        if f.event == "phx_reply" {
            let o = f
                .payload
                .as_object()
                .ok_or("phoenix: a phx_reply payload is not an object")?;
            let status = o
                .get("status")
                .and_then(Value::as_str)
                .ok_or("phoenix: a phx_reply without a status")?;
            m.summary.push_str(&format!(" {}", word(status)));
        }
        // The heartbeat's topic is always `phoenix`: no need to say it.
        if f.event != "heartbeat" || f.topic != "phoenix" {
            m.summary.push_str(&format!(" {:?}", f.topic));
        }
        if let Some(r) = &reference {
            m.summary.push_str(&format!(" ref {}", word(r)));
        }
        if let Some(j) = &join_ref
            && (f.event == "phx_join" || reference.is_none())
        {
            m.summary.push_str(&format!(" join_ref {}", word(j)));
        }
        let shown = if f.event == "phx_reply" {
            f.payload.get("response")
        } else {
            Some(&f.payload)
        };
        if let Some(p) = shown.filter(|p| p.as_object().is_none_or(|o| !o.is_empty())) {
            m.summary.push(' ');
            m.summary.push_str(&short(p, 60));
        }
        m.summary = cut(&m.summary, 200);
        // Clients ask (with a ref), the server replies with that ref.
        match (dir, reference) {
            (Dir::S2C, Some(r)) if f.event == "phx_reply" => {
                m.corr = Corr::Response { id: r, last: true };
            }
            (Dir::C2S, Some(r)) if f.event != "phx_reply" => m.corr = Corr::Request(r),
            _ => {}
        }
        m.tree = json!({
            "vsn": f.vsn,
            "join_ref": f.join_ref,
            "ref": f.reference,
            "topic": f.topic,
            "event": f.event,
            "payload": f.payload,
        });
        out.push(m);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(dir: Dir, s: &str) -> Result<AppMessage, String> {
        let mut out = Vec::new();
        Phoenix
            .decode(dir, s.as_bytes(), true, &mut out)
            .map(|_| out.remove(0))
    }

    // The guide "Writing a Channels Client" (phoenix
    // guides/howto/writing_a_channels_client.md, "Message Format"), byte
    // for byte.

    #[test]
    fn the_guides_join_leave_heartbeat_and_event() {
        let j = dec(
            Dir::C2S,
            r#"["0", "0", "miami:weather", "phx_join", {"some": "param"}]"#,
        )
        .unwrap();
        assert_eq!(j.kind, "phx_join");
        assert_eq!(j.topic.as_deref(), Some("miami:weather"));
        assert_eq!(j.event.as_deref(), Some("phx_join"));
        assert_eq!(
            j.summary,
            r#"phoenix phx_join "miami:weather" ref 0 join_ref 0 {"some":"param"}"#
        );
        assert_eq!(j.corr, Corr::Request("0".into()));
        assert_eq!(j.tree["vsn"], "2.0.0");
        assert!(is_join(
            &serde_json::from_str(r#"["0", "0", "miami:weather", "phx_join", {"some": "param"}]"#).unwrap()
        ));
        let l = dec(Dir::C2S, r#"[null, "1", "miami:weather", "phx_leave", {}]"#).unwrap();
        assert_eq!(l.summary, r#"phoenix phx_leave "miami:weather" ref 1"#);
        assert_eq!(l.corr, Corr::Request("1".into()));
        let h = dec(Dir::C2S, r#"[null, "2", "phoenix", "heartbeat", {}]"#).unwrap();
        assert_eq!(h.kind, "heartbeat");
        assert_eq!(h.summary, "phoenix heartbeat ref 2");
        assert_eq!(h.corr, Corr::Request("2".into()));
        let e = dec(
            Dir::C2S,
            r#"[null, "3", "miami:weather", "report_emergency", {"category": "sharknado"}]"#,
        )
        .unwrap();
        assert_eq!(e.kind, "event");
        assert_eq!(e.event.as_deref(), Some("report_emergency"));
        assert_eq!(
            e.summary,
            r#"phoenix event "report_emergency" "miami:weather" ref 3 {"category":"sharknado"}"#
        );
    }

    #[test]
    fn replies_answer_the_ref_from_the_server() {
        // Phoenix.Socket.V2.JSONSerializer encodes a reply as
        // [join_ref, ref, topic, "phx_reply", %{status, response}].
        let r = dec(
            Dir::S2C,
            r#"["0","0","miami:weather","phx_reply",{"response":{},"status":"ok"}]"#,
        )
        .unwrap();
        assert_eq!(r.kind, "phx_reply");
        assert_eq!(r.summary, r#"phoenix phx_reply ok "miami:weather" ref 0"#);
        assert_eq!(
            r.corr,
            Corr::Response {
                id: "0".into(),
                last: true
            }
        );
        let r = dec(
            Dir::S2C,
            r#"[null,"2","phoenix","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]"#,
        )
        .unwrap();
        assert_eq!(
            r.summary,
            r#"phoenix phx_reply error "phoenix" ref 2 {"reason":"unmatched topic"}"#
        );
        // A server push (no ref) pairs with nothing; neither does a server
        // message with a ref that is not a reply.
        let p = dec(Dir::S2C, r#"["0",null,"miami:weather","new_report",{"temp":31}]"#).unwrap();
        assert_eq!(p.corr, Corr::None);
        assert_eq!(
            p.summary,
            r#"phoenix event "new_report" "miami:weather" join_ref 0 {"temp":31}"#
        );
        assert_eq!(
            dec(Dir::S2C, r#"[null,"9","t","x",{}]"#).unwrap().corr,
            Corr::None
        );
        // Channel errors and closes.
        let c = dec(Dir::S2C, r#"["0","0","miami:weather","phx_close",{}]"#).unwrap();
        assert_eq!(c.kind, "phx_close");
        assert_eq!(c.corr, Corr::None);
        let e = dec(Dir::S2C, r#"["0","0","miami:weather","phx_error",{}]"#).unwrap();
        assert_eq!(e.kind, "phx_error");
        assert!(dec(Dir::S2C, r#"["0","0","t","phx_reply",{"response":{}}]"#).is_err());
    }

    /// Binary frames as Phoenix.Socket.V2.JSONSerializer lays them out
    /// (its decode! and encode! clauses for `{:binary, data}` payloads).
    #[test]
    fn v2_binary_frames() {
        let mut out = Vec::new();
        // A client push: join_ref "1", ref "2", topic "room:1", event "upload".
        let mut push = vec![0u8, 1, 1, 6, 6];
        push.extend_from_slice(b"12room:1upload\x01\x02\xff");
        Phoenix.decode(Dir::C2S, &push, false, &mut out).unwrap();
        let p = out.remove(0);
        assert_eq!(p.kind, "event");
        assert_eq!(p.event.as_deref(), Some("upload"));
        assert_eq!(p.topic.as_deref(), Some("room:1"));
        assert_eq!(p.corr, Corr::Request("2".into()));
        assert_eq!(p.tree["payload"]["bytes"], 3);
        assert_eq!(p.tree["payload"]["hex"], "0102ff");
        assert_eq!(p.tree["vsn"], "2.0.0 binary");
        // Its reply: join_ref, ref, topic, status "ok", then the data.
        let mut reply = vec![1u8, 1, 1, 6, 2];
        reply.extend_from_slice(b"12room:1okdone");
        Phoenix.decode(Dir::S2C, &reply, false, &mut out).unwrap();
        let r = out.remove(0);
        assert_eq!(r.kind, "phx_reply");
        assert_eq!(
            r.corr,
            Corr::Response {
                id: "2".into(),
                last: true
            }
        );
        assert_eq!(
            r.summary,
            r#"phoenix phx_reply ok "room:1" ref 2 {"bytes":4,"text":"done"}"#
        );
        // A server push has no ref; a broadcast neither refs.
        let mut spush = vec![0u8, 1, 6, 4];
        spush.extend_from_slice(b"1room:1ping\x00");
        Phoenix.decode(Dir::S2C, &spush, false, &mut out).unwrap();
        let s = out.remove(0);
        assert_eq!(s.corr, Corr::None);
        assert_eq!(s.tree["join_ref"], "1");
        assert_eq!(s.tree["ref"], Value::Null);
        let mut b = vec![2u8, 6, 3];
        b.extend_from_slice(b"room:1new");
        Phoenix.decode(Dir::S2C, &b, false, &mut out).unwrap();
        let b = out.remove(0);
        assert_eq!(b.event.as_deref(), Some("new"));
        assert_eq!(b.summary, r#"phoenix event "new" "room:1" {"bytes":0,"text":""}"#);
    }

    #[test]
    fn v1_objects() {
        let j = dec(
            Dir::C2S,
            r#"{"topic":"rooms:lobby","event":"phx_join","payload":{"token":"abc"},"ref":"1","join_ref":"1"}"#,
        )
        .unwrap();
        assert_eq!(j.tree["vsn"], "1.0.0");
        assert_eq!(j.corr, Corr::Request("1".into()));
        // Secrets in payloads are redacted, in the tree and the summary.
        assert_eq!(j.tree["payload"]["token"], "<redacted, 3 chars>");
        assert!(!j.summary.contains("abc"), "{}", j.summary);
        let r = dec(
            Dir::S2C,
            r#"{"topic":"rooms:lobby","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"}"#,
        )
        .unwrap();
        assert_eq!(
            r.corr,
            Corr::Response {
                id: "1".into(),
                last: true
            }
        );
        let b = dec(
            Dir::S2C,
            r#"{"topic":"rooms:lobby","event":"new_msg","payload":{"body":"hi"},"ref":null}"#,
        )
        .unwrap();
        assert_eq!(
            b.summary,
            r#"phoenix event "new_msg" "rooms:lobby" {"body":"hi"}"#
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in [
            r#"["0","0","t","phx_join"]"#,
            r#"["0","0","t","phx_join",{},1]"#,
            r#"["0","0",1,"phx_join",{}]"#,
            r#"["0","0","t",null,{}]"#,
            r#"["0",{},"t","e",{}]"#,
            r#"["0","0","t","",{}]"#,
            r#"{"topic":"t","event":"e"}"#,
            r#"{"topic":"t","event":"e","payload":{},"extra":1}"#,
            r#""phx_join""#,
            "[not json",
        ] {
            assert!(dec(Dir::C2S, bad).is_err(), "{bad}");
        }
        let mut out = Vec::new();
        for bad in [
            &b"\x00\x01"[..],
            b"",
            b"\x03\x00",
            b"\x00\x01\x01\x01\x01abc",
            b"\x02\x01\x00t",
            b"\x02\x01\x01\xffe",
        ] {
            assert!(Phoenix.decode(Dir::C2S, bad, false, &mut out).is_err(), "{bad:?}");
        }
        assert!(out.is_empty());
        assert!(!is_join(
            &serde_json::from_str(r#"["0","0","t","phx_join",[]]"#).unwrap()
        ));
        // Refs from the wire stay on the summary's one line.
        let m = dec(Dir::C2S, r#"[null,"a\nb","t","x",{}]"#).unwrap();
        assert_eq!(m.summary, r#"phoenix event "x" "t" ref "a\nb""#);
    }
}
