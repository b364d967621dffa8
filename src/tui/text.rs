//! Turning wire bytes into text that is safe for a terminal.
//!
//! No payload byte reaches the terminal raw: C0 controls (ESC, BEL, BS, …)
//! become their U+2400 "control pictures" (`␛`, `␇`, `␈`), DEL becomes `␡`,
//! C1 controls and invisible or bidirectional formatting characters become
//! `⟨U+XXXX⟩`, invalid UTF-8 becomes `�`. Everything that came off the wire
//! (payloads, headers, paths, close reasons, violation details) goes through
//! here before it is drawn.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

use crate::output::text::is_unsafe_char;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

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
    safe_text(text).split('\n').map(str::to_string).collect()
}

/// Like [`safe_lines`], as one string whose `\n`s are the line breaks: one
/// allocation for a payload of any size (the detail pane wraps it and
/// materialises only the rows on screen).
pub fn safe_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, l) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let l = l.strip_suffix('\r').unwrap_or(l);
        for c in l.chars() {
            if c == '\t' {
                out.push_str("    ");
            } else if !placeholder(c, &mut out) {
                out.push(c);
            }
        }
    }
    out
}

/// Terminal columns of a character (0 for combining marks, 2 for wide ones).
pub fn char_width(c: char) -> usize {
    UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Terminal columns of a string.
pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Where safe text (see [`safe_text`]: no control characters; `\n` ends a
/// line) wraps at `width` columns: the byte range of each screen row, line
/// breaks excluded. An empty line is one empty row; a character wider than
/// the whole row still gets a row of its own.
pub fn wrap_rows(s: &str, width: usize) -> Vec<Range<usize>> {
    let width = width.max(1);
    let mut rows = Vec::with_capacity(s.len() / width + 1);
    let mut start = 0;
    let mut used = 0;
    for (i, c) in s.char_indices() {
        if c == '\n' {
            rows.push(start..i);
            start = i + 1;
            used = 0;
            continue;
        }
        let w = char_width(c);
        if used + w > width && i > start {
            rows.push(start..i);
            start = i;
            used = 0;
        }
        used += w;
    }
    rows.push(start..s.len());
    rows
}

/// A styled line cut into rows of at most `width` columns, at a space when
/// the row has one (else mid-word), styles kept; rows after the first start
/// with `hang` spaces.
pub fn wrap_line(line: &Line<'_>, width: usize, hang: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let owned = |spans: &[Span<'_>]| -> Line<'static> {
        Line::from(
            spans
                .iter()
                .map(|s| Span::styled(s.content.to_string(), s.style))
                .collect::<Vec<_>>(),
        )
        .style(line.style)
    };
    if line.width() <= width {
        return vec![owned(&line.spans)];
    }
    // A hang that leaves no room for text is dropped.
    let hang = if hang + 10 > width { 0 } else { hang };
    let cells: Vec<(char, usize, usize)> = line
        .spans
        .iter()
        .enumerate()
        .flat_map(|(si, s)| s.content.chars().map(move |c| (c, char_width(c), si)))
        .collect();
    let mut rows = Vec::new();
    let mut start = 0;
    let mut first = true;
    while start < cells.len() {
        let room = if first { width } else { width - hang };
        let mut used = 0;
        let mut end = start;
        while end < cells.len() && (used + cells[end].1 <= room || end == start) {
            used += cells[end].1;
            end += 1;
        }
        let mut next = end;
        if end < cells.len() {
            // Break at the row's last space, if that keeps half the row
            // (and is not in a field's name column, left of the hang).
            if let Some(sp) = (start + 1..end).rev().find(|&i| cells[i].0 == ' ') {
                if sp - start >= room / 2 && (!first || sp - start > hang) {
                    end = sp;
                    next = sp + 1;
                }
            }
        }
        let mut spans: Vec<Span<'static>> = Vec::new();
        if !first && hang > 0 {
            spans.push(Span::raw(" ".repeat(hang)));
        }
        let mut i = start;
        while i < end {
            let si = cells[i].2;
            let mut piece = String::new();
            while i < end && cells[i].2 == si {
                piece.push(cells[i].0);
                i += 1;
            }
            let style = line.spans.get(si).map(|s| s.style).unwrap_or_default();
            spans.push(Span::styled(piece, style));
        }
        rows.push(Line::from(spans).style(line.style));
        start = next;
        first = false;
    }
    rows
}

/// Bytes a hexdump row holds in `width` columns: 16 from the 78 columns of
/// a full `hexdump -C` row, else 8 (45 columns), else 4 (29 columns).
pub fn hex_per_line(width: u16) -> usize {
    match width {
        78.. => 16,
        45.. => 8,
        _ => 4,
    }
}

/// Row `row` of the hexdump of `data` with `per_line` bytes a row (see
/// [`hexdump_lines`]); empty past the end.
pub fn hexdump_line(data: &[u8], row: usize, per_line: usize) -> String {
    let per_line = per_line.max(1);
    let start = row.saturating_mul(per_line);
    let chunk = data
        .get(start..data.len().min(start.saturating_add(per_line)))
        .unwrap_or_default();
    let mut line = String::with_capacity(per_line * 4 + 14);
    let _ = write!(line, "{start:08x} ");
    for j in 0..per_line {
        if j % 8 == 0 {
            line.push(' ');
        }
        match chunk.get(j) {
            Some(b) => {
                let _ = write!(line, "{b:02x} ");
            }
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
}

/// Rows of the hexdump of `data` with `per_line` bytes a row.
pub fn hexdump_rows(data: &[u8], per_line: usize) -> usize {
    data.len().div_ceil(per_line.max(1))
}

/// A hexdump for the detail pane, `hexdump -C` layout (offset, 16 bytes in
/// two groups of 8, printable ASCII between bars), fitted to `width`
/// columns (see [`hex_per_line`]).
pub fn hexdump_lines(data: &[u8], width: u16) -> Vec<String> {
    let per_line = hex_per_line(width);
    (0..hexdump_rows(data, per_line))
        .map(|i| hexdump_line(data, i, per_line))
        .collect()
}

/// Bytes as `c1 07 f2 48 cd …`: the first that fit in `max` columns (at
/// least one), `…` when there are more (or `total`, the payload's whole
/// length, says there were more than `data` holds).
pub fn hex_preview(data: &[u8], total: u64, max: usize) -> String {
    let n = (max.saturating_sub(2) / 3).clamp(1, 64);
    let shown = &data[..data.len().min(n)];
    let mut s = String::with_capacity(shown.len() * 3 + 4);
    for (i, b) in shown.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    if data.len() > shown.len() || total > shown.len() as u64 {
        s.push_str(" …");
    }
    s
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
    fn safe_text_is_safe_lines_joined() {
        let t = "a\r\nb\rc\td\x1b\n\nend";
        assert_eq!(safe_text(t), safe_lines(t).join("\n"));
    }

    #[test]
    fn wrap_rows_counts_columns_not_bytes() {
        fn rows(s: &str, w: usize) -> Vec<&str> {
            wrap_rows(s, w).into_iter().map(|r| &s[r]).collect()
        }
        assert_eq!(rows("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(rows("ab\n\ncd", 3), ["ab", "", "cd"]);
        // é is one column in two bytes, 🙂 two columns: it never straddles a row.
        assert_eq!(rows("éééé", 2), ["éé", "éé"]);
        assert_eq!(rows("a🙂b", 2), ["a", "🙂", "b"]);
        assert_eq!(rows("", 5), [""]);
        // 1 600 characters at 100 columns: 16 full rows, nothing lost.
        let long = "abcdefgh".repeat(200);
        let r = wrap_rows(&long, 100);
        assert_eq!(r.len(), 16);
        assert_eq!(r.last(), Some(&(1500..1600)));
    }

    #[test]
    fn wrap_line_hangs_continuations() {
        let l = Line::from(vec![Span::raw("key "), Span::raw("0123456789")]);
        let rows: Vec<String> = wrap_line(&l, 14, 4).iter().map(ToString::to_string).collect();
        assert_eq!(rows, ["key 0123456789"]);
        let l = Line::from(vec![Span::raw("key "), Span::raw("0123456789abcdefghij")]);
        let rows: Vec<String> = wrap_line(&l, 14, 4).iter().map(ToString::to_string).collect();
        assert_eq!(rows, ["key 0123456789", "    abcdefghij"]);
        // Too narrow for the hang: none.
        let rows: Vec<String> = wrap_line(&l, 8, 4).iter().map(ToString::to_string).collect();
        assert_eq!(rows, ["key 0123", "456789ab", "cdefghij"]);
        // At a space when there is one.
        let help = Line::from(vec![Span::raw("  Space    "), Span::raw("page down, as in less")]);
        let rows: Vec<String> = wrap_line(&help, 24, 11).iter().map(ToString::to_string).collect();
        assert_eq!(rows, ["  Space    page down,", "           as in less"]);
        let short: Vec<String> = wrap_line(&l, 80, 2).iter().map(ToString::to_string).collect();
        assert_eq!(short, ["key 0123456789abcdefghij"]);
    }

    #[test]
    fn hexdump_rows_fit_the_width() {
        let data: Vec<u8> = (0..20).collect();
        assert_eq!(
            hexdump_lines(&data, 78)[1],
            "00000010  10 11 12 13                                       |....|"
        );
        assert_eq!(hex_per_line(60), 8);
        assert_eq!(hex_per_line(30), 4);
        assert!(hexdump_lines(&data, 30).iter().all(|l| l.len() <= 29));
        assert_eq!(
            hexdump_line(&data, 99, 16),
            hexdump_line(&[], 0, 16).replace("00000000", "00000630")
        );
        assert_eq!(hex_preview(&[0xc1, 7, 0xf2, 0x48, 0xcd], 5, 11), "c1 07 f2 …");
        assert_eq!(hex_preview(&[0xc1, 7], 2, 80), "c1 07");
        assert_eq!(hex_preview(&[0xc1, 7], 900, 80), "c1 07 …");
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
