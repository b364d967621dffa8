//! STOMP 1.0–1.2 frames (`COMMAND`, `header:value` lines, a blank line, the
//! body, NUL), alone or inside SockJS framing (`o` open, `h` heartbeat,
//! `a[...]` messages, `c[code,reason]` close; the client sends `[...]`).
//! A frame with a `receipt` header is answered by a `RECEIPT` whose
//! `receipt-id` names it.

use super::json::{cut, redact};
use super::{AppDecoder, AppMessage, Corr};
use crate::model::Dir;
use serde_json::{Map, Value, json};

const COMMANDS: [&str; 15] = [
    "CONNECT",
    "STOMP",
    "CONNECTED",
    "SEND",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "ACK",
    "NACK",
    "BEGIN",
    "COMMIT",
    "ABORT",
    "DISCONNECT",
    "MESSAGE",
    "RECEIPT",
    "ERROR",
];

#[derive(Debug)]
pub struct Stomp {
    sockjs: bool,
}

impl Stomp {
    pub fn plain() -> Self {
        Stomp { sockjs: false }
    }

    pub fn in_sockjs() -> Self {
        Stomp { sockjs: true }
    }

    fn sockjs(&self, s: &str, out: &mut Vec<AppMessage>) -> Result<(), String> {
        let sj = |kind: &str, summary: String, tree: Value| AppMessage {
            protocol: "sockjs",
            kind: kind.into(),
            summary,
            tree,
            ..AppMessage::default()
        };
        match s.as_bytes().first() {
            Some(b'o') if s.len() == 1 => out.push(sj("open", "sockjs open".into(), json!({"type":"open"}))),
            Some(b'h') if s.len() == 1 => out.push(sj(
                "heartbeat",
                "sockjs heartbeat".into(),
                json!({"type":"heartbeat"}),
            )),
            Some(b'c') => {
                let v: Value = serde_json::from_str(s.get(1..).unwrap_or_default())
                    .map_err(|e| format!("sockjs: close frame is not JSON: {e}"))?;
                out.push(sj(
                    "close",
                    format!("sockjs close {v}"),
                    json!({"type":"close","data":v}),
                ));
            }
            // `a[...]` from the server, `[...]` from the client.
            Some(b'a' | b'[') => {
                let body = s.strip_prefix('a').unwrap_or(s);
                let msgs: Vec<String> = serde_json::from_str(body)
                    .map_err(|e| format!("sockjs: not an array of strings: {e}"))?;
                for msg in msgs {
                    out.push(frame(&msg)?);
                }
            }
            _ => return Err(format!("sockjs: unknown frame {:?}", cut(s, 20))),
        }
        Ok(())
    }
}

/// One STOMP frame (or a heart-beat: end-of-line only).
fn frame(s: &str) -> Result<AppMessage, String> {
    if s.trim_matches(['\r', '\n']).is_empty() && !s.is_empty() {
        return Ok(AppMessage {
            protocol: "stomp",
            kind: "heart-beat".into(),
            summary: "stomp heart-beat".into(),
            tree: json!({"command":"heart-beat"}),
            ..AppMessage::default()
        });
    }
    // Frames may be preceded by heart-beat EOLs.
    let s = s.trim_start_matches(['\r', '\n']);
    let body_end = s.find('\0').ok_or("stomp: no NUL ends the frame")?;
    if !s
        .get(body_end + 1..)
        .unwrap_or_default()
        .trim_matches(['\r', '\n'])
        .is_empty()
    {
        return Err("stomp: bytes after the frame's NUL".into());
    }
    let frame = s.get(..body_end).unwrap_or_default();
    let (head, body) = frame
        .split_once("\n\n")
        .or_else(|| frame.split_once("\r\n\r\n"))
        .ok_or("stomp: no blank line after the headers")?;
    let mut lines = head.lines();
    let command = lines.next().unwrap_or_default().trim_end_matches('\r');
    if !COMMANDS.contains(&command) {
        return Err(format!("stomp: unknown command {:?}", cut(command, 20)));
    }
    let escaped = !matches!(command, "CONNECT" | "CONNECTED");
    let mut headers = Map::new();
    for line in lines {
        let line = line.trim_end_matches('\r');
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("stomp: header without a colon: {:?}", cut(line, 30)))?;
        let (k, v) = if escaped {
            (unescape(k)?, unescape(v)?)
        } else {
            (k.to_string(), v.to_string())
        };
        // Repeated headers: the first counts (STOMP 1.2 §Repeated Header Entries).
        headers.entry(k).or_insert(Value::String(v));
    }
    let h = |k: &str| headers.get(k).and_then(Value::as_str).map(str::to_string);
    let mut m = AppMessage {
        protocol: "stomp",
        kind: command.into(),
        ..AppMessage::default()
    };
    m.summary = format!("stomp {command}");
    if let Some(d) = h("destination") {
        m.summary.push_str(&format!(" {d}"));
        m.topic = Some(d);
    }
    if let Some(sub) = h("subscription").or_else(|| if command == "SUBSCRIBE" { h("id") } else { None }) {
        m.summary.push_str(&format!(" sub {sub}"));
    }
    match command {
        "RECEIPT" => {
            let id = h("receipt-id").ok_or("stomp: RECEIPT without receipt-id")?;
            m.summary.push_str(&format!(" {id}"));
            m.id = Some(id.clone());
            m.corr = Corr::Response { id, last: true };
        }
        "ERROR" => {
            if let Some(msg) = h("message") {
                m.summary.push_str(&format!(" {:?}", cut(&msg, 60)));
            }
            // An ERROR answers the frame whose receipt it names.
            if let Some(id) = h("receipt-id") {
                m.id = Some(id.clone());
                m.corr = Corr::Response { id, last: true };
            }
        }
        "CONNECT" | "STOMP" => {
            if let Some(host) = h("host") {
                m.summary.push_str(&format!(" host {host}"));
            }
        }
        _ => {}
    }
    if let Some(r) = h("receipt") {
        m.summary.push_str(&format!(" receipt {r}"));
        m.id = Some(r.clone());
        m.corr = Corr::Request(r);
    }
    if !body.is_empty() {
        // A JSON body reads best as JSON; other text quoted, as it is.
        let shown = match serde_json::from_str::<Value>(body) {
            Ok(v) if v.is_object() || v.is_array() => super::json::short(&v, 40),
            _ => format!("\"{}\"", cut(body, 40)),
        };
        m.summary.push(' ');
        m.summary.push_str(&shown);
    }
    let mut tree = json!({ "command": command, "headers": Value::Object(headers), "body": body });
    redact(&mut tree);
    m.tree = tree;
    Ok(m)
}

/// STOMP 1.2 header escapes: `\r`, `\n`, `\c` (colon), `\\`.
fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match it.next() {
            Some('r') => '\r',
            Some('n') => '\n',
            Some('c') => ':',
            Some('\\') => '\\',
            other => return Err(format!("stomp: undefined escape \\{}", other.unwrap_or(' '))),
        });
    }
    Ok(out)
}

impl AppDecoder for Stomp {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        let proto = if self.sockjs { "sockjs" } else { "stomp" };
        if !text {
            return Err(format!("{proto}: a binary message"));
        }
        let s = std::str::from_utf8(data).map_err(|_| format!("{proto}: text is not UTF-8"))?;
        let mut found = Vec::new();
        if self.sockjs {
            self.sockjs(s, &mut found)?;
        } else {
            found.push(frame(s)?);
        }
        out.extend(found);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(d: &mut Stomp, s: &str) -> Result<Vec<AppMessage>, String> {
        let mut out = Vec::new();
        d.decode(Dir::C2S, s.as_bytes(), true, &mut out).map(|_| out)
    }

    #[test]
    fn frames_receipts_and_heartbeats() {
        let mut d = Stomp::plain();
        let m = dec(
            &mut d,
            "SEND\ndestination:/queue/a\nreceipt:7\ncontent-type:text/plain\n\nhello\0",
        )
        .unwrap();
        assert_eq!(m[0].summary, "stomp SEND /queue/a receipt 7 \"hello\"");
        assert_eq!(m[0].corr, Corr::Request("7".into()));
        let r = dec(&mut d, "RECEIPT\nreceipt-id:7\n\n\0\n").unwrap();
        assert_eq!(
            r[0].corr,
            Corr::Response {
                id: "7".into(),
                last: true
            }
        );
        assert_eq!(dec(&mut d, "\n").unwrap()[0].kind, "heart-beat");
        let c = dec(
            &mut d,
            "CONNECT\naccept-version:1.2\nhost:h\nlogin:u\npasscode:secret\n\n\0",
        )
        .unwrap();
        assert_eq!(c[0].tree["headers"]["passcode"], "<redacted, 6 chars>");
        let e = dec(&mut d, "MESSAGE\ndestination:/a\\cb\nsubscription:0\n\nx\0").unwrap();
        assert_eq!(e[0].topic.as_deref(), Some("/a:b"));
        assert!(dec(&mut d, "SEND\ndestination:/q\n\nno nul").is_err());
        assert!(dec(&mut d, "FOO\n\n\0").is_err());
    }

    #[test]
    fn stomp_inside_sockjs() {
        let mut d = Stomp::in_sockjs();
        assert_eq!(dec(&mut d, "o").unwrap()[0].kind, "open");
        assert_eq!(dec(&mut d, "h").unwrap()[0].kind, "heartbeat");
        let m = dec(
            &mut d,
            r#"a["MESSAGE\ndestination:/t\nsubscription:s1\n\nhi\u0000","\n"]"#,
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].kind, "MESSAGE");
        assert_eq!(m[1].kind, "heart-beat");
        let c = dec(&mut d, r#"["SUBSCRIBE\nid:s1\ndestination:/t\n\n\u0000"]"#).unwrap();
        assert_eq!(c[0].summary, "stomp SUBSCRIBE /t sub s1");
        assert_eq!(dec(&mut d, r#"c[3000,"Go away!"]"#).unwrap()[0].kind, "close");
        assert!(dec(&mut d, "x").is_err());
    }
}
