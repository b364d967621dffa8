//! JSON-RPC 2.0 (Ethereum nodes, LSP over WebSocket, many RPC libraries)
//! and the Chrome DevTools Protocol, which is JSON-RPC without the version
//! member and with events (`method` without `id`).

use super::json::{Top, raw_id, raw_is_null, raw_short, raw_str, span_in, top};
use super::scan::Members;
use super::{AppDecoder, AppMessage, Corr, json_tree};
use crate::model::Dir;

#[derive(Debug)]
pub struct JsonRpc {
    cdp: bool,
}

impl JsonRpc {
    pub fn plain() -> Self {
        JsonRpc { cdp: false }
    }

    pub fn cdp() -> Self {
        JsonRpc { cdp: true }
    }

    fn protocol(&self) -> &'static str {
        if self.cdp { "cdp" } else { "json-rpc" }
    }

    /// One request, notification, response or error object: `o`, at `span`
    /// of the message `data`.
    fn one(&self, data: &[u8], span: (usize, usize), o: &Top<'_>) -> Result<AppMessage, String> {
        let proto = self.protocol();
        if !o.is_object() {
            return Err(format!("{proto}: not an object"));
        }
        if !self.cdp && o.get("jsonrpc").and_then(raw_str).as_deref() != Some("2.0") {
            return Err("json-rpc: no \"jsonrpc\":\"2.0\" member".into());
        }
        let id = match o.get("id").filter(|i| !raw_is_null(*i)) {
            Some(i) => {
                Some(raw_id(i).ok_or_else(|| format!("{proto}: id is neither a number nor a string"))?)
            }
            None => None,
        };
        let method = match o.get("method") {
            Some(m) => Some(raw_str(m).ok_or_else(|| format!("{proto}: method is not a string"))?),
            None => None,
        };
        let mut m = AppMessage {
            protocol: proto,
            id: id.clone(),
            method: method.clone(),
            ..AppMessage::default()
        };
        let id_txt = id.as_deref().map(|i| format!(" id {i}")).unwrap_or_default();
        match (method, id) {
            (Some(name), Some(id)) => {
                m.kind = if self.cdp { "command" } else { "request" }.into();
                m.summary = format!("{proto} {} {name:?}{id_txt}", m.kind);
                m.corr = Corr::Request(id);
            }
            (Some(name), None) => {
                m.kind = if self.cdp { "event" } else { "notification" }.into();
                if self.cdp {
                    m.event = m.method.take();
                }
                m.summary = format!("{proto} {} {name:?}", m.kind);
            }
            (None, id) => {
                if let Some(e) = o.get("error") {
                    let e =
                        top(e.get().as_bytes()).map_err(|_| format!("{proto}: error is not an object"))?;
                    let code = e.get("code").map(|c| c.get().to_string()).unwrap_or_default();
                    let msg = e.get("message").and_then(raw_str).unwrap_or_default();
                    m.kind = "error".into();
                    m.summary = format!("{proto} error {code} {msg:?}{id_txt}");
                } else if let Some(r) = o.get("result") {
                    m.kind = if self.cdp { "result" } else { "response" }.into();
                    m.summary = format!("{proto} {}{id_txt} {}", m.kind, raw_short(r, 40));
                } else {
                    return Err(format!("{proto}: neither a method, a result nor an error"));
                }
                if let Some(id) = id {
                    m.corr = Corr::Response { id, last: true };
                }
            }
        }
        json_tree(data, span, o.secret_key, &mut m);
        Ok(m)
    }
}

impl AppDecoder for JsonRpc {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        if !text {
            return Err(format!("{}: a binary message", self.protocol()));
        }
        let doc = top(data)?;
        match &doc.members {
            // A batch (JSON-RPC only): every member decoded, or none.
            Members::Array(items) if !self.cdp => {
                if items.is_empty() {
                    return Err("json-rpc: an empty batch".into());
                }
                let mut found = Vec::with_capacity(items.len());
                for &item in items {
                    let span = span_in(data, item).ok_or("json-rpc: a batch member out of place")?;
                    let o = top(item.get().as_bytes())
                        .map_err(|_| "json-rpc: a batch member is not an object")?;
                    found.push(self.one(data, span, &o)?);
                }
                out.extend(found);
            }
            _ => out.push(self.one(data, (0, data.len()), &doc)?),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(d: &mut JsonRpc, s: &str) -> Result<Vec<AppMessage>, String> {
        let mut out = Vec::new();
        d.decode(Dir::C2S, s.as_bytes(), true, &mut out).map(|_| out)
    }

    #[test]
    fn requests_responses_errors_notifications_batches() {
        let mut d = JsonRpc::plain();
        let r = dec(
            &mut d,
            r#"{"jsonrpc":"2.0","id":4,"method":"eth_call","params":[]}"#,
        )
        .unwrap();
        assert_eq!(r[0].kind, "request");
        assert_eq!(r[0].summary, "json-rpc request \"eth_call\" id 4");
        assert_eq!(r[0].corr, Corr::Request("4".into()));
        let r = dec(&mut d, r#"{"jsonrpc":"2.0","id":4,"result":"0x1"}"#).unwrap();
        assert_eq!(r[0].summary, "json-rpc response id 4 \"0x1\"");
        assert_eq!(
            r[0].corr,
            Corr::Response {
                id: "4".into(),
                last: true
            }
        );
        let r = dec(
            &mut d,
            r#"{"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"Method not found"}}"#,
        )
        .unwrap();
        assert_eq!(r[0].summary, "json-rpc error -32601 \"Method not found\" id a");
        let r = dec(&mut d, r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#).unwrap();
        assert_eq!(r[0].kind, "notification");
        assert_eq!(r[0].corr, Corr::None);
        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"a"}, {"jsonrpc":"2.0","method":"b"}]"#;
        let r = dec(&mut d, batch).unwrap();
        assert_eq!(r.len(), 2);
        // Each member's tree is its own span of the message.
        assert_eq!(
            r[1].tree_of(batch.as_bytes()),
            serde_json::json!({"jsonrpc":"2.0","method":"b"})
        );
        assert!(dec(&mut d, r#"{"id":1,"method":"a"}"#).is_err());
        assert!(dec(&mut d, r#"[{"jsonrpc":"2.0","id":1,"method":"a"},3]"#).is_err());
        assert!(dec(&mut d, "not json").is_err());
    }

    #[test]
    fn secrets_make_a_redacted_tree() {
        let mut d = JsonRpc::plain();
        let s = r#"{"jsonrpc":"2.0","id":1,"method":"login","params":{"user":"u","password":"p4ss"}}"#;
        let r = dec(&mut d, s).unwrap();
        assert_eq!(r[0].raw_tree, None);
        assert_eq!(r[0].tree["params"]["password"], "<redacted, 4 chars>");
        let plain = r#"{"jsonrpc":"2.0","id":2,"method":"sum","params":[1,2]}"#;
        let r = dec(&mut d, plain).unwrap();
        assert_eq!(r[0].raw_tree, Some((0, plain.len())));
    }

    #[test]
    fn devtools_commands_results_and_events() {
        let mut d = JsonRpc::cdp();
        let r = dec(
            &mut d,
            r#"{"id":3,"method":"Runtime.evaluate","params":{"expression":"1+1"}}"#,
        )
        .unwrap();
        assert_eq!(r[0].summary, "cdp command \"Runtime.evaluate\" id 3");
        let r = dec(
            &mut d,
            r#"{"id":3,"result":{"result":{"type":"number","value":2}}}"#,
        )
        .unwrap();
        assert_eq!(r[0].kind, "result");
        let r = dec(
            &mut d,
            r#"{"method":"Page.loadEventFired","params":{"timestamp":1}}"#,
        )
        .unwrap();
        assert_eq!(r[0].event.as_deref(), Some("Page.loadEventFired"));
        assert_eq!(r[0].method, None);
    }
}
