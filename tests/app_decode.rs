//! Application protocols inside WebSocket messages (`wsscope::app`): real
//! captures decoded to what their peers sent, latencies equal to the
//! capture-time differences, and random inputs never taken for a protocol.

mod common;

use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use wsscope::app::{AppLayer, AppProto, Choice, DecodeMode, Evidence, by_handshake};
use wsscope::event::Dir;
use wsscope::model::{Stamp, Timestamp};

fn jsonl(args: &[&str], cap: &Path) -> Vec<Value> {
    common::wsscope_jsonl(args, cap)
}

fn ts(v: &Value) -> f64 {
    v["ts"].as_f64().unwrap()
}

/// A third-party OCPP 1.6 capture (a charge point simulator against the
/// SteVe central system, compressed with permessage-deflate): every CALL
/// and CALLRESULT decoded, each result paired with its call, its latency
/// the capture-time difference of the two messages, and the close record's
/// latencies per action.
#[test]
#[ignore = "needs ../shared/corpus"]
fn ocpp_from_a_real_central_system() {
    let cap = common::root().join("../shared/corpus/witchofthewires-evsetool__cap.pcapng");
    let ev = jsonl(&["dump", "--format", "jsonl"], &cap);
    let hs: Vec<&Value> = ev.iter().filter(|e| e["type"] == "handshake").collect();
    assert_eq!(hs.len(), 2);
    for h in &hs {
        assert_eq!(h["decoder"]["protocol"], "ocpp");
        assert_eq!(h["decoder"]["evidence"], "subprotocol ocpp1.6");
    }
    for conn in [0, 1] {
        let msgs: Vec<&Value> = ev
            .iter()
            .filter(|e| e["type"] == "message" && e["conn"] == conn)
            .collect();
        assert_eq!(msgs.len(), 8);
        let actions: Vec<&str> = msgs
            .iter()
            .filter(|m| m["decoded"]["kind"] == "CALL")
            .map(|m| m["decoded"]["method"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "BootNotification",
                "Authorize",
                "FirmwareStatusNotification",
                "DiagnosticsStatusNotification"
            ]
        );
        for m in &msgs {
            let d = &m["decoded"];
            // The tree is the message itself (nothing secret in it).
            let text: Value = serde_json::from_str(m["text"].as_str().unwrap()).unwrap();
            assert_eq!(d["tree"], text);
            assert_eq!(d["id"], text[1]);
            if d["kind"] == "CALLRESULT" {
                let call = msgs
                    .iter()
                    .find(|c| c["decoded"]["kind"] == "CALL" && c["decoded"]["id"] == d["id"])
                    .expect("its CALL");
                let want = ts(m) - ts(call);
                let got = d["latency"].as_f64().unwrap();
                assert!((got - want).abs() < 1e-6, "{got} vs {want}");
                assert_eq!(d["request_packet"], call["packet"]);
                assert_eq!(d["method"], call["decoded"]["method"]);
            }
        }
        let close = ev
            .iter()
            .find(|e| e["type"] == "close" && e["conn"] == conn)
            .unwrap();
        let app = &close["app"];
        assert_eq!(app["protocol"], "ocpp");
        assert_eq!(app["unanswered"], 0);
        let lat = app["latency"].as_object().unwrap();
        assert_eq!(lat.len(), 4);
        assert_eq!(lat["Authorize"]["count"], 1);
        let boot = &lat["BootNotification"];
        assert_eq!(boot["min"], boot["max"]);
    }
    // The text timeline says it in a line.
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump"])
        .arg(&cap)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("ocpp CALLRESULT id 6166cbe7-d6c3-438a-8d71-0875bb8e9b48 {\"idTagInfo\":{\"status\":\"Invalid\"}} (to \"Authorize\", 4.5 ms)"),
        "{text}"
    );
    // --decode none: nothing decoded, handshakes say so.
    let off = jsonl(&["dump", "--format", "jsonl", "--decode", "none"], &cap);
    assert!(
        off.iter()
            .all(|e| e.get("decoded").is_none() && e.get("app").is_none())
    );
    assert!(
        off.iter()
            .filter(|e| e["type"] == "handshake")
            .all(|h| h["decoder"].is_null())
    );
}

fn at(ms: i64, packet: u64) -> Stamp {
    Stamp::new(
        Timestamp {
            secs: ms / 1000,
            nanos: ((ms % 1000) * 1_000_000) as u32,
        },
        packet,
    )
}

#[test]
fn one_bad_message_leaves_the_rest_of_the_connection_decoded() {
    let mut app = AppLayer::new(
        DecodeMode::Auto,
        by_handshake(Some("graphql-transport-ws"), "/graphql"),
    );
    let msgs: [(Dir, &str); 4] = [
        (Dir::C2S, r#"{"type":"connection_init"}"#),
        (
            Dir::C2S,
            r#"{"id":"1","type":"subscribe","payload":{"query":"{ hello }"}}"#,
        ),
        (Dir::S2C, r#"{"id":"1","type":"next","payload":"#),
        (Dir::S2C, r#"{"id":"1","type":"complete"}"#),
    ];
    let out: Vec<_> = msgs
        .iter()
        .enumerate()
        .map(|(i, (d, m))| app.message(*d, m.as_bytes(), true, at(10 * i as i64, i as u64 + 1)))
        .collect();
    assert_eq!(out[0].as_ref().unwrap().items[0].kind, "connection_init");
    let broken = out[2].as_ref().unwrap();
    assert!(broken.items.is_empty());
    assert!(
        broken.error.as_deref().unwrap().contains("not JSON"),
        "{broken:?}"
    );
    let done = &out[3].as_ref().unwrap().items[0];
    assert_eq!(done.kind, "complete");
    assert_eq!(done.request_packet, Some(2));
    assert!((done.latency.unwrap() - 0.02).abs() < 1e-9);
    let s = app.finish().unwrap();
    assert_eq!(s.protocol, "graphql-transport-ws");
    assert_eq!(s.unanswered, 0);
}

#[test]
fn forced_decoders_and_shapes() {
    // Forced: the messages are read as asked, whatever they look like.
    let mut app = AppLayer::new(DecodeMode::Force(AppProto::JsonRpc), None);
    assert_eq!(app.choice().unwrap().evidence, Evidence::Forced);
    let d = app.message(Dir::C2S, br#"{"hello":1}"#, true, at(0, 1)).unwrap();
    assert!(d.error.as_deref().unwrap().contains("jsonrpc"));
    // Generic JSON still shown.
    assert_eq!(d.items[0].protocol, "json");
    // By shape: the first message that is a whole DevTools command.
    let mut app = AppLayer::new(DecodeMode::Auto, None);
    let d = app.message(
        Dir::C2S,
        br#"{"id":7,"method":"Page.navigate","params":{"url":"data:,"}}"#,
        true,
        at(0, 1),
    );
    assert_eq!(d.unwrap().items[0].protocol, "cdp");
    assert_eq!(
        app.choice(),
        Some(&Choice {
            proto: AppProto::Cdp,
            evidence: Evidence::Shape
        })
    );
    let r = app
        .message(Dir::S2C, br#"{"id":7,"result":{"frameId":"F"}}"#, true, at(31, 4))
        .unwrap();
    assert_eq!(r.items[0].method.as_deref(), Some("Page.navigate"));
    // Off: nothing.
    let mut off = AppLayer::new(DecodeMode::Off, by_handshake(Some("ocpp1.6"), "/"));
    assert!(
        off.message(Dir::C2S, br#"[2,"1","Heartbeat",{}]"#, true, at(0, 1))
            .is_none()
    );
}

/// Any JSON value, a few levels deep.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 ._:/-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Text near the openings by_shape recognises: the right names with
/// random values, random extra fields or elements, separators or not.
fn arb_near_shape() -> impl Strategy<Value = Vec<u8>> {
    let word = prop_oneof![
        Just(Value::from("json")),
        Just(Value::from("messagepack")),
        Just(Value::from("welcome")),
        Just(Value::from("phx_join")),
        arb_json(),
    ];
    let signalr = (word.clone(), arb_json(), any::<bool>(), any::<bool>(), arb_json()).prop_map(
        |(proto, version, sep, extra, x)| {
            let mut o = serde_json::Map::new();
            o.insert("protocol".into(), proto);
            o.insert("version".into(), version);
            if extra {
                o.insert("x".into(), x);
            }
            let mut b = serde_json::to_vec(&Value::Object(o)).unwrap();
            if sep {
                b.push(0x1e);
            }
            b
        },
    );
    let phoenix = (
        arb_json(),
        arb_json(),
        arb_json(),
        word.clone(),
        arb_json(),
        any::<bool>(),
    )
        .prop_map(|(j, r, t, e, p, more)| {
            let mut a = vec![j, r, t, e, p];
            if more {
                a.push(Value::Null);
            }
            serde_json::to_vec(&Value::Array(a)).unwrap()
        });
    let cable = (word, prop::collection::btree_map("[a-z_]{1,8}", arb_json(), 0..3)).prop_map(|(t, rest)| {
        let mut o: serde_json::Map<String, Value> = rest.into_iter().collect();
        o.insert("type".into(), t);
        serde_json::to_vec(&Value::Object(o)).unwrap()
    });
    prop_oneof![signalr, phoenix, cable]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random JSON is taken for a protocol only when that protocol's
    /// decoder reads all of it; otherwise it stays generic JSON.
    #[test]
    fn random_json_is_no_protocol_unless_it_fully_decodes(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let mut app = AppLayer::new(DecodeMode::Auto, None);
        let d = app.message(Dir::C2S, &bytes, true, at(0, 1));
        match app.choice() {
            Some(c) => {
                let d = d.unwrap();
                prop_assert!(d.error.is_none(), "{:?} chose {:?} but failed: {:?}", v, c.proto, d.error);
                prop_assert!(d.items.iter().all(|m| m.protocol != "json"));
            }
            None => {
                if let Some(d) = d {
                    prop_assert!(d.items.iter().all(|m| m.protocol == "json"));
                }
            }
        }
    }

    /// The same for messages built near the openings by_shape knows for
    /// SignalR (a handshake request and its separator), Phoenix (a V2
    /// `phx_join` array) and Action Cable (the welcome): random JSON
    /// almost never comes near them by itself.
    #[test]
    fn near_shapes_are_no_protocol_unless_they_fully_decode(bytes in arb_near_shape()) {
        let mut app = AppLayer::new(DecodeMode::Auto, None);
        let d = app.message(Dir::S2C, &bytes, true, at(0, 1));
        if let Some(c) = app.choice() {
            let d = d.unwrap();
            prop_assert!(d.error.is_none(), "{:?} chose {:?} but failed: {:?}", String::from_utf8_lossy(&bytes), c.proto, d.error);
            prop_assert!(d.items.iter().all(|m| m.protocol != "json"));
        }
    }

    /// Random bytes, text or binary, are never a protocol, and no decoder
    /// panics on them.
    #[test]
    fn random_bytes_are_no_protocol(bytes in prop::collection::vec(any::<u8>(), 0..200), text in any::<bool>()) {
        let text = text && std::str::from_utf8(&bytes).is_ok();
        let mut app = AppLayer::new(DecodeMode::Auto, None);
        let _ = app.message(Dir::S2C, &bytes, text, at(0, 1));
        prop_assert!(app.choice().is_none(), "{:?}", bytes);
        for p in AppProto::ALL {
            let mut forced = AppLayer::new(DecodeMode::Force(p), None);
            let _ = forced.message(Dir::C2S, &bytes, text, at(0, 1));
        }
    }
}

/// The selection language picks messages by what they said: protocol,
/// method or event, latency.
#[test]
fn selecting_by_protocol_method_event_and_latency() {
    let root = common::root();
    let ocpp = root.join("fixtures/apps/ocpp16.pcap");
    let calls = |sel: &str| -> Vec<Value> {
        jsonl(
            &["dump", "--format", "jsonl", "--types", "message", "--select", sel],
            &ocpp,
        )
    };
    let boot = calls("method:BootNotification");
    // The CALL, and its CALLRESULT (which answers that method).
    assert_eq!(boot.len(), 2, "{boot:?}");
    assert!(boot.iter().all(|m| m["decoded"]["method"] == "BootNotification"));
    assert_eq!(calls("proto:ocpp").len(), 16);
    // Nothing selected: an empty output, and the exit status says so.
    let none = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--format", "jsonl", "--select", "proto:mqtt"])
        .arg(&ocpp)
        .output()
        .unwrap();
    assert!(none.stdout.is_empty() && !none.status.success());
    let slow = calls("latency>=0");
    assert_eq!(slow.len(), 8);
    let all_lat: Vec<f64> = slow
        .iter()
        .map(|m| m["decoded"]["latency"].as_f64().unwrap())
        .collect();
    let max = all_lat.iter().cloned().fold(0.0, f64::max);
    let above = calls(&format!("latency>{}us", (max * 1e6 - 1.0).max(0.0)));
    assert!(!above.is_empty() && above.len() < 8, "{above:?}");
    let sio = root.join("fixtures/apps/socketio.pcap");
    let adds = jsonl(
        &[
            "dump",
            "--format",
            "jsonl",
            "--types",
            "message",
            "--select",
            "event:add dir:c2s",
        ],
        &sio,
    );
    assert_eq!(adds.len(), 2);
    // A bad latency says how to write one.
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--select", "latency>fast"])
        .arg(&ocpp)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("latency>100ms"));
}

/// Random binary messages are rarely a generic format by accident: over
/// ten thousand random messages of 8 to 200 bytes, fewer than 1 in 200 read
/// whole as MessagePack, CBOR or a plausible protobuf message.
#[test]
fn random_binary_is_seldom_a_generic_payload() {
    let mut s = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let (mut taken, n) = (std::collections::BTreeMap::<&str, u32>::new(), 10_000);
    for _ in 0..n {
        let len = 8 + (next() % 193) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let mut app = AppLayer::new(DecodeMode::Auto, None);
        if let Some(d) = app.message(Dir::C2S, &bytes, false, at(0, 1)) {
            for m in &d.items {
                *taken.entry(m.protocol).or_default() += 1;
            }
        }
    }
    let total: u32 = taken.values().sum();
    assert!(total * 200 < n, "{taken:?}");
}
