//! A connection's part of the detail: TCP facts, TLS (version, suite, SNI,
//! ALPN, where the key came from or why none was found), the handshake
//! (request and response headers, accept expected vs received); and the
//! capture's summary when nothing is selected.

use super::super::super::app::App;
use super::super::super::store::{Conn, Handshake};
use super::super::super::text;
use super::super::conns::{LOCK_CLOSED, LOCK_OPEN, tls_reason};
use super::doc::Doc;
use crate::event::{ConnId, Dir};
use ratatui::text::{Line, Span};

pub(super) fn connection(app: &App, id: ConnId, out: &mut Doc<'_>) {
    let hs = app.store.conn(id).and_then(|c| c.handshake.as_deref());
    connection_at(app, id, None, hs, out);
}

/// A connection's part, for a row of HTTP/2 stream `stream` (its own
/// CONNECT as the handshake) or of the connection itself.
pub(super) fn connection_at(
    app: &App,
    id: ConnId,
    stream: Option<u32>,
    handshake_shown: Option<&Handshake>,
    out: &mut Doc<'_>,
) {
    let t = &app.theme;
    let Some(c) = app.store.conn(id) else { return };
    let on = stream.map_or(String::new(), |s| format!(" · HTTP/2 stream {s}"));
    out.section(
        format!(
            "Connection {id} · {} → {} · {}{on}",
            c.client,
            c.server,
            c.protocol_name()
        ),
        t.title,
    );
    if let Some(e) = stream.and_then(|id| c.streams().iter().find(|s| s.id == id))
        && !e.settings.is_empty()
    {
        let s: Vec<String> = e
            .settings
            .iter()
            .map(|(id, v)| match crate::h2::frame::setting::name(*id) {
                Some(n) => format!("{n}={v}"),
                None => format!("0x{id:x}={v}"),
            })
            .collect();
        out.field("Server SETTINGS", s.join(" "));
    }
    if !c.streams().is_empty() {
        let ids: Vec<String> = c.streams().iter().map(|s| s.id.to_string()).collect();
        out.field(
            "WebSocket streams",
            format!("{} (HTTP/2, RFC 8441): {}", ids.len(), ids.join(", ")),
        );
    }
    out.field(
        "TCP",
        format!(
            "{} · {}",
            if c.syn_seen {
                "SYN seen"
            } else {
                "picked up mid-stream"
            },
            c.tcp_end().as_str()
        ),
    );
    if let Some(r) = c.rejected_label() {
        out.styled_field("Upgrade", format!("{r} — no WebSocket"), t.bad);
    }
    out.field(
        "Span",
        format!(
            "{} – {} ({})",
            c.first_ts,
            c.last_ts,
            text::duration(c.last_ts.seconds_since(c.first_ts))
        ),
    );
    if c.is_ws() {
        out.field(
            "Frames",
            format!(
                "c2s {} · s2c {}   messages c2s {} · s2c {}",
                c.frames(Dir::C2S),
                c.frames(Dir::S2C),
                c.messages(Dir::C2S),
                c.messages(Dir::S2C)
            ),
        );
    }
    if c.end.is_some() {
        out.field(
            "Bytes",
            format!(
                "c2s {} · s2c {}",
                text::bytes(c.wire_bytes[0]),
                text::bytes(c.wire_bytes[1])
            ),
        );
        if let Some((min, med, max)) = c.rtt() {
            out.field(
                "Ping RTT",
                format!(
                    "min {} · median {} · max {}",
                    text::duration(min),
                    text::duration(med),
                    text::duration(max)
                ),
            );
        }
    }
    if c.violations > 0 {
        out.styled_field("Violations", c.violations.to_string(), t.violation);
    }
    findings(app, c, out);
    if let Some(a) = c.app() {
        application(app, a, out);
    }
    tls(app, c, out);
    match handshake_shown {
        Some(h) => handshake(app, h, out),
        None if c.is_ws() => out.text(
            "Handshake not seen (picked up mid-stream or forced with --ws-port)".into(),
            t.dim,
        ),
        None => {}
    }
}

/// The security audit's findings on a connection: how many, the highest
/// severity, and each (severity, rule, evidence), most severe first.
fn findings(app: &App, c: &Conn, out: &mut Doc<'_>) {
    use super::super::findings::{conn_label, severity_style};
    let t = &app.theme;
    let Some((count, worst)) = app.store.findings.of(c.id) else {
        return;
    };
    out.styled_field(
        "Findings",
        format!("{count} (highest {}) · F lists them all", worst.as_str()),
        severity_style(t, worst),
    );
    /// Findings listed here; the view (`F`) has the rest.
    const SHOWN: usize = 12;
    for (shown, f) in app.store.findings.of_conn(c.id).enumerate() {
        if shown == SHOWN {
            out.text(
                format!("… {} more (F)", count.saturating_sub(SHOWN as u32)),
                t.dim,
            );
            break;
        }
        let on = if f.session.stream.is_some() {
            format!(" ({})", conn_label(f))
        } else {
            String::new()
        };
        out.styled_field(
            &format!("  {}", f.severity.as_str()),
            format!("{}{on}: {}", f.rule, text::safe(&f.evidence)),
            severity_style(t, f.severity),
        );
    }
}

/// What the application layer found on a connection: its protocol and the
/// evidence, request→response latencies per method or event, and the
/// requests no answer was seen for.
fn application(app: &App, a: &crate::app::AppSummary, out: &mut Doc<'_>) {
    let t = &app.theme;
    let lat = crate::app::latency_text;
    out.field(
        "Application",
        text::safe(&format!("{} ({})", a.protocol, a.evidence)).into_owned(),
    );
    for l in &a.latency {
        out.field(
            "  latency",
            format!(
                "{} ×{}: min {} · median {} · p95 {} · max {}",
                text::safe(&l.name),
                l.count,
                lat(l.min),
                lat(l.median),
                lat(l.p95),
                lat(l.max)
            ),
        );
    }
    if a.unanswered > 0 {
        let oldest = a.oldest_unanswered.map_or(String::new(), |(ts, p)| {
            format!(", the oldest at {ts} (packet {p})")
        });
        out.styled_field(
            "  unanswered",
            format!("{} request(s){oldest}", a.unanswered),
            t.gap,
        );
    }
}

/// The TLS facts of a connection: what the cleartext handshake showed, and
/// whether a key was found (where) or why not.
fn tls(app: &App, c: &Conn, out: &mut Doc<'_>) {
    let t = &app.theme;
    let summary = c.end_tls();
    let Some(decrypted) = c.tls_decrypted() else {
        return;
    };
    let ev = c.tls.as_deref();
    let version = ev.and_then(|e| e.version).or(summary.and_then(|s| s.version));
    out.blank();
    let (lock, verdict, style) = if decrypted {
        (LOCK_OPEN, "decrypted".to_string(), t.ok)
    } else {
        (LOCK_CLOSED, format!("not decrypted: {}", tls_reason(c)), t.gap)
    };
    out.line(Line::from(vec![
        Span::styled(
            format!("▾ TLS · {} · ", version.unwrap_or("version unknown")),
            t.title,
        ),
        Span::styled(format!("{lock} {verdict}"), style),
    ]));
    out.field("Version", version.unwrap_or("? (no hello captured)").into());
    let suite = ev
        .and_then(|e| e.cipher_suite.as_deref())
        .or(summary.and_then(|s| s.cipher_suite.as_deref()));
    out.field(
        "Cipher suite",
        suite.map_or("? (no ServerHello captured)".into(), |s| {
            text::safe(s).into_owned()
        }),
    );
    let sni = ev
        .and_then(|e| e.sni.as_deref())
        .or(summary.and_then(|s| s.sni.as_deref()));
    out.field("SNI", sni.map_or("none".into(), |s| text::safe(s).into_owned()));
    if let Some(e) = ev {
        let offered = if e.alpn_offered.is_empty() {
            "none offered".to_string()
        } else {
            format!(
                "offered {}",
                e.alpn_offered
                    .iter()
                    .map(|a| text::safe(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let alpn = match &e.alpn {
            Some(a) => format!("{} ({offered})", text::safe(a)),
            None if e.alpn_offered.is_empty() => offered,
            // TLS 1.3 sends the choice in EncryptedExtensions.
            None if !decrypted && e.version == Some("TLS 1.3") => {
                format!("not visible: encrypted in TLS 1.3 ({offered})")
            }
            None => format!("none selected ({offered})"),
        };
        out.field("ALPN", alpn);
        out.field(
            "Resumed",
            if e.resumed {
                "yes (session resumption)".into()
            } else {
                "no".into()
            },
        );
        if let Some(r) = &e.client_random {
            out.field("Client random", text::safe(r).into_owned());
        }
    }
    let key = match ev {
        Some(e) if decrypted => {
            let from = match e.decrypted_by {
                Some("keylog") => "found in the key log (--keylog / $SSLKEYLOGFILE)",
                Some("dsb") => "found in the capture (pcapng Decryption Secrets Block)",
                Some("trial") => "found by trial (handshake not captured)",
                Some(other) => other,
                None => "found",
            };
            match &e.detail {
                Some(d) => format!("{LOCK_OPEN} {from}: {}", text::safe(d)),
                None => format!("{LOCK_OPEN} {from}"),
            }
        }
        Some(e) => {
            let why = match e.reason {
                Some("no-key") => "no key log line for this connection's client random".to_string(),
                Some("bad-key") => {
                    "the key log has an entry, but the records fail authentication (wrong or corrupted secrets)"
                        .to_string()
                }
                Some("unsupported") => format!(
                    "unsupported: {}",
                    e.detail.as_deref().map_or("?".into(), text::safe)
                ),
                Some("no-handshake") => {
                    "the capture started after the TLS handshake, and no key matched by trial".to_string()
                }
                Some(other) => other.to_string(),
                None => "?".to_string(),
            };
            format!("{LOCK_CLOSED} not found: {why}")
        }
        None if decrypted => format!("{LOCK_OPEN} found"),
        None => format!("{LOCK_CLOSED} not found"),
    };
    out.styled_field("Key", key, style);
    if let Some(s) = summary {
        let undecrypted = s.records_undecrypted[Dir::C2S] + s.records_undecrypted[Dir::S2C];
        out.field(
            "Records",
            format!(
                "c2s {} · s2c {}{}",
                s.records[Dir::C2S],
                s.records[Dir::S2C],
                if undecrypted > 0 {
                    format!(
                        " · not decrypted c2s {} · s2c {}",
                        s.records_undecrypted[Dir::C2S],
                        s.records_undecrypted[Dir::S2C]
                    )
                } else {
                    String::new()
                }
            ),
        );
        if s.key_updates[Dir::C2S] + s.key_updates[Dir::S2C] > 0 {
            out.field(
                "Key updates",
                format!(
                    "c2s {} · s2c {}",
                    s.key_updates[Dir::C2S],
                    s.key_updates[Dir::S2C]
                ),
            );
        }
    }
    if !decrypted {
        match ev.and_then(|e| e.reason) {
            Some("no-key") | Some("no-handshake") => {
                out.text(
                    "Nothing inside is shown. Record the TLS secrets while capturing: SSLKEYLOGFILE=/path/keys.log"
                        .into(),
                    t.dim,
                );
                out.text(
                    "(curl, Python, Node --tls-keylog, Firefox, Chrome; Chromium --ssl-key-log-file), then"
                        .into(),
                    t.dim,
                );
                out.text("wsscope --keylog /path/keys.log FILE".into(), t.dim);
            }
            Some("bad-key") => out.text(
                "Nothing inside is shown. Check that the key log belongs to this capture.".into(),
                t.dim,
            ),
            _ => out.text("Nothing inside is shown.".into(), t.dim),
        }
    }
}

fn handshake(app: &App, h: &Handshake, out: &mut Doc<'_>) {
    let t = &app.theme;
    out.blank();
    out.section(
        format!("Handshake · {}", super::super::handshake_summary(Some(h))),
        t.title,
    );
    out.text(format!("▸ Request · {}", h.ts), t.c2s);
    out.text(
        format!(
            "  {} {} {}",
            text::safe(h.method()),
            text::safe(h.path()),
            if h.http2 {
                "HTTP/2 (extended CONNECT)"
            } else {
                "HTTP/1.1"
            }
        ),
        t.text,
    );
    for (k, v) in h.request_headers() {
        out.text(format!("  {}: {}", text::safe(k), text::safe(v)), t.text);
    }
    match h.status {
        Some(st) => {
            let when = h.response_ts.map_or(String::new(), |ts| format!(" · {ts}"));
            out.text(format!("▸ Response{when}"), t.s2c);
            out.text(
                if h.http2 {
                    format!("  HTTP/2 {st}")
                } else {
                    format!("  HTTP/1.1 {st} {}", text::safe(h.reason().unwrap_or("")))
                },
                if st == 101 || (h.http2 && (200..300).contains(&st)) {
                    t.text
                } else {
                    t.bad
                },
            );
            for (k, v) in h.response_headers() {
                out.text(format!("  {}: {}", text::safe(k), text::safe(v)), t.text);
            }
        }
        None => out.text("▸ Response not captured".into(), t.dim),
    }
    let exp = h.accept_expected().map_or("-".into(), text::safe);
    let got = h.accept().map_or("-".into(), text::safe);
    let (verdict, style) = match h.accept_ok {
        Some(true) => ("✓ verified", t.ok),
        Some(false) => ("✗ MISMATCH", t.bad),
        None if h.http2 => ("- none: RFC 8441 (HTTP/2) has no accept key", t.dim),
        None if h.status.is_some_and(|s| s != 101) => ("- none: the upgrade was rejected", t.dim),
        None => ("? not verified", t.dim),
    };
    out.styled_field("Accept", verdict.into(), style);
    out.field("  expected", exp.into_owned());
    out.field("  received", got.into_owned());
    if let Some(p) = h.subprotocol() {
        out.field("Subprotocol", text::safe(p).into_owned());
    }
    if let Some(d) = &h.decoder {
        out.field(
            "Decoded as",
            text::safe(&format!("{} ({})", d.proto.name(), d.evidence)).into_owned(),
        );
    }
    if let Some(e) = h.extensions() {
        out.field("Extensions", text::safe(e).into_owned());
    }
    if let Some(d) = &h.deflate {
        let mut parts = Vec::new();
        if d.server_no_context_takeover {
            parts.push("server_no_context_takeover".to_string());
        }
        if d.client_no_context_takeover {
            parts.push("client_no_context_takeover".to_string());
        }
        if let Some(b) = d.server_max_window_bits {
            parts.push(format!("server_max_window_bits={b}"));
        }
        if let Some(b) = d.client_max_window_bits {
            parts.push(format!("client_max_window_bits={b}"));
        }
        out.field(
            "Deflate",
            if parts.is_empty() {
                "defaults".into()
            } else {
                parts.join(" ")
            },
        );
    }
}

pub(super) fn capture(app: &App, out: &mut Doc<'_>) {
    let t = &app.theme;
    let s = &app.store;
    out.section(format!("Capture · {}", text::safe(&app.source)), t.title);
    out.field(
        "Connections",
        format!("{} TCP · {} WebSocket", s.conns.len(), s.ws_conns.len()),
    );
    if s.tls_conns > 0 {
        let not = s.tls_undecrypted;
        out.styled_field(
            "TLS",
            format!(
                "{} connections · {} decrypted · {not} not{}",
                s.tls_conns,
                s.tls_conns - not,
                if not > 0 {
                    " (their rows say why; select one for details)"
                } else {
                    ""
                }
            ),
            if not > 0 { t.gap } else { t.text },
        );
    }
    out.field("Frames", s.frames.to_string());
    out.field("Messages", s.messages.to_string());
    out.field("Violations", s.violations.to_string());
    out.field("Gaps", s.gaps.to_string());
    out.field("Diagnostics", s.diagnostics.to_string());
    out.field(
        "Payload kept",
        format!(
            "{} ({} payloads cut to a preview)",
            text::bytes(s.kept_bytes as u64),
            s.dropped_payloads
        ),
    );
}
