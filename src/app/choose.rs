//! Which application protocol a connection speaks, and the evidence.
//!
//! In order of strength: what the user forced (`--decode`), the subprotocol
//! the server agreed to in its 101 (`Sec-WebSocket-Protocol`: the peers'
//! own statement), the URL of the upgrade (libraries mount themselves at
//! well-known paths), and last the shape of the first messages (a decoder
//! accepts a message only when it reads all of it).

use super::AppProto;

/// Why a connection is decoded as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// `--decode NAME` or `--decode PORT=NAME`.
    Forced,
    /// The subprotocol the server agreed to.
    Subprotocol(String),
    /// The upgrade's URL matched a library's endpoint.
    Url(String),
    /// The first messages had the protocol's shape.
    Shape,
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::Forced => f.write_str("forced by --decode"),
            Evidence::Subprotocol(s) => write!(f, "subprotocol {s}"),
            Evidence::Url(s) => write!(f, "URL {s}"),
            Evidence::Shape => f.write_str("message shape"),
        }
    }
}

/// A protocol and the evidence for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub proto: AppProto,
    pub evidence: Evidence,
}

/// What the handshake says: the agreed subprotocol first, then the path.
pub fn by_handshake(subprotocol: Option<&str>, path: &str) -> Option<Choice> {
    if let Some(sp) = subprotocol
        && let Some(p) = by_subprotocol(sp)
    {
        return Some(Choice {
            proto: p,
            evidence: Evidence::Subprotocol(sp.trim().to_string()),
        });
    }
    by_url(path).map(|p| Choice {
        proto: p,
        evidence: Evidence::Url(path.to_string()),
    })
}

/// The registered (or de facto) subprotocol names.
fn by_subprotocol(sp: &str) -> Option<AppProto> {
    let sp = sp.trim().to_ascii_lowercase();
    Some(match sp.as_str() {
        "graphql-transport-ws" => AppProto::GraphqlTransportWs,
        "graphql-ws" => AppProto::GraphqlWs,
        "v10.stomp" | "v11.stomp" | "v12.stomp" | "stomp" => AppProto::Stomp,
        s if s.starts_with("ocpp") => AppProto::Ocpp,
        "jsonrpc" | "json-rpc" | "jsonrpc2" | "jsonrpc-2.0" => AppProto::JsonRpc,
        "mqtt" | "mqttv3.1" | "mqttv3.1.1" | "mqttv5" => AppProto::Mqtt,
        "wamp.2.json" => AppProto::WampJson,
        "wamp.2.msgpack" => AppProto::WampMsgPack,
        "wamp.2.cbor" => AppProto::WampCbor,
        "actioncable-v1-json" | "actioncable-unsupported" => AppProto::ActionCable,
        // channel.k8s.io, v2…v5.channel.k8s.io, base64.channel.k8s.io,
        // v4.base64.channel.k8s.io.
        s if s == "channel.k8s.io" || s.ends_with(".channel.k8s.io") => AppProto::Kubernetes,
        _ => return None,
    })
}

/// The endpoints libraries mount themselves at.
fn by_url(path: &str) -> Option<AppProto> {
    let (p, query) = path.split_once('?').unwrap_or((path, ""));
    if p.contains("/socket.io/") && query.split('&').any(|kv| kv.starts_with("EIO=")) {
        return Some(AppProto::SocketIo);
    }
    if p.contains("/devtools/page/") || p.contains("/devtools/browser/") {
        return Some(AppProto::Cdp);
    }
    // SockJS: /<prefix>/<server>/<session>/websocket, server a number of
    // three digits at most, session any token (sockjs-protocol 0.3).
    let segs: Vec<&str> = p.trim_end_matches('/').rsplit('/').take(3).collect();
    if let [last, session, server] = segs.as_slice()
        && *last == "websocket"
        && !session.is_empty()
        && !server.is_empty()
        && server.len() <= 3
        && server.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(AppProto::SockJs);
    }
    // Phoenix: `socket "/socket", …` is served at /socket/websocket, the
    // serializer named by `vsn=` (any mount point with it).
    let trimmed = p.trim_end_matches('/');
    if trimmed.ends_with("/socket/websocket")
        || (trimmed.ends_with("/websocket") && query.split('&').any(|kv| kv.starts_with("vsn=")))
    {
        return Some(AppProto::Phoenix);
    }
    // Action Cable's default mount point.
    if trimmed.ends_with("/cable") {
        return Some(AppProto::ActionCable);
    }
    // The API server's exec and attach: /api/v1/namespaces/NS/pods/POD/exec.
    if let [.., "api", "v1", "namespaces", ns, "pods", pod, "exec" | "attach"] =
        trimmed.split('/').collect::<Vec<_>>().as_slice()
        && !ns.is_empty()
        && !pod.is_empty()
    {
        return Some(AppProto::Kubernetes);
    }
    None
}

/// A protocol recognisable from one message alone: a whole, unambiguous
/// opening (Engine.IO's open packet, a STOMP CONNECT, GraphQL's
/// connection_init, an OCPP CALL, a JSON-RPC 2.0 object, a DevTools
/// command, a SignalR handshake request, a Phoenix V2 `phx_join`, Action
/// Cable's welcome).
pub fn by_shape(data: &[u8], text: bool) -> Option<AppProto> {
    if !text {
        return super::mqtt::is_connect(data).then_some(AppProto::Mqtt);
    }
    let s = std::str::from_utf8(data).ok()?;
    if super::signalr::is_handshake_request(data) {
        return Some(AppProto::SignalR);
    }
    if let Some(rest) = s.strip_prefix('0')
        && rest.starts_with("{\"sid\"")
        && serde_json::from_str::<serde_json::Value>(rest).is_ok()
    {
        return Some(AppProto::SocketIo);
    }
    for cmd in [
        "CONNECT\n",
        "STOMP\n",
        "CONNECT\r\n",
        "STOMP\r\n",
        "CONNECTED\n",
        "CONNECTED\r\n",
    ] {
        if s.starts_with(cmd) && s.ends_with('\0') {
            return Some(AppProto::Stomp);
        }
    }
    let v: serde_json::Value = serde_json::from_str(s).ok()?;
    if let Some(o) = v.as_object() {
        match o.get("type").and_then(|t| t.as_str()) {
            Some("connection_init") if o.len() <= 2 => return Some(AppProto::GraphqlTransportWs),
            _ => {}
        }
        if o.get("jsonrpc").and_then(|j| j.as_str()) == Some("2.0") {
            return Some(AppProto::JsonRpc);
        }
        if o.get("id").is_some_and(|i| i.is_u64())
            && o.get("method")
                .and_then(|m| m.as_str())
                .is_some_and(|m| m.split_once('.').is_some_and(|(d, c)| is_ident(d) && is_ident(c)))
        {
            return Some(AppProto::Cdp);
        }
    }
    if super::ocpp::is_call(&v) {
        return Some(AppProto::Ocpp);
    }
    if super::wamp::is_hello(&v) {
        return Some(AppProto::WampJson);
    }
    if super::phoenix::is_join(&v) {
        return Some(AppProto::Phoenix);
    }
    if super::actioncable::is_welcome(&v) {
        return Some(AppProto::ActionCable);
    }
    None
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_names_the_protocol() {
        let c = by_handshake(Some("graphql-transport-ws"), "/graphql").unwrap();
        assert_eq!(c.proto, AppProto::GraphqlTransportWs);
        assert_eq!(c.evidence.to_string(), "subprotocol graphql-transport-ws");
        let c = by_handshake(None, "/socket.io/?EIO=4&transport=websocket").unwrap();
        assert_eq!(c.proto, AppProto::SocketIo);
        assert_eq!(by_handshake(None, "/socket.io/?transport=websocket"), None);
        assert_eq!(
            by_handshake(None, "/devtools/page/ABC").unwrap().proto,
            AppProto::Cdp
        );
        assert_eq!(
            by_handshake(None, "/echo/123/abcdef/websocket").unwrap().proto,
            AppProto::SockJs
        );
        assert_eq!(by_handshake(None, "/echo/websocket"), None);
        assert_eq!(
            by_handshake(Some("ocpp1.6"), "/cp/1").unwrap().proto,
            AppProto::Ocpp
        );
        // An unknown subprotocol leaves the URL to decide.
        assert_eq!(by_handshake(Some("chat"), "/x"), None);
    }

    #[test]
    fn shapes_that_open_a_protocol() {
        assert_eq!(
            by_shape(br#"0{"sid":"a","upgrades":[],"pingInterval":25000}"#, true),
            Some(AppProto::SocketIo)
        );
        assert_eq!(
            by_shape(b"CONNECT\naccept-version:1.2\n\n\0", true),
            Some(AppProto::Stomp)
        );
        assert_eq!(
            by_shape(br#"{"type":"connection_init"}"#, true),
            Some(AppProto::GraphqlTransportWs)
        );
        assert_eq!(
            by_shape(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#, true),
            Some(AppProto::JsonRpc)
        );
        assert_eq!(
            by_shape(br#"{"id":1,"method":"Page.enable"}"#, true),
            Some(AppProto::Cdp)
        );
        assert_eq!(
            by_shape(br#"[2,"19223201","BootNotification",{}]"#, true),
            Some(AppProto::Ocpp)
        );
        assert_eq!(by_shape(br#"{"hello":"world"}"#, true), None);
        assert_eq!(by_shape(b"CONNECT\nno terminator", true), None);
        assert_eq!(by_shape(b"\x10\x00", false), None);
        assert_eq!(
            by_shape(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00", false),
            Some(AppProto::Mqtt)
        );
        assert_eq!(by_handshake(Some("mqtt"), "/mqtt").unwrap().proto, AppProto::Mqtt);
    }

    #[test]
    fn signalr_by_its_handshake_request() {
        assert_eq!(
            by_shape(b"{\"protocol\":\"json\",\"version\":1}\x1e", true),
            Some(AppProto::SignalR)
        );
        assert_eq!(
            by_shape(b"{\"protocol\":\"messagepack\",\"version\":1}\x1e", true),
            Some(AppProto::SignalR)
        );
        // Without the separator, with another record after it, or another
        // field: not the handshake alone.
        assert_eq!(by_shape(br#"{"protocol":"json","version":1}"#, true), None);
        assert_eq!(
            by_shape(b"{\"protocol\":\"json\",\"version\":1}\x1e{\"type\":6}\x1e", true),
            None
        );
        assert_eq!(
            by_shape(b"{\"protocol\":\"json\",\"version\":1,\"x\":2}\x1e", true),
            None
        );
        assert_eq!(
            by_shape(b"{\"protocol\":\"json\",\"version\":1}\x1e", false),
            None
        );
    }

    #[test]
    fn phoenix_by_url_and_join() {
        for path in [
            "/socket/websocket",
            "/socket/websocket?vsn=2.0.0",
            "/socket/websocket?token=abc&vsn=1.0.0",
            "/live/websocket?_csrf_token=x&vsn=2.0.0",
            "/mobile/websocket?vsn=2.0.0",
        ] {
            let c = by_handshake(None, path).unwrap();
            assert_eq!(c.proto, AppProto::Phoenix, "{path}");
            assert_eq!(c.evidence, Evidence::Url(path.into()));
        }
        // Other /websocket endpoints stay what they were.
        assert_eq!(by_handshake(None, "/echo/websocket"), None);
        assert_eq!(
            by_handshake(None, "/echo/123/abcdef/websocket").unwrap().proto,
            AppProto::SockJs
        );
        assert_eq!(
            by_shape(
                br#"["0", "0", "miami:weather", "phx_join", {"some": "param"}]"#,
                true
            ),
            Some(AppProto::Phoenix)
        );
        assert_eq!(
            by_shape(br#"[null, "2", "phoenix", "heartbeat", {}]"#, true),
            None
        );
        assert_eq!(by_shape(br#"["0", "0", 1, "phx_join", {}]"#, true), None);
    }

    #[test]
    fn action_cable_by_subprotocol_url_and_welcome() {
        let c = by_handshake(Some("actioncable-v1-json"), "/cable").unwrap();
        assert_eq!(c.proto, AppProto::ActionCable);
        assert_eq!(c.evidence.to_string(), "subprotocol actioncable-v1-json");
        assert_eq!(
            by_handshake(Some("actioncable-unsupported"), "/x").unwrap().proto,
            AppProto::ActionCable
        );
        let c = by_handshake(None, "/cable").unwrap();
        assert_eq!(c.proto, AppProto::ActionCable);
        assert_eq!(c.evidence, Evidence::Url("/cable".into()));
        assert_eq!(
            by_handshake(None, "/app/cable?token=x").unwrap().proto,
            AppProto::ActionCable
        );
        assert_eq!(by_handshake(None, "/cables"), None);
        assert_eq!(
            by_shape(br#"{"type":"welcome"}"#, true),
            Some(AppProto::ActionCable)
        );
        assert_eq!(by_shape(br#"{"type":"welcome","extra":1}"#, true), None);
    }

    #[test]
    fn kubernetes_by_subprotocol_then_url() {
        for sp in [
            "v4.channel.k8s.io",
            "v5.channel.k8s.io",
            "channel.k8s.io",
            "base64.channel.k8s.io",
            "v4.base64.channel.k8s.io",
        ] {
            let c = by_handshake(Some(sp), "/api/v1/namespaces/default/pods/web-0/exec?command=sh").unwrap();
            assert_eq!(c.proto, AppProto::Kubernetes, "{sp}");
            assert_eq!(c.evidence, Evidence::Subprotocol(sp.into()));
        }
        // No subprotocol named it: the URL does.
        let path = "/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&stdout=true&tty=true";
        let c = by_handshake(None, path).unwrap();
        assert_eq!(c.proto, AppProto::Kubernetes);
        assert_eq!(c.evidence, Evidence::Url(path.into()));
        assert_eq!(
            by_handshake(None, "/api/v1/namespaces/kube-system/pods/dns/attach?stdout=1")
                .unwrap()
                .proto,
            AppProto::Kubernetes
        );
        assert_eq!(
            by_handshake(Some("chat"), "/k8s/clusters/c-1/api/v1/namespaces/a/pods/b/exec")
                .unwrap()
                .proto,
            AppProto::Kubernetes
        );
        assert_eq!(
            by_handshake(None, "/api/v1/namespaces/default/pods/web-0/log"),
            None
        );
        assert_eq!(
            by_handshake(None, "/api/v1/namespaces/default/pods/web-0/portforward"),
            None
        );
        assert_eq!(by_handshake(None, "/exec"), None);
        // Binary channel bytes are no shape.
        assert_eq!(by_shape(&[1, 10], false), None);
    }
}
