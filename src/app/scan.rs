//! One pass over a JSON text (RFC 8259) that validates all of it, keeps the
//! spans of the top level's members, and notes whether any key anywhere
//! could name a secret.
//!
//! Why our own: the decoders need only the top level's few members, the
//! rest of a document must be proven valid (its text is copied into the
//! JSON Lines output as the decoded tree) but never built, and redaction
//! needs to know whether a secret key occurs at all. With `serde_json`
//! that was three passes (validation with a map of the top level, a scan
//! of the keys, the copy) and most of what decoding cost; here it is one,
//! as fast as `serde_json` skips a value alone (SIMD JSON crates measured
//! no faster on the dense small objects of real protocols).

/// A JSON value's text, proven valid, borrowed from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    pub fn get(&self) -> &'a str {
        self.0
    }
}

/// Why a text is not JSON: what was wrong, and at which byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanError {
    pub at: usize,
    pub what: &'static str,
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

/// The top level of a scanned document.
#[derive(Debug)]
pub enum Members<'a> {
    /// Keys (raw, between the quotes, still escaped) and values, in order.
    Object(Vec<(&'a str, Raw<'a>)>),
    Array(Vec<Raw<'a>>),
}

/// What one pass found.
#[derive(Debug)]
pub struct Scanned<'a> {
    pub members: Members<'a>,
    /// Some key, at any depth, names a secret (or has an escape in it,
    /// which could hide one): the tree must go through redaction.
    pub secret_key: bool,
}

/// Containers deeper than this are refused (as `serde_json` does), so a
/// hostile message cannot make the stack grow.
const MAX_DEPTH: usize = 128;

/// Scans `text`, which must be one object or array with only whitespace
/// around it.
pub fn scan(text: &str) -> Result<Scanned<'_>, ScanError> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
        secret: false,
        open: Vec::new(),
    };
    s.ws();
    let members = match s.peek() {
        Some(b'{') => {
            s.i += 1;
            let mut m = Vec::new();
            s.ws();
            if s.peek() == Some(b'}') {
                s.i += 1;
            } else {
                loop {
                    let key = s.key()?;
                    s.ws();
                    s.expect(b':', "expected ':' after a key")?;
                    s.ws();
                    let start = s.i;
                    s.value()?;
                    m.push((slice(text, key.0, key.1), Raw(slice(text, start, s.i))));
                    s.ws();
                    match s.next() {
                        Some(b',') => s.ws(),
                        Some(b'}') => break,
                        _ => return Err(s.err_back("expected ',' or '}' after a member")),
                    }
                }
            }
            Members::Object(m)
        }
        Some(b'[') => {
            s.i += 1;
            let mut m = Vec::new();
            s.ws();
            if s.peek() == Some(b']') {
                s.i += 1;
            } else {
                loop {
                    let start = s.i;
                    s.value()?;
                    m.push(Raw(slice(text, start, s.i)));
                    s.ws();
                    match s.next() {
                        Some(b',') => s.ws(),
                        Some(b']') => break,
                        _ => return Err(s.err_back("expected ',' or ']' after an element")),
                    }
                }
            }
            Members::Array(m)
        }
        _ => return Err(s.err("not an object or an array")),
    };
    s.ws();
    if s.i != s.b.len() {
        return Err(s.err("text after the document"));
    }
    Ok(Scanned {
        members,
        secret_key: s.secret,
    })
}

/// `text[a..b]`; the scanner only cuts at ASCII bytes, so always whole.
fn slice(text: &str, a: usize, b: usize) -> &str {
    text.get(a..b).unwrap_or_default()
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    secret: bool,
    /// Whether each container open inside the current value is an object
    /// (kept between values: one allocation per document).
    open: Vec<bool>,
}

/// Whether a byte of `w` is `"`, `\` or a control character (which a
/// string must escape): eight bytes at a time. The lowest flagged byte is
/// exact; bytes above it may be false alarms, and only the lowest is used.
fn special(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero(w ^ (ONES * b'"' as u64));
    let slash = zero(w ^ (ONES * b'\\' as u64));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    quote | slash | control
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }

    fn err(&self, what: &'static str) -> ScanError {
        ScanError { at: self.i, what }
    }

    fn err_back(&self, what: &'static str) -> ScanError {
        ScanError {
            at: self.i.saturating_sub(1),
            what,
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), ScanError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    /// A key: a string, checked against the secret names. Returns the span
    /// between its quotes.
    fn key(&mut self) -> Result<(usize, usize), ScanError> {
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a key (a string)"));
        }
        let start = self.i + 1;
        let escaped = self.string()?;
        let end = self.i - 1;
        // An escape could hide a secret name; none is shorter than five
        // letters ("token").
        if escaped
            || (!self.secret
                && end - start >= 5
                && is_secret_bytes(self.b.get(start..end).unwrap_or_default()))
        {
            self.secret = true;
        }
        Ok((start, end))
    }

    /// A string from its opening quote to just past its closing one;
    /// whether it had an escape.
    fn string(&mut self) -> Result<bool, ScanError> {
        self.i += 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time to the next byte that matters.
            while let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
                let hit = special(w);
                if hit != 0 {
                    self.i += (hit.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            match self.next() {
                Some(b'"') => return Ok(escaped),
                Some(b'\\') => {
                    escaped = true;
                    match self.next() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        Some(b'u') => {
                            for _ in 0..4 {
                                if !self.next().is_some_and(|c| c.is_ascii_hexdigit()) {
                                    return Err(self.err_back("a \\u escape without four hex digits"));
                                }
                            }
                        }
                        _ => return Err(self.err_back("an invalid escape in a string")),
                    }
                }
                Some(0..0x20) => return Err(self.err_back("a control character in a string")),
                Some(_) => {}
                None => return Err(self.err("a string that does not end")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), ScanError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("a number without digits")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("a number with no digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("a number with no digit in its exponent"));
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), ScanError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("expected a value"))
        }
    }

    /// One whole value, however deep, without recursion.
    fn value(&mut self) -> Result<(), ScanError> {
        let mut open = std::mem::take(&mut self.open);
        open.clear();
        let r = self.value_in(&mut open);
        self.open = open;
        r
    }

    fn value_in(&mut self, open: &mut Vec<bool>) -> Result<(), ScanError> {
        'value: loop {
            match self.peek() {
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'{') => {
                    if open.len() >= MAX_DEPTH {
                        return Err(self.err("nested deeper than 128"));
                    }
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                    } else {
                        open.push(true);
                        self.key()?;
                        self.ws();
                        self.expect(b':', "expected ':' after a key")?;
                        self.ws();
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    if open.len() >= MAX_DEPTH {
                        return Err(self.err("nested deeper than 128"));
                    }
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        open.push(false);
                        continue 'value;
                    }
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.err("expected a value")),
            }
            // A value ended: close containers until one goes on.
            loop {
                let Some(&object) = open.last() else { return Ok(()) };
                self.ws();
                match (self.next(), object) {
                    (Some(b','), true) => {
                        self.ws();
                        self.key()?;
                        self.ws();
                        self.expect(b':', "expected ':' after a key")?;
                        self.ws();
                        continue 'value;
                    }
                    (Some(b','), false) => {
                        self.ws();
                        continue 'value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        open.pop();
                    }
                    (_, true) => return Err(self.err_back("expected ',' or '}' in an object")),
                    (_, false) => return Err(self.err_back("expected ',' or ']' in an array")),
                }
            }
        }
    }
}

/// Whether a key names a secret ([`super::json::redact`] hides its value),
/// without building a string: lowercased, `-` and `_`
/// dropped, into a small buffer (no secret name is longer).
pub(super) fn is_secret_bytes(k: &[u8]) -> bool {
    let mut buf = [0u8; 16];
    let mut n = 0;
    for &b in k {
        if b == b'-' || b == b'_' {
            continue;
        }
        let Some(slot) = buf.get_mut(n) else { return false };
        *slot = b.to_ascii_lowercase();
        n += 1;
    }
    matches!(
        buf.get(..n).unwrap_or_default(),
        b"password"
            | b"passcode"
            | b"passwd"
            | b"secret"
            | b"token"
            | b"accesstoken"
            | b"refreshtoken"
            | b"authtoken"
            | b"idtoken"
            | b"apikey"
            | b"authorization"
            | b"cookie"
            | b"sessionid"
            | b"clientsecret"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agrees(t: &str) {
        let ours = scan(t);
        let theirs = serde_json::from_str::<serde::de::IgnoredAny>(t);
        let container = matches!(t.trim_start().as_bytes().first(), Some(b'{' | b'['));
        assert_eq!(
            ours.is_ok(),
            theirs.is_ok() && container,
            "{t:?}: ours {:?}, serde_json {:?}",
            ours.err(),
            theirs.err()
        );
    }

    #[test]
    fn valid_and_invalid_as_serde_json_says() {
        for t in [
            "{}",
            "[]",
            " { \"a\" : [1, -2.5e+3, 0, true, false, null, \"x\\u00e9\\n\"], \"b\": {\"c\": {}} } ",
            "[[[[]]],{}]",
            "{\"a\":1,}",
            "[1,]",
            "[01]",
            "[1.]",
            "[1e]",
            "[-]",
            "[\"a\tb\"]",
            "[\"\\x\"]",
            "[\"\\u12G4\"]",
            "{\"a\" 1}",
            "{1:2}",
            "[tru]",
            "[nul]",
            "[true false]",
            "{} {}",
            "[1] x",
            "{\"a\":[}",
            "{\"a\":{]}",
            "[\"é ✓ 😀\"]",
            "[\"unterminated",
            "\"just a string\"",
            "42",
            "",
        ] {
            agrees(t);
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(scan(&deep).is_err());
        agrees(&("[".repeat(100) + &"]".repeat(100)));
    }

    #[test]
    fn mutated_documents_judged_as_serde_json_judges_them() {
        // Every one-byte change (replaced, dropped, doubled) of documents
        // that use every part of the grammar: thousands of near
        // misses, each judged as serde_json judges it.
        let docs = [
            r#"{"a":[1,-2.5e+3,0,true,false,null,"x\u00e9\n\"\\"],"b":{"c":{}},"d":[]}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"m","params":[0.5,-0,1E9]}, "s", 7]"#,
        ];
        let alphabet = b"{}[]:,\" \t\n\\/ueE+-.0123456789abcdefnrtlsx\x01\x7f";
        for doc in docs {
            let b = doc.as_bytes();
            for i in 0..b.len() {
                for &c in alphabet {
                    let mut m = b.to_vec();
                    m[i] = c;
                    agrees(std::str::from_utf8(&m).unwrap());
                }
                let mut m = b.to_vec();
                m.remove(i);
                agrees(std::str::from_utf8(&m).unwrap());
                let mut m = b.to_vec();
                m.insert(i, b[i]);
                agrees(std::str::from_utf8(&m).unwrap());
            }
        }
    }

    #[test]
    fn members_and_spans() {
        let t = r#" {"a": [1, 2] , "b\"c":"x", "a": null} "#;
        let s = scan(t).unwrap();
        let Members::Object(m) = s.members else { panic!() };
        let got: Vec<(&str, &str)> = m.iter().map(|(k, v)| (*k, v.get())).collect();
        assert_eq!(got, [("a", "[1, 2]"), ("b\\\"c", "\"x\""), ("a", "null")]);
        assert!(s.secret_key, "an escaped key counts as a candidate");
        let s = scan("[ {\"k\":1} ,2]").unwrap();
        let Members::Array(m) = s.members else { panic!() };
        assert_eq!(m.iter().map(|r| r.get()).collect::<Vec<_>>(), ["{\"k\":1}", "2"]);
        assert!(!s.secret_key);
    }

    #[test]
    fn secret_keys_at_any_depth() {
        assert!(scan(r#"{"a":[{"b":{"Pass-Word":1}}]}"#).unwrap().secret_key);
        assert!(scan(r#"[{"api_key":"x"}]"#).unwrap().secret_key);
        assert!(!scan(r#"{"user":"password","tokens":[1]}"#).unwrap().secret_key);
    }

    #[test]
    fn strings_with_specials_at_every_offset() {
        // The eight-byte skip must stop at a quote, a backslash or a
        // control byte wherever it falls in a word.
        for pad in 0..20 {
            let p = "x".repeat(pad);
            assert!(scan(&format!("[\"{p}\"]")).is_ok());
            assert!(scan(&format!("[\"{p}\\\"{p}\"]")).is_ok());
            assert!(scan(&format!("[\"{p}\u{1}\"]")).is_err(), "{pad}");
            assert!(scan(&format!("[\"{p}é\u{7f}\"]")).is_ok());
            assert!(scan(&format!("[\"{p}")).is_err());
        }
    }
}
