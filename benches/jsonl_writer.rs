//! The JSON Lines writer alone: events rendered by
//! `wsscope::output::jsonl::event_json` into a reused buffer, throughput in
//! bytes of JSON *output* (criterion "thrpt"), so the figure compares with
//! the issue's target (≥ 3 GB/s of output on one core).
//!
//! `cargo bench --bench jsonl_writer`. Each group renders one connection's
//! worth of frames and messages (masked binary and text frames, their
//! messages) with payloads of one size; `mix` renders all sizes in the
//! proportions a chatty capture has (many small, few large).
//! `benches/jsonl_speed.sh` measures the whole `dump` on a capture.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use wsscope::event::{Dir, Event, FrameEvent, MessageEvent, PacketSpan, SessionId, Timestamp};
use wsscope::output::jsonl::event_json;

/// Printable JSON-ish text (what text messages usually carry), `n` bytes.
fn text_payload(n: usize) -> Vec<u8> {
    let pattern = br#"{"type":"update","symbol":"WSSC","price":123.45,"qty":17,"side":"buy"},"#;
    pattern.iter().copied().cycle().take(n).collect()
}

/// Bytes of every value, `n` of them.
fn binary_payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(131) ^ (i >> 7)) as u8).collect()
}

fn frame(i: u64, text: bool, payload: Vec<u8>) -> Event {
    Event::Frame(FrameEvent {
        conn: 7 + i % 3,
        session: SessionId::conn(7 + i % 3),
        packets: PacketSpan::one(100 + i),
        ts: Timestamp::new(1_700_000_000 + i as i64, 123_456_789),
        dir: if i % 2 == 0 { Dir::C2S } else { Dir::S2C },
        fin: true,
        rsv: 0,
        opcode: if text { 1 } else { 2 },
        masked: i % 2 == 0,
        mask_key: (i % 2 == 0).then_some([0x37, 0xfa, 0x21, 0x3d]),
        len: payload.len() as u64,
        len_bits: if payload.len() < 126 {
            7
        } else if payload.len() < 65536 {
            16
        } else {
            64
        },
        header_len: 6,
        offset: 1_000_000 + i * 70_000,
        payload,
        truncated: false,
        close_code: None,
        close_reason: None,
        rtt: None,
        header_captured: None,
        header_bytes: None,
    })
}

fn message(i: u64, text: bool, data: Vec<u8>) -> Event {
    Event::Message(MessageEvent {
        decoded: None,
        conn: 7 + i % 3,
        session: SessionId::conn(7 + i % 3),
        seq: i,
        first_frame_offset: 1_000_000 + i * 70_000,
        packets: None,
        ts: Timestamp::new(1_700_000_000 + i as i64, 987_654_321),
        dir: if i % 2 == 0 { Dir::C2S } else { Dir::S2C },
        opcode: if text { 1 } else { 2 },
        frames: 1,
        compressed: false,
        wire_len: data.len() as u64,
        data,
        is_text: text,
        inflate_error: None,
        truncated: false,
    })
}

/// For each payload size, a text and a binary frame, each with its message.
fn events(sizes: &[usize]) -> Vec<Event> {
    let mut v = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let i = i as u64 * 4;
        v.push(frame(i, true, text_payload(n)));
        v.push(message(i + 1, true, text_payload(n)));
        v.push(frame(i + 2, false, binary_payload(n)));
        v.push(message(i + 3, false, binary_payload(n)));
    }
    v
}

fn render(evs: &[Event], buf: &mut Vec<u8>) -> usize {
    let mut total = 0;
    for ev in evs {
        buf.clear();
        event_json(ev, buf);
        buf.push(b'\n');
        total += buf.len();
    }
    total
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("jsonl_writer");
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));
    // Many small, few large: 64 × 16 B, 16 × 200 B, 4 × 1400 B, 1 × 64 KiB.
    let mut mix = Vec::new();
    mix.extend(std::iter::repeat_n(16, 64));
    mix.extend(std::iter::repeat_n(200, 16));
    mix.extend(std::iter::repeat_n(1400, 4));
    mix.push(64 << 10);
    let cases: [(&str, Vec<usize>); 5] = [
        ("16B", vec![16]),
        ("200B", vec![200]),
        ("1400B", vec![1400]),
        ("64KiB", vec![64 << 10]),
        ("mix", mix),
    ];
    let mut buf = Vec::with_capacity(1 << 20);
    for (name, sizes) in cases {
        let evs = events(&sizes);
        let out = render(&evs, &mut buf);
        g.throughput(Throughput::Bytes(out as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &evs, |b, evs| {
            b.iter(|| black_box(render(black_box(evs), &mut buf)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
