//! The detail pane's content as a document that wraps at the pane's width
//! and scrolls without being drawn whole.
//!
//! A payload can be a mebibyte: its text is kept as one string and wrapped
//! into byte ranges, its hexdump as the bytes themselves; only the rows on
//! screen become ratatui `Line`s ([`Laid::rows`]). The short lines around
//! them (fields, headers) are wrapped eagerly: there are a few dozen.

use super::super::super::text;
use crate::tui::payload::Bytes;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::ops::Range;

/// Column where a field's value starts (`    Name             value`).
const FIELD_HANG: usize = 21;
/// Indent of text under a section.
const TEXT_INDENT: usize = 4;

/// One piece of the document.
enum Seg<'a> {
    /// A styled line; wrapped rows start with `hang` spaces.
    Line { line: Line<'static>, hang: usize },
    /// Safe text (see [`text::safe_text`]), `\n` separated, indented.
    Text { text: String, style: Style },
    /// A hexdump of bytes, one row per [`text::hex_per_line`] bytes.
    Hex { data: Bytes<'a>, style: Style },
}

/// The detail pane's content, built by the pane from the selection.
pub struct Doc<'a> {
    segs: Vec<Seg<'a>>,
    /// Style of field names.
    pub key: Style,
    /// Style of field values.
    pub val: Style,
}

impl<'a> Doc<'a> {
    pub fn new(key: Style, val: Style) -> Doc<'a> {
        Doc {
            segs: Vec::new(),
            key,
            val,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// A line as it is; wrapped rows hang under its text.
    pub fn line(&mut self, line: Line<'static>) {
        self.segs.push(Seg::Line {
            line,
            hang: TEXT_INDENT,
        });
    }

    pub fn blank(&mut self) {
        self.line(Line::default());
    }

    pub fn section(&mut self, s: String, style: Style) {
        self.segs.push(Seg::Line {
            line: Line::from(Span::styled(format!("▾ {s}"), style)),
            hang: 2,
        });
    }

    pub fn field(&mut self, name: &str, value: String) {
        self.styled_field(name, value, self.val);
    }

    pub fn styled_field(&mut self, name: &str, value: String, style: Style) {
        self.segs.push(Seg::Line {
            line: Line::from(vec![
                Span::styled(format!("    {name:<16} "), self.key),
                Span::styled(value, style),
            ]),
            hang: FIELD_HANG,
        });
    }

    /// A short indented line (a note, a header).
    pub fn text(&mut self, s: String, style: Style) {
        self.segs.push(Seg::Line {
            line: Line::from(Span::styled(format!("    {s}"), style)),
            hang: TEXT_INDENT,
        });
    }

    /// A payload's text, already made safe ([`text::safe_text`]): any
    /// length, wrapped at the pane's width.
    pub fn body(&mut self, safe: String, style: Style) {
        self.segs.push(Seg::Text { text: safe, style });
    }

    /// A hexdump of `data`, fitted to the pane's width.
    pub fn hex(&mut self, data: Bytes<'a>, style: Style) {
        self.segs.push(Seg::Hex { data, style });
    }

    /// The document wrapped at `width` columns.
    pub fn layout(&self, width: u16) -> Laid<'_, 'a> {
        let w = usize::from(width).max(1);
        let inner = w.saturating_sub(TEXT_INDENT).max(1);
        let per_line = text::hex_per_line(width.saturating_sub(TEXT_INDENT as u16));
        let parts: Vec<Part> = self
            .segs
            .iter()
            .map(|s| match s {
                Seg::Line { line, hang } => Part::Lines(text::wrap_line(line, w, *hang)),
                Seg::Text { text: t, .. } => Part::Text(text::wrap_rows(t, inner)),
                Seg::Hex { data, .. } => Part::Hex(text::hexdump_rows(data, per_line)),
            })
            .collect();
        let total = parts.iter().map(Part::len).sum();
        Laid {
            doc: self,
            parts,
            per_line,
            total,
        }
    }
}

/// A segment's rows at the laid-out width.
enum Part {
    Lines(Vec<Line<'static>>),
    /// Byte ranges of the text's rows.
    Text(Vec<Range<usize>>),
    /// Number of hexdump rows.
    Hex(usize),
}

impl Part {
    fn len(&self) -> usize {
        match self {
            Part::Lines(v) => v.len(),
            Part::Text(v) => v.len(),
            Part::Hex(n) => *n,
        }
    }
}

/// A [`Doc`] wrapped at a width: how many rows, and any of them on demand.
pub struct Laid<'d, 'a> {
    doc: &'d Doc<'a>,
    parts: Vec<Part>,
    per_line: usize,
    total: usize,
}

impl Laid<'_, '_> {
    /// Screen rows of the whole document.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Rows `top..top + n` (fewer at the end), the only ones made into `Line`s.
    pub fn rows(&self, top: usize, n: usize) -> Vec<Line<'static>> {
        let end = top.saturating_add(n).min(self.total);
        let mut out = Vec::with_capacity(end.saturating_sub(top));
        let mut base = 0;
        for (seg, part) in self.doc.segs.iter().zip(&self.parts) {
            let len = part.len();
            if base >= end {
                break;
            }
            if base + len <= top {
                base += len;
                continue;
            }
            let from = top.saturating_sub(base);
            let to = (end - base).min(len);
            for i in from..to {
                out.push(self.row(seg, part, i));
            }
            base += len;
        }
        out
    }

    fn row(&self, seg: &Seg<'_>, part: &Part, i: usize) -> Line<'static> {
        let indent = " ".repeat(TEXT_INDENT);
        match (seg, part) {
            (_, Part::Lines(v)) => v.get(i).cloned().unwrap_or_default(),
            (Seg::Text { text: t, style }, Part::Text(rows)) => {
                let s = rows.get(i).and_then(|r| t.get(r.clone())).unwrap_or_default();
                Line::from(Span::styled(format!("{indent}{s}"), *style))
            }
            (Seg::Hex { data, style }, Part::Hex(_)) => Line::from(Span::styled(
                format!("{indent}{}", text::hexdump_line(data, i, self.per_line)),
                *style,
            )),
            _ => Line::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(l: &[Line<'_>]) -> Vec<String> {
        l.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rows_are_made_only_for_the_window() {
        let mut d = Doc::new(Style::default(), Style::default());
        d.section("Payload".into(), Style::default());
        d.body("abcdefgh".repeat(200), Style::default());
        d.hex(Bytes::Owned((0..=255).collect()), Style::default());
        let laid = d.layout(104);
        // 1 + 1600 / 100 + 256 / 16.
        assert_eq!(laid.len(), 1 + 16 + 16);
        let w = strings(&laid.rows(15, 3));
        assert_eq!(w[0], format!("    {}", "abcdefgh".repeat(25).get(..100).unwrap()));
        assert_eq!(w[1], format!("    {}", &"abcdefgh".repeat(200)[1500..]));
        assert!(w[2].starts_with("    00000000  00 01 02"), "{w:?}");
        let last = strings(&laid.rows(laid.len() - 1, 10));
        assert_eq!(last.len(), 1);
        assert!(last[0].starts_with("    000000f0  f0 f1"), "{last:?}");
        assert!(laid.rows(laid.len(), 5).is_empty());
    }

    #[test]
    fn long_fields_wrap_under_their_value() {
        let mut d = Doc::new(Style::default(), Style::default());
        d.field("Name", "x".repeat(30));
        let rows = strings(&d.layout(40).rows(0, 10));
        assert_eq!(rows[0], format!("    Name             {}", "x".repeat(19)));
        assert_eq!(rows[1], format!("{}{}", " ".repeat(21), "x".repeat(11)));
    }
}
