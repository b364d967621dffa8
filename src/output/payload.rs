//! `--payload full|none|N`: how much of each payload a record keeps.
//!
//! Lean output for scripts that want the protocol's shape, not its bytes:
//! JSON Lines keeps the first N payload bytes (or none, or all), the text
//! timeline previews N characters (or none, or all). One type for both, so
//! `dump` and `export` parse the flag the same way.

use std::fmt;
use std::str::FromStr;

/// How much payload each record keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PayloadLimit {
    /// Every byte (JSON Lines' default, as before the flag existed).
    #[default]
    Full,
    /// No payload at all: JSON Lines leaves out `payload_hex`, `text` and
    /// `data_hex`; the text timeline prints no preview.
    None,
    /// The first N bytes (JSON Lines; text messages cut on a character
    /// boundary) or N characters of preview (text timeline).
    Bytes(usize),
}

impl PayloadLimit {
    /// `bytes` kept under this limit, and whether anything was cut off;
    /// `None` when the payload is left out altogether.
    pub fn cut_bytes(self, bytes: &[u8]) -> Option<(&[u8], bool)> {
        match self {
            PayloadLimit::Full => Some((bytes, false)),
            PayloadLimit::None => None,
            PayloadLimit::Bytes(n) => match bytes.get(..n) {
                Some(head) if head.len() < bytes.len() => Some((head, true)),
                _ => Some((bytes, false)),
            },
        }
    }

    /// [`PayloadLimit::cut_bytes`] for text: at most N bytes, ending on a
    /// character boundary (a cut never splits a character, so the kept
    /// text may be a few bytes shorter than N).
    pub fn cut_str(self, s: &str) -> Option<(&str, bool)> {
        match self {
            PayloadLimit::Full => Some((s, false)),
            PayloadLimit::None => None,
            PayloadLimit::Bytes(n) if n >= s.len() => Some((s, false)),
            PayloadLimit::Bytes(mut n) => {
                while n > 0 && !s.is_char_boundary(n) {
                    n -= 1;
                }
                Some((s.get(..n).unwrap_or_default(), true))
            }
        }
    }

    /// The text timeline's preview width in characters: `default` when the
    /// flag is not given, 0 (no preview) for `none`, unbounded for `full`.
    pub fn preview_chars(limit: Option<PayloadLimit>, default: usize) -> usize {
        match limit {
            None => default,
            Some(PayloadLimit::Full) => usize::MAX,
            Some(PayloadLimit::None) => 0,
            Some(PayloadLimit::Bytes(n)) => n,
        }
    }
}

impl FromStr for PayloadLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(PayloadLimit::Full),
            "none" => Ok(PayloadLimit::None),
            n => n
                .parse()
                .map(PayloadLimit::Bytes)
                .map_err(|_| format!("expected full, none or a number of bytes (e.g. 64), not {n:?}")),
        }
    }
}

impl fmt::Display for PayloadLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadLimit::Full => f.write_str("full"),
            PayloadLimit::None => f.write_str("none"),
            PayloadLimit::Bytes(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for s in ["full", "none", "0", "64"] {
            assert_eq!(
                s.parse::<PayloadLimit>().map(|l| l.to_string()),
                Ok(s.to_string())
            );
        }
        assert!("-1".parse::<PayloadLimit>().is_err());
        assert!("all".parse::<PayloadLimit>().is_err());
    }

    #[test]
    fn cuts() {
        let b = PayloadLimit::Bytes(4);
        assert_eq!(b.cut_bytes(b"abcdef"), Some((&b"abcd"[..], true)));
        assert_eq!(b.cut_bytes(b"abcd"), Some((&b"abcd"[..], false)));
        assert_eq!(PayloadLimit::None.cut_bytes(b"ab"), None);
        assert_eq!(PayloadLimit::Full.cut_bytes(b"ab"), Some((&b"ab"[..], false)));
        // "hé€" is 1 + 2 + 3 bytes: 4 bytes end inside €, so 3 are kept.
        assert_eq!(b.cut_str("hé€"), Some(("hé", true)));
        assert_eq!(PayloadLimit::Bytes(6).cut_str("hé€"), Some(("hé€", false)));
        assert_eq!(PayloadLimit::Bytes(0).cut_str("é"), Some(("", true)));
        assert_eq!(PayloadLimit::Bytes(0).cut_bytes(b""), Some((&b""[..], false)));
    }
}
