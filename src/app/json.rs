//! JSON helpers the decoders share: parsing a message, short renderings for
//! summaries, and redaction of secrets in trees.

use serde_json::Value;

pub use super::scan::Raw;
use super::scan::{Members, ScanError, is_secret_bytes, scan};

/// A JSON document's top level with its members left unparsed (borrowed
/// from the message): a decoder needs a few small members, and the rest is
/// validated but never built (building every value was 7× the cost of the
/// whole JSON Lines dump of a JSON-RPC capture).
pub struct Top<'a> {
    pub members: Members<'a>,
    /// Some key at any depth may name a secret: see [`super::json_tree`].
    pub secret_key: bool,
}

/// The top level of `data`, which must be a whole JSON object or array.
pub fn top(data: &[u8]) -> Result<Top<'_>, String> {
    top_of(data).map_err(|e| match e {
        Some(e) => format!("not JSON: {e}"),
        None => "not a whole JSON object or array (it does not start with { and end with }, or [ and ])"
            .to_string(),
    })
}

/// [`top`] without a reason put into words (most messages tried as generic
/// JSON are not: formatting why was a quarter of a text dump).
pub fn top_of(data: &[u8]) -> Result<Top<'_>, Option<ScanError>> {
    // A document that does not end as it starts is not one: text cut
    // short, or two documents, is ruled out without parsing.
    let last = data.iter().rev().find(|b| !b.is_ascii_whitespace());
    match (data.iter().find(|b| !b.is_ascii_whitespace()), last) {
        (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']')) => {}
        _ => return Err(None),
    }
    let text = simdutf8::basic::from_utf8(data).map_err(|_| {
        Some(ScanError {
            at: 0,
            what: "not UTF-8",
        })
    })?;
    let s = scan(text).map_err(Some)?;
    Ok(Top {
        members: s.members,
        secret_key: s.secret_key,
    })
}

impl<'a> Top<'a> {
    /// The member named `k` (the last, when a key repeats, as parsers
    /// that build a map keep it).
    pub fn get(&self, k: &str) -> Option<Raw<'a>> {
        match &self.members {
            Members::Object(m) => m.iter().rev().find(|(key, _)| key_is(key, k)).map(|(_, v)| *v),
            Members::Array(_) => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self.members, Members::Object(_))
    }
}

/// Whether a raw key (between its quotes, still escaped) is `k`.
fn key_is(raw: &str, k: &str) -> bool {
    if raw.contains('\\') {
        serde_json::from_str::<String>(&format!("\"{raw}\"")).is_ok_and(|d| d == k)
    } else {
        raw == k
    }
}

/// A member as a string, if it is one.
pub fn raw_str(r: Raw<'_>) -> Option<String> {
    let t = r.get();
    let inner = t.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(t).ok()
    } else {
        Some(inner.to_string())
    }
}

/// An id (number or string) as the correlation table keys it.
pub fn raw_id(r: Raw<'_>) -> Option<String> {
    let t = r.get();
    if t.starts_with('"') {
        raw_str(r)
    } else if t
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'e' || b == b'E' || b == b'+')
    {
        serde_json::from_str::<serde_json::Number>(t)
            .ok()
            .map(|n| n.to_string())
    } else {
        None
    }
}

pub fn raw_is_null(r: Raw<'_>) -> bool {
    r.get() == "null"
}

/// A member for a summary, as its JSON text (whitespace folded), cut at
/// `max` characters: nothing is built.
pub fn raw_short(r: Raw<'_>, max: usize) -> String {
    let t = r.get();
    // A member holding a secret key is built and redacted (see [`short`]).
    if t.starts_with(['{', '[']) && super::scan::scan(t).is_ok_and(|s| s.secret_key) {
        return serde_json::from_str::<Value>(t).map_or_else(|_| cut(t, max), |v| short(&v, max));
    }
    if t.bytes().any(|b| matches!(b, b'\n' | b'\r' | b'\t')) {
        let folded: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
        return cut(&folded, max);
    }
    cut(t, max)
}

/// Where `r` lies in `data` (it was parsed from it).
pub fn span_in(data: &[u8], r: Raw<'_>) -> Option<(usize, usize)> {
    let start = (r.get().as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
    let end = start.checked_add(r.get().len())?;
    (end <= data.len()).then_some((start, end))
}

/// A text message as JSON, or why not.
pub fn parse(data: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))
}

/// A value for a one-line summary: strings quoted, the rest compact, cut
/// at `max` characters.
///
/// Secrets are redacted here too: summaries are read where trees are.
pub fn short(v: &Value, max: usize) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        v if holds_secret(v) => {
            let mut v = v.clone();
            redact(&mut v);
            v.to_string()
        }
        v => v.to_string(),
    };
    cut(&s, max)
}

/// Whether [`redact`] would change `v`.
fn holds_secret(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| (is_secret_key(k) && !v.is_null()) || holds_secret(v)),
        Value::Array(a) => a.iter().any(holds_secret),
        _ => false,
    }
}

/// `s` cut to `max` characters, with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A name or id from the wire for a one-line summary: as it is when it is
/// a plain token, quoted and escaped when it is empty or holds spaces or
/// control characters.
pub fn word(s: &str) -> String {
    if !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"') {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// An id as the correlation table keys it: numbers and strings alike.
pub fn id_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Keys whose values are secrets: shown as their kind and length only.
fn is_secret_key(k: &str) -> bool {
    is_secret_bytes(k.as_bytes())
}

/// Replaces secret values (by key) anywhere in `v` with `"<redacted, N
/// chars>"`: decoded trees are read in terminals and logs; the raw payload
/// stays where it always was (`text`, `data_hex`).
pub fn redact(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                if is_secret_key(k) && !val.is_null() {
                    let n = match &*val {
                        Value::String(s) => s.chars().count(),
                        other => other.to_string().len(),
                    };
                    *val = Value::String(format!("<redacted, {n} chars>"));
                } else {
                    redact(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_by_key_anywhere() {
        let mut v: Value =
            serde_json::from_str(r#"{"user":"a","password":"hunter2","nested":[{"authToken":"xyz"}]}"#)
                .unwrap();
        redact(&mut v);
        assert_eq!(v["user"], "a");
        assert_eq!(v["password"], "<redacted, 7 chars>");
        assert_eq!(v["nested"][0]["authToken"], "<redacted, 3 chars>");
    }

    #[test]
    fn summaries_hide_secrets_as_trees_do() {
        let v: Value = serde_json::from_str(r#"{"auth":{"token":"t0k3n"},"msg":"hi"}"#).unwrap();
        let s = short(&v, 200);
        assert!(!s.contains("t0k3n") && s.contains("<redacted, 5 chars>"), "{s}");
        let text = r#"{"password":"hunter2","ok":true}"#;
        let batch = format!("[{text}]");
        let raw = scan(&batch).unwrap();
        let Members::Array(a) = raw.members else { panic!() };
        let s = raw_short(a[0], 200);
        assert!(!s.contains("hunter2") && s.contains("<redacted, 7 chars>"), "{s}");
        assert_eq!(short(&Value::from("token"), 10), "\"token\"");
    }

    #[test]
    fn words_stay_on_one_line() {
        assert_eq!(word("abc-1"), "abc-1");
        assert_eq!(word("a\nb"), "\"a\\nb\"");
        assert_eq!(word(""), "\"\"");
    }

    #[test]
    fn short_cuts_on_characters() {
        assert_eq!(short(&Value::String("héllo".into()), 4), "\"hél…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
