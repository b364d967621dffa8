//! What the application layer ([`crate::app`]) found in message rows: the
//! decoded items, kept beside the compact records (a [`Record`] stays 64
//! bytes; the few rows that carry an application message point here).
//!
//! A tree that is a span of the message (JSON without secrets) is not
//! copied: the detail pane reads it from the payload, kept or fetched
//! again. A tree that was built (redacted JSON, MessagePack, CBOR,
//! protobuf, an MQTT packet) is kept as compact JSON text, up to
//! [`MAX_TREE`]; beyond that the pane says where to find it whole.

use super::conn::{ALLOC_OVERHEAD, str_heap};
use super::{Kind, Record, Store, flag};
use crate::app::{AppMessage, Decoded};
use std::mem::size_of;

/// Built trees longer than this (as compact JSON) are not kept.
pub const MAX_TREE: usize = 64 << 10;

/// A built tree, as the store keeps it.
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    /// The item's tree is a span of its message ([`AppMessage::raw_tree`]),
    /// or it has none.
    InMessage,
    /// Compact JSON.
    Json(Box<str>),
    /// Not kept: this many bytes of compact JSON.
    TooLarge(usize),
}

/// The decoded side of one message row.
#[derive(Clone, Debug)]
pub struct AppRow {
    /// The items, with their built trees moved to `trees` (what the
    /// selection language reads: protocol, event, method, latency).
    pub decoded: Box<Decoded>,
    /// Per item of `decoded`.
    pub trees: Box<[Tree]>,
}

impl AppRow {
    /// Takes a message's decoded items, their built trees as text.
    pub fn new(mut decoded: Box<Decoded>) -> AppRow {
        let trees = decoded
            .items
            .iter_mut()
            .map(|m| {
                let tree = std::mem::take(&mut m.tree);
                if tree.is_null() {
                    return Tree::InMessage;
                }
                let json = tree.to_string();
                if json.len() > MAX_TREE {
                    Tree::TooLarge(json.len())
                } else {
                    Tree::Json(json.into_boxed_str())
                }
            })
            .collect();
        decoded.items.shrink_to_fit();
        AppRow { decoded, trees }
    }

    /// Bytes held, the row itself included (an estimate, for the budget).
    pub fn held(&self) -> usize {
        let item = |m: &AppMessage| {
            let opt = |s: &Option<String>| s.as_ref().map_or(0, |s| str_heap(s));
            str_heap(&m.kind)
                + str_heap(&m.summary)
                + opt(&m.id)
                + opt(&m.method)
                + opt(&m.event)
                + opt(&m.topic)
        };
        let trees: usize = self
            .trees
            .iter()
            .map(|t| match t {
                Tree::Json(s) => str_heap(s),
                _ => 0,
            })
            .sum();
        size_of::<AppRow>()
            + size_of::<Decoded>()
            + ALLOC_OVERHEAD
            + self.decoded.items.capacity() * size_of::<AppMessage>()
            + ALLOC_OVERHEAD
            + self.decoded.items.iter().map(item).sum::<usize>()
            + self.decoded.error.as_ref().map_or(0, |e| str_heap(e))
            + self.trees.len() * size_of::<Tree>()
            + ALLOC_OVERHEAD
            + trees
    }

    /// Whether an application protocol spoke (a generic JSON payload reads
    /// as well in the payload's own preview): the list then shows the
    /// summaries, as the text dump does.
    pub fn speaks(&self) -> bool {
        self.decoded.items.iter().any(|m| m.protocol != "json")
    }

    /// The items' summaries on one line, a response's latency first (the
    /// summary ends with it too, but a narrow list would cut it off).
    pub fn summary_line(&self) -> String {
        self.decoded
            .items
            .iter()
            .map(|m| match m.latency {
                Some(l) => format!("[{}] {}", crate::app::latency_text(l), m.summary),
                None => m.summary.clone(),
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl Store {
    /// The decoded side of a message row, if it has one.
    pub fn app(&self, r: &Record) -> Option<&AppRow> {
        if r.kind != Kind::Message || !r.has(flag::DECODED) {
            return None;
        }
        self.apps.get(u32::from_be_bytes(r.aux) as usize)
    }

    /// Keeps `row` for the message record `r` about to be pushed (its cost
    /// was part of the record's admission).
    pub(super) fn keep_app(&mut self, r: &mut Record, row: AppRow) {
        let Ok(i) = u32::try_from(self.apps.len()) else {
            return;
        };
        self.apps_heap += row.held() - size_of::<AppRow>();
        let room = self.room();
        super::grow(&mut self.apps, room);
        self.apps.push(row);
        r.flags |= flag::DECODED;
        r.aux = i.to_be_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(tree: serde_json::Value) -> AppMessage {
        AppMessage {
            protocol: "msgpack",
            kind: "map".into(),
            summary: "msgpack map".into(),
            tree,
            ..AppMessage::default()
        }
    }

    #[test]
    fn built_trees_kept_as_text_up_to_the_limit() {
        let small = serde_json::json!({"a": [1, 2]});
        let big = serde_json::Value::String("x".repeat(MAX_TREE));
        let d = Decoded {
            items: vec![item(small), item(big), item(serde_json::Value::Null)],
            error: None,
        };
        let row = AppRow::new(Box::new(d));
        assert_eq!(row.trees[0], Tree::Json(r#"{"a":[1,2]}"#.into()));
        assert_eq!(row.trees[1], Tree::TooLarge(MAX_TREE + 2));
        assert_eq!(row.trees[2], Tree::InMessage);
        assert!(
            row.decoded.items.iter().all(|m| m.tree.is_null()),
            "trees moved out"
        );
        // What is held counts the kept text, not the tree too large to keep.
        assert!(row.held() > 11 && row.held() < 4096, "{}", row.held());
    }

    #[test]
    fn the_store_counts_what_it_keeps() {
        let mut store = Store::default();
        let before = store.held();
        let mut r = Record::new(crate::event::Timestamp::default(), 0, Kind::Message);
        let row = AppRow::new(Box::new(Decoded {
            items: vec![item(serde_json::json!({"k": "v".repeat(1000)}))],
            error: None,
        }));
        let cost = row.held();
        store.keep_app(&mut r, row);
        assert!(
            store.held() >= before + cost - size_of::<AppRow>(),
            "{} {}",
            store.held(),
            before
        );
        assert!(store.app(&r).is_some());
    }
}
