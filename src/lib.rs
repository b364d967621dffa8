//! wsscope — a WebSocket protocol analyzer and packet dissector.
//!
//! Packets flow one way: a [`source`] (pcap/pcapng file, or libpcap with the
//! `live` feature) → [`decode`] (link → IP → TCP) → [`tcp`] reassembly →
//! [`http`] handshake and [`ws`] frames/messages → [`event::Event`]s → sinks
//! in [`output`] (text, JSON Lines, conns table, exports) and the [`tui`].
//! The core is sans-IO: [`analyzer::Analyzer::feed`] takes a packet and pushes
//! events; packet timestamps are its only clock. [`pipeline`] is the one loop
//! that drives a source through the analyzer into a sink; [`commands`] are
//! what the binary runs, over the clap types in [`cli`].
//!
//! A worked example over a bundled capture (permessage-deflate with context
//! takeover, recorded from Python `websockets`):
//!
//! ```
//! use wsscope::event::Event;
//! use wsscope::source::file::FileSource;
//!
//! let mut src = FileSource::open("fixtures/deflate_takeover.pcap".as_ref())?;
//! let mut events: Vec<Event> = Vec::new();
//! wsscope::pipeline::analyze(&mut src, Default::default(), &mut events)?;
//!
//! // The handshake was verified and negotiated permessage-deflate.
//! let Some(Event::Handshake(hs)) = events.iter().find(|e| matches!(e, Event::Handshake(_))) else { panic!() };
//! assert_eq!((hs.status, hs.accept_ok), (Some(101), Some(true)));
//! assert!(hs.deflate.is_some());
//!
//! // The first client message: 97 compressed bytes on the wire, 109 inflated.
//! let Some(Event::Message(m)) = events.iter().find(|e| matches!(e, Event::Message(_))) else { panic!() };
//! assert!(m.compressed && m.is_text);
//! assert_eq!((m.wire_len, m.data.len()), (97, 109));
//! assert!(m.data.starts_with(br#"{"type":"update","symbol":"WSSC""#));
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod analyzer;
pub mod app;
pub mod audit;
pub mod budget;
pub mod cli;
pub mod commands;
pub mod conn;
pub mod decode;
pub mod diag;
pub mod event;
pub mod h2;
pub mod http;
pub mod keys;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod select;
pub mod source;
pub mod stream;
pub mod tcp;
pub mod tls;
pub mod tui;
pub mod ws;
