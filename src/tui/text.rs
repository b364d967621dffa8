//! Turning wire bytes into text that is safe for a terminal.
//!
//! No payload byte reaches the terminal raw: C0 controls (ESC, BEL, BS, …)
//! become their U+2400 "control pictures" (`␛`, `␇`, `␈`), DEL becomes `␡`,
//! C1 controls and invisible or bidirectional formatting characters become
//! `⟨U+XXXX⟩`, invalid UTF-8 becomes `�`. Everything that came off the wire
//! (payloads, headers, paths, close reasons, violation details) goes through
//! here before it is drawn.

use std::borrow::Cow;

use crate::output::text::is_unsafe_char;

/// What a character is drawn as, when it must not be drawn as itself
/// (which characters those are is decided in one place, for every sink).
fn placeholder(c: char, out: &mut String) -> bool {
    if !is_unsafe_char(c) {
        return false;
    }
    let u = u32::from(c);
    match u {
        // C0 controls: their control pictures ␀..␟.
        0x00..=0x1F => out.push(char::from_u32(0x2400 + u).unwrap_or('?')),
        0x7F => out.push('␡'),
        // C1 controls and invisible or bidirectional formatting characters.
        _ => out.push_str(&format!("⟨U+{u:04X}⟩")),
    }
    true
}

/// `s` with every unsafe character replaced by a visible placeholder
/// (newlines and tabs included: the result is one line).
pub fn safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !placeholder(c, &mut out) {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Bytes as one safe line (lossy UTF-8), cut after `max_chars` characters
/// with `…` when there was more.
pub fn safe_line(bytes: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(max_chars.min(text.len()) + 4);
    for (n, c) in text.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        if !placeholder(c, &mut out) {
            out.push(c);
        }
    }
    out
}

/// Text as safe lines for the detail pane: line breaks are kept (a `\r\n`
/// or `\n` ends a line; a lone `\r` is shown as `␍`), tabs become spaces.
pub fn safe_lines(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            let mut out = String::with_capacity(l.len());
            for c in l.chars() {
                if c == '\t' {
                    out.push_str("    ");
                } else if !placeholder(c, &mut out) {
                    out.push(c);
                }
            }
            out
        })
        .collect()
}

/// A hexdump for the detail pane, `hexdump -C` layout (offset, 16 bytes in
/// two groups of 8, printable ASCII between bars). `width` narrower than the
/// 78 columns of a full line gives 8 bytes per line.
pub fn hexdump_lines(data: &[u8], width: u16) -> Vec<String> {
    let per_line = if width >= 78 { 16 } else { 8 };
    data.chunks(per_line)
        .enumerate()
        .map(|(i, chunk)| {
            let mut line = format!("{:08x} ", i * per_line);
            for j in 0..per_line {
                if j % 8 == 0 {
                    line.push(' ');
                }
                match chunk.get(j) {
                    Some(b) => line.push_str(&format!("{b:02x} ")),
                    None => line.push_str("   "),
                }
            }
            line.push_str(" |");
            line.extend(chunk.iter().map(|&b| {
                if (0x20..0x7F).contains(&b) {
                    char::from(b)
                } else {
                    '.'
                }
            }));
            line.push('|');
            line
        })
        .collect()
}

/// Re-indents JSON text (two spaces) without reordering keys or touching
/// numbers; `None` unless `data` is one valid JSON value.
pub fn pretty_json(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    let first = text.trim_start().chars().next()?;
    // Only objects and arrays are worth re-indenting.
    if first != '{' && first != '[' {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Skip whitespace to see whether the container is empty.
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Human counts: `812`, `12 345`, `123.4 k`, `1.2 M`.
pub fn count(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..100_000 => format!("{} {:03}", n / 1000, n % 1000),
        100_000..1_000_000 => format!("{:.1} k", n as f64 / 1e3),
        _ => format!("{:.1} M", n as f64 / 1e6),
    }
}

/// Human byte counts: `812 B`, `12.3 KiB`, `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// Human durations: `812µs`, `12.3ms`, `4.56s`, `3m12s`, `2h03m`.
pub fn duration(secs: f64) -> String {
    let s = secs.abs();
    let sign = if secs < 0.0 { "-" } else { "" };
    if s < 1e-3 {
        format!("{sign}{:.0}µs", s * 1e6)
    } else if s < 1.0 {
        format!("{sign}{:.1}ms", s * 1e3)
    } else if s < 60.0 {
        format!("{sign}{s:.2}s")
    } else if s < 3600.0 {
        format!("{sign}{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{sign}{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_placeholders() {
        let s = safe("a\x1b[31mb\x07c\x08d\x7fe\u{9b}f\u{202e}g\nh\ti");
        assert_eq!(s, "a␛[31mb␇c␈d␡e⟨U+009B⟩f⟨U+202E⟩g␊h␉i");
        assert!(matches!(safe("plain ✓ 🙂"), Cow::Borrowed(_)));
        assert_eq!(safe_line(b"\xff\x1bab", 2), "�␛…");
        assert_eq!(safe_lines("a\r\nb\rc\td"), vec!["a", "b␍c    d"]);
    }

    #[test]
    fn json_keeps_key_order() {
        let p = pretty_json(br#"{"z":1,"a":[1, 2,{}],"s":"x,{:}\"y","e":[]}"#).unwrap();
        assert_eq!(
            p,
            "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    2,\n    {}\n  ],\n  \"s\": \"x,{:}\\\"y\",\n  \"e\": []\n}"
        );
        assert!(pretty_json(b"{nope").is_none());
        assert!(pretty_json(b"42").is_none());
    }
}
