//! One TCP connection's protocol stack: the layers its stream runs through.
//!
//! The stack is created when TCP announces the connection and picks its
//! first layer from the first bytes ([`super::probe`]); layers above that
//! are the first layer's business (an inserting layer owns its upper, a
//! multiplexing one owns one per stream). The stack reports the memory its
//! layers hold to the ledger after every input.

use super::probe::{self, ProbeHints, Proto};
use crate::h2::H2Layer;
use crate::http::Http1Upgrade;
use crate::model::{Dir, Endpoints, SessionId, Stamp};
use crate::stream::{ByteLayer, LayerCx, StreamInput};
use crate::tls::TlsLayer;
use crate::ws::{SessionConfig, SessionSummary};

/// Wraps or replaces the layer a stack would build — for tests and tools
/// that insert a layer of their own (the shape TLS takes), or split a
/// connection into sessions (the shape HTTP/2 takes).
pub type LayerHook = dyn Fn(SessionId, Box<dyn ByteLayer>) -> Box<dyn ByteLayer> + Send + Sync;

/// The layers of one TCP connection.
pub struct ConnStack {
    id: SessionId,
    ends: Endpoints,
    hints: ProbeHints,
    limits: SessionConfig,
    /// `None` until the first input picks the protocol.
    top: Option<Box<dyn ByteLayer>>,
    /// Heap bytes reported to the ledger last time.
    reported: usize,
    /// Inputs so far (for the ledger's update rhythm).
    inputs: u32,
}

/// Inputs between two memory reports of a stack.
const MEMORY_REPORT_EVERY: u32 = 32;

/// Inputs at the start of a connection after each of which its memory is
/// reported (the handshake, the first frames).
const REPORT_FIRST: u32 = 4;

impl ConnStack {
    pub fn new(id: SessionId, ends: Endpoints, hints: ProbeHints, limits: SessionConfig) -> Self {
        ConnStack {
            id,
            ends,
            hints,
            limits,
            top: None,
            reported: 0,
            inputs: 0,
        }
    }

    fn build(&self, proto: Proto) -> Box<dyn ByteLayer> {
        let http1 = || {
            Box::new(Http1Upgrade::new(SessionConfig {
                force_ws: self.hints.force_ws,
                stream_start_seen: self.hints.stream_start_seen,
                ..self.limits
            }))
        };
        match proto {
            // TLS owns the layer above it and feeds it plaintext: HTTP/1
            // or HTTP/2, as the first plaintext bytes say.
            Proto::Tls => Box::new(TlsLayer::new(Box::new(Plaintext {
                ends: self.ends,
                hints: self.hints,
                limits: self.limits,
                upper: None,
            }))),
            Proto::Http1 => http1(),
            Proto::Http2 => Box::new(H2Layer::new(self.limits, self.hints.stream_start_seen, self.ends)),
        }
    }

    pub fn input(&mut self, item: StreamInput<'_>, hook: Option<&LayerHook>, cx: &mut LayerCx<'_>) {
        let top = match &mut self.top {
            Some(t) => t,
            None => {
                let proto = match item {
                    StreamInput::Data { dir, bytes, .. } => probe::choose(dir, bytes, &self.hints),
                    // A gap or an end before any byte: nothing to probe.
                    StreamInput::Gap { .. } | StreamInput::End { .. } => Proto::Http1,
                };
                let layer = self.build(proto);
                let layer = match hook {
                    Some(h) => h(self.id, layer),
                    None => layer,
                };
                self.top.insert(layer)
            }
        };
        top.input(item, cx);
        // Walking the layers' buffers costs more than a chunk's own work:
        // the ledger is brought up to date every few inputs and at gaps
        // and ends (where holdings change most).
        self.inputs = self.inputs.wrapping_add(1);
        // The first inputs too: a connection that sends a handshake and then
        // stays quiet (a million of them) must not go uncounted.
        if self.inputs % MEMORY_REPORT_EVERY == 0
            || self.inputs <= REPORT_FIRST
            || cx.mem.careful()
            || !matches!(item, StreamInput::Data { .. })
        {
            // The layer's own allocation (a `Box`) counts as much as what it points to.
            let now = top.heap_bytes().saturating_add(std::mem::size_of_val(&**top));
            cx.mem.update(self.reported, now);
            self.reported = now;
        }
    }

    /// Stream offset of the WebSocket frame `dir`'s next bytes belong to,
    /// when inside one (what a gap arriving now cuts into).
    pub fn frame_in_progress(&self, dir: Dir) -> Option<u64> {
        self.top.as_ref().and_then(|t| t.frame_in_progress(dir))
    }

    /// The connection ended: flush every layer, return what it carried.
    pub fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        let summary = match &mut self.top {
            Some(t) => t.finish(at, cx),
            None => SessionSummary::default(),
        };
        cx.mem.update(self.reported, 0);
        self.reported = 0;
        summary
    }
}

/// The layer above TLS, chosen by the first plaintext bytes: HTTP/2 (its
/// preface; ALPN `h2` announces the same) or HTTP/1.
struct Plaintext {
    ends: Endpoints,
    hints: ProbeHints,
    limits: SessionConfig,
    upper: Option<Box<dyn ByteLayer>>,
}

impl Plaintext {
    fn upper(&mut self, item: &StreamInput<'_>) -> &mut Box<dyn ByteLayer> {
        let (hints, limits, ends) = (self.hints, self.limits, self.ends);
        self.upper.get_or_insert_with(|| {
            let proto = match item {
                StreamInput::Data { dir, bytes, .. } => probe::choose_plaintext(*dir, bytes, &hints),
                StreamInput::Gap { .. } | StreamInput::End { .. } => Proto::Http1,
            };
            match proto {
                Proto::Http2 => Box::new(H2Layer::new(limits, hints.stream_start_seen, ends)),
                _ => Box::new(Http1Upgrade::new(SessionConfig {
                    force_ws: hints.force_ws,
                    stream_start_seen: hints.stream_start_seen,
                    ..limits
                })),
            }
        })
    }
}

impl ByteLayer for Plaintext {
    fn input(&mut self, item: StreamInput<'_>, cx: &mut LayerCx<'_>) {
        self.upper(&item).input(item, cx);
    }

    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        match &mut self.upper {
            Some(u) => u.finish(at, cx),
            None => SessionSummary::default(),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.upper
            .as_ref()
            .map_or(0, |u| u.heap_bytes() + std::mem::size_of_val(&**u))
    }

    fn frame_in_progress(&self, dir: Dir) -> Option<u64> {
        self.upper.as_ref().and_then(|u| u.frame_in_progress(dir))
    }
}
