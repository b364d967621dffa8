//! The selection language: what `--select EXPR` and the TUI's `f` filter
//! take.
//!
//! Terms are separated by spaces and all required: `conn:1,4`, `dir:s2c`,
//! `op:text,ping` (or `opcode:`), `is:violation`, `len>4k`, `rule:NAME`.
//! Every other word is free text: the words are joined with single spaces
//! into one regex over the payload text (lossy UTF-8), case-insensitive
//! unless it has a capital letter. A word that looks like `key:value` with
//! a key not listed above is an error rather than text — a typo (`dri:s2c`)
//! must not quietly become a search — so text with such a colon is written
//! `"foo:1"` (a quoted phrase, spaces kept) or `\foo:1` (a backslash before
//! what would be a term). `https://…` is text as it is.

use super::{Cmp, Is, Selection, Term, Unit, parse_dir, parse_opcode, smart_case_regex};
use crate::event::ConnId;

/// The keys, as error messages list them.
pub const KEYS: &str = "conn: dir: op: (or opcode:) is: len rule: proto: event: method: latency";

/// A parsed `--select` expression, with its text (to echo back when it
/// matched nothing).
#[derive(Clone, Debug)]
pub struct SelectExpr {
    pub text: String,
    pub selection: Selection,
}

impl SelectExpr {
    pub fn parse(text: &str) -> Result<SelectExpr, String> {
        Ok(SelectExpr {
            text: text.to_string(),
            selection: parse_expr(text)?,
        })
    }
}

/// A piece of the input: a bare word, or text that is text whatever it
/// looks like (a quoted phrase, or a word after a backslash).
enum Token<'a> {
    Word(&'a str),
    Text(&'a str),
}

/// Parses an expression into a [`Selection`] (of messages; callers set the
/// unit). The empty expression selects everything.
pub fn parse_expr(input: &str) -> Result<Selection, String> {
    let mut terms = Vec::new();
    let mut text: Vec<&str> = Vec::new();
    for token in tokens(input)? {
        match token {
            Token::Text(t) => text.push(t),
            Token::Word(w) => match term(w)? {
                Some(t) => terms.push(t),
                None => text.push(w),
            },
        }
    }
    if !text.is_empty() {
        let pat = text.join(" ");
        let re = smart_case_regex(&pat).map_err(|e| format!("bad regex: {e}"))?;
        terms.push(Term::Text(re));
    }
    Ok(Selection::from_terms(terms, Unit::Messages))
}

/// Splits on whitespace; `"…"` is one text token (up to the next `"`), and a
/// word `\X` where `X` would be read as a term is the text `X`.
fn tokens(input: &str) -> Result<Vec<Token<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            let Some(end) = after.find('"') else {
                return Err(format!(
                    "unclosed quote in {rest:?}: a quoted phrase ends with a second \""
                ));
            };
            let (phrase, tail) = after.split_at(end);
            if !phrase.is_empty() {
                out.push(Token::Text(phrase));
            }
            rest = tail.get(1..).unwrap_or_default().trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        match word.strip_prefix('\\') {
            Some(escaped) if looks_like_term(escaped) => out.push(Token::Text(escaped)),
            _ => out.push(Token::Word(word)),
        }
        rest = tail.trim_start();
    }
    Ok(out)
}

/// `key:…` (a letter, then letters, digits, `-`, `_`, then a colon), or `len`
/// or `latency` and a comparison.
fn looks_like_term(word: &str) -> bool {
    key_of(word).is_some() || len_of(word).is_some() || latency_of(word).is_some()
}

/// The operator and value of a `latency` word.
fn latency_of(word: &str) -> Option<(Cmp, &str)> {
    let head = word.get(..7)?;
    if !head.eq_ignore_ascii_case("latency") {
        return None;
    }
    let rest = word.get(7..)?;
    [(">=", Cmp::Ge), ("<=", Cmp::Le), (">", Cmp::Gt), ("<", Cmp::Lt)]
        .into_iter()
        .find_map(|(op, cmp)| rest.strip_prefix(op).map(|v| (cmp, v)))
}

/// A duration: a number and `s`, `ms`, `us` (or `µs`) or `ns`; seconds
/// without a unit.
fn parse_duration(v: &str) -> Option<f64> {
    let v = v.trim();
    let (num, scale) = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)]
        .into_iter()
        .find_map(|(u, k)| v.strip_suffix(u).map(|n| (n, k)))
        .unwrap_or((v, 1.0));
    let n: f64 = num.parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n * scale)
}

/// The key of a `key:value` word (lowercased) and its value. `scheme://…` is
/// not a key.
fn key_of(word: &str) -> Option<(String, &str)> {
    let (key, value) = word.split_once(':')?;
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    (first_ok && rest_ok && !value.starts_with("//")).then(|| (key.to_ascii_lowercase(), value))
}

/// The operator and value of a `len` word.
fn len_of(word: &str) -> Option<(Cmp, &str)> {
    let head = word.get(..3)?;
    if !head.eq_ignore_ascii_case("len") {
        return None;
    }
    let rest = word.get(3..)?;
    [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
        ("=", Cmp::Eq),
        (":", Cmp::Eq),
    ]
    .into_iter()
    .find_map(|(op, cmp)| rest.strip_prefix(op).map(|v| (cmp, v)))
}

/// The term a word states, `None` for free text.
fn term(word: &str) -> Result<Option<Term>, String> {
    if let Some((cmp, value)) = latency_of(word) {
        return parse_duration(value).map(|s| Some(Term::Latency(cmp, s))).ok_or_else(|| {
            format!(
                "bad latency in \"{word}\": write latency>D, latency<D, latency>=D or latency<=D, D a number \
                 with s, ms, us or ns (seconds without), e.g. latency>100ms"
            )
        });
    }
    if let Some((cmp, value)) = len_of(word) {
        return parse_size(value).map(|n| Some(Term::Len(cmp, n))).ok_or_else(|| {
            format!(
                "bad length in \"{word}\": write len>N, len<N, len>=N, len<=N or len:N, N in bytes with an \
                     optional k or M (×1024), e.g. len>4k"
            )
        });
    }
    let Some((key, value)) = key_of(word) else {
        return Ok(None);
    };
    let known = matches!(
        key.as_str(),
        "conn" | "dir" | "op" | "opcode" | "is" | "rule" | "proto" | "event" | "method"
    );
    if !known {
        return Err(format!(
            "unknown key \"{key}:\" — keys: {KEYS} (to search for the text, write \\{word} or \"{word}\")"
        ));
    }
    if value.split(',').all(str::is_empty) {
        return Err(format!("{key}: needs a value, e.g. {}", example(&key)));
    }
    let values = value.split(',').filter(|v| !v.is_empty());
    let t = match key.as_str() {
        "conn" if value.contains('/') => Term::Streams(
            values
                .map(|v| {
                    let bad = || {
                        format!(
                            "bad conn:{value}: conn: takes connection numbers, or CONN/STREAM for one HTTP/2 \
                             stream of a connection, e.g. conn:3/1 or conn:3/1,4"
                        )
                    };
                    match v.split_once('/') {
                        Some((c, s)) => Ok((
                            c.parse::<ConnId>().map_err(|_| bad())?,
                            Some(s.parse::<u32>().map_err(|_| bad())?),
                        )),
                        None => Ok((v.parse::<ConnId>().map_err(|_| bad())?, None)),
                    }
                })
                .collect::<Result<_, String>>()?,
        ),
        "conn" => Term::Conns(
            values
                .map(|v| {
                    v.parse::<ConnId>().map_err(|_| {
                        format!(
                            "bad conn:{value}: conn: takes connection numbers as `wsscope conns` lists them, \
                             e.g. conn:1 or conn:1,4,7"
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        "dir" => Term::Dir(parse_dir(value).map_err(|e| format!("dir: {e}"))?),
        "op" | "opcode" => Term::Opcodes(
            values
                .map(|v| parse_opcode(v).map_err(|e| format!("{key}: {e}")))
                .collect::<Result<_, _>>()?,
        ),
        "is" => Term::Is(values.map(parse_is).collect::<Result<_, _>>()?),
        "proto" => Term::Protos(values.map(str::to_string).collect()),
        "event" => Term::Events(values.map(str::to_string).collect()),
        "method" => Term::Methods(values.map(str::to_string).collect()),
        _ => Term::Rules(values.map(parse_rule).collect::<Result<_, _>>()?),
    };
    Ok(Some(t))
}

fn example(key: &str) -> &'static str {
    match key {
        "conn" => "conn:1 or conn:1,4,7 (conn:3/1: stream 1 of connection 3, HTTP/2)",
        "dir" => "dir:c2s or dir:s2c",
        "op" | "opcode" => "op:text or op:ping,pong",
        "is" => "is:violation",
        "proto" => "proto:socket.io or proto:mqtt,stomp",
        "event" => "event:chat",
        "method" => "method:Page.navigate",
        _ => "rule:client-frame-unmasked",
    }
}

fn parse_is(v: &str) -> Result<Is, String> {
    Is::ALL
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(v))
        .map(|(is, _)| *is)
        .ok_or_else(|| {
            let names: Vec<&str> = Is::ALL.iter().map(|(_, n)| *n).collect();
            format!("unknown is:{v} — is: takes {}", names.join(", "))
        })
}

/// Every name `rule:` takes: violation rule ids, then diagnostic codes.
fn rule_names() -> impl Iterator<Item = &'static str> {
    crate::ws::rules::ALL
        .iter()
        .chain(crate::h2::stream::rules::ALL)
        .copied()
        .chain(crate::diag::ALL.iter().map(|(code, _)| *code))
}

/// A violation rule id or diagnostic code, as its registry spells it.
/// Unknown names get suggestions: the names that have all its words.
fn parse_rule(v: &str) -> Result<&'static str, String> {
    let v = v.to_ascii_lowercase();
    if let Some(name) = rule_names().find(|n| *n == v) {
        return Ok(name);
    }
    let words: Vec<&str> = v.split('-').filter(|w| !w.is_empty()).collect();
    let close: Vec<&str> = rule_names()
        .filter(|n| !words.is_empty() && words.iter().all(|w| n.split('-').any(|nw| nw == *w)))
        .collect();
    if !close.is_empty() {
        return Err(format!(
            "unknown rule \"{v}\" — did you mean {}?",
            close.join(" or ")
        ));
    }
    Err(format!(
        "unknown rule \"{v}\" — rule: takes a violation rule ({}) or a diagnostic code (README, \"Diagnostic codes\")",
        crate::ws::rules::ALL.join(", ")
    ))
}

/// Bytes, with an optional `k` (×1024) or `M` (×1024²) suffix.
fn parse_size(s: &str) -> Option<u64> {
    let (digits, scale) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (s.get(..i)?, 1024),
        (i, 'm' | 'M') => (s.get(..i)?, 1024 * 1024),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(scale)
}
