//! Finding credentials in what the peers sent: headers, URL query
//! parameters, JSON fields of messages, JSON Web Tokens anywhere, and how
//! they are shown (redacted unless `--show-secrets`).

use base64::Engine;
use regex::Regex;
use std::sync::LazyLock;

/// A credential seen in the traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// Where it was: `Authorization header`, `query parameter token`,
    /// `JSON field password`, `JWT in message`...
    pub place: String,
    pub value: String,
}

/// `value` as a report shows it: its first 4 characters and its length,
/// or all of it with `show`. Never more than 4 characters of a secret
/// shorter than 16 characters... nor of a longer one.
pub fn redact(value: &str, show: bool) -> String {
    if show {
        return value.to_string();
    }
    let n = value.chars().count();
    let head: String = value.chars().take(if n >= 12 { 4 } else { 0 }).collect();
    format!("{head}…<redacted, {n} chars>")
}

/// Names of query parameters and headers that carry credentials, beyond
/// the JSON keys redaction knows ([`crate::app::is_secret_name`]).
fn is_credential_name(name: &str) -> bool {
    is_credential_bytes(name.as_bytes())
}

/// [`is_credential_name`] on bytes: lowercased without `-` and `_`, and
/// without an `X-` header prefix, into a small buffer (no name it accepts
/// is longer), then one match. It runs on every key of every JSON message.
fn is_credential_bytes(raw: &[u8]) -> bool {
    let raw = match raw {
        [b'x' | b'X', b'-', rest @ ..] if !rest.is_empty() => rest,
        _ => raw,
    };
    let mut buf = [0u8; 16];
    let mut n = 0;
    for &b in raw {
        if b == b'-' || b == b'_' {
            continue;
        }
        let Some(slot) = buf.get_mut(n) else {
            return false;
        };
        *slot = b.to_ascii_lowercase();
        n += 1;
    }
    let norm = buf.get(..n).unwrap_or_default();
    matches!(
        norm,
        b"jwt"
            | b"auth"
            | b"pwd"
            | b"pass"
            | b"sid"
            | b"session"
            | b"sessiontoken"
            | b"bearer"
            | b"accesskey"
            | b"privatekey"
            | b"apitoken"
            | b"authtoken"
            | b"csrftoken"
            | b"xsrftoken"
            | b"signature"
            | b"sig"
            | b"credentials"
    ) || crate::app::is_secret_name(norm)
}

/// Percent-decodes a query component (`+` is a space), lossy.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => match b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(c),
            },
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Credentials in a request target's query: parameters with a credential's
/// name, and any value that is a JWT.
pub fn query_secrets(target: &str) -> Vec<Secret> {
    let Some((_, query)) = target.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or_default();
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (unescape(name), unescape(value));
        if value.is_empty() {
            continue;
        }
        if is_credential_name(&name) || find_jwts(&value).next().is_some() {
            out.push(Secret {
                place: format!("query parameter {}", &name.to_string()),
                value,
            });
        }
    }
    out
}

/// Credentials in request headers: `Authorization`, `Cookie`, headers
/// named like a token (`X-Auth-Token`, `X-Api-Key`), and JWTs or bearer
/// tokens offered as a subprotocol (as Kubernetes does).
pub fn header_secrets(headers: &[(String, String)]) -> Vec<Secret> {
    let mut out = Vec::new();
    for (name, value) in headers {
        if value.trim().is_empty() {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if lower == "cookie" {
            out.extend(session_cookies(value));
            continue;
        }
        let credential = match lower.as_str() {
            "authorization" | "proxy-authorization" => true,
            "sec-websocket-protocol" => {
                value.contains("bearer.authorization") || find_jwts(value).next().is_some()
            }
            "sec-websocket-key" | "sec-websocket-accept" => false,
            _ => is_credential_name(&lower),
        };
        if credential {
            out.push(Secret {
                place: format!("{name} header"),
                value: value.clone(),
            });
        }
    }
    out
}

/// The cookies of a `Cookie` header that look like sessions or tokens
/// (`session`, `sid`, `PHPSESSID`, `auth`, `jwt`, ...; not analytics
/// cookies such as `_ga` or `__utma`, which identify no login).
fn session_cookies(header: &str) -> Vec<Secret> {
    let mut out = Vec::new();
    for pair in header.split(';') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (name.trim(), value.trim());
        let lower = name.to_ascii_lowercase();
        let session = is_credential_name(name)
            || [
                "sess", "sid", "auth", "token", "jwt", "login", "remember", "xsrf", "csrf",
            ]
            .iter()
            .any(|k| lower.contains(k));
        if session && !value.is_empty() {
            out.push(Secret {
                place: format!("Cookie {name}"),
                value: value.to_string(),
            });
        }
    }
    out
}

/// Whether `text` may hold a JWT (what a TLS connection's messages are
/// searched for when no compression oracle is at stake).
pub fn may_hold_jwt(text: &[u8]) -> bool {
    static JWT: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"eyJ"));
    JWT.find(text).is_some()
}

/// A cheap look before parsing: whether a message could hold a secret
/// field or a JWT at all (most messages cannot, and are not parsed).
pub fn may_hold_secret(text: &[u8]) -> bool {
    // A JWT starts with `eyJ`; a secret field is a key `json_secrets`
    // accepts, just before `":` (or `" :`). Both are found with memchr's
    // SIMD substring search: this runs on every text message, and a
    // case-insensitive scan of every byte cost as much as the rest of a
    // JSON Lines dump. (A key spelled with escapes, `"pass\u0077ord"`, is
    // not seen.)
    use memchr::memmem::Finder;
    static JWT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"eyJ"));
    static KEY_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\":"));
    static KEY_END_SPACED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\" :"));
    if JWT.find(text).is_some() {
        return true;
    }
    let key_before = |end: usize| -> bool {
        // Every accepted name ends in one of these two letters (case
        // aside): most keys are turned away by them alone.
        // A message may start with `":`: fewer than two bytes before it.
        let Some(&[a, b]) = end.checked_sub(2).and_then(|start| text.get(start..end)) else {
            return false;
        };
        let tail = [a | 0x20, b | 0x20];
        if !matches!(
            &tail,
            b"rd"
                | b"de"
                | b"wd"
                | b"et"
                | b"en"
                | b"ey"
                | b"on"
                | b"ie"
                | b"id"
                | b"wt"
                | b"th"
                | b"ss"
                | b"er"
                | b"re"
                | b"ig"
                | b"ls"
                | b"ns"
        ) {
            return false;
        }
        // No name `is_credential_name` accepts is longer than 18 bytes
        // (`x-` and 16), nor shorter than 3.
        let Some(window) = text.get(end.saturating_sub(20)..end) else {
            return false;
        };
        match memchr::memrchr(b'"', window) {
            Some(q) if window.len() - q > 3 => window.get(q + 1..).is_some_and(is_credential_bytes),
            _ => false,
        }
    };
    KEY_END.find_iter(text).any(key_before) || KEY_END_SPACED.find_iter(text).any(key_before)
}

/// Secrets in a JSON message: string (or number) values of keys naming a
/// secret, anywhere in the document; at most `max` of them.
pub fn json_secrets(text: &str, max: usize) -> Vec<Secret> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(&v, &mut out, max);
    out
}

fn walk(v: &serde_json::Value, out: &mut Vec<Secret>, max: usize) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            for (k, val) in o {
                if out.len() >= max {
                    return;
                }
                let value = match val {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
                match value {
                    Some(value) if is_credential_name(k) => out.push(Secret {
                        place: format!("JSON field {k}"),
                        value,
                    }),
                    _ => walk(val, out, max),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, out, max)),
        _ => {}
    }
}

/// JSON Web Tokens (JWS compact form, header and payload JSON objects) in `text`.
pub fn find_jwts(text: &str) -> impl Iterator<Item = &str> {
    static JWT: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*").ok());
    JWT.as_ref()
        .into_iter()
        .flat_map(move |re| re.find_iter(text).map(|m| m.as_str()))
}

/// What a JWT's header and claims say (decoded, never verified).
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    pub alg: Option<String>,
    /// `exp`, seconds since the epoch.
    pub exp: Option<f64>,
    pub has_signature: bool,
}

/// Decodes a JWT's header and payload; `None` when they are not base64url JSON objects.
pub fn decode_jwt(token: &str) -> Option<Jwt> {
    let mut parts = token.split('.');
    let (h, p, sig) = (parts.next()?, parts.next()?, parts.next().unwrap_or_default());
    let json = |part: &str| -> Option<serde_json::Map<String, serde_json::Value>> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    };
    let (header, claims) = (json(h)?, json(p)?);
    Some(Jwt {
        alg: header.get("alg").and_then(|a| a.as_str()).map(str::to_string),
        exp: claims.get("exp").and_then(|e| e.as_f64()),
        has_signature: !sig.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn query_tokens_are_found_by_name_and_shape() {
        let jwt = format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#), b64(r#"{"sub":"1"}"#));
        let s = query_secrets(&format!(
            "/ws?user=7&token=abc%2Fdef&room=x&jwt_x={jwt}&api_key=&q=1"
        ));
        let places: Vec<&str> = s.iter().map(|s| s.place.as_str()).collect();
        assert_eq!(places, ["query parameter token", "query parameter jwt_x"]);
        assert_eq!(s[0].value, "abc/def");
        assert!(
            query_secrets("/ws?user=7&room=token").is_empty(),
            "a value named token is not a token"
        );
        assert!(query_secrets("/ws").is_empty());
    }

    #[test]
    fn header_credentials() {
        let h = |n: &str, v: &str| (n.to_string(), v.to_string());
        let s = header_secrets(&[
            h("Host", "x"),
            h("Authorization", "Bearer abc"),
            h("Cookie", "_ga=GA1.2.3; session=1; __utma=4"),
            h("X-Auth-Token", "t"),
            h("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            h(
                "Sec-WebSocket-Protocol",
                "base64url.bearer.authorization.k8s.io.YWJj, channel.k8s.io",
            ),
            h("User-Agent", "token-bot"),
        ]);
        let places: Vec<&str> = s.iter().map(|s| s.place.as_str()).collect();
        assert_eq!(
            places,
            [
                "Authorization header",
                // Only the session cookie: _ga and __utma identify no login.
                "Cookie session",
                "X-Auth-Token header",
                "Sec-WebSocket-Protocol header"
            ]
        );
    }

    #[test]
    fn json_fields_and_jwts() {
        let s = json_secrets(
            r#"{"type":"login","user":"bob","password":"hunter2","nested":{"authToken":"x"},"n":[{"apiKey":42}]}"#,
            8,
        );
        let got: Vec<(&str, &str)> = s.iter().map(|s| (s.place.as_str(), s.value.as_str())).collect();
        assert_eq!(
            got,
            // In key order (serde_json's maps are sorted).
            [
                ("JSON field apiKey", "42"),
                ("JSON field authToken", "x"),
                ("JSON field password", "hunter2")
            ]
        );
        assert!(json_secrets(r#"{"password":""}"#, 8).is_empty());
        assert!(may_hold_secret(br#"{"Password":1}"#) && !may_hold_secret(br#"{"price":1}"#));
        assert!(may_hold_secret(br#"{"a":{"api_key" : "x"}}"#) && may_hold_secret(b"Bearer eyJhbGc"));
        // `":` at the very start or one byte in: nothing before it to read.
        for text in [&b"\":x"[..], b"a\":", b"\" :", b"\"", b""] {
            assert!(!may_hold_secret(text));
        }
        assert!(
            !may_hold_secret(br#"{"type":"password reset","token_count":3}"#),
            "values and other keys are not keys"
        );
        // The two-letter look-ahead keeps every name the full check accepts.
        for name in [
            "password",
            "passcode",
            "passwd",
            "secret",
            "token",
            "accessToken",
            "refresh_token",
            "authToken",
            "id_token",
            "apiKey",
            "Authorization",
            "cookie",
            "sessionId",
            "client_secret",
            "jwt",
            "auth",
            "pwd",
            "pass",
            "sid",
            "session",
            "sessionToken",
            "bearer",
            "access-key",
            "privateKey",
            "apiToken",
            "csrf_token",
            "XSRF-TOKEN",
            "signature",
            "sig",
            "credentials",
            "X-Api-Key",
        ] {
            assert!(is_credential_name(name), "{name}");
            assert!(
                may_hold_secret(format!(r#"{{"{name}":"v"}}"#).as_bytes()),
                "{name}"
            );
        }

        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(r#"{"sub":"1"}"#)
        );
        let text = format!(r#"{{"auth":"{none}"}}"#);
        let found: Vec<&str> = find_jwts(&text).collect();
        assert_eq!(found, [none.as_str()]);
        let j = decode_jwt(found[0]).unwrap();
        assert_eq!(
            (j.alg.as_deref(), j.exp, j.has_signature),
            (Some("none"), None, false)
        );
        let exp = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"HS256"}"#),
            b64(r#"{"exp":1700000000}"#)
        );
        assert_eq!(decode_jwt(&exp).unwrap().exp, Some(1_700_000_000.0));
        assert!(decode_jwt("eyJub3Q.eyJqc29u.x").is_none());
    }

    #[test]
    fn redaction_keeps_kind_and_length_only() {
        assert_eq!(redact("hunter2", false), "…<redacted, 7 chars>");
        assert_eq!(redact("SECRETTOKEN123", false), "SECR…<redacted, 14 chars>");
        assert_eq!(redact("hunter2", true), "hunter2");
    }
}
