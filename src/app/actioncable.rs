//! Action Cable (Rails) and servers speaking its protocol (AnyCable):
//! subprotocol `actioncable-v1-json`, mounted at `/cable` ("Action Cable
//! Protocol", docs.anycable.io/misc/action_cable_protocol).
//!
//! JSON objects. The server's protocol messages have a `type`: `welcome`,
//! `disconnect` (`reason`, `reconnect`), `ping` (`message`: a Unix time),
//! `confirm_subscription` and `reject_subscription` (an `identifier`); its
//! data messages an `identifier` and a `message`. The client's have a
//! `command`: `subscribe`, `unsubscribe` (an `identifier`) and `message`
//! (an `identifier` and `data`). The identifier (Rails: `{"channel":…,
//! …params}`) and the data (`{"action":…,…}`) are JSON inside strings:
//! both are decoded into the tree. A subscribe is answered by a
//! confirmation or rejection with the same identifier: they pair.

use super::json::{cut, redact, short};
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::{Map, Value};

#[derive(Debug, Default)]
pub struct ActionCable;

/// Exactly the welcome: a connection's first server message.
pub fn is_welcome(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.get("type").and_then(Value::as_str) == Some("welcome"))
}

fn only(o: &Map<String, Value>, kind: &str, allowed: &[&str]) -> Result<(), String> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("actioncable: {kind} with an unknown field {k:?}")),
        None => Ok(()),
    }
}

/// The identifier string and its decoded value (the string itself when it
/// is not JSON: servers other than Rails may name channels so).
fn identifier(o: &Map<String, Value>, kind: &str) -> Result<(String, Value), String> {
    let s = o
        .get("identifier")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("actioncable: {kind} without a string identifier"))?;
    let mut v = serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()));
    redact(&mut v);
    Ok((s.to_string(), v))
}

/// `"ChatChannel" {"id":42}`: the channel and the other parameters.
fn channel_text(ident: &Value) -> (Option<String>, String) {
    match ident {
        Value::Object(o) => {
            let ch = o.get("channel").and_then(Value::as_str).map(str::to_string);
            let rest: Map<String, Value> = o
                .iter()
                .filter(|(k, _)| k.as_str() != "channel")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut t = ch.as_deref().map(|c| format!("{c:?}")).unwrap_or_default();
            if !rest.is_empty() {
                if !t.is_empty() {
                    t.push(' ');
                }
                t.push_str(&short(&Value::Object(rest), 60));
            }
            (ch, t)
        }
        Value::String(s) => (Some(s.clone()), format!("{s:?}")),
        v => (None, short(v, 60)),
    }
}

impl AppDecoder for ActionCable {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        if !text {
            return Err("actioncable: a binary message".into());
        }
        let v: Value = serde_json::from_slice(data).map_err(|e| format!("actioncable: not JSON: {e}"))?;
        let o = v.as_object().ok_or("actioncable: not a JSON object")?;
        let mut m = AppMessage {
            protocol: "actioncable",
            ..AppMessage::default()
        };
        let mut tree = o.clone();
        let ident = |m: &mut AppMessage,
                     tree: &mut Map<String, Value>,
                     kind: &str|
         -> Result<(String, String), String> {
            let (raw, val) = identifier(o, kind)?;
            let (ch, text) = channel_text(&val);
            m.topic = ch;
            tree.insert("identifier".into(), val);
            Ok((raw, text))
        };
        if let Some(t) = o.get("type") {
            let t = t.as_str().ok_or("actioncable: the type is not a string")?;
            m.kind = t.to_string();
            match t {
                "welcome" => {
                    // AnyCable adds a session id and restoration flags.
                    only(o, t, &["type", "sid", "restored", "restored_ids"])?;
                    m.summary = "actioncable welcome".into();
                }
                "ping" => {
                    only(o, t, &["type", "message"])?;
                    let n = o
                        .get("message")
                        .and_then(Value::as_i64)
                        .ok_or("actioncable: a ping without a number")?;
                    m.summary = format!("actioncable ping {n}");
                }
                "confirm_subscription" | "reject_subscription" => {
                    only(o, t, &["type", "identifier"])?;
                    let (raw, text) = ident(&mut m, &mut tree, t)?;
                    m.summary = format!("actioncable {t} {text}");
                    m.corr = Corr::Response { id: raw, last: true };
                }
                "disconnect" => {
                    only(o, t, &["type", "reason", "reconnect"])?;
                    m.summary = "actioncable disconnect".into();
                    match o.get("reason") {
                        None | Some(Value::Null) => {}
                        Some(Value::String(r)) => m.summary.push_str(&format!(" {r:?}")),
                        Some(_) => return Err("actioncable: a disconnect reason is not a string".into()),
                    }
                    match o.get("reconnect") {
                        None => {}
                        Some(Value::Bool(b)) => m.summary.push_str(&format!(" reconnect {b}")),
                        Some(_) => return Err("actioncable: disconnect reconnect is not a boolean".into()),
                    }
                }
                t => return Err(format!("actioncable: unknown message type {t:?}")),
            }
        } else if let Some(c) = o.get("command") {
            let c = c.as_str().ok_or("actioncable: the command is not a string")?;
            m.kind = c.to_string();
            match c {
                "subscribe" | "unsubscribe" => {
                    only(o, c, &["command", "identifier"])?;
                    let (raw, text) = ident(&mut m, &mut tree, c)?;
                    m.summary = format!("actioncable {c} {text}");
                    if c == "subscribe" {
                        m.corr = Corr::Request(raw);
                    }
                }
                "message" => {
                    only(o, c, &["command", "identifier", "data"])?;
                    let (_, text) = ident(&mut m, &mut tree, c)?;
                    let ds = o
                        .get("data")
                        .and_then(Value::as_str)
                        .ok_or("actioncable: a message command without a string data")?;
                    let mut d: Value = serde_json::from_str(ds)
                        .map_err(|e| format!("actioncable: the data string is not JSON: {e}"))?;
                    redact(&mut d);
                    m.summary = format!("actioncable message {text}");
                    let mut rest = d.clone();
                    if let Some(a) = d.get("action").and_then(Value::as_str) {
                        m.event = Some(a.to_string());
                        m.summary.push_str(&format!(" action {a:?}"));
                        if let Some(r) = rest.as_object_mut() {
                            r.remove("action");
                        }
                    }
                    if rest.as_object().is_none_or(|r| !r.is_empty()) {
                        m.summary.push(' ');
                        m.summary.push_str(&short(&rest, 60));
                    }
                    tree.insert("data".into(), d);
                }
                c => return Err(format!("actioncable: unknown command {c:?}")),
            }
        } else if o.contains_key("identifier") && o.contains_key("message") {
            // AnyCable's extended protocol adds a stream position.
            only(
                o,
                "broadcast",
                &["identifier", "message", "stream_id", "epoch", "offset"],
            )?;
            let (_, text) = ident(&mut m, &mut tree, "broadcast")?;
            m.kind = "broadcast".into();
            let mut msg = o.get("message").cloned().unwrap_or_default();
            redact(&mut msg);
            m.summary = format!("actioncable broadcast {text} {}", short(&msg, 60));
        } else {
            return Err("actioncable: neither a type, a command nor a broadcast".into());
        }
        m.summary = cut(&m.summary, 200);
        // The decoded identifier and data are redacted already.
        for (k, v) in tree.iter_mut() {
            if k != "identifier" && k != "data" {
                redact(v);
            }
        }
        m.tree = Value::Object(tree);
        out.push(m);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(dir: Dir, s: &str) -> Result<AppMessage, String> {
        let mut out = Vec::new();
        ActionCable
            .decode(dir, s.as_bytes(), true, &mut out)
            .map(|_| out.remove(0))
    }

    // The examples of "Action Cable Protocol" (AnyCable's documentation,
    // docs/misc/action_cable_protocol.md: Handshake, Subscriptions &
    // identifiers, Perform actions, Ping), byte for byte.

    #[test]
    fn handshake_welcome_and_disconnect() {
        let w = dec(Dir::S2C, r#"{"type":"welcome"}"#).unwrap();
        assert_eq!(w.kind, "welcome");
        assert_eq!(w.summary, "actioncable welcome");
        assert!(is_welcome(
            &serde_json::from_str(r#"{"type":"welcome"}"#).unwrap()
        ));
        let d = dec(
            Dir::S2C,
            r#"{"type":"disconnect", "reason":"unauthorized", "reconnect":false}"#,
        )
        .unwrap();
        assert_eq!(d.kind, "disconnect");
        assert_eq!(
            d.summary,
            r#"actioncable disconnect "unauthorized" reconnect false"#
        );
    }

    #[test]
    fn subscribe_is_answered_by_its_confirmation() {
        let s = dec(
            Dir::C2S,
            "{\n  \"identifier\": \"{\\\"channel\\\":\\\"ChatChannel\\\",\\\"id\\\":42}\",\n  \"command\": \"subscribe\"\n}",
        )
        .unwrap();
        assert_eq!(s.kind, "subscribe");
        assert_eq!(s.topic.as_deref(), Some("ChatChannel"));
        assert_eq!(s.summary, r#"actioncable subscribe "ChatChannel" {"id":42}"#);
        let id = r#"{"channel":"ChatChannel","id":42}"#.to_string();
        assert_eq!(s.corr, Corr::Request(id.clone()));
        // The JSON inside the string, decoded.
        assert_eq!(s.tree["identifier"]["channel"], "ChatChannel");
        assert_eq!(s.tree["identifier"]["id"], 42);
        let c = dec(
            Dir::S2C,
            "{\n  \"identifier\": \"{\\\"channel\\\":\\\"ChatChannel\\\",\\\"id\\\":42}\",\n  \"type\": \"confirm_subscription\"\n}",
        )
        .unwrap();
        assert_eq!(c.kind, "confirm_subscription");
        assert_eq!(
            c.summary,
            r#"actioncable confirm_subscription "ChatChannel" {"id":42}"#
        );
        assert_eq!(c.corr, Corr::Response { id, last: true });
        let r = dec(
            Dir::S2C,
            r#"{"identifier":"{\"channel\":\"ChatChannel\",\"id\":42}","type":"reject_subscription"}"#,
        )
        .unwrap();
        assert_eq!(r.kind, "reject_subscription");
        assert!(matches!(r.corr, Corr::Response { .. }));
        let u = dec(
            Dir::C2S,
            "{\n  \"identifier\": \"{\\\"channel\\\":\\\"ChatChannel\\\",\\\"id\\\":42}\",\n  \"command\": \"unsubscribe\"\n}",
        )
        .unwrap();
        assert_eq!(u.kind, "unsubscribe");
        // No confirmation comes for it.
        assert_eq!(u.corr, Corr::None);
    }

    #[test]
    fn actions_broadcasts_and_pings() {
        let a = dec(
            Dir::C2S,
            "{\n  \"identifier\": \"{\\\"channel\\\":\\\"ChatChannel\\\",\\\"id\\\":42}\",\n  \"command\": \"message\",\n  \"data\": \"{\\\"action\\\":\\\"speak\\\",\\\"text\\\":\\\"hello!\\\"}\"\n}",
        )
        .unwrap();
        assert_eq!(a.kind, "message");
        assert_eq!(a.event.as_deref(), Some("speak"));
        assert_eq!(a.topic.as_deref(), Some("ChatChannel"));
        assert_eq!(
            a.summary,
            r#"actioncable message "ChatChannel" {"id":42} action "speak" {"text":"hello!"}"#
        );
        assert_eq!(a.tree["data"]["text"], "hello!");
        let b = dec(
            Dir::S2C,
            r#"{"identifier":"{\"channel\":\"ChatChannel\",\"id\":42}","message":{"text":"hello!"}}"#,
        )
        .unwrap();
        assert_eq!(b.kind, "broadcast");
        assert_eq!(
            b.summary,
            r#"actioncable broadcast "ChatChannel" {"id":42} {"text":"hello!"}"#
        );
        // The doc's `{ "type": "ping", "message": <Time.now.to_i>}`, with a time.
        let p = dec(Dir::S2C, r#"{ "type": "ping", "message": 1700000000}"#).unwrap();
        assert_eq!(p.summary, "actioncable ping 1700000000");
    }

    #[test]
    fn secrets_in_identifiers_and_data_are_redacted() {
        let a = dec(
            Dir::C2S,
            r#"{"command":"message","identifier":"{\"channel\":\"C\",\"token\":\"s3cret\"}","data":"{\"action\":\"login\",\"password\":\"hunter2\"}"}"#,
        )
        .unwrap();
        assert_eq!(a.tree["identifier"]["token"], "<redacted, 6 chars>");
        assert_eq!(a.tree["data"]["password"], "<redacted, 7 chars>");
        assert!(
            !a.summary.contains("s3cret") && !a.summary.contains("hunter2"),
            "{}",
            a.summary
        );
        let b = dec(
            Dir::S2C,
            r#"{"identifier":"{\"channel\":\"C\"}","message":{"apiKey":"k-123"}}"#,
        )
        .unwrap();
        assert_eq!(b.tree["message"]["apiKey"], "<redacted, 5 chars>");
        assert!(!b.summary.contains("k-123"), "{}", b.summary);
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in [
            r#"{"type":"hello"}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"confirm_subscription"}"#,
            r#"{"type":"disconnect","reconnect":"no"}"#,
            r#"{"command":"subscribe"}"#,
            r#"{"command":"message","identifier":"{}"}"#,
            r#"{"command":"message","identifier":"{}","data":"not json"}"#,
            r#"{"command":"perform","identifier":"{}"}"#,
            r#"{"command":"subscribe","identifier":"{}","extra":1}"#,
            r#"{"identifier":"{}"}"#,
            r#"[1,2]"#,
            "{",
        ] {
            assert!(dec(Dir::C2S, bad).is_err(), "{bad}");
        }
        assert!(!is_welcome(
            &serde_json::from_str(r#"{"type":"welcome","x":1}"#).unwrap()
        ));
    }
}
