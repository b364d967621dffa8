//! The payload section: text (JSON re-indented) when the row is text,
//! else — or with `x` — a hexdump; a compressed message's wire bytes.

use super::super::super::app::App;
use super::super::super::payload::{Bytes, PayloadState};
use super::super::super::store::{Kind, Record, flag};
use super::super::super::text;
use super::super::{close_text, shows_as_text};
use super::doc::Doc;

pub(super) fn payload<'a>(app: &'a App, r: &Record, out: &mut Doc<'a>) {
    let t = &app.theme;
    let payload = app.payload(r);
    let data: &[u8] = &payload.bytes;
    out.blank();
    let what = if r.kind == Kind::Message && r.has(flag::COMPRESSED) {
        "inflated "
    } else {
        ""
    };
    out.section(format!("Payload ({what}{} bytes)", r.len), t.title);
    match &payload.state {
        PayloadState::Complete => {}
        PayloadState::Loading => out.text(
            format!(
                "loading the whole payload… first {} of {} bytes shown",
                data.len(),
                r.len
            ),
            t.dim,
        ),
        PayloadState::Partial(why) => out.text(why.clone(), t.gap),
    }
    if r.kind == Kind::Frame && r.opcode == 8 && !app.hex {
        out.text(close_text(data), t.text);
        return;
    }
    if data.is_empty() {
        out.text("(empty)".into(), t.dim);
        return;
    }
    if !app.hex && shows_as_text(&app.store, r, data) {
        // Lossy: a kept prefix may end inside a character.
        match text::pretty_json(data) {
            Some(pretty) => {
                out.text("(JSON, re-indented)".into(), t.dim);
                out.body(text::safe_text(&pretty), t.text);
            }
            None => out.body(text::safe_text(&String::from_utf8_lossy(data)), t.text),
        }
        return;
    }
    if !app.hex {
        let why = if r.kind == Kind::Frame && r.rsv & 4 != 0 {
            "(deflated bytes — press m for the inflated message)"
        } else if r.opcode == 1 || r.opcode == 0 && r.kind == Kind::Frame {
            "(not UTF-8 — shown as hex)"
        } else {
            "(binary — shown as hex)"
        };
        out.text(why.into(), t.dim);
    }
    out.hex(payload.bytes, t.text);
}

pub(super) fn wire_bytes(app: &App, idx: u32, out: &mut Doc<'_>) {
    let t = &app.theme;
    let frags = app.store.fragments(idx);
    let mut wire = Vec::new();
    let mut complete = true;
    for f in &frags {
        if let Some(f) = app.store.records.get(*f as usize) {
            let p = app.payload(f);
            wire.extend_from_slice(&p.bytes);
            complete &= p.is_complete();
        }
    }
    out.blank();
    out.section(format!("Wire bytes (deflated, {} bytes)", wire.len()), t.title);
    if !complete {
        out.text("some frames' bytes not kept — use wsscope export".into(), t.gap);
    }
    out.hex(Bytes::Owned(wire), t.text);
}
