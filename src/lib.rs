//! wsscope — a WebSocket protocol analyzer and packet dissector.

pub mod analyzer;
pub mod cli;
pub mod decode;
pub mod event;
pub mod http;
pub mod output;
pub mod run;
pub mod select;
pub mod source;
pub mod tcp;
pub mod tui;
pub mod ws;
