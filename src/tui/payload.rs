//! A row's payload bytes as the panes see them: whole, or (while the whole
//! payload is being fetched, or when it cannot be) the prefix the index
//! keeps. Panes and exports ask [`crate::tui::App::payload`]; they never read
//! the store's arena directly, so where the bytes come from (memory, or
//! re-reading the capture) is this module's business alone.

use std::sync::Arc;

/// What a pane can show of a row's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload<'a> {
    /// The whole payload when `state` is [`PayloadState::Complete`], else a prefix.
    pub bytes: Bytes<'a>,
    pub state: PayloadState,
}

/// Payload bytes: borrowed from the store, or shared with the fetch cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bytes<'a> {
    Borrowed(&'a [u8]),
    Shared(Arc<[u8]>),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(b) => b,
            Bytes::Shared(b) => b,
            Bytes::Owned(b) => b,
        }
    }
}

impl AsRef<[u8]> for Bytes<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// How much of a payload [`Payload::bytes`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadState {
    /// All of it.
    Complete,
    /// A prefix; the rest is being fetched (the screen redraws when it comes).
    Loading,
    /// A prefix, and no more can be had: why.
    Partial(String),
}

impl Payload<'_> {
    pub fn is_complete(&self) -> bool {
        self.state == PayloadState::Complete
    }
}
