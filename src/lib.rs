//! wsscope — a WebSocket protocol analyzer and packet dissector.

pub mod event;
pub mod http;
pub mod output;
pub mod tcp;
pub mod ws;
