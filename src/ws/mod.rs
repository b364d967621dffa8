//! WebSocket: frames, messages, permessage-deflate, RFC 6455 rules, and the
//! session that ties them together ([`WsSession`]).
//!
//! Layers, bottom up:
//! - [`frame`]: header codec (`parse_header`, `encode_frame`) and `unmask`;
//! - [`decoder`]: a streaming per-direction frame decoder with gap handling
//!   and resynchronisation (every byte is a frame, a gap or undecodable);
//! - [`message`]: fragments → messages, UTF-8 checked across fragments;
//! - [`deflate`]: RFC 7692 parameters and per-direction inflation;
//! - [`rules`]: RFC checks with stable rule ids (table in its docs);
//! - [`ping`]: ping → pong round-trip times;
//! - [`detect`]: is a direction without a handshake carrying frames?
//! - [`session`]: one session's frames, messages, closes and violations,
//!   built from [`WsParams`] by whoever found it (the HTTP/1.1 upgrade in
//!   [`crate::http::upgrade`], headerless detection, later HTTP/2).

pub mod decoder;
pub mod deflate;
pub mod detect;
pub mod frame;
pub mod message;
pub mod ping;
pub mod rules;
pub mod session;

pub use crate::stream::SessionSummary;
pub use frame::{FrameHeader, Opcode, encode_frame, parse_header, unmask};
pub use session::{Resync, SessionConfig, WsParams, WsSession};
