//! Every application-protocol fixture (`fixtures/apps/`, recorded from the
//! protocols' own libraries by `fixtures/apps/record.sh`) decoded to what
//! the sending peers logged: per connection and direction, the same
//! sequence of message kinds, ids, event/method/topic names and payloads;
//! and every response paired with its request, its latency the capture-time
//! difference of the two messages.
//!
//! Where a sidecar line and a decoded message name things differently (the
//! library's word for a kind, a field the sender did not log), the mapping
//! below says so; payloads are compared after the redaction wsscope applies
//! to secrets in decoded trees (`wsscope::app::redact`).

mod common;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// One application message, as logged or as decoded.
#[derive(Clone, Debug, PartialEq)]
struct Item {
    kind: String,
    id: Option<String>,
    name: Option<String>,
    /// Compared only where the sidecar has it.
    payload: Option<Value>,
}

fn run(cap: &Path) -> Vec<Value> {
    common::wsscope_jsonl(&["dump", "--format", "jsonl"], cap)
}

fn sidecar(name: &str) -> Vec<Value> {
    let p = common::root().join(format!("fixtures/apps/{name}.app.jsonl"));
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn redacted(v: &Value) -> Value {
    let mut v = v.clone();
    wsscope::app::redact(&mut v);
    v
}

/// Decoded items per (connection index, direction), in wire order, and
/// every decoded item with its message (for the latency check).
type Seqs = BTreeMap<(usize, String), Vec<Item>>;

fn decoded(events: &[Value], map: impl Fn(&Value) -> Option<Item>) -> (Seqs, Vec<(Value, Value)>) {
    let mut conns: Vec<u64> = events
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| e["conn"].as_u64().unwrap())
        .collect();
    conns.sort_unstable();
    conns.dedup();
    let mut seqs = Seqs::new();
    let mut all = Vec::new();
    for e in events.iter().filter(|e| e["type"] == "message") {
        assert!(
            e.get("decode_error").is_none() || e["decoded"]["protocol"] == "json",
            "{e}"
        );
        let idx = conns
            .iter()
            .position(|c| *c == e["conn"].as_u64().unwrap())
            .unwrap();
        let items = match &e["decoded"] {
            Value::Array(a) => a.clone(),
            Value::Null => vec![],
            one => vec![one.clone()],
        };
        for it in items {
            all.push((it.clone(), e.clone()));
            if let Some(i) = map(&it) {
                seqs.entry((idx, e["dir"].as_str().unwrap().to_string()))
                    .or_default()
                    .push(i);
            }
        }
    }
    (seqs, all)
}

fn logged(lines: &[Value], map: impl Fn(&Value) -> Option<Item>) -> Seqs {
    let mut seqs = Seqs::new();
    for l in lines {
        let conn = l.get("conn").and_then(Value::as_u64).unwrap_or(0) as usize;
        if let Some(i) = map(l) {
            seqs.entry((conn, l["dir"].as_str().unwrap().to_string()))
                .or_default()
                .push(i);
        }
    }
    seqs
}

/// The sequences agree, item by item; payloads only where logged.
fn same(name: &str, got: &Seqs, want: &Seqs) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{name}: directions"
    );
    for (k, w) in want {
        let g = &got[k];
        assert_eq!(g.len(), w.len(), "{name} {k:?}: got {g:#?}\nwant {w:#?}");
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            assert_eq!(
                (&a.kind, &a.id, &a.name),
                (&b.kind, &b.id, &b.name),
                "{name} {k:?} #{i}"
            );
            if let Some(p) = &b.payload {
                assert_eq!(a.payload.as_ref(), Some(p), "{name} {k:?} #{i} payload");
            }
        }
    }
}

/// Every item with a latency answers the request in the message its
/// `request_packet` names; the latency is the two messages' time apart.
/// Returns how many were checked.
fn latencies(name: &str, all: &[(Value, Value)]) -> usize {
    let mut n = 0;
    for (it, msg) in all {
        let Some(l) = it["latency"].as_f64() else { continue };
        let req = all
            .iter()
            .find(|(_, m)| {
                m["conn"] == msg["conn"] && m["dir"] != msg["dir"] && m["packet"] == it["request_packet"]
            })
            .unwrap_or_else(|| panic!("{name}: no request in packet {}", it["request_packet"]));
        let want = msg["ts"].as_f64().unwrap() - req.1["ts"].as_f64().unwrap();
        assert!((l - want).abs() < 2e-6, "{name}: latency {l} vs {want}");
        n += 1;
    }
    n
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// `seqs` with `f` applied to every item (knowing its direction).
fn adjust(seqs: Seqs, f: impl Fn(&str, &mut Item)) -> Seqs {
    seqs.into_iter()
        .map(|(k, mut v)| {
            for i in &mut v {
                f(&k.1, i);
            }
            (k, v)
        })
        .collect()
}

/// A decoded Socket.IO / Engine.IO item as python-socketio's peers log it
/// (both protocol versions log the same way).
fn sio_got(it: &Value) -> Option<Item> {
    let p = it["protocol"].as_str()?;
    let tree = &it["tree"];
    match p {
        // Attachments are logged inside their event.
        "socket.io" if it["kind"] == "attachment" => None,
        "socket.io" => Some(Item {
            kind: it["kind"].as_str()?.to_string(),
            id: s(&it["id"]),
            name: s(&it["event"]),
            payload: Some(
                json!({"ns": tree["namespace"], "data": tree.get("data").cloned().unwrap_or(Value::Null)}),
            ),
        }),
        "engine.io" => Some(Item {
            kind: it["kind"].as_str()?.to_ascii_uppercase(),
            id: None,
            name: None,
            payload: tree.get("data").filter(|d| d.is_object()).cloned(),
        }),
        _ => panic!("{it}"),
    }
}

fn sio_want(l: &Value) -> Option<Item> {
    // python-socketio (4.6.1 as 5.18.1) logs the client's DISCONNECT
    // packets and Engine.IO CLOSE when it queues them, then closes the
    // WebSocket before they are written: the capture (and tshark) has none
    // of them, the close frames follow "bye" directly.
    if l["dir"] == "c2s" && (l["kind"] == "DISCONNECT" || l["kind"] == "CLOSE") {
        return None;
    }
    Some(Item {
        kind: s(&l["kind"])?,
        id: id_of(&l["id"]),
        name: s(&l["event"]),
        payload: match l["protocol"].as_str()? {
            "socketio" => Some(json!({"ns": l["namespace"], "data": redacted(&l["payload"])})),
            _ => l.get("payload").filter(|p| p.is_object()).cloned(),
        },
    })
}

/// A Socket.IO fixture decoded to what its peers logged, and its binary
/// attachments each announced; returns the events and the decoded items.
fn socketio_as_logged(name: &str) -> (Vec<Value>, Vec<(Value, Value)>) {
    let ev = run(&common::root().join(format!("fixtures/apps/{name}.pcap")));
    let (got, all) = decoded(&ev, sio_got);
    same(name, &got, &logged(&sidecar(name), sio_want));
    // Binary attachments: as many as the events announced, each announced.
    let announced: u64 = sidecar(name)
        .iter()
        .filter_map(|l| {
            l.get("attachments_hex")
                .and_then(Value::as_array)
                .map(|a| a.len() as u64)
        })
        .sum();
    let seen = all.iter().filter(|(i, _)| i["kind"] == "attachment").count() as u64;
    assert!(
        announced > 0 && seen == announced,
        "{name}: {seen} of {announced}"
    );
    (ev, all)
}

#[test]
fn socketio_as_python_socketio_sent_it() {
    let (_, all) = socketio_as_logged("socketio");
    assert!(latencies("socketio", &all) >= 4);
}

/// Socket.IO protocol 4 over Engine.IO 3 (python-socketio 4.6.1,
/// python-engineio 3.14.2): what differs from 5 / 4 is checked on its own
/// besides the sequences: the client pings and the server pongs, each
/// binary attachment is a 0x04 byte and the bytes, and the handshake URL's
/// `EIO=3` is the decoder's evidence.
#[test]
fn socketio_v2_as_python_socketio_4_sent_it() {
    let name = "socketio_v2";
    let (ev, all) = socketio_as_logged(name);
    let lines = sidecar(name);

    // Every ACK logged is paired with the EVENT of its id and namespace
    // in the other direction, its latency the capture-time difference.
    let acks = lines.iter().filter(|l| l["kind"] == "ACK").count();
    assert_eq!(acks, 5, "{name}: the scenario's acks");
    assert_eq!(latencies(name, &all), acks, "{name}: every ACK paired");
    for (it, msg) in all.iter().filter(|(i, _)| i["kind"] == "ACK") {
        let (req, _) = all
            .iter()
            .find(|(_, m)| {
                m["conn"] == msg["conn"] && m["dir"] != msg["dir"] && m["packet"] == it["request_packet"]
            })
            .unwrap_or_else(|| panic!("{name}: {it} unpaired"));
        assert!(
            req["kind"] == "EVENT" || req["kind"] == "BINARY_EVENT",
            "{name}: {it} answers {req}"
        );
        assert_eq!(
            (&req["id"], &req["tree"]["namespace"]),
            (&it["id"], &it["tree"]["namespace"]),
            "{name}: {it} answers {req}"
        );
    }

    // Engine.IO 3: the client sends the heartbeat, the server answers.
    let eio = |dir: &str, kind: &str| {
        all.iter()
            .filter(|(i, m)| m["dir"] == dir && i["protocol"] == "engine.io" && i["kind"] == kind)
            .count()
    };
    assert!(
        eio("c2s", "ping") > 0 && eio("c2s", "ping") == eio("s2c", "pong"),
        "{name}: heartbeat"
    );
    assert_eq!(
        (eio("s2c", "ping"), eio("c2s", "pong")),
        (0, 0),
        "{name}: heartbeat"
    );

    // Each attachment: a binary message of 0x04 and the bytes logged, its
    // size without the 0x04.
    for dir in ["c2s", "s2c"] {
        let want: Vec<String> = lines
            .iter()
            .filter(|l| l["dir"] == dir)
            .filter_map(|l| l.get("attachments_hex").and_then(Value::as_array))
            .flatten()
            .map(|h| h.as_str().unwrap().to_string())
            .collect();
        let got: Vec<(&Value, &Value)> = all
            .iter()
            .filter(|(i, m)| m["dir"] == dir && i["kind"] == "attachment")
            .map(|(i, m)| (i, m))
            .collect();
        assert_eq!(got.len(), want.len(), "{name} {dir}: attachments");
        for ((it, msg), hex) in got.iter().zip(&want) {
            assert_eq!(msg["opcode"], 2, "{name} {dir}: {msg}");
            assert_eq!(
                msg["data_hex"].as_str(),
                Some(format!("04{hex}").as_str()),
                "{name} {dir}"
            );
            assert_eq!(
                it["tree"]["bytes"].as_u64(),
                Some(hex.len() as u64 / 2),
                "{name} {dir}"
            );
        }
    }

    // The decoder was chosen by the upgrade URL, which says EIO=3.
    let hs: Vec<&Value> = ev.iter().filter(|e| e["type"] == "handshake").collect();
    assert_eq!(hs.len(), 1, "{name}: one connection");
    assert_eq!(hs[0]["decoder"]["protocol"], "socket.io", "{name}: {}", hs[0]);
    let evidence = hs[0]["decoder"]["evidence"].as_str().unwrap_or_default();
    assert!(
        evidence.starts_with("URL /socket.io/?") && evidence.split(['?', '&']).any(|kv| kv == "EIO=3"),
        "{name}: evidence {evidence:?}"
    );
}

fn kind_id_name(it: &Value, name_key: &str) -> Item {
    Item {
        kind: it["kind"].as_str().unwrap().to_string(),
        id: id_of(&it["id"]),
        name: s(&it[name_key]),
        payload: None,
    }
}

#[test]
fn graphql_over_websocket_as_graphql_ws_and_subscriptions_transport_ws_sent_it() {
    for (fx, proto) in [
        ("graphql_transport_ws", "graphql-transport-ws"),
        ("graphql_ws_legacy", "graphql-ws"),
    ] {
        let ev = run(&common::root().join(format!("fixtures/apps/{fx}.pcap")));
        let (got, all) = decoded(&ev, |it| {
            assert_eq!(it["protocol"], proto);
            Some(Item {
                payload: it["tree"].get("payload").cloned(),
                ..kind_id_name(it, "nothing")
            })
        });
        let want = logged(&sidecar(fx), |l| {
            Some(Item {
                kind: s(&l["kind"])?,
                id: id_of(&l["id"]),
                name: None,
                payload: l.get("payload").map(redacted),
            })
        });
        same(fx, &got, &want);
        assert!(latencies(fx, &all) >= 5, "{fx}");
        // Operations named from their documents.
        let ops: Vec<&str> = all
            .iter()
            .filter(|(i, _)| i["kind"] == "subscribe" || i["kind"] == "start")
            .filter_map(|(i, _)| i["method"].as_str())
            .collect();
        assert!(!ops.is_empty() && ops.iter().all(|o| !o.is_empty()), "{ops:?}");
    }
}

#[test]
fn json_rpc_as_rpc_websockets_sent_it() {
    let ev = run(&common::root().join("fixtures/apps/jsonrpc.pcap"));
    let (got, all) = decoded(&ev, |it| {
        let tree = &it["tree"];
        Some(match it["protocol"].as_str().unwrap() {
            // rpc-websockets' own push: not JSON-RPC, shown as JSON.
            "json" => Item {
                kind: "event".into(),
                id: None,
                name: s(&tree["notification"]),
                payload: None,
            },
            _ => Item {
                payload: tree
                    .get("params")
                    .or(tree.get("result"))
                    .or(tree.get("error"))
                    .cloned(),
                ..kind_id_name(it, "method")
            },
        })
    });
    let want = logged(&sidecar("jsonrpc"), |l| {
        Some(Item {
            kind: s(&l["kind"])?,
            id: id_of(&l["id"]),
            name: s(&l["method"]).or(s(&l["event"])),
            payload: if l["kind"] == "event" {
                None
            } else {
                l.get("payload").cloned()
            },
        })
    });
    // Responses carry their request's method once paired.
    let got = adjust(got, |_, i| {
        if i.kind == "response" || i.kind == "error" {
            i.name = None;
        }
    });
    same("jsonrpc", &got, &want);
    assert!(latencies("jsonrpc", &all) >= 8);
}

#[test]
fn mqtt_as_paho_and_mosquitto_sent_it() {
    for fx in ["mqtt", "mqtt_split"] {
        let ev = run(&common::root().join(format!("fixtures/apps/{fx}.pcap")));
        let (got, all) = decoded(&ev, |it| {
            let tree = &it["tree"];
            Some(Item {
                kind: s(&it["kind"])?,
                id: id_of(&it["id"]),
                name: s(&it["topic"]),
                payload: match &tree["payload"] {
                    Value::String(p) => Some(json!(hex::encode(p))),
                    Value::Object(o) => o.get("hex").cloned(),
                    _ => None,
                },
            })
        });
        let want = logged(&sidecar(fx), |l| {
            let kind = s(&l["kind"])?;
            // mosquitto's log names no packet ids for SUBACK/UNSUBACK, and
            // no topic for the filters acknowledged.
            let topic = match kind.as_str() {
                // An UNSUBSCRIBE logs its filters as a list: the first is named.
                "PUBLISH" | "SUBSCRIBE" | "UNSUBSCRIBE" => s(&l["topic"]).or(s(&l["topic"][0])),
                _ => None,
            };
            Some(Item {
                id: id_of(&l["id"]),
                name: topic,
                payload: l.get("payload_hex").cloned(),
                kind,
            })
        });
        let got = adjust(got, |dir, i| {
            if dir == "s2c" && (i.kind == "SUBACK" || i.kind == "UNSUBACK") {
                i.id = None;
            }
            if !matches!(i.kind.as_str(), "PUBLISH" | "SUBSCRIBE" | "UNSUBSCRIBE") {
                i.name = None;
            }
        });
        same(fx, &got, &want);
        assert!(latencies(fx, &all) >= 4, "{fx}");
    }
    // A packet split across two WebSocket messages is decoded on the second.
    let ev = run(&common::root().join("fixtures/apps/mqtt_split.pcap"));
    let split = sidecar("mqtt_split")
        .into_iter()
        .find(|l| l["ws_messages"] == 2)
        .expect("the split packet");
    let topic = split["topic"].as_str().unwrap();
    let msgs: Vec<&Value> = ev
        .iter()
        .filter(|e| e["type"] == "message" && e["dir"] == "c2s")
        .collect();
    let at = msgs
        .iter()
        .position(|m| {
            m["decoded"]
                .as_array()
                .map_or(m["decoded"]["topic"] == topic, |a| {
                    a.iter().any(|i| i["topic"] == topic)
                })
        })
        .unwrap();
    assert!(
        at > 0 && msgs[at - 1].get("decoded").is_none(),
        "the first half decodes to nothing"
    );
}

#[test]
fn ocpp_as_the_ocpp_package_sent_it() {
    let ev = run(&common::root().join("fixtures/apps/ocpp16.pcap"));
    let (got, all) = decoded(&ev, |it| {
        let t = it["tree"].as_array().unwrap();
        Some(Item {
            payload: if it["kind"] == "CALLERROR" {
                None
            } else {
                t.last().cloned()
            },
            ..kind_id_name(it, "method")
        })
    });
    let want = logged(&sidecar("ocpp16"), |l| {
        Some(Item {
            kind: s(&l["kind"])?,
            id: id_of(&l["id"]),
            name: s(&l["method"]),
            payload: if l["kind"] == "CALLERROR" {
                None
            } else {
                l.get("payload").cloned()
            },
        })
    });
    same("ocpp16", &got, &want);
    assert_eq!(latencies("ocpp16", &all), 8);
}

#[test]
fn stomp_as_stompjs_and_its_broker_sent_it() {
    for fx in ["stomp", "stomp_sockjs"] {
        let ev = run(&common::root().join(format!("fixtures/apps/{fx}.pcap")));
        let (got, all) = decoded(&ev, |it| {
            // SockJS's own framing is not in the log.
            if it["protocol"] == "sockjs" {
                return None;
            }
            let tree = &it["tree"];
            let kind = match it["kind"].as_str()? {
                "heart-beat" => "heartbeat".to_string(),
                k => k.to_string(),
            };
            Some(Item {
                kind,
                id: s(&it["id"]),
                name: s(&it["topic"]),
                payload: tree["body"].as_str().filter(|b| !b.is_empty()).map(|b| json!(b)),
            })
        });
        let want = logged(&sidecar(fx), |l| {
            Some(Item {
                kind: s(&l["kind"])?,
                id: s(&l["id"]),
                name: s(&l["topic"]),
                payload: match (l.get("payload"), l.get("body")) {
                    (Some(p), _) if l["kind"] != "heartbeat" => {
                        Some(json!(serde_json::to_string(p).unwrap()))
                    }
                    (_, Some(b)) => Some(b.clone()),
                    _ => None,
                },
            })
        });
        // JSON bodies: compared as JSON (the log re-serialised them).
        let norm = |mut q: Seqs| {
            for v in q.values_mut() {
                for i in v.iter_mut() {
                    if let Some(Value::String(b)) = &i.payload
                        && let Ok(j) = serde_json::from_str::<Value>(b)
                    {
                        i.payload = Some(j);
                    }
                }
            }
            q
        };
        same(fx, &norm(got), &norm(want));
        // Two SENDs and the DISCONNECT get receipts (the broker answers no
        // UNSUBSCRIBE receipt: fixtures/apps/README.md).
        assert_eq!(latencies(fx, &all), 3, "{fx}");
    }
}

#[test]
fn devtools_protocol_as_chromium_and_its_client_sent_it() {
    let ev = run(&common::root().join("fixtures/apps/cdp.pcap"));
    let (got, all) = decoded(&ev, |it| {
        let tree = &it["tree"];
        let kind = match it["kind"].as_str()? {
            "command" => "request",
            "result" => "response",
            k => k,
        };
        Some(Item {
            kind: kind.into(),
            id: id_of(&it["id"]),
            name: s(&it["method"]).or(s(&it["event"])),
            payload: tree
                .get("params")
                .or(tree.get("result"))
                .or(tree.get("error"))
                .cloned(),
        })
    });
    let want = logged(&sidecar("cdp"), |l| {
        Some(Item {
            kind: s(&l["kind"])?,
            id: id_of(&l["id"]),
            name: s(&l["method"]),
            payload: l.get("payload").cloned(),
        })
    });
    same("cdp", &got, &want);
    assert!(latencies("cdp", &all) >= 7);
}

#[test]
fn wamp_as_autobahn_and_crossbar_sent_it() {
    let ev = run(&common::root().join("fixtures/apps/wamp.pcap"));
    let (got, all) = decoded(&ev, |it| {
        assert_eq!(it["protocol"], "wamp");
        Some(Item {
            kind: s(&it["kind"])?,
            id: s(&it["id"]),
            name: s(&it["method"]).or(s(&it["topic"])),
            payload: Some(it["tree"].clone()),
        })
    });
    let want = logged(&sidecar("wamp"), |l| {
        let kind = s(&l["kind"])?;
        // The log names the realm on HELLO only, and a request's procedure
        // or topic on the request (answers are named once paired).
        let name = match kind.as_str() {
            "HELLO" => s(&l["realm"]),
            "CALL" | "REGISTER" => s(&l["method"]),
            "SUBSCRIBE" | "PUBLISH" => s(&l["topic"]),
            _ => None,
        };
        // Ids: the request id of requests and of their answers.
        let id = match kind.as_str() {
            "HELLO" | "WELCOME" | "GOODBYE" | "EVENT" | "ABORT" | "INTERRUPT" => None,
            _ => id_of(&l["id"]),
        };
        Some(Item {
            kind,
            id,
            name,
            payload: l.get("wire").map(redacted),
        })
    });
    // Answers carry their request's name once paired: compare names of
    // requests only.
    let got = adjust(got, |_, i| {
        if !matches!(
            i.kind.as_str(),
            "HELLO" | "CALL" | "REGISTER" | "SUBSCRIBE" | "PUBLISH"
        ) {
            i.name = None;
        }
    });
    same("wamp", &got, &want);
    assert!(latencies("wamp", &all) >= 12);
}

#[test]
fn msgpack_cbor_and_protobuf_payloads_as_their_libraries_encoded_them() {
    let ev = run(&common::root().join("fixtures/apps/payloads.pcap"));
    let (got, _) = decoded(&ev, |it| {
        Some(Item {
            kind: s(&it["protocol"])?,
            id: None,
            name: None,
            payload: Some(it["tree"].clone()),
        })
    });
    let lines = sidecar("payloads");
    let want = logged(&lines, |l| {
        Some(Item {
            kind: s(&l["kind"])?,
            id: None,
            name: None,
            // Without its schema a protobuf message has field numbers, not
            // names: compared below by the strings it holds.
            payload: if l["kind"] == "protobuf" {
                None
            } else {
                Some(l["payload"].clone())
            },
        })
    });
    same("payloads", &got, &want);
    // Every key of a protobuf Struct is a string in the decoded tree.
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    fn keys(v: &Value, out: &mut Vec<String>) {
        if let Value::Object(o) = v {
            for (k, x) in o {
                out.push(k.clone());
                keys(x, out);
            }
        }
    }
    let trees: Vec<&Item> = got.values().flatten().filter(|i| i.kind == "protobuf").collect();
    let logged_pb: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "protobuf").collect();
    assert_eq!(trees.len(), logged_pb.len());
    for l in logged_pb {
        let (mut want, mut have) = (Vec::new(), Vec::new());
        keys(&l["payload"], &mut want);
        for t in &trees {
            strings(t.payload.as_ref().unwrap(), &mut have);
        }
        assert!(want.iter().all(|k| have.contains(k)), "{want:?} in {have:?}");
    }
}
