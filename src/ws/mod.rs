//! WebSocket: frames, messages, permessage-deflate, RFC 6455 rules, and the
//! per-connection HTTP → WebSocket state machine ([`Session`]).
//!
//! Layers, bottom up:
//! - [`frame`]: header codec (`parse_header`, `encode_frame`) and `unmask`;
//! - [`decoder`]: a streaming per-direction frame decoder with gap handling
//!   and resynchronisation (every byte is a frame, a gap or undecodable);
//! - [`message`]: fragments → messages, UTF-8 checked across fragments;
//! - [`deflate`]: RFC 7692 parameters and per-direction inflation;
//! - [`rules`]: RFC checks with stable rule ids (table in its docs);
//! - [`session`]: the state machine the analyzer drives per connection.

pub mod decoder;
pub mod deflate;
pub mod frame;
pub mod message;
pub mod rules;
pub mod session;

pub use frame::{FrameHeader, Opcode, encode_frame, parse_header, unmask};
pub use session::{Session, SessionConfig, SessionSummary};
