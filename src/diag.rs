//! The registry of diagnostic codes: what wsscope says about the capture
//! itself (not about the peers — those are [`crate::ws::rules`] violations).
//!
//! Codes are stable kebab-case ids, part of the JSON Lines contract. Every
//! diagnostic any layer raises uses one of these constants, and goes through
//! the one rate-limited path ([`crate::stream::DiagnosticLimiter`]). `ALL`
//! pairs each code with its meaning, for documentation and (later) SARIF.

macro_rules! codes {
    ($($name:ident = $code:literal : $meaning:literal;)*) => {
        $(#[doc = $meaning] pub const $name: &str = $code;)*
        /// Every code with its meaning, in documentation order.
        pub const ALL: &[(&str, &str)] = &[$(($code, $meaning)),*];
    };
}

codes! {
    CAPTURE_TRUNCATED = "capture-truncated": "the file ends mid-record; read up to the cut";
    PCAP_UNKNOWN_INTERFACE = "pcap-unknown-interface": "a pcapng packet names an interface its section never described; read as Ethernet with microsecond times";
    PCAP_TIMESTAMP_RESOLUTION = "pcap-timestamp-resolution": "a pcapng interface's if_tsresol/if_tsoffset that cannot be honoured; what was used instead";
    PCAP_NO_TIMESTAMP = "pcap-no-timestamp": "a Simple Packet Block has no timestamp; it gets the previous packet's time (said once, then counted)";
    PCAP_TIME_BACKWARDS = "pcap-time-backwards": "a packet stamped earlier than the one before; kept as recorded (said once, then counted)";
    PCAP_TIMESTAMP_INVALID = "pcap-timestamp-invalid": "a pcap fraction field of one second or more, carried into the seconds (said once, then counted)";
    PCAP_CAPLEN_OVER_ORIGLEN = "pcap-caplen-over-origlen": "more bytes captured than the packet's original length; all are used (said once, then counted)";
    PCAP_CAPLEN_OVER_SNAPLEN = "pcap-caplen-over-snaplen": "more bytes captured than the declared snapshot length; all are used (said once, then counted)";
    PCAP_CAPLEN_IMPOSSIBLE = "pcap-caplen-impossible": "a record's captured length cannot be true: the pcapng block is skipped, a pcap file is read no further";
    BAD_IP_HEADER = "bad-ip-header": "an IP header that cannot be parsed";
    BAD_TCP_HEADER = "bad-tcp-header": "a TCP header that cannot be parsed";
    LINK_TRUNCATED = "link-truncated": "a packet shorter than its link-layer header";
    UNSUPPORTED_LINK_TYPE = "unsupported-link-type": "a link type wsscope does not decode";
    IP_FRAGMENT_DROPPED = "ip-fragment-dropped": "an IP fragment dropped (limits, overlaps)";
    IP_FRAGMENTS_INCOMPLETE = "ip-fragments-incomplete": "fragmented datagrams never completed";
    TCP_OVERLAP_CONFLICT = "tcp-overlap-conflict": "a retransmission carried different bytes; the first copy is kept";
    TCP_BUFFER_CAP = "tcp-buffer-cap": "out-of-order bytes hit a cap; holes are skipped as gaps";
    TCP_CONN_EVICTED = "tcp-conn-evicted": "too many connections at once; the least recently active were summarised early";
    MEMORY_BUDGET = "memory-budget": "the memory budget (--max-memory) was reached; the least recently active connections were summarised early";
    HTTP_GAP = "http-gap": "bytes lost in an HTTP stream";
    HTTP_MALFORMED = "http-malformed": "an HTTP head that cannot be parsed";
    HTTP_HEAD_TOO_LONG = "http-head-too-long": "an HTTP head over the size limit";
    HTTP_UPGRADE_HELD_OVERFLOW = "http-upgrade-held-overflow": "client bytes sent before the upgrade answer were lost or over the hold cap";
    WS_DETECTED = "ws-detected": "WebSocket found without a handshake";
    WS_HANDSHAKE_CUT = "ws-handshake-cut": "the handshake was cut by the snapshot length; frames decoded after it";
    WS_FRAMES_WITH_UPGRADE_ANSWER = "ws-frames-with-upgrade-answer": "WebSocket frame bytes in the same TCP segment as the 101 response";
    WS_UPGRADE_UNANSWERED = "ws-upgrade-unanswered": "no answer to the upgrade was captured, but the client sent frames";
    WS_RESYNC = "ws-resync": "bytes skipped to find the next frame header after a gap";
    WS_FRAME_CAPPED = "ws-frame-capped": "a frame's payload over the frame cap";
    WS_MESSAGE_CAPPED = "ws-message-capped": "a message over the message cap";
    WS_INFLATE_CAPPED = "ws-inflate-capped": "an inflated message over the decompression-bomb cap";
    WS_INFLATE_HISTORY_LOST = "ws-inflate-history-lost": "a gap with context takeover: later messages may not inflate";
    WS_DEFLATE_ASSUMED = "ws-deflate-assumed": "RSV1 without a captured handshake: permessage-deflate assumed";
    TLS_MALFORMED = "tls-malformed": "a TLS handshake message that cannot be parsed";
    TLS_RESYNC = "tls-resync": "bytes skipped to find the next TLS record after a gap or garbage";
    TLS_UNDECRYPTABLE = "tls-undecryptable": "a TLS record that could not be decrypted although keys were known";
    TLS_KEYLOG = "tls-keylog": "a key log line that could not be read";
    H2_FRAMING_LOST = "h2-framing-lost": "a gap in an HTTP/2 connection: frame boundaries lost, the rest of that direction counted, not decoded";
    H2_BAD_FRAME = "h2-bad-frame": "an HTTP/2 frame that cannot be read (padding, SETTINGS length, a non-DATA frame over 1 MiB)";
    H2_HPACK = "h2-hpack-error": "an HTTP/2 header block that did not decode; that direction's later blocks are not decoded";
    H2_BAD_PREFACE = "h2-bad-preface": "the client's first bytes are not the HTTP/2 connection preface";
    AUDIT_SESSIONS_CAPPED = "audit-sessions-capped": "more WebSocket sessions were open at once than the audit keeps state for; the others were audited for their handshakes only";
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for (code, meaning) in super::ALL {
            assert!(seen.insert(*code), "{code} twice");
            assert!(
                // Digits too: `h2-…` names HTTP/2.
                code.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{code}"
            );
            assert!(!meaning.is_empty());
        }
    }

    #[test]
    fn readme_documents_every_code() {
        let readme = include_str!("../README.md");
        for (code, _) in super::ALL {
            assert!(
                readme.contains(&format!("`{code}`")),
                "README.md does not document `{code}`"
            );
        }
    }
}
