//! JSON helpers the decoders share: parsing a message, short renderings for
//! summaries, and redaction of secrets in trees.

use serde_json::Value;

/// A text message as JSON, or why not.
pub fn parse(data: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))
}

/// A value for a one-line summary: strings quoted, the rest compact, cut
/// at `max` characters.
pub fn short(v: &Value, max: usize) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        v => v.to_string(),
    };
    cut(&s, max)
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
    let k = k.to_ascii_lowercase().replace(['-', '_'], "");
    matches!(
        k.as_str(),
        "password"
            | "passcode"
            | "passwd"
            | "secret"
            | "token"
            | "accesstoken"
            | "refreshtoken"
            | "authtoken"
            | "idtoken"
            | "apikey"
            | "authorization"
            | "cookie"
            | "sessionid"
            | "clientsecret"
    )
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
