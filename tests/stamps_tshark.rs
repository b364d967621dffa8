//! Packet spans against tshark: every WebSocket frame's `packets`
//! (`first..=last`, the lowest- and highest-numbered packets that carried any
//! byte of it, header or payload) must equal the packets tshark's TCP
//! reassembly assigns to the same frame; and every message's `packets` must be
//! the union of its data frames' spans. The numbers compared are those the
//! JSON Lines records carry (`first_packet`, `packet` = tshark's
//! `frame.number` of the packet that completed the frame; a message's
//! `first_packet`/`last_packet`), rendered by the writer `dump` uses.
//!
//! Where tshark says which packets made a frame (tshark 4.x, `-T pdml`, read
//! line by line; `-T fields` flattens all PDUs of a packet into one list and
//! cannot say which `tcp.segment` belongs to which frame):
//! - A frame is shown in the packet that completed it: `geninfo` `num` (=
//!   `frame.number`) is the last packet.
//! - A frame whose bytes all came in that packet is dissected from the packet
//!   itself, and tshark's TCP layer lists it as a `tcp.pdu.size` field whose
//!   `pos` is the frame's offset in the packet (at or after `tcp.payload`'s
//!   `pos`; a reassembled frame's `tcp.pdu.size` sits at the TCP header
//!   instead). Its span is that one packet.
//! - A frame completed from several segments is dissected from a reassembled
//!   buffer, announced by a `tcp.segments` field (its `size` is the buffer's
//!   length) whose `tcp.segment` children give each contributing packet's
//!   number (`show`) and byte range in the buffer (`showname` "Frame: 11,
//!   payload: 0-1447 (1448 bytes)"); that frame's `websocket` `pos` is its
//!   offset in the buffer. Its span is the lowest and highest packet whose
//!   range meets `[pos, pos + header + payload)`: a packet that carries the end
//!   of one frame and the start of the next counts for both. (The buffer may
//!   also hold the HTTP 101 response before the first frame: ranges, not the
//!   whole segment list, decide.)
//! - So in a packet with n `websocket` PDUs and k frame-local `tcp.pdu.size`
//!   fields, the first n - k came from reassembled buffers and the last k from
//!   the packet; a packet that does not fit this reading is reported, not
//!   guessed at.
//!
//! Frames are paired per (`tcp.stream` = `conn`, direction) in stream order
//! (tshark's sorted by sequence number: it shows frames in the order it
//! completed them, which differs where segments came out of order), tshark's
//! frame with the next of ours with the same header (FIN, RSV, opcode, MASK,
//! key, length) — as tshark_ws.rs does, which checks the frames themselves
//! field by field. The pairing is then proven by position: tshark's relative
//! sequence number of each frame's first byte (`tcp.seq` of the packet plus
//! the frame's place in it) minus our `offset` must be the same for every pair
//! of a direction. A tshark frame with no counterpart fails the test.
//!
//! Known tshark blind spots and mistakes (as in tshark_ws.rs):
//! - `snaplen.pcap`: the handshake is cut by the 96-byte snapshot length;
//!   tshark decodes no frame at all, so there is nothing to compare (wsscope
//!   decodes every header there).
//! - Retransmissions: tshark's WebSocket dissector decodes retransmitted bytes
//!   again, as a second copy of a frame already shown (`impaired.pcap`:
//!   packet 57 repeats packet 37's frame, 82 an earlier one). A receiver
//!   discards those bytes and so does wsscope. A frame in a packet tshark
//!   flags as a retransmission (`tcp.analysis.retransmission`,
//!   `fast_retransmission`, `spurious_retransmission`) that starts at the
//!   sequence number of a frame tshark already showed is such a copy and is
//!   not compared. (tshark_ws.rs skips every frame of those packets; here a
//!   retransmission that brings a frame's first captured copy, because the
//!   original was lost before the capture point — `impaired.pcap` packet 102
//!   — is compared like any other.)
//! - Frames tshark does not show are not compared (they are listed in the
//!   output): in `impaired.pcap`, frames with bytes from a segment that filled
//!   a hole late (tshark flags it "Out-Of-Order" or "Retransmission", e.g.
//!   packets 24 and 145, and, with its default preferences, does not hand it
//!   to the WebSocket dissector); WebSocket picked up mid-stream in
//!   connections tshark is not told to decode (`-d` applies to a port, and the
//!   port's other connection has a handshake: `mikekap-…-segmented` conn 0,
//!   `onewesong-…` conn 0); and streams wsscope's mid-stream heuristic takes
//!   for WebSocket although they are not (TLS in `Emmunaf-…` conn 35 and
//!   `ntop-nDPI__1kxun.pcap`, HTTP bodies in the latter).
//! - A fixture where wsscope decodes frames and tshark shows none fails unless
//!   it is listed in `TSHARK_BLIND` (the fixtures were recorded from real
//!   peers); in the corpus only what tshark dissects is compared.

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use wsscope::event::{Dir, Event, Protocol};
use wsscope::model::PacketSpan;

/// A WebSocket frame as tshark dissected it.
#[derive(Debug, Clone, PartialEq)]
struct TFrame {
    /// The packet tshark shows it in.
    packet: u64,
    /// Sender, "ip:port" (IPv6 "[addr]:port").
    src: String,
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    key: Option<String>,
    len: u64,
    /// tshark's relative sequence number of the frame's first header byte.
    seq: u64,
    /// Header and payload bytes.
    wire_len: u64,
    /// Lowest and highest contributing packet.
    span: (u64, u64),
}

/// One `websocket` PDU of a packet, as read from the PDML.
#[derive(Debug, Default, Clone)]
struct WsPdu {
    pos: u64,
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    key: Option<String>,
    len7: u64,
    len16: Option<u64>,
    len64: Option<u64>,
}

impl WsPdu {
    fn len(&self) -> u64 {
        match self.len7 {
            126 => self.len16.unwrap_or(0),
            127 => self.len64.unwrap_or(0),
            n => n,
        }
    }

    fn header_len(&self) -> u64 {
        let ext = match self.len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if self.masked { 4 } else { 0 }
    }

    fn wire_len(&self) -> u64 {
        self.header_len() + self.len()
    }
}

/// One packet's part of a reassembled buffer: (packet, first byte, last byte).
type Segment = (u64, u64, u64);

#[derive(Debug, Clone)]
enum Item {
    /// A reassembled buffer: its length and its parts.
    Reassembled(u64, Vec<Segment>),
    Ws(WsPdu),
}

/// One packet of the PDML, the fields this test needs.
#[derive(Debug, Default)]
struct Pkt {
    num: u64,
    /// Sender: of the innermost IP layer (tunnels have several).
    src_ip: Option<String>,
    src_port: String,
    stream: Option<u64>,
    seq: Option<u64>,
    payload_pos: Option<u64>,
    pdu_pos: Vec<u64>,
    retransmission: bool,
    items: Vec<Item>,
    in_tcp: bool,
    tcp_done: bool,
}

/// The value of attribute `k` on a PDML line (values are XML-escaped, so
/// never hold a raw `"`).
fn attr<'a>(line: &'a str, k: &str) -> Option<&'a str> {
    let pat = format!(" {k}=\"");
    let i = line.find(&pat)? + pat.len();
    let rest = &line[i..];
    Some(&rest[..rest.find('"')?])
}

fn num(line: &str, k: &str) -> Option<u64> {
    attr(line, k)?.parse().ok()
}

/// "Frame: 11, payload: 0-1447 (1448 bytes)" → (0, 1447).
fn segment_range(showname: &str) -> Option<(u64, u64)> {
    let r = showname.split("payload: ").nth(1)?.split(' ').next()?;
    let (a, b) = r.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// tshark's frames of a capture, with the PDML packets it could not read as
/// described at the top (reported as problems).
fn tshark_frames(path: &Path, decode_as: &[String]) -> (Vec<(u64, TFrame)>, usize, Vec<String>) {
    let mut args: Vec<String> = vec!["-r".into(), path.to_str().unwrap().into()];
    for d in decode_as {
        args.push("-d".into());
        args.push(d.clone());
    }
    // tshark's default preferences, as tshark_ws.rs. (With
    // `-o tcp.reassemble_out_of_order:TRUE` tshark 4.0 waits at each hole of
    // impaired.pcap and shows a third fewer frames there.)
    for a in ["-Y", "websocket", "-T", "pdml"] {
        args.push(a.into());
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let out = common::tshark(&refs);
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut frames = Vec::new();
    let mut copies = 0;
    let mut problems = Vec::new();
    let mut pkt: Option<Pkt> = None;
    // (stream, sender, seq) of the frames tshark showed so far.
    let mut shown: BTreeSet<(u64, String, u64)> = BTreeSet::new();
    for line in out.lines() {
        let t = line.trim_start();
        if t.starts_with("<packet>") {
            pkt = Some(Pkt::default());
            continue;
        }
        if t.starts_with("</packet>") {
            if let Some(p) = pkt.take() {
                match frames_of(&p) {
                    Ok(v) => {
                        for f in v {
                            let stream = p.stream.unwrap();
                            let new = shown.insert((stream, f.src.clone(), f.seq));
                            if p.retransmission && !new {
                                copies += 1;
                                continue;
                            }
                            frames.push((stream, f));
                        }
                    }
                    Err(e) => problems.push(format!("{name} packet {}: {e}", p.num)),
                }
            }
            continue;
        }
        let Some(p) = pkt.as_mut() else { continue };
        if t.starts_with("<proto ") {
            let proto = attr(t, "name").unwrap_or("");
            // Only the first TCP layer's fields are the packet's own.
            if p.in_tcp {
                p.tcp_done = true;
            }
            p.in_tcp = proto == "tcp" && !p.tcp_done;
            if proto == "websocket" {
                p.items.push(Item::Ws(WsPdu {
                    pos: num(t, "pos").unwrap_or(0),
                    ..Default::default()
                }));
            }
            continue;
        }
        if !t.starts_with("<field ") {
            continue;
        }
        let fname = attr(t, "name").unwrap_or("");
        let show = attr(t, "show").unwrap_or("");
        match fname {
            "num" if p.num == 0 => p.num = show.parse().unwrap_or(0),
            // Tunnelled packets have several IP layers: the last before TCP
            // is the connection's.
            "ip.src" if !p.in_tcp && !p.tcp_done => p.src_ip = Some(show.to_string()),
            "ipv6.src" if !p.in_tcp && !p.tcp_done => p.src_ip = Some(format!("[{show}]")),
            "tcp.srcport" if p.in_tcp => p.src_port = show.to_string(),
            "tcp.stream" if p.in_tcp => p.stream = show.parse().ok(),
            "tcp.seq" if p.in_tcp => p.seq = show.parse().ok(),
            "tcp.payload" if p.in_tcp => p.payload_pos = num(t, "pos"),
            "tcp.pdu.size" if p.in_tcp => p.pdu_pos.push(num(t, "pos").unwrap_or(0)),
            "tcp.analysis.retransmission"
            | "tcp.analysis.fast_retransmission"
            | "tcp.analysis.spurious_retransmission"
                if p.in_tcp =>
            {
                p.retransmission = true
            }
            "tcp.segments" => p
                .items
                .push(Item::Reassembled(num(t, "size").unwrap_or(0), Vec::new())),
            "tcp.segment" => {
                let range = attr(t, "showname").and_then(segment_range);
                match (p.items.last_mut(), range, show.parse::<u64>()) {
                    (Some(Item::Reassembled(_, segs)), Some((a, b)), Ok(n)) => segs.push((n, a, b)),
                    _ => problems.push(format!(
                        "{name} packet {}: unreadable tcp.segment: {t:.200}",
                        p.num
                    )),
                }
            }
            f if f.starts_with("websocket.") => {
                let Some(Item::Ws(w)) = p.items.last_mut() else {
                    continue;
                };
                match f {
                    "websocket.fin" => w.fin = show == "1",
                    "websocket.rsv" => {
                        w.rsv = u8::from_str_radix(show.trim_start_matches("0x"), 16).unwrap_or(0xff)
                    }
                    "websocket.opcode" => w.opcode = show.parse().unwrap_or(255),
                    "websocket.mask" => w.masked = show == "1",
                    "websocket.masking_key" => w.key = Some(show.replace(':', "")),
                    "websocket.payload_length" => w.len7 = show.parse().unwrap_or(0),
                    "websocket.payload_length_ext_16" => w.len16 = show.parse().ok(),
                    "websocket.payload_length_ext_64" => w.len64 = show.parse().ok(),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    (frames, copies, problems)
}

/// The frames of one packet with the packets tshark assigns to each.
fn frames_of(p: &Pkt) -> Result<Vec<TFrame>, String> {
    let (Some(_), Some(seq), Some(sip)) = (p.stream, p.seq, p.src_ip.as_ref()) else {
        return Err("no tcp.stream / tcp.seq / IP source".into());
    };
    let payload_pos = p.payload_pos.ok_or("no tcp.payload")?;
    let local: Vec<u64> = p.pdu_pos.iter().copied().filter(|&x| x >= payload_pos).collect();
    let n = p.items.iter().filter(|i| matches!(i, Item::Ws(_))).count();
    if local.len() > n {
        return Err(format!(
            "{} frame-local tcp.pdu.size for {n} websocket PDUs",
            local.len()
        ));
    }
    let reassembled = n - local.len();
    let mut out = Vec::new();
    let mut buffer: Option<(u64, &[Segment])> = None;
    let mut k = 0;
    for item in &p.items {
        let w = match item {
            Item::Reassembled(l, segs) => {
                buffer = Some((*l, segs));
                continue;
            }
            Item::Ws(w) => w,
        };
        let end = w.pos + w.wire_len();
        let (span, fseq) = if k < reassembled {
            let (l, segs) = buffer.ok_or("a reassembled websocket PDU with no tcp.segments before it")?;
            if end > l || segs.is_empty() {
                return Err(format!(
                    "websocket PDU at {}..{end} outside its reassembled buffer of {l} bytes",
                    w.pos
                ));
            }
            let meet: Vec<u64> = segs
                .iter()
                .filter(|&&(_, a, b)| a < end && w.pos <= b)
                .map(|s| s.0)
                .collect();
            let span = (*meet.iter().min().unwrap(), *meet.iter().max().unwrap());
            // The buffer's part from this packet starts its TCP payload.
            let &(_, a_here, _) = segs
                .iter()
                .find(|s| s.0 == p.num)
                .ok_or("reassembled buffer without a part from its own packet")?;
            (span, seq + w.pos - a_here)
        } else {
            let want = local[k - reassembled];
            if w.pos != want {
                return Err(format!("websocket PDU at {} but tcp.pdu.size at {want}", w.pos));
            }
            ((p.num, p.num), seq + w.pos - payload_pos)
        };
        k += 1;
        out.push(TFrame {
            packet: p.num,
            src: format!("{sip}:{}", p.src_port),
            fin: w.fin,
            rsv: w.rsv,
            opcode: w.opcode,
            masked: w.masked,
            key: w.key.clone(),
            len: w.len(),
            seq: fseq,
            wire_len: w.wire_len(),
            span,
        });
    }
    Ok(out)
}

/// One of our frames.
#[derive(Debug, Clone)]
struct OFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    key: Option<String>,
    len: u64,
    offset: u64,
    truncated: bool,
    span: (u64, u64),
}

fn same_header(t: &TFrame, o: &OFrame) -> bool {
    (t.fin, t.rsv, t.opcode, t.masked, &t.key, t.len) == (o.fin, o.rsv, o.opcode, o.masked, &o.key, o.len)
}

fn dir_name(d: Dir) -> &'static str {
    if d == Dir::C2S { "c2s" } else { "s2c" }
}

#[derive(Debug, Default)]
struct Tally {
    compared: usize,
    tshark_frames: usize,
    our_frames: usize,
    retransmitted_copies: usize,
    messages: usize,
    /// Frames spanning several packets, among those compared.
    multi_packet: usize,
    /// Consecutive compared frames of a direction that share a packet while
    /// one of them spans several: a packet carrying the end of one frame and
    /// the start of the next.
    shared_packets: usize,
    /// Our frames tshark shows no counterpart for, with their conn and dir.
    unpaired: Vec<(u64, Dir, OFrame)>,
}

/// The packet numbers a JSON Lines record of `e` carries (`first`, `last`
/// keys): what users read, so what is compared with tshark's numbers (the
/// same renderer `wsscope dump --format jsonl` writes with).
fn json_span(e: &Event, first: &str, last: &str) -> (u64, u64) {
    let mut line = Vec::new();
    wsscope::output::jsonl::event_json(e, &mut line);
    let v: serde_json::Value = serde_json::from_slice(&line).expect("JSON Lines record");
    let n = |k: &str| v.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    (n(first), n(last))
}

fn span_of((first, last): (u64, u64)) -> PacketSpan {
    PacketSpan { first, last }
}

/// Frames of one capture: ours against tshark's.
fn compare_frames(path: &Path, events: &[Event], decode_as: &[String], tally: &mut Tally) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let (theirs, skipped, mut problems) = tshark_frames(path, decode_as);
    tally.retransmitted_copies += skipped;
    tally.tshark_frames += theirs.len();
    let mut conns: BTreeMap<u64, (String, String)> = BTreeMap::new();
    let mut ours: BTreeMap<(u64, Dir), Vec<OFrame>> = BTreeMap::new();
    for e in events {
        match e {
            Event::Connection(c) => {
                conns.insert(c.conn, (c.client.to_string(), c.server.to_string()));
            }
            Event::Frame(f) => {
                tally.our_frames += 1;
                ours.entry((f.conn, f.dir)).or_default().push(OFrame {
                    fin: f.fin,
                    rsv: f.rsv,
                    opcode: f.opcode,
                    masked: f.masked,
                    key: f.mask_key.map(hex::encode),
                    len: f.len,
                    offset: f.offset,
                    truncated: f.truncated,
                    span: json_span(e, "first_packet", "packet"),
                })
            }
            _ => {}
        }
    }
    let mut by_key: BTreeMap<(u64, Dir), Vec<TFrame>> = BTreeMap::new();
    for (stream, t) in theirs {
        let dir = match conns.get(&stream) {
            Some((c, _)) if *c == t.src => Dir::C2S,
            Some((_, s)) if *s == t.src => Dir::S2C,
            other => {
                problems.push(format!(
                    "{name}: tshark's frame in packet {} (tcp.stream {stream}, from {}) is in no connection of \
                     ours numbered {stream} (ours: {other:?})",
                    t.packet, t.src
                ));
                continue;
            }
        };
        by_key.entry((stream, dir)).or_default().push(t);
    }
    // tshark shows frames in the order it completed them; where segments came
    // out of order that is not stream order, which ours follow.
    for v in by_key.values_mut() {
        v.sort_by_key(|t| t.seq);
    }
    let keys: BTreeSet<(u64, Dir)> = ours.keys().chain(by_key.keys()).copied().collect();
    for (conn, dir) in keys {
        let of = ours.get(&(conn, dir)).cloned().unwrap_or_default();
        let tf = by_key.get(&(conn, dir)).cloned().unwrap_or_default();
        let mut paired = vec![false; of.len()];
        let mut j = 0;
        let mut delta: Option<(i128, u64, u64)> = None;
        let mut prev: Option<(u64, u64)> = None;
        for t in &tf {
            let Some(p) = of[j..].iter().position(|o| same_header(t, o)) else {
                problems.push(format!(
                    "{name} conn {conn} {}: tshark's frame in packet {} ({t:?}) has no counterpart among ours \
                     (next of ours: {:?})",
                    dir_name(dir),
                    t.packet,
                    of.get(j)
                ));
                break;
            };
            let o = &of[j + p];
            paired[j + p] = true;
            j += p + 1;
            let d = t.seq as i128 - o.offset as i128;
            match delta {
                None => delta = Some((d, t.packet, o.offset)),
                Some((d0, pk0, off0)) if d0 != d => {
                    problems.push(format!(
                        "{name} conn {conn} {}: pairing off: tshark's frame in packet {} at seq {} paired with ours \
                         at offset {}, but packet {pk0}'s frame paired with ours at offset {off0} (seq - offset {d0} \
                         vs {d})",
                        dir_name(dir),
                        t.packet,
                        t.seq,
                        o.offset
                    ));
                    break;
                }
                _ => {}
            }
            tally.compared += 1;
            if t.span.0 != t.span.1 {
                tally.multi_packet += 1;
            }
            if let Some(pv) = prev
                && pv.1 == t.span.0
                && (pv.0 != pv.1 || t.span.0 != t.span.1)
            {
                tally.shared_packets += 1;
            }
            prev = Some(t.span);
            if o.span != t.span {
                problems.push(format!(
                    "{name} conn {conn} {} frame at offset {} (opcode {}, len {}{}): packets {}..={}, tshark {}..={} \
                     (shown in packet {})",
                    dir_name(dir),
                    o.offset,
                    o.opcode,
                    o.len,
                    if o.truncated { ", truncated" } else { "" },
                    o.span.0,
                    o.span.1,
                    t.span.0,
                    t.span.1,
                    t.packet
                ));
            }
        }
        for (o, _) in of.iter().zip(&paired).filter(|x| !*x.1) {
            tally.unpaired.push((conn, dir, o.clone()));
        }
    }
    problems
}

/// Every message's span is the union of its data frames' spans (its frames
/// are the next `frames` data frames of its direction: each data frame joins
/// exactly one message, and messages come out in order).
fn compare_messages(name: &str, events: &[Event], tally: &mut Tally) -> Vec<String> {
    let mut problems = Vec::new();
    let mut pending: BTreeMap<(u64, Dir), VecDeque<(u64, PacketSpan)>> = BTreeMap::new();
    for e in events {
        match e {
            Event::Frame(f) if f.opcode & 0x8 == 0 => {
                pending
                    .entry((f.conn, f.dir))
                    .or_default()
                    .push_back((f.offset, span_of(json_span(e, "first_packet", "packet"))));
            }
            Event::Message(m) => {
                tally.messages += 1;
                let q = pending.entry((m.conn, m.dir)).or_default();
                if q.len() < m.frames as usize {
                    problems.push(format!(
                        "{name} conn {} {}: a message of {} frames but only {} data frames unclaimed",
                        m.conn,
                        dir_name(m.dir),
                        m.frames,
                        q.len()
                    ));
                    q.clear();
                    continue;
                }
                let frames: Vec<(u64, PacketSpan)> = q.drain(..m.frames as usize).collect();
                let union = frames.iter().map(|f| f.1).reduce(PacketSpan::union);
                let (first, last) = json_span(e, "first_packet", "last_packet");
                let shown = (first > 0).then(|| span_of((first, last)));
                let packet = json_span(e, "packet", "packet").0;
                if shown != m.packets || packet != last {
                    problems.push(format!(
                        "{name} conn {} {}: message record says packet {packet}, first_packet {first}, last_packet \
                         {last}; its event {:?}",
                        m.conn,
                        dir_name(m.dir),
                        m.packets
                    ));
                }
                if m.packets != union {
                    problems.push(format!(
                        "{name} conn {} {} message of {} frames from offset {}: packets {:?}, union of its frames' {:?}",
                        m.conn,
                        dir_name(m.dir),
                        m.frames,
                        frames[0].0,
                        m.packets,
                        union
                    ));
                }
            }
            _ => {}
        }
    }
    for ((conn, dir), q) in pending {
        if let Some((off, _)) = q.front() {
            problems.push(format!(
                "{name} conn {conn} {}: {} data frames (from offset {off}) in no message",
                dir_name(dir),
                q.len()
            ));
        }
    }
    problems
}

/// Decode-as arguments for tshark, as tshark_ws.rs: our WebSocket servers'
/// ports, as HTTP when the handshake was captured (tshark then follows the
/// upgrade) and as WebSocket when it was not.
fn decode_as(events: &[Event]) -> Vec<String> {
    let mut v: Vec<String> = common::summaries(events)
        .iter()
        .filter(|c| c.protocol == Protocol::WebSocket)
        .map(|c| {
            let proto = if c.handshake_seen { "http" } else { "websocket" };
            format!("tcp.port=={},{proto}", c.server.port())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Decode-as for corpus captures whose WebSocket starts before the capture
/// (PROVENANCE.tsv: "N with -d tcp.port==P,websocket"), as tshark_ws.rs.
fn corpus_decode_as(path: &Path) -> Vec<String> {
    let prov = std::fs::read_to_string(path.with_file_name("PROVENANCE.tsv")).unwrap_or_default();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    prov.lines()
        .filter(|l| l.starts_with(&format!("{name}\t")))
        .flat_map(|l| {
            l.split("-d ")
                .skip(1)
                .map(|x| x.split(')').next().unwrap_or("").trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Captures where tshark decodes no frame although wsscope does, and why.
const TSHARK_BLIND: &[(&str, &str)] = &[(
    "snaplen.pcap",
    "the handshake is cut by the 96-byte snapshot length; tshark decodes no frame at all",
)];

/// Compares one capture; prints and returns its tally and problems.
fn check(path: &Path, events: &[Event], decode_as: &[String], all_real: bool) -> (Tally, Vec<String>) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut tally = Tally::default();
    let mut problems = compare_frames(path, events, decode_as, &mut tally);
    problems.extend(compare_messages(&name, events, &mut tally));
    let blind = TSHARK_BLIND.iter().find(|b| b.0 == name);
    println!(
        "{name}: {} frames compared ({} over several packets, {} packets shared with the previous frame); ours {}, \
         tshark {} (+{} retransmitted copies); {} messages{}",
        tally.compared,
        tally.multi_packet,
        tally.shared_packets,
        tally.our_frames,
        tally.tshark_frames,
        tally.retransmitted_copies,
        tally.messages,
        blind
            .map(|b| format!(" — not compared: {}", b.1))
            .unwrap_or_default()
    );
    if blind.is_none() && !tally.unpaired.is_empty() {
        let list: Vec<String> = tally
            .unpaired
            .iter()
            .take(30)
            .map(|(c, d, o)| {
                format!(
                    "conn {c} {} @{} {}..={}{}",
                    dir_name(*d),
                    o.offset,
                    o.span.0,
                    o.span.1,
                    if o.truncated { " truncated" } else { "" }
                )
            })
            .collect();
        println!(
            "  not shown by tshark ({}): {}",
            tally.unpaired.len(),
            list.join(", ")
        );
    }
    match blind {
        Some(b) if tally.tshark_frames > 0 || tally.our_frames == 0 => problems.push(format!(
            "{name}: listed as tshark-blind ({}) but tshark decoded {} frames and wsscope {}: update TSHARK_BLIND",
            b.1, tally.tshark_frames, tally.our_frames
        )),
        Some(_) => {}
        // Every frame tshark shows is paired or reported above; this guards
        // the comparison itself (a capture read wrongly compares nothing).
        None if tally.tshark_frames > 0 && tally.compared == 0 => problems.push(format!(
            "{name}: tshark shows {} frames, none compared",
            tally.tshark_frames
        )),
        // The fixtures were recorded from real peers: every frame wsscope
        // decodes there is real, so a fixture where tshark shows none must be
        // a known blind spot.
        None if all_real && tally.our_frames > 0 && tally.tshark_frames == 0 => problems.push(format!(
            "{name}: wsscope decodes {} frames, tshark none",
            tally.our_frames
        )),
        None => {}
    }
    (tally, problems)
}

fn report(what: &str, total: usize, problems: &[String]) {
    println!("{what}: {total} frames compared with tshark");
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
#[ignore = "needs tshark (installed by .ci/run)"]
fn fixture_frame_spans_agree_with_tshark() {
    common::require_tshark();
    let mut problems = Vec::new();
    let mut total = 0;
    for path in common::fixtures() {
        let events = common::analyze(&path);
        let (t, p) = check(&path, &events, &decode_as(&events), true);
        total += t.compared;
        problems.extend(p);
    }
    assert!(total > 500, "only {total} frames compared in the fixtures");
    report("fixtures", total, &problems);
}

#[test]
#[ignore = "needs ../shared/corpus and tshark"]
fn corpus_frame_spans_agree_with_tshark() {
    common::require_tshark();
    let mut problems = Vec::new();
    let mut total = 0;
    for path in common::corpus() {
        let events = common::analyze(&path);
        let (t, p) = check(&path, &events, &corpus_decode_as(&path), false);
        total += t.compared;
        problems.extend(p);
    }
    assert!(total > 300, "only {total} frames compared in the corpus");
    report("corpus", total, &problems);
}

/// Needs nothing beyond Rust: message spans on the fixtures.
#[test]
fn fixture_message_spans_are_unions_of_frame_spans() {
    let mut problems = Vec::new();
    let mut messages = 0;
    for path in common::fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut tally = Tally::default();
        problems.extend(compare_messages(&name, &common::analyze(&path), &mut tally));
        messages += tally.messages;
    }
    assert!(messages > 100, "only {messages} messages in the fixtures");
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
