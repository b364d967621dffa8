//! GraphQL over WebSocket: `graphql-transport-ws` (the `graphql-ws`
//! library's protocol) and the legacy `graphql-ws` subprotocol of
//! subscriptions-transport-ws. Both are JSON objects with a `type`, an
//! operation `id` and a `payload`; an operation is answered by results
//! (`next` / `data`) and ended by `complete` or `error`.

use super::json::{cut, parse, redact};
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::Value;

#[derive(Debug)]
pub struct Graphql {
    legacy: bool,
}

impl Graphql {
    pub fn transport_ws() -> Self {
        Graphql { legacy: false }
    }

    pub fn legacy() -> Self {
        Graphql { legacy: true }
    }

    fn protocol(&self) -> &'static str {
        if self.legacy {
            "graphql-ws"
        } else {
            "graphql-transport-ws"
        }
    }

    /// What each type means: the start of an operation, one of its
    /// results, its end, or neither.
    fn role(&self, t: &str, dir: Dir) -> Option<Role> {
        Some(match (self.legacy, t) {
            (false, "subscribe") | (true, "start") => Role::Start,
            (false, "next") | (true, "data") => Role::Result,
            (_, "error") => Role::End,
            // The server's complete ends an operation; the client's
            // cancels one (graphql-transport-ws uses one name for both).
            (false, "complete") if dir == Dir::S2C => Role::End,
            (true, "complete") => Role::End,
            (false, "complete") | (true, "stop") => Role::Other,
            (false, "connection_init" | "connection_ack" | "ping" | "pong") => Role::Other,
            (
                true,
                "connection_init" | "connection_ack" | "connection_error" | "ka" | "connection_terminate",
            ) => Role::Other,
            _ => return None,
        })
    }
}

enum Role {
    Start,
    Result,
    End,
    Other,
}

impl AppDecoder for Graphql {
    fn decode(&mut self, dir: Dir, data: &[u8], text: bool, out: &mut Vec<AppMessage>) -> Result<(), String> {
        let proto = self.protocol();
        if !text {
            return Err(format!("{proto}: a binary message"));
        }
        let v = parse(data)?;
        let t = v
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{proto}: no \"type\""))?;
        let role = self
            .role(t, dir)
            .ok_or_else(|| format!("{proto}: unknown message type {t:?}"))?;
        let id = v.get("id").and_then(super::json::id_key);
        let mut m = AppMessage {
            protocol: proto,
            kind: t.to_string(),
            id: id.clone(),
            ..AppMessage::default()
        };
        let id_txt = id.as_deref().map(|i| format!(" id {i}")).unwrap_or_default();
        m.summary = format!("{proto} {t}{id_txt}");
        let payload = v.get("payload");
        match role {
            Role::Start => {
                let id = id.ok_or_else(|| format!("{proto}: {t} without an id"))?;
                let p = payload.ok_or_else(|| format!("{proto}: {t} without a payload"))?;
                let query = p.get("query").and_then(Value::as_str).unwrap_or_default();
                let op = p
                    .get("operationName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| operation_name(query));
                m.method = Some(op.clone());
                m.summary.push_str(&format!(" {op:?}"));
                m.corr = Corr::Request(id);
            }
            Role::Result | Role::End => {
                if let Some(id) = id {
                    m.corr = Corr::Response {
                        id,
                        last: matches!(role, Role::End),
                    };
                }
                if let Some(p) = payload {
                    if let Some(errs) = p.as_array().or_else(|| p.get("errors").and_then(Value::as_array))
                        && let Some(msg) = errs
                            .first()
                            .and_then(|e| e.get("message"))
                            .and_then(Value::as_str)
                    {
                        m.summary.push_str(&format!(" error {:?}", cut(msg, 60)));
                    } else if let Some(d) = p.get("data") {
                        m.summary.push(' ');
                        m.summary.push_str(&super::json::short(d, 50));
                    }
                }
            }
            Role::Other => {}
        }
        let mut tree = v;
        redact(&mut tree);
        m.tree = tree;
        out.push(m);
        Ok(())
    }
}

/// The operation's name from its document (`query Hello { … }` → `Hello`),
/// else its kind and first field (`subscription { counter }`).
fn operation_name(query: &str) -> String {
    let q = query.trim();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let first_field = |s: &str| ident(s.split_once('{').map_or("", |(_, r)| r.trim_start()));
    for kind in ["query", "mutation", "subscription"] {
        if let Some(rest) = q.strip_prefix(kind)
            && !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            let name = ident(rest.trim_start());
            return if name.is_empty() {
                format!("{kind} {}", first_field(rest)).trim().to_string()
            } else {
                name
            };
        }
    }
    // Shorthand: `{ hello }` is a query.
    format!("query {}", first_field(q)).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(d: &mut Graphql, dir: Dir, s: &str) -> Result<AppMessage, String> {
        let mut out = Vec::new();
        d.decode(dir, s.as_bytes(), true, &mut out).map(|_| out.remove(0))
    }

    #[test]
    fn an_operation_from_subscribe_to_complete() {
        let mut d = Graphql::transport_ws();
        let s = dec(
            &mut d,
            Dir::C2S,
            r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { counter }"}}"#,
        )
        .unwrap();
        assert_eq!(
            s.summary,
            r#"graphql-transport-ws subscribe id 1 "subscription counter""#
        );
        assert_eq!(s.corr, Corr::Request("1".into()));
        let n = dec(
            &mut d,
            Dir::S2C,
            r#"{"id":"1","type":"next","payload":{"data":{"counter":1}}}"#,
        )
        .unwrap();
        assert_eq!(
            n.corr,
            Corr::Response {
                id: "1".into(),
                last: false
            }
        );
        assert_eq!(n.summary, r#"graphql-transport-ws next id 1 {"counter":1}"#);
        let c = dec(&mut d, Dir::S2C, r#"{"id":"1","type":"complete"}"#).unwrap();
        assert_eq!(
            c.corr,
            Corr::Response {
                id: "1".into(),
                last: true
            }
        );
        // The client's complete cancels: no answer to anything.
        let c = dec(&mut d, Dir::C2S, r#"{"id":"2","type":"complete"}"#).unwrap();
        assert_eq!(c.corr, Corr::None);
        let e = dec(
            &mut d,
            Dir::S2C,
            r#"{"id":"3","type":"error","payload":[{"message":"boom"}]}"#,
        )
        .unwrap();
        assert_eq!(e.summary, r#"graphql-transport-ws error id 3 error "boom""#);
        assert!(dec(&mut d, Dir::C2S, r#"{"type":"start","id":"1"}"#).is_err());
    }

    #[test]
    fn the_legacy_protocol_and_operation_names() {
        let mut d = Graphql::legacy();
        let s = dec(
            &mut d,
            Dir::C2S,
            r#"{"id":"1","type":"start","payload":{"query":"query Hello { hello }"}}"#,
        )
        .unwrap();
        assert_eq!(s.method.as_deref(), Some("Hello"));
        assert_eq!(
            dec(&mut d, Dir::S2C, r#"{"type":"ka"}"#).unwrap().corr,
            Corr::None
        );
        assert_eq!(operation_name("{ hello }"), "query hello");
        assert_eq!(operation_name("mutation { add(x: 1) }"), "mutation add");
    }
}
