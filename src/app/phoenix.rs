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
//! Binary pushes (V2's binary frames) are not decoded.

use super::json::{cut, id_key, redact, short, word};
use super::{AppDecoder, AppMessage, Corr};
use crate::event::Dir;
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

/// A V2 `phx_join` the decoder reads whole: a connection's opening.
pub fn is_join(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.len() == 5)
        && v.get(3).and_then(Value::as_str) == Some("phx_join")
        && fields(v.clone()).is_ok_and(|m| m.payload.is_object())
}

impl AppDecoder for Phoenix {
    fn decode(&mut self, dir: Dir, data: &[u8], text: bool, out: &mut Vec<AppMessage>) -> Result<(), String> {
        if !text {
            return Err("phoenix: a binary message (binary pushes are not decoded)".into());
        }
        let v: Value = serde_json::from_slice(data).map_err(|e| format!("phoenix: not JSON: {e}"))?;
        let mut f = fields(v)?;
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
        assert!(Phoenix.decode(Dir::C2S, b"\x00\x01", false, &mut out).is_err());
        assert!(out.is_empty());
        assert!(!is_join(
            &serde_json::from_str(r#"["0","0","t","phx_join",[]]"#).unwrap()
        ));
        // Refs from the wire stay on the summary's one line.
        let m = dec(Dir::C2S, r#"[null,"a\nb","t","x",{}]"#).unwrap();
        assert_eq!(m.summary, r#"phoenix event "x" "t" ref "a\nb""#);
    }
}
