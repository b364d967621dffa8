//! The audit's rules over the event stream: what each event adds to a
//! session's or a server's state, and the findings that completes.

use super::AuditConfig;
use super::catalog::*;
use super::secrets::{self, Secret, redact};
use crate::event::{
    ConnId, Dir, Event, FindingEvent, FrameEvent, HandshakeEvent, MessageEvent, SessionId, Severity,
    Timestamp, TlsEvent, ViolationEvent,
};
use crate::ws::rules as ws;
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, BTreeSet};

/// Masking keys kept per client (enough to see repeats and patterns).
const MAX_KEYS: usize = 256;
/// Client frames before the keys are judged (fewer cannot show a pattern).
const MIN_KEYS: usize = 8;
/// Packets a finding lists.
const MAX_PACKETS: usize = 8;
/// Server resources whose Origins are remembered.
const MAX_RESOURCES: usize = 4096;
/// Sessions the audit keeps state for at once (a few hundred bytes each:
/// a capture of a million open handshakes must not make the audit
/// outgrow `--max-memory`); the others get their handshake's findings.
const MAX_SESSIONS: usize = 32_768;
/// Distinct Origins remembered per resource.
const MAX_ORIGINS: usize = 16;
/// Text messages longer than this are not searched for secrets.
const MAX_SCAN: usize = 4 << 20;

/// Violations RFC 6455 says must fail the connection.
const MUST_FAIL: &[&str] = &[
    ws::CLIENT_FRAME_UNMASKED,
    ws::SERVER_FRAME_MASKED,
    ws::RESERVED_OPCODE,
    ws::RSV_WITHOUT_EXTENSION,
    ws::INVALID_UTF8_TEXT,
    ws::CONTROL_FRAME_TOO_LONG,
    ws::CONTROL_FRAME_FRAGMENTED,
    ws::CONTINUATION_WITHOUT_MESSAGE,
    ws::DATA_FRAME_INSIDE_MESSAGE,
    ws::LENGTH_MSB_SET,
];

/// What the audit keeps of one WebSocket session until its close.
#[derive(Debug, Default)]
struct Session {
    /// Per direction: whether permessage-deflate keeps its context
    /// between messages sent that way.
    takeover: [bool; 2],
    keys: Vec<[u8; 4]>,
    key_packets: Vec<u64>,
    masked_frames: u64,
    zero_keys: u64,
    /// The first must-fail violation not yet answered by a close: rule,
    /// the direction that broke it, packet, and whether it was reported.
    violation: Option<(&'static str, Dir, u64)>,
    tolerated: BTreeSet<&'static str>,
    /// Secrets in messages over cleartext: where, and the packets.
    cleartext: Vec<(String, String)>,
    cleartext_packets: Vec<u64>,
    cleartext_messages: u64,
    /// Secrets in compressed messages with context takeover over TLS.
    oracle: Vec<String>,
    oracle_packets: Vec<u64>,
    jwts: FxHashSet<u64>,
    /// The session's handshake was captured (mid-stream detection is a
    /// guess: its "violations" may be another protocol's bytes).
    handshake: bool,
    bomb: bool,
    oversized: [bool; 2],
    first_ts: Option<Timestamp>,
}

/// The Origins a server resource accepted (or refused).
#[derive(Debug, Default)]
struct Resource {
    name: String,
    /// Sites accepted (`null` for the null Origin), and the first
    /// connection and packet of each.
    sites: BTreeMap<String, (ConnId, u64, Timestamp, String)>,
    foreign: bool,
    absent: Vec<(ConnId, u64, Timestamp)>,
    /// An upgrade with a foreign Origin was refused: the server checks.
    refused_foreign: bool,
}

/// The audit's state over one input.
#[derive(Debug)]
pub struct Auditor {
    cfg: AuditConfig,
    sessions: BTreeMap<(ConnId, u32), Session>,
    tls: FxHashSet<ConnId>,
    /// Keyed by Host and path (the Host names the server; keeping every
    /// connection's address instead would grow with the connections).
    resources: BTreeMap<(String, String), Resource>,
    /// Sessions past [`MAX_SESSIONS`], and the first one's time and packet.
    untracked: u64,
    untracked_first: Option<(ConnId, Timestamp)>,
    /// Scratch for sessions not kept: their observations go nowhere.
    spare: Session,
}

/// A finding of `rule` at its usual severity.
fn finding(
    session: SessionId,
    ts: Timestamp,
    rule: &'static str,
    packets: Vec<u64>,
    evidence: String,
    detail: String,
) -> Event {
    let severity = super::catalog::rule(rule).map_or(Severity::Medium, |r| r.severity);
    finding_at(session, ts, rule, severity, packets, evidence, detail)
}

fn finding_at(
    session: SessionId,
    ts: Timestamp,
    rule: &'static str,
    severity: Severity,
    mut packets: Vec<u64>,
    evidence: String,
    detail: String,
) -> Event {
    packets.retain(|&p| p > 0);
    packets.sort_unstable();
    packets.dedup();
    packets.truncate(MAX_PACKETS);
    Event::Finding(Box::new(FindingEvent {
        conn: session.conn,
        session,
        ts,
        rule,
        severity,
        packets,
        evidence,
        detail,
    }))
}

fn push_packet(v: &mut Vec<u64>, p: u64) {
    if p > 0 && v.len() < MAX_PACKETS && !v.contains(&p) {
        v.push(p);
    }
}

fn key(id: SessionId) -> (ConnId, u32) {
    (id.conn, id.stream.unwrap_or(0))
}

fn sid((conn, stream): (ConnId, u32)) -> SessionId {
    SessionId {
        conn,
        stream: (stream != 0).then_some(stream),
    }
}

/// The host of an `Origin` (`scheme://host[:port]`), lowercased; `None`
/// for `null` or a value that is no origin.
fn origin_host(origin: &str) -> Option<String> {
    let rest = origin.split_once("://")?.1;
    let host = rest.split('/').next()?;
    Some(strip_port(host).to_ascii_lowercase())
}

fn strip_port(host: &str) -> &str {
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// A host's site: its last two labels (without a public-suffix list, an
/// approximation that errs towards "same site"); an IP address is its own.
fn site(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() || !host.contains('.') {
        return host.to_string();
    }
    let labels: Vec<&str> = host.trim_end_matches('.').rsplitn(3, '.').collect();
    match labels.as_slice() {
        [tld, sld, ..] => format!("{sld}.{tld}"),
        _ => host.to_string(),
    }
}

impl Auditor {
    pub fn new(cfg: AuditConfig) -> Self {
        Auditor {
            cfg,
            sessions: BTreeMap::new(),
            tls: FxHashSet::default(),
            resources: BTreeMap::new(),
            untracked: 0,
            untracked_first: None,
            spare: Session::default(),
        }
    }

    /// Takes in one event; appends the findings it completes to `out`.
    pub fn observe(&mut self, ev: &Event, out: &mut Vec<Event>) {
        match ev {
            Event::Tls(t) => {
                self.tls.insert(t.conn);
                self.tls_event(t, out);
            }
            Event::Handshake(h) => self.handshake(h, out),
            Event::Frame(f) => self.frame(f, out),
            Event::Message(m) => self.message(m, out),
            Event::Violation(v) => self.violation(v),
            Event::Close(c) => match c.stream {
                Some(s) => {
                    if let Some(sess) = self.sessions.remove(&(c.conn, s)) {
                        self.end_session(sid((c.conn, s)), sess, c.ts, out);
                    }
                }
                None => {
                    let ended: Vec<(ConnId, u32)> = self
                        .sessions
                        .range((c.conn, 0)..=(c.conn, u32::MAX))
                        .map(|(k, _)| *k)
                        .collect();
                    for k in ended {
                        if let Some(sess) = self.sessions.remove(&k) {
                            self.end_session(sid(k), sess, c.ts, out);
                        }
                    }
                    self.tls.remove(&c.conn);
                }
            },
            _ => {}
        }
    }

    /// The findings only the whole input shows; then every session still
    /// open is judged as if it ended.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let open = std::mem::take(&mut self.sessions);
        for (k, sess) in open {
            let ts = sess.first_ts.unwrap_or_default();
            self.end_session(sid(k), sess, ts, out);
        }
        for r in std::mem::take(&mut self.resources).into_values() {
            self.judge_resource(r, out);
        }
        if let Some((conn, ts)) = self.untracked_first {
            out.push(Event::Diagnostic(crate::event::DiagnosticEvent {
                ts,
                conn: Some(conn),
                dir: None,
                code: crate::diag::AUDIT_SESSIONS_CAPPED,
                detail: format!(
                    "{} WebSocket sessions began while the audit kept state for {MAX_SESSIONS} others: their masking keys, \
                     tolerated violations and message secrets were not judged (their handshakes were)",
                    self.untracked
                ),
                packet: None,
            }));
        }
    }

    /// The session's state; past [`MAX_SESSIONS`] open at once, a scratch
    /// state that is thrown away (and the session counted).
    fn session(&mut self, id: SessionId) -> &mut Session {
        let k = key(id);
        if self.sessions.len() >= MAX_SESSIONS && !self.sessions.contains_key(&k) {
            self.spare = Session::default();
            return &mut self.spare;
        }
        self.sessions.entry(k).or_default()
    }

    fn handshake(&mut self, h: &HandshakeEvent, out: &mut Vec<Event>) {
        let id = h.session;
        let tls = self.tls.contains(&h.conn);
        let show = self.cfg.show_secrets;
        if self.sessions.len() >= MAX_SESSIONS && !self.sessions.contains_key(&key(id)) {
            self.untracked += 1;
            self.untracked_first.get_or_insert((h.conn, h.ts));
        }
        let accepted = match h.http_version {
            Some(_) => h.status.is_some_and(|s| (200..300).contains(&s)),
            None => h.status == Some(101),
        };
        let sess = self.session(id);
        sess.first_ts.get_or_insert(h.ts);
        sess.handshake = true;
        if let Some(d) = &h.deflate {
            // Messages a client sends use the client's context.
            sess.takeover = [!d.client_no_context_takeover, !d.server_no_context_takeover];
        }
        let packets = vec![h.packet];

        // Credentials in the URL and headers.
        let in_url = secrets::query_secrets(&h.path);
        let in_headers = secrets::header_secrets(&h.request_headers);
        if !in_url.is_empty() {
            out.push(finding(
                id,
                h.ts,
                TOKEN_IN_URL,
                packets.clone(),
                describe(&in_url, show),
                format!(
                    "the upgrade's URL {} carries {}; URLs are kept in access logs{}",
                    h.path.split('?').next().unwrap_or_default(),
                    if in_url.len() == 1 {
                        "a credential"
                    } else {
                        "credentials"
                    },
                    if tls {
                        " even though the connection is encrypted"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if !tls && (!in_url.is_empty() || !in_headers.is_empty()) {
            let mut all = in_headers.clone();
            all.extend(in_url.iter().cloned());
            out.push(finding(
                id,
                h.ts,
                CREDENTIALS_IN_CLEARTEXT,
                packets.clone(),
                describe(&all, show),
                "the upgrade request carried credentials over plaintext ws://".into(),
            ));
        }
        // JWTs in the URL and headers.
        let mut jwt_sources: Vec<(String, &str)> = Vec::new();
        for (n, v) in &h.request_headers {
            for t in secrets::find_jwts(v) {
                jwt_sources.push((format!("{} header", n), t));
            }
        }
        for t in secrets::find_jwts(&h.path) {
            jwt_sources.push(("URL".into(), t));
        }
        for (place, token) in jwt_sources {
            self.jwt(id, h.ts, h.packet, &place, token, out);
        }

        // The version the server accepted (HTTP/1.1 upgrades).
        if h.http_version.is_none() && accepted && h.version.as_deref().map(str::trim) != Some("13") {
            let v = h
                .version
                .as_deref()
                .map_or("none".to_string(), |v| format!("{v:?}"));
            out.push(finding(
                id,
                h.ts,
                VERSION_NOT_ENFORCED,
                vec![h.packet, h.response_packet.unwrap_or(0)],
                format!("Sec-WebSocket-Version: {v}; answered {}", h.status.unwrap_or(0)),
                "the server switched protocols for a version other than 13".into(),
            ));
        }

        // Origins.
        if h.status.is_some() {
            self.origin(h, accepted, out);
        }
    }

    fn origin(&mut self, h: &HandshakeEvent, accepted: bool, out: &mut Vec<Event>) {
        let host = h
            .host
            .as_deref()
            .map(|x| strip_port(x.trim()).to_ascii_lowercase())
            .unwrap_or_default();
        let origin = h.origin.as_deref().map(str::trim);
        let foreign_site = match origin {
            None => None,
            Some(o) if o.eq_ignore_ascii_case("null") => Some("null".to_string()),
            Some(o) => match origin_host(o) {
                Some(oh) if site(&oh) == site(&host) => None,
                Some(oh) => Some(site(&oh)),
                None => Some(o.to_string()),
            },
        };
        if accepted && let (Some(o), Some(_)) = (origin, &foreign_site) {
            out.push(finding(
                h.session,
                h.ts,
                ORIGIN_MISMATCH_ACCEPTED,
                vec![h.packet, h.response_packet.unwrap_or(0)],
                format!("Origin: {} with Host: {}", o, h.host.as_deref().unwrap_or("-")),
                "the server switched protocols for a page of another site".into(),
            ));
        }
        let path = h.path.split('?').next().unwrap_or_default().to_string();
        let rk = (host.clone(), path.clone());
        if !self.resources.contains_key(&rk) && self.resources.len() >= MAX_RESOURCES {
            return;
        }
        let r = self.resources.entry(rk).or_default();
        if r.name.is_empty() {
            r.name = format!("{}{}", h.host.as_deref().unwrap_or("?"), path);
        }
        if !accepted {
            r.refused_foreign |= foreign_site.is_some();
            return;
        }
        match origin {
            None => {
                if r.absent.len() < MAX_PACKETS {
                    r.absent.push((h.conn, h.packet, h.ts));
                }
            }
            Some(o) => {
                let s = foreign_site
                    .clone()
                    .unwrap_or_else(|| site(&origin_host(o).unwrap_or_default()));
                r.foreign |= foreign_site.is_some();
                if r.sites.len() < MAX_ORIGINS {
                    r.sites
                        .entry(s)
                        .or_insert((h.conn, h.packet, h.ts, o.to_string()));
                }
            }
        }
    }

    fn judge_resource(&self, r: Resource, out: &mut Vec<Event>) {
        let several = r.sites.len() >= 2;
        if r.foreign || several {
            let first = r.sites.values().map(|v| (v.2, v.0)).min().unwrap_or_default();
            let packets = r.sites.values().map(|v| v.1).collect();
            let origins: Vec<&str> = r.sites.values().map(|v| v.3.as_str()).collect();
            out.push(finding_at(
                SessionId {
                    conn: first.1,
                    stream: None,
                },
                first.0,
                ORIGIN_NOT_ENFORCED,
                Severity::High,
                packets,
                format!("{}: accepted Origin {}", r.name, origins.join(", ")),
                format!(
                    "the server accepted upgrades of {} from {}",
                    r.name,
                    if several { "several sites" } else { "another site" }
                ),
            ));
        } else if r.sites.is_empty() && !r.absent.is_empty() && !r.refused_foreign {
            let (conn, _, ts) = r.absent[0];
            out.push(finding_at(
                SessionId { conn, stream: None },
                ts,
                ORIGIN_NOT_ENFORCED,
                Severity::Low,
                r.absent.iter().map(|a| a.1).collect(),
                format!("{}: {} upgrade(s) without Origin accepted", r.name, r.absent.len()),
                "the server accepted upgrades without an Origin and none was refused: whether it checks Origin \
                 cannot be told from this traffic"
                    .into(),
            ));
        }
    }

    fn tls_event(&mut self, t: &TlsEvent, out: &mut Vec<Event>) {
        let mut why: Vec<String> = Vec::new();
        let mut severity = Severity::Low;
        if let Some(v @ ("TLS 1.0" | "TLS 1.1" | "SSL 3.0")) = t.version {
            why.push(format!("{v} (deprecated by RFC 8996)"));
            severity = Severity::High;
        }
        if let Some(suite) = &t.cipher_suite {
            if suite.contains("_CBC_") {
                why.push(format!("CBC suite {}", suite));
                severity = severity.max(Severity::Medium);
            }
            if suite.starts_with("TLS_RSA_") {
                why.push("RSA key exchange (no forward secrecy)".into());
                severity = severity.max(Severity::Medium);
            }
        }
        if t.version == Some("TLS 1.2") && t.extended_master_secret == Some(false) {
            why.push("no extended master secret (RFC 7627)".into());
        }
        if why.is_empty() {
            return;
        }
        out.push(finding_at(
            SessionId {
                conn: t.conn,
                stream: None,
            },
            t.ts,
            WEAK_TLS,
            severity,
            vec![t.packet],
            format!(
                "{} {}",
                t.version.unwrap_or("TLS"),
                t.cipher_suite.as_deref().unwrap_or("?")
            ),
            format!("the TLS connection was negotiated with {}", why.join(", ")),
        ));
    }

    fn frame(&mut self, f: &FrameEvent, out: &mut Vec<Event>) {
        let sess = self.session(f.session);
        sess.first_ts.get_or_insert(f.ts);
        if f.dir == Dir::C2S
            && let Some(k) = f.mask_key
        {
            sess.masked_frames += 1;
            if k == [0; 4] {
                sess.zero_keys += 1;
            }
            if sess.keys.len() < MAX_KEYS {
                sess.keys.push(k);
                push_packet(&mut sess.key_packets, f.packets.last);
            }
        }
        // An answer after a violation the other side made.
        if let Some((rule, by, at)) = sess.violation
            && f.dir == by.reverse()
        {
            if f.opcode == 0x8 {
                sess.violation = None;
            } else if sess.tolerated.insert(rule) {
                sess.violation = None;
                out.push(finding(
                    f.session,
                    f.ts,
                    VIOLATION_TOLERATED,
                    vec![at, f.packets.last],
                    format!(
                        "{rule} by the {} (packet {at}), then a {} frame from the {}",
                        side(by),
                        crate::event::Opcode(f.opcode).name(),
                        side(f.dir)
                    ),
                    format!("the {} went on instead of failing the connection", side(f.dir)),
                ));
            }
        }
    }

    fn violation(&mut self, v: &ViolationEvent) {
        let (Some(dir), true) = (v.dir, MUST_FAIL.contains(&v.rule)) else {
            return;
        };
        let sess = self.session(v.session);
        if sess.handshake && sess.violation.is_none() && !sess.tolerated.contains(v.rule) {
            sess.violation = Some((v.rule, dir, v.packet));
        }
    }

    fn message(&mut self, m: &MessageEvent, out: &mut Vec<Event>) {
        let tls = self.tls.contains(&m.conn);
        let cfg = self.cfg.clone();
        let packet = m.packets.map_or(0, |p| p.last);
        let size = m.data.len() as u64;
        {
            let sess = self.session(m.session);
            sess.first_ts.get_or_insert(m.ts);
            let ratio = if m.wire_len > 0 {
                size as f64 / m.wire_len as f64
            } else {
                0.0
            };
            if m.compressed && size >= cfg.bomb_min_bytes && ratio >= cfg.bomb_ratio && !sess.bomb {
                sess.bomb = true;
                out.push(finding(
                    m.session,
                    m.ts,
                    DECOMPRESSION_BOMB,
                    vec![packet],
                    format!(
                        "{} message: {} bytes on the wire inflated to {size} ({ratio:.0}:1)",
                        side(m.dir),
                        m.wire_len
                    ),
                    format!("a {} message inflated {ratio:.0} times", side(m.dir)),
                ));
            }
            let over = &mut sess.oversized[m.dir.index()];
            if size > cfg.oversized_bytes && !*over {
                *over = true;
                out.push(finding(
                    m.session,
                    m.ts,
                    OVERSIZED_MESSAGE,
                    vec![packet],
                    format!("{} message of {size} bytes ({} frames)", side(m.dir), m.frames),
                    format!(
                        "a message larger than {} MiB, which peers with default limits refuse",
                        cfg.oversized_bytes >> 20
                    ),
                ));
            }
        }
        if !m.is_text || m.data.len() > MAX_SCAN {
            return;
        }
        // Secret fields matter in cleartext, or compressed in one context
        // over TLS; JWTs anywhere.
        let takeover = m.compressed
            && self
                .sessions
                .get(&key(m.session))
                .is_some_and(|s| s.takeover.get(m.dir.index()).copied().unwrap_or(false));
        let look = if !tls || takeover {
            secrets::may_hold_secret(&m.data)
        } else {
            secrets::may_hold_jwt(&m.data)
        };
        if !look {
            return;
        }
        let Ok(text) = std::str::from_utf8(&m.data) else {
            return;
        };
        let mut found = secrets::json_secrets(text, 4);
        let jwts: Vec<&str> = secrets::find_jwts(text).take(4).collect();
        for t in &jwts {
            if !found.iter().any(|s| s.value.contains(t)) {
                found.push(Secret {
                    place: "JWT in message".into(),
                    value: t.to_string(),
                });
            }
            self.jwt(
                m.session,
                m.ts,
                packet,
                &format!("{} message", side(m.dir)),
                t,
                out,
            );
        }
        if found.is_empty() {
            return;
        }
        let show = self.cfg.show_secrets;
        let sess = self.session(m.session);
        if !tls {
            sess.cleartext_messages += 1;
            push_packet(&mut sess.cleartext_packets, packet);
            for s in found.iter().take(4) {
                if sess.cleartext.len() < 4 && !sess.cleartext.iter().any(|(p, _)| *p == s.place) {
                    sess.cleartext.push((s.place.clone(), redact(&s.value, show)));
                }
            }
        } else if m.compressed && sess.takeover.get(m.dir.index()).copied().unwrap_or(false) {
            push_packet(&mut sess.oracle_packets, packet);
            for s in &found {
                if sess.oracle.len() < 4 && !sess.oracle.contains(&s.place) {
                    sess.oracle.push(s.place.clone());
                }
            }
        }
    }

    /// One finding per distinct JWT of a session that is unsigned,
    /// expired when sent, or without expiry.
    fn jwt(
        &mut self,
        id: SessionId,
        ts: Timestamp,
        packet: u64,
        place: &str,
        token: &str,
        out: &mut Vec<Event>,
    ) {
        let Some(j) = secrets::decode_jwt(token) else {
            return;
        };
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut h = rustc_hash::FxHasher::default();
            token.hash(&mut h);
            h.finish()
        };
        let show = self.cfg.show_secrets;
        if !self.session(id).jwts.insert(hash) {
            return;
        }
        let mut why = Vec::new();
        let mut severity = Severity::Info;
        if j.alg.as_deref().is_none_or(|a| a.eq_ignore_ascii_case("none")) {
            why.push("unsigned (alg: none)".to_string());
            severity = Severity::High;
        }
        match j.exp {
            Some(exp) if exp < ts.as_f64() => {
                why.push(format!("expired {:.0} s before it was sent", ts.as_f64() - exp));
                severity = severity.max(Severity::Medium);
            }
            Some(_) => {}
            None => {
                why.push("no exp claim".to_string());
                severity = severity.max(Severity::Low);
            }
        }
        if why.is_empty() {
            return;
        }
        out.push(finding_at(
            id,
            ts,
            JWT_WEAK,
            severity,
            vec![packet],
            format!(
                "JWT in {place} (alg {}): {}",
                j.alg.as_deref().unwrap_or("missing"),
                redact(token, show)
            ),
            format!("a JSON Web Token {}", why.join(", ")),
        ));
    }

    fn end_session(&self, id: SessionId, s: Session, ts: Timestamp, out: &mut Vec<Event>) {
        let at = s.first_ts.unwrap_or(ts);
        if s.cleartext_messages > 0 {
            let what: Vec<String> = s.cleartext.iter().map(|(p, v)| format!("{p}: {v}")).collect();
            out.push(finding(
                id,
                at,
                CREDENTIALS_IN_CLEARTEXT,
                s.cleartext_packets.clone(),
                what.join("; "),
                format!(
                    "{} message(s) carried credentials over plaintext ws://",
                    s.cleartext_messages
                ),
            ));
        }
        if !s.oracle.is_empty() {
            out.push(finding(
                id,
                at,
                COMPRESSION_ORACLE_RISK,
                s.oracle_packets.clone(),
                format!("compressed with context takeover: {}", s.oracle.join(", ")),
                "secrets are compressed in one deflate context with the rest of the connection's messages over TLS"
                    .into(),
            ));
        }
        if let Some(e) = masking(&s) {
            out.push(finding(
                id,
                at,
                WEAK_MASKING,
                s.key_packets.iter().copied().take(3).collect(),
                e.0,
                e.1,
            ));
        }
    }
}

fn side(d: Dir) -> &'static str {
    match d {
        Dir::C2S => "client",
        Dir::S2C => "server",
    }
}

/// Secrets as evidence: where each was, redacted.
fn describe(found: &[Secret], show: bool) -> String {
    found
        .iter()
        .take(4)
        .map(|s| format!("{}: {}", s.place, redact(&s.value, show)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Judges a client's masking keys: (evidence, detail) when weak.
fn masking(s: &Session) -> Option<(String, String)> {
    let n = s.keys.len();
    let hex = |k: &[u8; 4]| hex::encode(k);
    if s.zero_keys > 0 {
        return Some((
            format!(
                "{} of {} masked client frames used the key 00000000",
                s.zero_keys, s.masked_frames
            ),
            "a zero masking key leaves the payload as it was: no masking at all".into(),
        ));
    }
    if n < MIN_KEYS {
        return None;
    }
    let mut counts: BTreeMap<[u8; 4], usize> = BTreeMap::new();
    for k in &s.keys {
        *counts.entry(*k).or_default() += 1;
    }
    let (top, top_n) = counts.iter().max_by_key(|(_, c)| **c).map(|(k, c)| (*k, *c))?;
    if counts.len() < n {
        return Some((
            format!(
                "{n} client frames, {} distinct keys; key {} used {top_n} times",
                counts.len(),
                hex(&top)
            ),
            "the client's masking keys repeat: they do not come from a strong random source".into(),
        ));
    }
    let vals: Vec<u32> = s.keys.iter().map(|k| u32::from_be_bytes(*k)).collect();
    let step = vals.get(1)?.wrapping_sub(*vals.first()?);
    if vals.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step) {
        return Some((
            format!(
                "{n} client frames, keys {} then {} ... each {step:#x} more",
                hex(&s.keys[0]),
                hex(&s.keys[1])
            ),
            "the client's masking keys follow a counter: the next one is predictable".into(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites() {
        assert_eq!(
            origin_host("https://evil.example:8443/x").as_deref(),
            Some("evil.example")
        );
        assert_eq!(origin_host("null"), None);
        assert_eq!(site("app.example.com"), "example.com");
        assert_eq!(site("127.0.0.1"), "127.0.0.1");
        assert_eq!(strip_port("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(strip_port("[::1]:80"), "::1");
    }

    fn keys(ks: &[[u8; 4]]) -> Session {
        Session {
            keys: ks.to_vec(),
            masked_frames: ks.len() as u64,
            zero_keys: ks.iter().filter(|k| **k == [0; 4]).count() as u64,
            ..Session::default()
        }
    }

    #[test]
    fn masking_patterns() {
        assert!(
            masking(&keys(&[[0x11, 0x22, 0x33, 0x44]; 20]))
                .unwrap()
                .0
                .contains("1 distinct keys")
        );
        assert!(masking(&keys(&[[0; 4]])).unwrap().0.contains("00000000"));
        let counting: Vec<[u8; 4]> = (0..20u32).map(|i| (1000 + i).to_be_bytes()).collect();
        assert!(masking(&keys(&counting)).unwrap().1.contains("counter"));
        let random: Vec<[u8; 4]> = (0..20u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) ^ 0x5bd1_e995).to_be_bytes())
            .collect();
        assert!(masking(&keys(&random)).is_none());
        assert!(
            masking(&keys(&[[1, 2, 3, 4]; 3])).is_none(),
            "too few frames to judge"
        );
    }
}
