//! Kubernetes exec and attach streams over WebSocket (the API server's
//! `/api/v1/namespaces/NS/pods/POD/exec|attach`, kubectl and client
//! libraries): the channel subprotocols of apimachinery's wsstream
//! (`k8s.io/apimachinery/pkg/util/httpstream/wsstream/doc.go`) and of
//! KEP-4006 (`v5.channel.k8s.io`).
//!
//! `channel.k8s.io` and `v2`…`v5.channel.k8s.io`: binary messages whose
//! first byte is the channel: 0 stdin, 1 stdout, 2 stderr, 3 error (from
//! v4 a JSON `metav1.Status`, before it plain text), 4 resize (JSON
//! `{"Width":…,"Height":…}`), and in v5 255 close (the second byte names
//! the channel closed). `base64.channel.k8s.io` and
//! `v4.base64.channel.k8s.io`: text messages, the channel as a digit
//! character and the data in base64. Which framing a message uses follows
//! from its opcode, so one decoder reads both.

use super::json::{cut, redact, word};
use super::{AppDecoder, AppMessage};
use crate::model::Dir;
use base64::Engine;
use serde_json::{Value, json};

#[derive(Debug, Default)]
pub struct Kube;

/// The name of a channel.
fn channel_name(c: u8) -> Option<&'static str> {
    Some(match c {
        0 => "stdin",
        1 => "stdout",
        2 => "stderr",
        3 => "status",
        4 => "resize",
        255 => "close",
        _ => return None,
    })
}

/// Bytes kept as hex in the tree when they are not text.
const HEX_BYTES: usize = 64;

/// Stream bytes for a summary: the text escaped (no control character
/// reaches a terminal), cut; a length when not UTF-8.
fn preview(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => cut(&format!("{s:?}"), 60),
        Err(_) => format!("({} bytes, binary)", b.len()),
    }
}

fn message(channel: u8, payload: &[u8], base64: bool) -> Result<AppMessage, String> {
    let kind = channel_name(channel).ok_or_else(|| format!("kubernetes: unknown channel {channel}"))?;
    let mut m = AppMessage {
        protocol: "kubernetes",
        kind: kind.into(),
        ..AppMessage::default()
    };
    let mut tree = json!({ "channel": channel, "name": kind, "bytes": payload.len() });
    if base64 {
        tree["encoding"] = json!("base64");
    }
    match kind {
        "close" => {
            let [c] = payload else {
                return Err(format!(
                    "kubernetes: a close signal of {} bytes (one names the channel)",
                    payload.len()
                ));
            };
            let name = channel_name(*c).unwrap_or("unknown");
            m.summary = format!("kubernetes close {name} (channel {c})");
            tree["closed"] = json!(c);
            tree["closed_name"] = json!(name);
        }
        "resize" => {
            let v: Value = serde_json::from_slice(payload)
                .map_err(|e| format!("kubernetes: a resize that is not JSON: {e}"))?;
            let (Some(w), Some(h)) = (
                v.get("Width").and_then(Value::as_u64),
                v.get("Height").and_then(Value::as_u64),
            ) else {
                return Err("kubernetes: a resize without Width and Height numbers".into());
            };
            m.summary = format!("kubernetes resize {w}x{h}");
            tree["size"] = v;
        }
        "status" => {
            // v4 and v5: a metav1.Status; before: the error as text.
            match serde_json::from_slice::<Value>(payload) {
                Ok(mut v) if v.is_object() => {
                    redact(&mut v);
                    let status = v.get("status").and_then(Value::as_str).unwrap_or("?");
                    m.summary = format!("kubernetes status {}", word(status));
                    if let Some(r) = v.get("reason").and_then(Value::as_str) {
                        m.summary.push_str(&format!(" {}", word(r)));
                    }
                    let code = v
                        .pointer("/details/causes")
                        .and_then(Value::as_array)
                        .and_then(|c| {
                            c.iter()
                                .find(|c| c.get("reason").and_then(Value::as_str) == Some("ExitCode"))
                        })
                        .and_then(|c| c.get("message"))
                        .and_then(Value::as_str);
                    if let Some(c) = code {
                        m.summary.push_str(&format!(" exit code {}", word(c)));
                    }
                    if let Some(msg) = v.get("message").and_then(Value::as_str) {
                        m.summary.push_str(&format!(" {}", cut(&format!("{msg:?}"), 100)));
                    }
                    tree["status"] = v;
                }
                _ => m.summary = format!("kubernetes status {}", preview(payload)),
            }
        }
        _ => {
            m.summary = if payload.is_empty() {
                format!("kubernetes {kind} (empty)")
            } else {
                format!("kubernetes {kind} {} {}", payload.len(), preview(payload))
            };
        }
    }
    // The bytes themselves, but for the signals read above.
    if matches!(kind, "stdin" | "stdout" | "stderr") || (kind == "status" && tree.get("status").is_none()) {
        match std::str::from_utf8(payload) {
            Ok(s) => tree["text"] = json!(s),
            Err(_) => tree["hex"] = json!(hex::encode(payload.get(..HEX_BYTES).unwrap_or(payload))),
        }
    }
    m.tree = tree;
    Ok(m)
}

impl AppDecoder for Kube {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        let m = if text {
            let (c, rest) = data.split_first().ok_or("kubernetes: an empty message")?;
            if !c.is_ascii_digit() {
                return Err(format!(
                    "kubernetes: a text message not starting with a channel digit ({:?})",
                    char::from(*c)
                ));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .map_err(|e| format!("kubernetes: channel {} data is not base64: {e}", char::from(*c)))?;
            message(c - b'0', &bytes, true)?
        } else {
            let (c, rest) = data.split_first().ok_or("kubernetes: an empty message")?;
            message(*c, rest, false)?
        };
        out.push(m);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(data: &[u8], text: bool) -> Result<AppMessage, String> {
        let mut out = Vec::new();
        Kube.decode(Dir::C2S, data, text, &mut out).map(|_| out.remove(0))
    }

    /// wsstream/doc.go, "channel.k8s.io" example client session:
    /// `WRITE []byte{0, 102, 111, 111, 10}` (stdin "foo\n") and
    /// `READ []byte{1, 10}` (stdout "\n").
    #[test]
    fn the_binary_example_session() {
        let w = dec(&[0, 102, 111, 111, 10], false).unwrap();
        assert_eq!(w.kind, "stdin");
        assert_eq!(w.summary, r#"kubernetes stdin 4 "foo\n""#);
        assert_eq!(w.tree["channel"], 0);
        assert_eq!(w.tree["bytes"], 4);
        assert_eq!(w.tree["text"], "foo\n");
        let r = dec(&[1, 10], false).unwrap();
        assert_eq!(r.kind, "stdout");
        assert_eq!(r.summary, r#"kubernetes stdout 1 "\n""#);
    }

    /// wsstream/doc.go, "base64.channel.k8s.io" example client session:
    /// `WRITE []byte{48, 90, 109, 57, 118, 67, 103, 111, 61}` and
    /// `READ []byte{49, 67, 103, 61, 61}`. The doc's comment calls the first
    /// "foo\n", but its bytes ("0Zm9vCgo=") decode to "foo\n\n".
    #[test]
    fn the_base64_example_session() {
        let w = dec(&[48, 90, 109, 57, 118, 67, 103, 111, 61], true).unwrap();
        assert_eq!(w.kind, "stdin");
        assert_eq!(w.tree["text"], "foo\n\n");
        assert_eq!(w.tree["encoding"], "base64");
        let r = dec(&[49, 67, 103, 61, 61], true).unwrap();
        assert_eq!(r.kind, "stdout");
        assert_eq!(r.tree["text"], "\n");
        let e = dec(b"2ZXJyb3IK", true).unwrap();
        assert_eq!(e.kind, "stderr");
        assert_eq!(e.summary, r#"kubernetes stderr 6 "error\n""#);
    }

    #[test]
    fn status_resize_and_close() {
        // v4: the exit of a command as a metav1.Status (remotecommand's
        // NonZeroExitCode status, as the API server writes it).
        let mut m = vec![3u8];
        m.extend_from_slice(br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#);
        let s = dec(&m, false).unwrap();
        assert_eq!(s.kind, "status");
        assert!(
            s.summary
                .starts_with("kubernetes status Failure NonZeroExitCode exit code 3 \"command terminated"),
            "{}",
            s.summary
        );
        assert_eq!(s.tree["status"]["reason"], "NonZeroExitCode");
        let mut ok = vec![3u8];
        ok.extend_from_slice(br#"{"metadata":{},"status":"Success"}"#);
        assert_eq!(dec(&ok, false).unwrap().summary, "kubernetes status Success");
        // Before v4 the error channel is text.
        let t = dec(b"\x03container not found", false).unwrap();
        assert_eq!(t.summary, r#"kubernetes status "container not found""#);
        assert_eq!(t.tree["text"], "container not found");
        assert_eq!(dec(b"\x03\xff", false).unwrap().tree["hex"], "ff");
        let r = dec(b"\x04{\"Width\":80,\"Height\":24}", false).unwrap();
        assert_eq!(r.kind, "resize");
        assert_eq!(r.summary, "kubernetes resize 80x24");
        assert_eq!(r.tree["size"]["Width"], 80);
        // v5 (KEP-4006): 255 then the channel closed.
        let c = dec(&[255, 0], false).unwrap();
        assert_eq!(c.kind, "close");
        assert_eq!(c.summary, "kubernetes close stdin (channel 0)");
        // The empty message a server writes on each channel when it opens.
        assert_eq!(dec(&[2], false).unwrap().summary, "kubernetes stderr (empty)");
        // Not text: a length and hex.
        let b = dec(&[1, 0xff, 0xfe, 0x00], false).unwrap();
        assert_eq!(b.summary, "kubernetes stdout 3 (3 bytes, binary)");
        assert_eq!(b.tree["hex"], "fffe00");
    }

    #[test]
    fn malformed_messages_are_errors() {
        let mut out = Vec::new();
        for (bad, text) in [
            (&b""[..], false),
            (b"\x07abc", false),
            (b"\xff", false),
            (b"\xff\x00\x01", false),
            (b"\x04{\"Width\":80}", false),
            (b"\x04not json", false),
            (b"0not base64!", true),
            (b"xZm9v", true),
            (b"", true),
            (b"7Zm9v", true),
        ] {
            assert!(Kube.decode(Dir::S2C, bad, text, &mut out).is_err(), "{bad:?}");
        }
        assert!(out.is_empty());
    }
}
