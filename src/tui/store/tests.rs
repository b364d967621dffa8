//! The store's memory rules: record size, gap runs, the budget's cut.

use super::*;
use crate::event::{
    ConnectionEndEvent, ConnectionEvent, DirStats, GapEvent, GapReason, HandshakeEvent, RoleBasis, TcpEnd,
    ViolationEvent,
};
use crate::model::SessionId;

fn ts(n: u32) -> Timestamp {
    Timestamp::new(1_700_000_000, n * 1000)
}

fn connection(conn: ConnId) -> Event {
    Event::Connection(ConnectionEvent {
        conn,
        ts: ts(0),
        client: ([10, 0, 0, 1], 5000).into(),
        server: ([10, 0, 0, 2], 80).into(),
        syn_seen: true,
        role_basis: RoleBasis::Syn,
        packet: 1,
    })
}

fn gap(conn: ConnId, n: u32, dir: Dir, offset: u64, bytes: u64) -> Event {
    Event::Gap(GapEvent {
        conn,
        ts: ts(n),
        dir,
        offset,
        bytes,
        reason: GapReason::Lost,
        frame_offset: None,
        packet: 1,
    })
}

fn violation(conn: ConnId, n: u32, dir: Option<Dir>) -> Event {
    Event::Violation(ViolationEvent {
        conn,
        session: SessionId::conn(conn),
        ts: ts(n),
        dir,
        rule: "reserved-opcode",
        detail: "opcode 0x3".into(),
        frame_offset: None,
        packet: 1,
    })
}

/// A plain browser handshake, as the capture of open handshakes has.
fn handshake(conn: ConnId) -> Event {
    let h = |k: &str, v: &str| (k.to_string(), v.to_string());
    Event::Handshake(Box::new(HandshakeEvent {
        conn,
        session: SessionId::conn(conn),
        ts: ts(1),
        method: "GET".into(),
        path: format!("/chat/{conn}"),
        host: Some("example.com".into()),
        origin: Some("http://example.com".into()),
        key: Some("dGhlIHNhbXBsZSBub25jZQ==".into()),
        version: Some("13".into()),
        status: Some(101),
        accept: Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()),
        accept_expected: Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()),
        accept_ok: Some(true),
        request_headers: vec![
            h("Host", "example.com"),
            h("Upgrade", "websocket"),
            h("Connection", "Upgrade"),
            h("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            h("Sec-WebSocket-Version", "13"),
            h("Origin", "http://example.com"),
        ],
        response_headers: vec![
            h("Upgrade", "websocket"),
            h("Connection", "Upgrade"),
            h("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ],
        reason: Some("Switching Protocols".into()),
        response_ts: Some(ts(2)),
        ..Default::default()
    }))
}

fn close(conn: ConnId) -> Event {
    Event::Close(Box::new(ConnectionEndEvent {
        app: None,
        conn,
        ts: ts(3),
        client: ([10, 0, 0, 1], 5000).into(),
        server: ([10, 0, 0, 2], 80).into(),
        first_ts: ts(0),
        last_ts: ts(3),
        end: TcpEnd::Open,
        protocol: Protocol::WebSocket,
        stats: [DirStats::default(), DirStats::default()],
        close_first: None,
        rtt: None,
        handshake_seen: true,
        violations: 0,
        tls: None,
        first_packet: 1,
        last_packet: 1,
        h2_ws_streams: 0,
        stream: None,
    }))
}

#[test]
fn a_record_is_64_bytes() {
    assert!(size_of::<Record>() <= 64, "{}", size_of::<Record>());
}

#[test]
fn gap_runs_coalesce_per_connection_and_direction() {
    let mut s = Store::default();
    s.add(connection(0));
    s.add(connection(1));
    // Holes every 15 bytes (the 10 between made no row); conn 1's rows
    // interleave without breaking conn 0's run.
    s.add(gap(0, 1, Dir::C2S, 10, 5));
    s.add(violation(1, 2, Some(Dir::C2S)));
    s.add(gap(0, 3, Dir::C2S, 25, 5));
    s.add(gap(0, 4, Dir::C2S, 40, 5));
    // The other direction is its own run.
    s.add(gap(0, 5, Dir::S2C, 0, 7));
    s.add(gap(0, 6, Dir::C2S, 55, 5));
    assert_eq!(s.records.len(), 3, "{:?}", s.records);
    let run = s.records[0];
    assert_eq!(
        (run.kind, run.len, run.offset, run.gap_count()),
        (Kind::Gap, 20, 10, 4)
    );
    assert_eq!(run.ts(), ts(1), "a run keeps its first timestamp");
    assert_eq!(s.records[2].gap_count(), 1);
    // A row of the connection and direction ends the run ...
    s.add(violation(0, 7, Some(Dir::C2S)));
    s.add(gap(0, 8, Dir::C2S, 70, 5));
    // ... as does a directionless one, for both directions.
    s.add(violation(0, 9, None));
    s.add(gap(0, 10, Dir::S2C, 100, 1));
    // A gap behind the run (out of order) or of another reason does not join.
    s.add(gap(0, 11, Dir::S2C, 50, 1));
    s.add(Event::Gap(GapEvent {
        reason: GapReason::BufferCap,
        ..match gap(0, 12, Dir::S2C, 200, 1) {
            Event::Gap(g) => g,
            _ => unreachable!(),
        }
    }));
    let kinds: Vec<_> = s.records.iter().map(|r| (r.kind, r.gap_count())).collect();
    assert_eq!(
        kinds,
        [
            (Kind::Gap, 4),
            (Kind::Violation, 0),
            (Kind::Gap, 1),
            (Kind::Violation, 0),
            (Kind::Gap, 1),
            (Kind::Violation, 0),
            (Kind::Gap, 1),
            (Kind::Gap, 1),
            (Kind::Gap, 1),
        ]
    );
    // Counts come from events, not rows.
    assert_eq!(s.gaps, 9);
    assert_eq!(s.conn(0).unwrap().gaps, 9);
}

#[test]
fn past_its_share_the_store_keeps_the_first_rows_and_counts_the_rest() {
    let budget = Budget {
        output: 256 << 10,
        max_total: 128 << 10,
        ..Budget::default()
    };
    let mut s = Store::new(budget);
    s.add(connection(0));
    let n = 20_000;
    for i in 0..n {
        s.add(violation(0, i, Some(Dir::C2S)));
    }
    let held = s.records.len() as u64;
    assert!(held > 1000 && held < u64::from(n), "{held} rows held");
    assert!(s.held() <= budget.output, "{} > {}", s.held(), budget.output);
    let nh = s.not_held;
    assert_eq!(nh.violations + held, u64::from(n));
    assert_eq!(nh.rows(), nh.violations);
    let since = nh.since.unwrap();
    assert_eq!(since, ts(held as u32), "the first row not held");
    assert!(s.records.iter().all(|r| r.ts() < since), "rows held are a prefix");
    // The summaries stay complete.
    assert_eq!(s.violations, u64::from(n));
    assert_eq!(s.conn(0).unwrap().violations, u64::from(n));
    // Past the cut no row is held, even one that would fit, nor a gap run.
    s.add(gap(0, n + 1, Dir::S2C, 0, 1));
    s.add(gap(0, n + 2, Dir::S2C, 5, 1));
    assert_eq!(s.records.len() as u64, held);
    assert_eq!(s.not_held.gaps, 2);
    assert_eq!(s.gaps, 2);
}

#[test]
fn connections_past_the_share_are_counted_not_held() {
    let mut s = Store::new(Budget {
        output: 64 << 10,
        ..Budget::default()
    });
    for c in 0..2000 {
        s.add(connection(c));
        s.add(handshake(c));
    }
    assert!(s.conns.len() < 2000 && !s.conns.is_empty());
    assert_eq!(s.conns_seen, 2000);
    assert_eq!(s.not_held.conns, 2000 - s.conns.len() as u64);
    assert!(s.not_held.handshakes > 0);
    assert!(s.held() <= 64 << 10, "{}", s.held());
}

/// What a connection with an open WebSocket handshake costs: its summary,
/// its handshake and its row. The event's own form, as the store kept it
/// before, was ~1.7 KiB (counted below) beside a 480-byte end summary;
/// the compact one is a third of it, the end summary a few inline fields.
#[test]
fn an_open_handshake_costs_a_few_hundred_bytes() {
    let mut s = Store::default();
    let n = 10_000;
    for c in 0..n {
        s.add(connection(c));
        s.add(handshake(c));
        s.add(close(c));
    }
    assert_eq!(s.records.len() as u64, n);
    let per_conn = s.held() / n as usize;
    let Event::Handshake(h) = handshake(0) else {
        unreachable!()
    };
    let strings = |v: &[(String, String)]| {
        v.iter()
            .map(|(k, v)| 2 * size_of::<String>() + k.len() + v.len() + 2 * conn::ALLOC_OVERHEAD)
            .sum::<usize>()
    };
    let event = size_of::<HandshakeEvent>()
        + strings(&h.request_headers)
        + strings(&h.response_headers)
        + 9 * (24 + conn::ALLOC_OVERHEAD);
    let compact = Handshake::new(&h).heap_bytes();
    eprintln!(
        "per connection: {per_conn} B held (Conn {} B, handshake {compact} B; the event form {event} B, \
         ConnectionEndEvent {} B)",
        size_of::<Conn>(),
        size_of::<ConnectionEndEvent>()
    );
    assert!(compact * 2 < event, "{compact} vs {event}");
    assert!(per_conn < 1100, "{per_conn} B per connection");
    assert!(
        s.conn(0).unwrap().ws.is_none(),
        "no WebSocket counters before a frame"
    );
}

#[test]
fn the_compact_handshake_gives_back_every_field() {
    let Event::Handshake(e) = handshake(7) else {
        unreachable!()
    };
    let h = Handshake::new(&e);
    assert_eq!((h.method(), h.path()), ("GET", "/chat/7"));
    assert_eq!(h.accept(), e.accept.as_deref());
    assert_eq!(h.accept_expected(), e.accept_expected.as_deref());
    assert_eq!(h.reason(), Some("Switching Protocols"));
    assert_eq!((h.subprotocol(), h.extensions()), (None, None));
    let pairs = |v: &[(String, String)]| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    let own = |it: &mut dyn Iterator<Item = (&str, &str)>| {
        it.map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(own(&mut h.request_headers()), pairs(&e.request_headers));
    assert_eq!(own(&mut h.response_headers()), pairs(&e.response_headers));
}

#[test]
fn rows_carry_their_packet_numbers() {
    let with_packet = |e: Event, p: u64| match e {
        Event::Gap(mut g) => {
            g.packet = p;
            Event::Gap(g)
        }
        Event::Violation(mut v) => {
            v.packet = p;
            v.frame_offset = Some(168);
            Event::Violation(v)
        }
        e => e,
    };
    let mut s = Store::default();
    s.add(connection(0));
    // A run of gaps spans the packets that showed its holes.
    s.add(with_packet(gap(0, 1, Dir::C2S, 10, 5), 7));
    s.add(with_packet(gap(0, 2, Dir::C2S, 25, 5), 9));
    s.add(with_packet(violation(0, 3, Some(Dir::C2S)), 12));
    // A gap at the end of the input has no packet.
    s.add(with_packet(gap(0, 4, Dir::S2C, 0, 5), 0));
    let rows: Vec<_> = s.records.iter().map(|r| (r.kind, r.packets())).collect();
    assert_eq!(
        rows,
        [
            (Kind::Gap, Some((7, 9))),
            (Kind::Violation, Some((12, 12))),
            (Kind::Gap, None),
        ]
    );
    let note = s.note(&s.records[1]).unwrap();
    assert_eq!((s.records[1].packets(), note.frame), (Some((12, 12)), Some(168)));
    // Past u32, numbers saturate rather than wrap.
    let mut r = Record::new(ts(0), 0, Kind::Frame);
    r.set_packets(5, u64::MAX);
    assert_eq!(r.packets(), Some((5, u64::from(u32::MAX))));
}
