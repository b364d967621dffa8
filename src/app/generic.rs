//! Payloads of no particular protocol, taken only when the bytes parse
//! completely as a format: a JSON object or array (a bare string or number
//! is too easily text that merely looks like JSON).

use super::json::{redact, short};
use super::{AppDecoder, AppMessage};
use crate::event::Dir;
use serde_json::Value;

#[derive(Debug)]
pub struct Generic;

impl AppDecoder for Generic {
    fn decode(
        &mut self,
        _dir: Dir,
        data: &[u8],
        text: bool,
        out: &mut Vec<AppMessage>,
    ) -> Result<(), String> {
        if !text {
            return Err("no generic format fits this binary message".into());
        }
        let first = data.iter().find(|b| !b.is_ascii_whitespace());
        if !matches!(first, Some(b'{' | b'[')) {
            return Err("not a JSON object or array".into());
        }
        let mut v: Value = serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))?;
        let kind = if v.is_object() { "object" } else { "array" };
        redact(&mut v);
        out.push(AppMessage {
            protocol: "json",
            kind: kind.into(),
            summary: format!("json {}", short(&v, 60)),
            tree: v,
            ..AppMessage::default()
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_arrays_only() {
        let mut out = Vec::new();
        assert!(
            Generic
                .decode(Dir::C2S, br#" {"a":[1,2]} "#, true, &mut out)
                .is_ok()
        );
        assert_eq!(out[0].summary, r#"json {"a":[1,2]}"#);
        for no in [&b"42"[..], b"\"s\"", b"{broken", b"hello", b"[1,2] x"] {
            assert!(Generic.decode(Dir::C2S, no, true, &mut out).is_err(), "{no:?}");
        }
        assert!(Generic.decode(Dir::C2S, b"{}", false, &mut out).is_err());
        assert_eq!(out.len(), 1);
    }
}
