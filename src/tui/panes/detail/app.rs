//! The application layer's part of a message's detail: each application
//! message found in it (protocol, kind, id, method or event or topic, the
//! latency of a response and the packet of its request) and its decoded
//! tree, re-indented. The raw payload follows in its own section, and `x`
//! turns it to hex.

use super::super::super::app::App;
use super::super::super::payload::PayloadState;
use super::super::super::store::{Record, Tree, apps::MAX_TREE};
use super::super::super::text;
use super::doc::Doc;

pub(super) fn decoded(app: &App, r: &Record, out: &mut Doc<'_>) {
    let Some(a) = app.store.app(r) else { return };
    let t = &app.theme;
    if let Some(e) = &a.decoded.error {
        out.blank();
        out.section("Application protocol".into(), t.title);
        out.styled_field("Not decoded", text::safe(e).into_owned(), t.gap);
        out.text(
            "The message keeps its generic view (the payload below).".into(),
            t.dim,
        );
    }
    let n = a.decoded.items.len();
    for (i, (m, tree)) in a.decoded.items.iter().zip(a.trees.iter()).enumerate() {
        // A generic JSON payload unchanged: the payload section shows it
        // re-indented already, and "json object" says nothing more.
        if m.protocol == "json" && *tree == Tree::InMessage {
            continue;
        }
        out.blank();
        let title = if n > 1 {
            format!("Application message {}/{n} · {}", i + 1, m.protocol)
        } else {
            format!("Application message · {}", m.protocol)
        };
        out.section(title, t.title);
        out.field("Summary", text::safe(&m.summary).into_owned());
        out.field("Kind", text::safe(&m.kind).into_owned());
        for (name, v) in [
            ("Id", &m.id),
            ("Method", &m.method),
            ("Event", &m.event),
            ("Topic", &m.topic),
        ] {
            if let Some(v) = v {
                out.field(name, text::safe(v).into_owned());
            }
        }
        if let Some(l) = m.latency {
            let req = m
                .request_packet
                .map_or(String::new(), |p| format!(" after the request (packet {p})"));
            out.field("Latency", format!("{}{req}", crate::app::latency_text(l)));
        }
        self::tree(app, r, m.raw_tree, tree, out);
    }
}

/// An item's tree: a span of the message (read from the payload, which may
/// have to be fetched again), or the compact JSON the store kept.
fn tree(app: &App, r: &Record, span: Option<(usize, usize)>, tree: &Tree, out: &mut Doc<'_>) {
    let t = &app.theme;
    let show = |json: &[u8], out: &mut Doc<'_>| {
        let pretty = text::pretty_json(json).unwrap_or_else(|| String::from_utf8_lossy(json).into_owned());
        out.text("Tree".into(), t.dim);
        out.body(text::safe_text(&pretty), t.text);
    };
    match (tree, span) {
        (Tree::Json(s), _) => show(s.as_bytes(), out),
        (Tree::TooLarge(n), _) => out.text(
            format!(
                "Tree of {} not kept (over {} KiB): wsscope dump --format jsonl --select 'conn:{}' shows it",
                text::bytes(*n as u64),
                MAX_TREE >> 10,
                r.conn
            ),
            t.dim,
        ),
        (Tree::InMessage, Some((0, b))) if u64::try_from(b).is_ok_and(|b| b == r.len) => {
            out.field("Tree", "the whole payload, unchanged (below)".into());
        }
        (Tree::InMessage, Some((a, b))) => {
            let p = app.payload(r);
            match (&p.state, p.bytes.get(a..b)) {
                (PayloadState::Complete, Some(json)) => show(json, out),
                (PayloadState::Loading, _) => out.text("Tree: loading the whole payload…".into(), t.dim),
                _ => out.text(
                    "Tree: the payload is not whole here (see below); wsscope dump --format jsonl shows it"
                        .into(),
                    t.dim,
                ),
            }
        }
        (Tree::InMessage, None) => {}
    }
}
