//! OCPP-J (1.6, 2.0.1, 2.1): JSON arrays `[2, UniqueId, Action, payload]`
//! (CALL), `[3, UniqueId, payload]` (CALLRESULT), `[4, UniqueId, code,
//! description, details]` (CALLERROR), and in 2.1 `[5, …]` (CALLRESULTERROR)
//! and `[6, UniqueId, Action, payload]` (SEND, unanswered).

use super::json::{parse, redact, short};
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::Value;

#[derive(Debug)]
pub struct Ocpp;

/// A CALL: what opens an OCPP connection's traffic.
pub fn is_call(v: &Value) -> bool {
    let Some(a) = v.as_array() else { return false };
    a.len() == 4
        && a.first().and_then(Value::as_u64) == Some(2)
        && a.get(1).is_some_and(Value::is_string)
        && a.get(2)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        && a.get(3).is_some_and(Value::is_object)
}

impl AppDecoder for Ocpp {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        if !text {
            return Err("ocpp: a binary message".into());
        }
        let v = parse(data)?;
        let a = v.as_array().ok_or("ocpp: not a JSON array")?;
        let t = a
            .first()
            .and_then(Value::as_u64)
            .ok_or("ocpp: no message type number")?;
        let id = a
            .get(1)
            .and_then(Value::as_str)
            .ok_or("ocpp: the UniqueId is not a string")?
            .to_string();
        let mut m = AppMessage {
            protocol: "ocpp",
            id: Some(id.clone()),
            ..AppMessage::default()
        };
        match (t, a.len()) {
            (2 | 6, 4) => {
                let action = a
                    .get(2)
                    .and_then(Value::as_str)
                    .ok_or("ocpp: the action is not a string")?;
                if !a.get(3).is_some_and(Value::is_object) {
                    return Err("ocpp: the payload is not an object".into());
                }
                m.kind = if t == 2 { "CALL" } else { "SEND" }.into();
                m.method = Some(action.to_string());
                m.summary = format!("ocpp {} {action} id {id}", m.kind);
                if t == 2 {
                    m.corr = Corr::Request(id);
                }
            }
            (3, 3) => {
                m.kind = "CALLRESULT".into();
                m.summary = format!(
                    "ocpp CALLRESULT id {id} {}",
                    short(a.get(2).unwrap_or(&Value::Null), 50)
                );
                m.corr = Corr::Response { id, last: true };
            }
            (4 | 5, 5) => {
                let code = a
                    .get(2)
                    .and_then(Value::as_str)
                    .ok_or("ocpp: the error code is not a string")?;
                let desc = a.get(3).and_then(Value::as_str).unwrap_or_default();
                m.kind = if t == 4 { "CALLERROR" } else { "CALLRESULTERROR" }.into();
                m.summary = format!("ocpp {} id {id} {code} {desc:?}", m.kind);
                m.corr = Corr::Response { id, last: true };
            }
            (t, n) => return Err(format!("ocpp: message type {t} with {n} elements")),
        }
        let mut tree = v;
        redact(&mut tree);
        m.tree = tree;
        out.push(m);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<AppMessage, String> {
        let mut out = Vec::new();
        Ocpp.decode(Dir::C2S, s.as_bytes(), true, &mut out)
            .map(|_| out.remove(0))
    }

    #[test]
    fn calls_results_and_errors() {
        let c = dec(r#"[2,"19223201","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#)
            .unwrap();
        assert_eq!(c.summary, "ocpp CALL BootNotification id 19223201");
        assert_eq!(c.corr, Corr::Request("19223201".into()));
        let r = dec(
            r#"[3,"19223201",{"status":"Accepted","currentTime":"2013-02-01T20:53:32.486Z","interval":300}]"#,
        )
        .unwrap();
        assert_eq!(r.kind, "CALLRESULT");
        assert_eq!(
            r.corr,
            Corr::Response {
                id: "19223201".into(),
                last: true
            }
        );
        let e = dec(r#"[4,"1","NotImplemented","Requested Action is not known by receiver",{}]"#).unwrap();
        assert_eq!(
            e.summary,
            "ocpp CALLERROR id 1 NotImplemented \"Requested Action is not known by receiver\""
        );
        assert!(dec(r#"[2,"1","Heartbeat"]"#).is_err());
        assert!(dec(r#"[9,"1",{}]"#).is_err());
        assert!(dec(r#"{"a":1}"#).is_err());
    }
}
