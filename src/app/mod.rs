//! Application protocols inside WebSocket messages: which one a connection
//! speaks, chosen by evidence (the subprotocol the server agreed to, then
//! the URL, then the first messages' shape), every message decoded into a
//! small tree with a one-line summary, and requests paired with their
//! responses for latency.
//!
//! The layer sits above message assembly in the WebSocket session: it reads
//! each complete (inflated) message and adds what it found to the message
//! event. It never changes or drops a message: a decoder that fails on one
//! says why, the message keeps its generic view, and the next message is
//! decoded again.

mod actioncable;
mod choose;
mod correlate;
mod generic;
mod graphql;
mod json;
mod jsonrpc;
mod kube;
mod mqtt;
mod ocpp;
mod phoenix;
mod scan;
mod signalr;
mod socketio;
mod stomp;
mod wamp;

pub use choose::{Choice, Evidence, by_handshake};
pub use correlate::{AppSummary, NameLatency};
pub use json::redact;

use crate::model::Dir;
use crate::model::Stamp;

/// The protocols a connection can be decoded as (`--decode NAME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppProto {
    SocketIo,
    Stomp,
    SockJs,
    GraphqlTransportWs,
    GraphqlWs,
    JsonRpc,
    Cdp,
    Ocpp,
    Mqtt,
    /// WAMP v2 in JSON, MessagePack or CBOR.
    WampJson,
    WampMsgPack,
    WampCbor,
    /// ASP.NET Core SignalR, JSON and MessagePack hub protocols.
    SignalR,
    /// Phoenix Channels (V1 and V2 JSON serializers).
    Phoenix,
    /// Rails Action Cable (`actioncable-v1-json`).
    ActionCable,
    /// Kubernetes exec/attach channels (`v4.channel.k8s.io`, base64 variants).
    Kubernetes,
    /// Any JSON, MessagePack, CBOR or protobuf payload, message by message.
    Generic,
}

impl AppProto {
    pub const ALL: [AppProto; 17] = [
        AppProto::SocketIo,
        AppProto::Stomp,
        AppProto::SockJs,
        AppProto::GraphqlTransportWs,
        AppProto::GraphqlWs,
        AppProto::JsonRpc,
        AppProto::Cdp,
        AppProto::Ocpp,
        AppProto::Mqtt,
        AppProto::WampJson,
        AppProto::WampMsgPack,
        AppProto::WampCbor,
        AppProto::SignalR,
        AppProto::Phoenix,
        AppProto::ActionCable,
        AppProto::Kubernetes,
        AppProto::Generic,
    ];

    /// The name in outputs and in `--decode`.
    pub fn name(self) -> &'static str {
        match self {
            AppProto::SocketIo => "socket.io",
            AppProto::Stomp => "stomp",
            AppProto::SockJs => "sockjs",
            AppProto::GraphqlTransportWs => "graphql-transport-ws",
            AppProto::GraphqlWs => "graphql-ws",
            AppProto::JsonRpc => "json-rpc",
            AppProto::Cdp => "cdp",
            AppProto::Ocpp => "ocpp",
            AppProto::Mqtt => "mqtt",
            AppProto::WampJson => "wamp",
            AppProto::WampMsgPack => "wamp-msgpack",
            AppProto::WampCbor => "wamp-cbor",
            AppProto::SignalR => "signalr",
            AppProto::Phoenix => "phoenix",
            AppProto::ActionCable => "actioncable",
            AppProto::Kubernetes => "kubernetes",
            AppProto::Generic => "generic",
        }
    }

    /// A name as the user types it (a few spellings each).
    pub fn parse(s: &str) -> Option<AppProto> {
        let s = s.trim().to_ascii_lowercase();
        AppProto::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .or(match s.as_str() {
                "socketio" | "engine.io" | "engineio" => Some(AppProto::SocketIo),
                "jsonrpc" => Some(AppProto::JsonRpc),
                "devtools" | "chrome-devtools" => Some(AppProto::Cdp),
                "graphql" => Some(AppProto::GraphqlTransportWs),
                "subscriptions-transport-ws" => Some(AppProto::GraphqlWs),
                "ocpp-j" | "ocpp1.6" | "ocpp2.0.1" | "ocpp2.1" => Some(AppProto::Ocpp),
                "aspnet-signalr" | "signalr-json" | "signal-r" => Some(AppProto::SignalR),
                "phoenix-channels" | "phx" | "liveview" => Some(AppProto::Phoenix),
                "action-cable" | "action_cable" | "cable" | "anycable" | "actioncable-v1-json" => {
                    Some(AppProto::ActionCable)
                }
                "k8s"
                | "kube"
                | "kubectl"
                | "k8s-exec"
                | "channel.k8s.io"
                | "v4.channel.k8s.io"
                | "v5.channel.k8s.io"
                | "base64.channel.k8s.io" => Some(AppProto::Kubernetes),
                "json" | "msgpack" | "cbor" | "protobuf" => Some(AppProto::Generic),
                "wamp.2.json" | "wamp-json" => Some(AppProto::WampJson),
                "wamp.2.msgpack" => Some(AppProto::WampMsgPack),
                "wamp.2.cbor" => Some(AppProto::WampCbor),
                _ => None,
            })
    }

    fn decoder(self) -> Box<dyn AppDecoder> {
        match self {
            AppProto::SocketIo => Box::new(socketio::SocketIo::default()),
            AppProto::Stomp => Box::new(stomp::Stomp::plain()),
            AppProto::SockJs => Box::new(stomp::Stomp::in_sockjs()),
            AppProto::GraphqlTransportWs => Box::new(graphql::Graphql::transport_ws()),
            AppProto::GraphqlWs => Box::new(graphql::Graphql::legacy()),
            AppProto::JsonRpc => Box::new(jsonrpc::JsonRpc::plain()),
            AppProto::Cdp => Box::new(jsonrpc::JsonRpc::cdp()),
            AppProto::Ocpp => Box::new(ocpp::Ocpp),
            AppProto::Mqtt => Box::new(mqtt::Mqtt::default()),
            AppProto::WampJson => Box::new(wamp::Wamp::new(wamp::Serializer::Json)),
            AppProto::WampMsgPack => Box::new(wamp::Wamp::new(wamp::Serializer::MsgPack)),
            AppProto::WampCbor => Box::new(wamp::Wamp::new(wamp::Serializer::Cbor)),
            AppProto::SignalR => Box::new(signalr::SignalR),
            AppProto::Phoenix => Box::new(phoenix::Phoenix),
            AppProto::ActionCable => Box::new(actioncable::ActionCable),
            AppProto::Kubernetes => Box::new(kube::Kube),
            AppProto::Generic => Box::new(generic::Generic),
        }
    }
}

/// What `--decode` asked for a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DecodeMode {
    /// By evidence (the default).
    #[default]
    Auto,
    /// `--decode none`: no decoding.
    Off,
    /// `--decode NAME` (or `PORT=NAME` for this connection's port).
    Force(AppProto),
}

impl DecodeMode {
    /// The protocol a switched handshake names, as this mode allows: none
    /// when off, the forced one, or what the agreed subprotocol or the URL
    /// say ([`by_handshake`]). One rule for HTTP/1.1 upgrades and HTTP/2
    /// CONNECTs.
    pub fn choose(self, subprotocol: Option<&str>, path: &str) -> Option<Choice> {
        match self {
            DecodeMode::Off => None,
            DecodeMode::Force(p) => Some(Choice {
                proto: p,
                evidence: Evidence::Forced,
            }),
            DecodeMode::Auto => by_handshake(subprotocol, path),
        }
    }
}

/// One `--decode` value: for every connection, or for one port's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeSpec {
    All(DecodeMode),
    Port(u16, DecodeMode),
}

/// Parses `NAME`, `none`, `auto` or `PORT=NAME` (clap's value parser).
pub fn parse_decode_spec(s: &str) -> Result<DecodeSpec, String> {
    let mode = |name: &str| -> Result<DecodeMode, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(DecodeMode::Off),
            "auto" => Ok(DecodeMode::Auto),
            n => AppProto::parse(n).map(DecodeMode::Force).ok_or_else(|| {
                let names: Vec<&str> = AppProto::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown decoder {n:?}; give one of {}, auto or none",
                    names.join(", ")
                )
            }),
        }
    };
    match s.split_once('=') {
        Some((port, name)) => {
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| format!("{port:?} is not a port number: give PORT=NAME, e.g. 8080=socket.io"))?;
            Ok(DecodeSpec::Port(port, mode(name)?))
        }
        None => Ok(DecodeSpec::All(mode(s)?)),
    }
}

/// Every `--decode` given: a default and per-port choices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeArgs {
    pub default: DecodeMode,
    pub ports: Vec<(u16, DecodeMode)>,
}

impl DecodeArgs {
    pub fn new(specs: &[DecodeSpec]) -> Self {
        let mut a = DecodeArgs::default();
        for s in specs {
            match *s {
                DecodeSpec::All(m) => a.default = m,
                DecodeSpec::Port(p, m) => a.ports.push((p, m)),
            }
        }
        a
    }

    /// The choice for a connection between these ports (the server's port
    /// first: it names the service).
    pub fn for_conn(&self, server: u16, client: u16) -> DecodeMode {
        let find = |port: u16| self.ports.iter().rev().find(|(p, _)| *p == port).map(|(_, m)| *m);
        find(server).or_else(|| find(client)).unwrap_or(self.default)
    }
}

/// How a request and a response find each other.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Corr {
    #[default]
    None,
    /// A request expecting an answer under this id.
    Request(String),
    /// An answer to the request with this id; `last`: no more answers follow
    /// (a GraphQL `next` is followed by more, its `complete` is last).
    Response { id: String, last: bool },
}

/// One application message found in a WebSocket message.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AppMessage {
    /// The decoder's protocol name (`socket.io`, `stomp`, ...; `json`,
    /// `msgpack`, `cbor`, `protobuf` for generic payloads).
    pub protocol: &'static str,
    /// The protocol's own name for the message type (`EVENT`, `SEND`, ...).
    pub kind: String,
    /// One line: what a person reads first.
    pub summary: String,
    /// Correlation id where the protocol has one.
    pub id: Option<String>,
    pub method: Option<String>,
    pub event: Option<String>,
    pub topic: Option<String>,
    /// The decoded structure, secrets redacted. `Null` when `raw_tree` says
    /// where it is instead.
    pub tree: serde_json::Value,
    /// The tree is this span of the message itself, unchanged (JSON with no
    /// secret in it: nothing was built). See [`AppMessage::tree_of`].
    pub raw_tree: Option<(usize, usize)>,
    /// Seconds from the request's last packet to this response's (responses only).
    pub latency: Option<f64>,
    /// The packet that completed the request this answers.
    pub request_packet: Option<u64>,
    /// How it pairs (not written out: `id`, `latency` say it).
    pub corr: Corr,
}

impl AppMessage {
    /// The decoded structure, given the message it came from.
    pub fn tree_of(&self, data: &[u8]) -> serde_json::Value {
        match self.raw_tree {
            Some((a, b)) => data
                .get(a..b)
                .and_then(|t| serde_json::from_slice(t).ok())
                .unwrap_or(serde_json::Value::Null),
            None => self.tree.clone(),
        }
    }
}

/// The tree of a JSON message, or of the member of it at `span`: the span
/// itself when no key in it names a secret (`secret_key`, from the scan
/// that validated it), else the value with secrets redacted.
fn json_tree(data: &[u8], span: (usize, usize), secret_key: bool, m: &mut AppMessage) {
    let text = data.get(span.0..span.1).unwrap_or_default();
    if secret_key {
        let mut v: serde_json::Value = serde_json::from_slice(text).unwrap_or(serde_json::Value::Null);
        json::redact(&mut v);
        m.tree = v;
    } else {
        m.raw_tree = Some(span);
    }
}

/// What the layer found in one WebSocket message.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Decoded {
    /// Application messages, in order (several for a SockJS array).
    pub items: Vec<AppMessage>,
    /// The connection's decoder could not read this message: why. The
    /// message keeps its generic view.
    pub error: Option<String>,
}

/// Whether a key or parameter name names a secret (`password`, `token`,
/// `api_key`, ...: case, `-` and `_` ignored), as redaction judges it.
pub fn is_secret_name(k: &[u8]) -> bool {
    scan::is_secret_bytes(k)
}

/// A decoder: whole WebSocket messages in, application messages out.
pub trait AppDecoder: Send + std::fmt::Debug {
    /// Decodes `data` (a `text` message when valid UTF-8) sent in `dir`,
    /// appending to `out`. An error leaves `out` as it was.
    fn decode(&mut self, dir: Dir, data: &[u8], text: bool, out: &mut Vec<AppMessage>) -> Result<(), String>;
}

/// Messages looked at for a recognisable shape before giving up on a
/// connection whose handshake named nothing.
const SNIFF_MESSAGES: u32 = 8;

/// The layer of one WebSocket session.
#[derive(Debug)]
pub struct AppLayer {
    mode: DecodeMode,
    choice: Option<Choice>,
    decoder: Option<Box<dyn AppDecoder>>,
    sniffed: u32,
    table: correlate::Correlator,
}

impl AppLayer {
    /// With what the handshake showed (`by_handshake`) and what the user asked.
    pub fn new(mode: DecodeMode, handshake: Option<Choice>) -> Self {
        let choice = match mode {
            DecodeMode::Off => None,
            DecodeMode::Force(p) => Some(Choice {
                proto: p,
                evidence: Evidence::Forced,
            }),
            DecodeMode::Auto => handshake,
        };
        AppLayer {
            mode,
            decoder: choice.as_ref().map(|c| c.proto.decoder()),
            choice,
            sniffed: 0,
            table: correlate::Correlator::default(),
        }
    }

    /// The protocol chosen so far, and why.
    pub fn choice(&self) -> Option<&Choice> {
        self.choice.as_ref()
    }

    /// Decodes one message sent in `dir`, completed at `at`.
    pub fn message(&mut self, dir: Dir, data: &[u8], text: bool, at: Stamp) -> Option<Box<Decoded>> {
        if self.mode == DecodeMode::Off || data.is_empty() {
            return None;
        }
        if self.decoder.is_none() && self.sniffed < SNIFF_MESSAGES {
            self.sniffed += 1;
            if let Some(p) = choose::by_shape(data, text) {
                self.choice = Some(Choice {
                    proto: p,
                    evidence: Evidence::Shape,
                });
                self.decoder = Some(p.decoder());
            }
        }
        let mut d = Decoded::default();
        match self.decoder.as_mut() {
            Some(dec) => {
                if let Err(e) = dec.decode(dir, data, text, &mut d.items) {
                    d.error = Some(e);
                    // The generic view, when the bytes are a generic payload.
                    d.items.extend(generic::take(data, text));
                }
            }
            None => d.items.extend(generic::take(data, text)),
        }
        for m in &mut d.items {
            self.table.pair(dir, at, m);
            if let Some(l) = m.latency {
                let asked = m
                    .method
                    .as_deref()
                    .or(m.event.as_deref())
                    .filter(|n| !m.summary.contains(*n));
                if let Some(n) = asked {
                    m.summary.push_str(&format!(" (to {n:?}, {})", latency_text(l)));
                } else {
                    m.summary.push_str(&format!(" ({})", latency_text(l)));
                }
            }
        }
        (!d.items.is_empty() || d.error.is_some()).then(|| Box::new(d))
    }

    /// The connection ended: latencies per name, requests never answered.
    pub fn finish(&mut self) -> Option<AppSummary> {
        let choice = self.choice.as_ref()?;
        Some(self.table.summary(choice))
    }

    /// Heap bytes held (the correlation table).
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
    }
}

/// A latency for a summary: `12.3 ms`, `1.204 s`.
pub fn latency_text(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.3} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn at(ms: i64, packet: u64) -> Stamp {
        Stamp::new(
            Timestamp {
                secs: ms / 1000,
                nanos: ((ms % 1000) * 1_000_000) as u32,
            },
            packet,
        )
    }

    /// Runs (direction, message, text) through a layer chosen by the
    /// handshake; the items of each message.
    fn run(sp: Option<&str>, path: &str, msgs: &[(Dir, &[u8], bool)]) -> (AppLayer, Vec<Vec<AppMessage>>) {
        let mut app = AppLayer::new(DecodeMode::Auto, by_handshake(sp, path));
        let out = msgs
            .iter()
            .enumerate()
            .map(|(i, (d, m, t))| {
                let r = app.message(*d, m, *t, at(10 * i as i64, i as u64 + 1)).unwrap();
                assert!(r.error.is_none(), "{:?}", r.error);
                r.items
            })
            .collect();
        (app, out)
    }

    #[test]
    fn the_new_names_and_their_spellings() {
        for (n, p) in [
            ("signalr", AppProto::SignalR),
            ("SignalR", AppProto::SignalR),
            ("phoenix", AppProto::Phoenix),
            ("phx", AppProto::Phoenix),
            ("actioncable", AppProto::ActionCable),
            ("action-cable", AppProto::ActionCable),
            ("kubernetes", AppProto::Kubernetes),
            ("k8s", AppProto::Kubernetes),
            ("v4.channel.k8s.io", AppProto::Kubernetes),
        ] {
            assert_eq!(AppProto::parse(n), Some(p), "{n}");
        }
        for p in [
            AppProto::SignalR,
            AppProto::Phoenix,
            AppProto::ActionCable,
            AppProto::Kubernetes,
        ] {
            assert!(AppProto::ALL.contains(&p));
            assert_eq!(AppProto::parse(p.name()), Some(p));
        }
        assert_eq!(
            parse_decode_spec("4000=phoenix"),
            Ok(DecodeSpec::Port(4000, DecodeMode::Force(AppProto::Phoenix)))
        );
        assert!(
            parse_decode_spec("nope")
                .unwrap_err()
                .contains("signalr, phoenix, actioncable, kubernetes")
        );
    }

    #[test]
    fn signalr_invocations_pair_with_completions_through_the_layer() {
        let (mut app, out) = run(
            None,
            "/chathub?id=abc",
            &[
                (Dir::C2S, b"{\"protocol\":\"json\",\"version\":1}\x1e", true),
                (Dir::S2C, b"{}\x1e", true),
                (
                    Dir::C2S,
                    b"{\"type\":1,\"invocationId\":\"0\",\"target\":\"Add\",\"arguments\":[40,2]}\x1e",
                    true,
                ),
                (
                    Dir::S2C,
                    b"{\"type\":3,\"invocationId\":\"0\",\"result\":42}\x1e",
                    true,
                ),
            ],
        );
        assert_eq!(app.choice().unwrap().proto, AppProto::SignalR);
        assert_eq!(app.choice().unwrap().evidence, Evidence::Shape);
        let hs = &out[1][0];
        assert!((hs.latency.unwrap() - 0.01).abs() < 1e-9);
        let done = &out[3][0];
        assert_eq!(done.method.as_deref(), Some("Add"));
        assert_eq!(done.request_packet, Some(3));
        assert_eq!(
            done.summary,
            "signalr Completion id 0 result 42 (to \"Add\", 10.0 ms)"
        );
        assert_eq!(app.finish().unwrap().unanswered, 0);
    }

    #[test]
    fn phoenix_replies_pair_with_the_clients_refs() {
        let (mut app, out) = run(
            None,
            "/socket/websocket?vsn=2.0.0",
            &[
                (
                    Dir::C2S,
                    br#"["0", "0", "miami:weather", "phx_join", {"some": "param"}]"#,
                    true,
                ),
                (
                    Dir::S2C,
                    br#"["0","0","miami:weather","phx_reply",{"response":{},"status":"ok"}]"#,
                    true,
                ),
                (Dir::C2S, br#"[null, "2", "phoenix", "heartbeat", {}]"#, true),
                (
                    Dir::S2C,
                    br#"[null,"2","phoenix","phx_reply",{"response":{},"status":"ok"}]"#,
                    true,
                ),
            ],
        );
        assert_eq!(app.choice().unwrap().proto, AppProto::Phoenix);
        assert_eq!(out[1][0].request_packet, Some(1));
        assert_eq!(out[3][0].request_packet, Some(3));
        let s = app.finish().unwrap();
        assert_eq!(s.unanswered, 0);
        let names: Vec<&str> = s.latency.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["heartbeat", "phx_join"]);
    }

    #[test]
    fn action_cable_confirmations_pair_with_subscribes() {
        let (mut app, out) = run(
            Some("actioncable-v1-json"),
            "/cable",
            &[
                (Dir::S2C, br#"{"type":"welcome"}"#, true),
                (
                    Dir::C2S,
                    br#"{"command":"subscribe","identifier":"{\"channel\":\"ChatChannel\",\"id\":42}"}"#,
                    true,
                ),
                (
                    Dir::S2C,
                    br#"{"identifier":"{\"channel\":\"ChatChannel\",\"id\":42}","type":"confirm_subscription"}"#,
                    true,
                ),
            ],
        );
        assert_eq!(out[2][0].request_packet, Some(2));
        assert!((out[2][0].latency.unwrap() - 0.01).abs() < 1e-9);
        assert_eq!(app.finish().unwrap().latency[0].name, "ChatChannel");
    }

    #[test]
    fn kubernetes_by_url_without_a_subprotocol() {
        let (app, out) = run(
            Some("chat"),
            "/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true",
            &[
                (Dir::C2S, &[0, 108, 115, 10], false),
                (Dir::S2C, &[1, 111, 107, 10], false),
            ],
        );
        assert_eq!(app.choice().unwrap().proto, AppProto::Kubernetes);
        assert_eq!(out[0][0].summary, "kubernetes stdin 3 \"ls\\n\"");
        assert_eq!(out[1][0].kind, "stdout");
    }
}
