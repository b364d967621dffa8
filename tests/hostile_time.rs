//! Capture files whose timestamps and record lengths lie (issue 11): the
//! crafted files of `fixtures/hostile/make_time.py`, through the reader and
//! the whole analysis. Every expected time is computed here from the
//! numbers the script wrote, not copied from wsscope's output.

use std::ops::ControlFlow;
use std::path::PathBuf;
use wsscope::analyzer::AnalyzerConfig;
use wsscope::event::{DiagnosticEvent, Event, Timestamp};
use wsscope::pipeline;
use wsscope::source::file::FileSource;
use wsscope::source::{PacketSource, SourceEnd, SourceItem};

/// 2023-11-14T22:13:20Z, the script's `T`.
const T: i64 = 1_700_000_000;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/hostile")
        .join(name)
}

/// What the reader handed out: packets' (index, timestamp), diagnostics'
/// (code, detail), and how it ended.
type Read = (Vec<(u64, Timestamp)>, Vec<(String, String)>, SourceEnd);

fn read(name: &str) -> Read {
    let mut src = FileSource::open(&fixture(name)).unwrap();
    let (mut pkts, mut diags) = (Vec::new(), Vec::new());
    let end = src
        .run(&mut |item| {
            match item {
                SourceItem::Packet(p) => pkts.push((p.index, p.ts)),
                SourceItem::Diagnostic { code, detail, .. } => {
                    diags.push((code.to_string(), detail.to_string()))
                }
                SourceItem::Secrets { .. } | SourceItem::Header { .. } => {}
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    (pkts, diags, end)
}

/// The whole analysis, as `wsscope dump` runs it.
fn analyze(name: &str) -> (Vec<Event>, SourceEnd) {
    let mut src = FileSource::open(&fixture(name)).unwrap();
    let mut events = Vec::new();
    let (_, end) = pipeline::analyze(&mut src, AnalyzerConfig::default(), &mut events).unwrap();
    (events, end)
}

fn diagnostics<'a>(events: &'a [Event], code: &str) -> Vec<&'a DiagnosticEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Diagnostic(d) if d.code == code => Some(d),
            _ => None,
        })
        .collect()
}

fn connections(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Connection(_)))
        .count()
}

#[test]
fn power_of_two_and_decimal_resolutions_and_offsets() {
    let (pkts, diags, end) = read("time_tsresol.pcapng");
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(end.truncated, None);
    let ts: Vec<Timestamp> = pkts.iter().map(|p| p.1).collect();
    // 2^-10 s, one tick past T: 10^9 / 1024 = 976 562.5 ns, rounded down.
    assert_eq!(ts[0], Timestamp::new(T, 976_562));
    // 2^-30 s: 3 << 28 ticks = 0.75 s (pcap-parser 0.17 alone read this as µs: year ~59 800).
    assert_eq!(ts[1], Timestamp::new(T + 1, 750_000_000));
    // 2^-20 s: (1 << 19) + 1 ticks = 0.5 s + 953.67… ns.
    assert_eq!(ts[2], Timestamp::new(T + 2, 500_000_953));
    // 10^-9 and 10^-3 s.
    assert_eq!(ts[3], Timestamp::new(T + 3, 123_456_789));
    assert_eq!(ts[4], Timestamp::new(T + 4, 123_000_000));
    // µs with if_tsoffset = +1000 s on ticks of T + 5 - 1000 s + 1 µs.
    assert_eq!(ts[5], Timestamp::new(T + 5, 1_000));
    // Big-endian section: 2^-30 s and if_tsoffset = -86400 s, read in the section's byte order.
    assert_eq!(ts[6], Timestamp::new(T + 6, 0));
    assert_eq!(ts.len(), 7);
}

#[test]
fn resolutions_that_cannot_be_honoured_are_said_per_interface() {
    let (pkts, diags, _) = read("time_tsresol_bad.pcapng");
    assert_eq!(diags.len(), 4, "{diags:?}");
    assert!(diags.iter().all(|(c, _)| c == "pcap-timestamp-resolution"));
    let want = [
        ("interface 0 of section 1", "10^-20"),
        ("interface 1 of section 1", "2^-70"),
        ("interface 2 of section 1", "if_tsresol option of 2 bytes"),
        ("interface 3 of section 1", "if_tsoffset option of 4 bytes"),
    ];
    for ((_, detail), (iface, what)) in diags.iter().zip(want) {
        assert!(detail.starts_with(iface) && detail.contains(what), "{detail}");
        // What was done instead is said.
        assert!(
            detail.contains("microseconds") || detail.contains("no offset added"),
            "{detail}"
        );
    }
    // Each interface's packet was read as microseconds, without offset.
    for (i, (_, ts)) in pkts.iter().enumerate() {
        assert_eq!(*ts, Timestamp::new(T + i as i64, 250_000_000));
    }
}

#[test]
fn simple_packet_blocks_borrow_a_real_time_and_are_said_once() {
    let (pkts, diags, _) = read("time_spb.pcapng");
    let epb = Timestamp::new(T + 1, 500_000_000);
    // SPB before any timed packet: the first timed packet after it; later
    // SPBs: the packet before. Never 1970.
    assert_eq!(pkts.iter().map(|p| p.1).collect::<Vec<_>>(), vec![epb; 4]);
    let codes: Vec<&str> = diags.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(codes, ["pcap-no-timestamp", "pcap-no-timestamp"]);
    assert!(diags[0].1.contains("packet 1") && diags[0].1.contains("first timed packet after it"));
    assert!(diags[1].1.starts_with("3 packets in total"), "{}", diags[1].1);
}

#[test]
fn a_packet_on_an_undescribed_interface_is_read_and_said() {
    let (pkts, diags, _) = read("time_unknown_iface.pcapng");
    // Both packets read; the second with pcapng's default clock (µs).
    assert_eq!(
        pkts,
        vec![(1, Timestamp::new(T + 1, 0)), (2, Timestamp::new(T + 2, 0))]
    );
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].0, "pcap-unknown-interface");
    assert!(diags[0].1.contains("packet 2: interface 3"), "{}", diags[0].1);
}

#[test]
fn time_going_backwards_is_reported_and_rtts_are_never_negative() {
    let (events, _) = analyze("time_ws_backwards.pcap");
    let back = diagnostics(&events, "pcap-time-backwards");
    assert_eq!(back.len(), 2, "{back:?}");
    // Packet 7 (pong) at T + 0.9 s after packet 6 (ping) at T + 1 s.
    assert_eq!(back[0].packet, Some(7));
    assert!(
        back[0].detail.contains("0.100000000 s earlier than packet 6"),
        "{}",
        back[0].detail
    );
    // The timestamp is kept as recorded.
    assert_eq!(back[0].ts, Timestamp::new(T, 900_000_000));
    // Packets 7 and 10 stepped back.
    assert!(
        back[1].detail.starts_with("2 packets in total"),
        "{}",
        back[1].detail
    );
    // The handshake was understood; the pongs: no RTT for the one stamped
    // before its ping, 0.05 s for the other.
    assert!(events.iter().any(|e| matches!(e, Event::Handshake(_))));
    let pongs: Vec<Option<f64>> = events
        .iter()
        .filter_map(|e| match e {
            Event::Frame(f) if f.opcode == 0xA => Some(f.rtt),
            _ => None,
        })
        .collect();
    assert_eq!(pongs.len(), 2);
    assert_eq!(pongs[0], None);
    assert!((pongs[1].unwrap() - 0.05).abs() < 1e-9, "{pongs:?}");
    for e in &events {
        match e {
            Event::Frame(f) => assert!(f.rtt.is_none_or(|r| r >= 0.0)),
            Event::Close(c) => {
                let (min, med, max) = c.rtt.expect("one RTT measured");
                assert!(min >= 0.0 && med >= 0.0 && max >= 0.0);
            }
            _ => {}
        }
    }
}

#[test]
fn fraction_fields_of_a_second_or_more_are_reported() {
    let (pkts, diags, _) = read("time_invalid_usec.pcap");
    // 1 500 000 µs and 2 000 000 µs carried into the seconds.
    assert_eq!(pkts[0].1, Timestamp::new(T + 1, 500_000_000));
    assert_eq!(pkts[1].1, Timestamp::new(T + 4, 0));
    assert_eq!(pkts[2].1, Timestamp::new(T + 5, 0));
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(diags[0].0, "pcap-timestamp-invalid");
    assert!(diags[0].1.contains("packet 1") && diags[0].1.contains("microsecond field is 1500000"));
    assert!(diags[1].1.starts_with("2 packets in total"));

    let (pkts, diags, _) = read("time_invalid_nsec.pcap");
    assert_eq!(pkts[0].1, Timestamp::new(T + 1, 1));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].1.contains("nanosecond field is 1000000001"));
}

#[test]
fn caplen_over_origlen_and_over_snaplen_are_reported_and_kept() {
    let (events, end) = analyze("time_caplen.pcap");
    assert_eq!(end.packets, 4);
    assert_eq!(connections(&events), 4);
    let o = diagnostics(&events, "pcap-caplen-over-origlen");
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].packet, Some(2));
    assert!(o[0].detail.contains("54 bytes captured") && o[0].detail.contains("says 40"));
    let s = diagnostics(&events, "pcap-caplen-over-snaplen");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].packet, Some(3));
    assert!(s[0].detail.contains("200 bytes") && s[0].detail.contains("128"));
    // Packet 3's bytes were all used (200 on the wire per the record).
    let bytes3 = events.iter().find_map(|e| match e {
        Event::Close(c) if c.client.port() == 5003 => Some(c.stats[0].bytes),
        _ => None,
    });
    assert_eq!(bytes3, Some(200));
}

#[test]
fn pcapng_blocks_with_impossible_caplens_are_skipped_and_reading_goes_on() {
    let (events, end) = analyze("time_caplen.pcapng");
    assert_eq!(end.truncated, None);
    let bad = diagnostics(&events, "pcap-caplen-impossible");
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].detail.contains("4294967295") && bad[0].detail.contains("skipped"));
    assert!(bad[1].detail.contains("claims 1000") && bad[1].detail.contains("at most 32"));
    // Both concern what comes next: packet 2 (the skipped blocks get no number).
    assert!(bad.iter().all(|d| d.packet == Some(2)));
    // Everything after them was analysed: 10 packets, the handshake, both pings answered.
    assert_eq!(end.packets, 10);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Handshake(h) if h.accept_ok == Some(true)))
    );
    let rtts = events
        .iter()
        .filter(|e| matches!(e, Event::Frame(f) if f.opcode == 0xA && f.rtt.is_some()))
        .count();
    assert_eq!(rtts, 2);
    // The pure ACK whose origlen (40) is below its caplen (54).
    let o = diagnostics(&events, "pcap-caplen-over-origlen");
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].packet, Some(3));
    assert!(diagnostics(&events, "capture-truncated").is_empty());
}

#[test]
fn pcap_records_with_impossible_caplens_stop_reading_honestly() {
    for name in ["time_caplen_absurd.pcap", "time_caplen_past_eof.pcap"] {
        let (events, end) = analyze(name);
        assert_eq!(end.packets, 1, "{name}");
        // The packet before was analysed.
        assert_eq!(connections(&events), 1, "{name}");
        let bad = diagnostics(&events, "pcap-caplen-impossible");
        assert_eq!(bad.len(), 1, "{name}");
        assert!(bad[0].detail.contains("after packet 1"), "{}", bad[0].detail);
        assert!(bad[0].detail.contains("stopped"), "{}", bad[0].detail);
        // Not mistaken for a cut file.
        assert_eq!(end.truncated, None, "{name}");
        assert!(diagnostics(&events, "capture-truncated").is_empty(), "{name}");
    }
    let (_, diags, _) = read("time_caplen_absurd.pcap");
    assert!(diags[0].1.contains("4294967295"));
    let (_, diags, _) = read("time_caplen_past_eof.pcap");
    assert!(diags[0].1.contains("5000") && diags[0].1.contains("snapshot length 128"));
}

/// The fixtures are what the script writes (a stale file would test nothing).
#[test]
#[ignore = "needs python3"]
fn fixtures_match_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let script = fixture("make_time.py");
    let copy = dir.path().join("make_time.py");
    std::fs::copy(&script, &copy).unwrap();
    // The helpers it imports travel with it.
    std::fs::copy(script.with_file_name("wire.py"), dir.path().join("wire.py")).unwrap();
    let ok = std::process::Command::new("python3").arg(&copy).output().unwrap();
    assert!(ok.status.success());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "py") {
            continue;
        }
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(fixture(&name)).unwrap(),
            "{name}"
        );
    }
}
