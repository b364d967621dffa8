//! `--wire` and `--annotate` against bytes the peers really wrote: the raw
//! fixtures' sidecars hold each frame's exact bytes (`raw_hex`), so the
//! rebuilt header followed by the re-masked payload must equal them.

mod common;

use wsscope::cli::ExportArgs;
use wsscope::commands::export::run;
use wsscope::event::{Dir, Event, FrameEvent};
use wsscope::output::hexdump::frame_header;
use wsscope::output::wire::wire_payload;

fn args(a: &[&str]) -> ExportArgs {
    common::export_args(a)
}

fn frames(events: &[Event], dir: Dir) -> Vec<FrameEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Frame(f) if f.dir == dir => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// The raw frames the peers wrote, per direction, from the sidecar.
fn sent_raw(name: &str, dir: Dir) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(common::root().join("fixtures").join(name)).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["dir"] == dir.as_str() && v.get("http").is_none())
        .map(|v| hex::decode(v["raw_hex"].as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn rebuilt_header_and_wire_payload_are_the_bytes_sent() {
    for (cap, sent) in [
        ("bad_server.pcap", "bad_server.sent.jsonl"),
        ("http_keepalive_upgrade.pcap", "http_keepalive_upgrade.sent.jsonl"),
    ] {
        let events = common::analyze(&common::root().join("fixtures").join(cap));
        for dir in Dir::BOTH {
            let got: Vec<Vec<u8>> = frames(&events, dir)
                .iter()
                .map(|f| {
                    let mut v: Vec<u8> = frame_header(f).into_iter().flat_map(|p| p.bytes).collect();
                    assert_eq!(v.len(), usize::from(f.header_len), "{cap} {dir}: header length");
                    v.extend(wire_payload(f));
                    v
                })
                .collect();
            let want = sent_raw(sent, dir);
            assert!(!want.is_empty());
            assert_eq!(got.len(), want.len(), "{cap} {dir}: frame count");
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(hex::encode(g), hex::encode(w), "{cap} {dir} frame {i}");
            }
        }
    }
}

/// `--annotate --wire` shows exactly the frame's bytes: header in the
/// `# header` line, payload in the dump.
#[test]
fn annotated_wire_dump_holds_the_frame_bytes() {
    let cap = common::root().join("fixtures/bad_server.pcap");
    let mut out = Vec::new();
    run(
        &args(&[
            cap.to_str().unwrap(),
            "--frames",
            "--wire",
            "--annotate",
            "--format",
            "xxd",
            "--dir",
            "c2s",
        ]),
        &mut out,
        false,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut frames_bytes: Vec<Vec<u8>> = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("# header ") {
            let hexes: String = h.split(" (").next().unwrap().split(' ').collect();
            frames_bytes.push(hex::decode(hexes).unwrap());
        } else if !line.starts_with('#') {
            // xxd: "00000000: 4865 6c6c ...  ascii"
            let groups = &line[10..49];
            let hexes: String = groups.split_whitespace().collect();
            frames_bytes
                .last_mut()
                .unwrap()
                .extend(hex::decode(hexes).unwrap());
        }
    }
    assert_eq!(frames_bytes, sent_raw("bad_server.sent.jsonl", Dir::C2S));
}

/// Messages with --wire: the frames' wire payloads, masked and compressed.
#[test]
fn wire_messages_of_compressed_fixtures() {
    for name in [
        "node_deflate.pcap",
        "fragmented.pcap",
        "deflate_takeover.pcap",
        "chromium.pcap",
    ] {
        let cap = common::root().join("fixtures").join(name);
        let events = common::analyze(&cap);
        for dir in Dir::BOTH {
            // Expected: every data frame's wire payload, in order (messages
            // partition the data frames).
            let want: Vec<u8> = frames(&events, dir)
                .iter()
                .filter(|f| f.opcode < 8)
                .flat_map(wire_payload)
                .collect();
            let mut got = Vec::new();
            run(
                &args(&[
                    cap.to_str().unwrap(),
                    "--wire",
                    "--format",
                    "raw",
                    "--dir",
                    dir.as_str(),
                ]),
                &mut got,
                false,
            )
            .unwrap();
            assert_eq!(got, want, "{name} {dir}");
            // And the header says how many frames were found.
            let mut dump = Vec::new();
            run(
                &args(&[cap.to_str().unwrap(), "--wire", "--dir", dir.as_str()]),
                &mut dump,
                false,
            )
            .unwrap();
            let dump = String::from_utf8(dump).unwrap();
            assert!(!dump.contains("wire bytes of only"), "{name} {dir}: {dump}");
        }
    }
}
