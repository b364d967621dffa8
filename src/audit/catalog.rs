//! The rules `wsscope audit` checks: stable ids, default severity, and
//! the help a report and SARIF's rule metadata give (what it is, why it
//! matters with its reference, what to do). Ids never change meaning;
//! new rules get new ids.

use crate::event::Severity;

/// One rule of the audit.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    pub id: &'static str,
    /// Its usual severity; a finding may say more or less (see each rule).
    pub severity: Severity,
    /// A short name (SARIF `shortDescription`).
    pub title: &'static str,
    /// One paragraph: what the traffic shows and why it matters.
    pub explanation: &'static str,
    /// Where the requirement comes from.
    pub reference: &'static str,
    /// What to do about it.
    pub fix: &'static str,
}

pub const ORIGIN_NOT_ENFORCED: &str = "origin-not-enforced";
pub const ORIGIN_MISMATCH_ACCEPTED: &str = "origin-mismatch-accepted";
pub const CREDENTIALS_IN_CLEARTEXT: &str = "credentials-in-cleartext";
pub const TOKEN_IN_URL: &str = "token-in-url";
pub const JWT_WEAK: &str = "jwt-weak";
pub const WEAK_MASKING: &str = "weak-masking";
pub const COMPRESSION_ORACLE_RISK: &str = "compression-oracle-risk";
pub const DECOMPRESSION_BOMB: &str = "decompression-bomb";
pub const OVERSIZED_MESSAGE: &str = "oversized-message";
pub const VIOLATION_TOLERATED: &str = "violation-tolerated";
pub const VERSION_NOT_ENFORCED: &str = "version-not-enforced";
pub const WEAK_TLS: &str = "weak-tls";

/// Every rule, in report order.
pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: ORIGIN_NOT_ENFORCED,
        severity: Severity::High,
        title: "The server does not check Origin (Cross-Site WebSocket Hijacking)",
        explanation: "Browsers send the page's Origin with every WebSocket upgrade and attach the site's cookies; \
            a server that accepts upgrades from another site's Origin, from `Origin: null` (sandboxed frames, \
            file: pages), or from several different Origins for one resource lets any web page open an \
            authenticated connection in its visitor's name and read the answers (Cross-Site WebSocket \
            Hijacking). High when a foreign or null Origin, or several Origins, were accepted; low when only \
            upgrades without Origin were (non-browser clients send none, but neither is checked).",
        reference: "RFC 6455 §10.2 (Origin considerations), §4.2.2; OWASP WebSocket Security Cheat Sheet",
        fix: "Accept an upgrade only when its Origin is in an allow-list of your own sites (e.g. `origins=[...]` in \
            Python websockets, `verifyClient` in Node ws, `CheckOrigin` in gorilla/websocket) and answer 403 \
            otherwise; do not rely on cookies alone to authenticate WebSocket connections.",
    },
    RuleInfo {
        id: ORIGIN_MISMATCH_ACCEPTED,
        severity: Severity::Medium,
        title: "An upgrade from another site's Origin was accepted",
        explanation: "This connection's upgrade carried an Origin of a different site than its Host (or `null`) and \
            the server answered 101: the connection a foreign page could open.",
        reference: "RFC 6455 §10.2",
        fix: "Check Origin against an allow-list before switching protocols.",
    },
    RuleInfo {
        id: CREDENTIALS_IN_CLEARTEXT,
        severity: Severity::High,
        title: "Credentials sent without TLS",
        explanation: "An Authorization or Cookie header, a token in the URL, or a password, token or JSON Web Token \
            inside a message crossed the network in plaintext ws://: anyone on the path can read and replay it.",
        reference: "RFC 6455 §10.7 (use wss://); OWASP WebSocket Security Cheat Sheet (transport)",
        fix: "Serve the WebSocket over wss:// only (and HSTS for the page), and rotate the credentials seen here.",
    },
    RuleInfo {
        id: TOKEN_IN_URL,
        severity: Severity::Medium,
        title: "A token in the WebSocket URL",
        explanation: "The upgrade's URL carries a credential in its query string (`token`, `access_token`, `jwt`, \
            `api_key`, ...) or a JSON Web Token. URLs end up in server and proxy access logs, browser history and \
            monitoring tools even when the connection is encrypted.",
        reference: "RFC 6750 §5.3 (do not pass bearer tokens in page URLs); OWASP WebSocket Security Cheat Sheet",
        fix: "Send the token in the first message after the connection opens (or a short-lived, single-use ticket \
            in the URL), and scrub it from logs that already hold it.",
    },
    RuleInfo {
        id: JWT_WEAK,
        severity: Severity::Medium,
        title: "A weak JSON Web Token",
        explanation: "A JWT seen in a header, the URL or a message is unsigned (`alg: none`, high), already expired at \
            capture time and still sent (medium), or has no `exp` at all (low) and so stays valid forever once \
            stolen. The token is decoded, never verified, and shown redacted.",
        reference: "RFC 8725 (JWT Best Current Practices) §2.1, §3.1; RFC 7519 §4.1.4",
        fix: "Reject `alg: none` on the server, require a short `exp` on every token, and refuse expired ones.",
    },
    RuleInfo {
        id: WEAK_MASKING,
        severity: Severity::Medium,
        title: "Predictable client masking keys",
        explanation: "RFC 6455 requires each client frame's masking key to be freshly chosen from a strong source of \
            entropy, so that a script cannot make the bytes on the wire predictable and poison intermediaries' \
            caches. This client's keys are all zero, repeat, or follow a pattern.",
        reference: "RFC 6455 §5.3, §10.3 (attacks on infrastructure)",
        fix: "Use the platform's cryptographic random source for every frame's key (a maintained WebSocket library \
            does); fix or replace the client library.",
    },
    RuleInfo {
        id: COMPRESSION_ORACLE_RISK,
        severity: Severity::Info,
        title: "Compression with context takeover mixes secrets and other data over TLS",
        explanation: "permessage-deflate with context takeover compresses each message against the previous ones. \
            When messages carry secrets beside text an attacker can influence, the compressed sizes — visible \
            through TLS — reveal the secret byte by byte (the CRIME and BREACH attacks). Informational: whether an \
            attacker can inject text depends on the application.",
        reference: "RFC 7692 §9 (security considerations); CRIME (2012), BREACH (2013)",
        fix: "Negotiate `server_no_context_takeover` / `client_no_context_takeover`, keep secrets out of compressed \
            messages, or disable permessage-deflate for connections that carry them.",
    },
    RuleInfo {
        id: DECOMPRESSION_BOMB,
        severity: Severity::High,
        title: "A decompression bomb",
        explanation: "A compressed message inflated to far more than it took on the wire (by default at least \
            100:1 and at least 1 MiB). A receiver that inflates without a size limit can be made to exhaust its \
            memory by a few kilobytes of traffic.",
        reference: "RFC 7692 §9; CWE-409 (improper handling of highly compressed data)",
        fix: "Limit the inflated size of a message on the receiving side (e.g. `max_size` in Python websockets, \
            `maxPayload` in Node ws) and close the connection with 1009 when it is exceeded.",
    },
    RuleInfo {
        id: OVERSIZED_MESSAGE,
        severity: Severity::Low,
        title: "A message beyond common library limits",
        explanation: "A message larger than 1 MiB, the default limit of Python websockets (`max_size`) and of many \
            server frameworks: peers with default settings refuse it (close 1009), and a peer that accepts it \
            without a limit can be made to buffer arbitrarily much.",
        reference: "RFC 6455 §10.4 (implementation-specific limits)",
        fix: "Set an explicit message size limit on both peers that fits the application, and split large payloads.",
    },
    RuleInfo {
        id: VIOLATION_TOLERATED,
        severity: Severity::Medium,
        title: "A protocol violation that must fail the connection was tolerated",
        explanation: "After the other side broke a rule RFC 6455 says must fail the WebSocket connection (an \
            unmasked client frame, a reserved opcode, RSV bits without an extension, invalid UTF-8 in a text \
            message), this peer went on answering instead of closing (1002/1007). Lenient parsers are what \
            request smuggling and filter-evasion attacks through proxies rely on.",
        reference: "RFC 6455 §5.1, §5.2, §5.6, §7.1.7, §8.1",
        fix: "Fail the connection on these violations (close 1002, or 1007 for invalid UTF-8), as maintained \
            WebSocket libraries do.",
    },
    RuleInfo {
        id: VERSION_NOT_ENFORCED,
        severity: Severity::Medium,
        title: "The server switched for a WebSocket version other than 13",
        explanation: "The client asked for a `Sec-WebSocket-Version` other than 13 (or none) and the server answered \
            101 instead of 426 with `Sec-WebSocket-Version: 13`: it does not check the handshake it accepts, and \
            may be speaking a draft protocol with weaker framing.",
        reference: "RFC 6455 §4.2.1 (item 6), §4.4",
        fix: "Answer 426 Upgrade Required with `Sec-WebSocket-Version: 13` to any other version.",
    },
    RuleInfo {
        id: WEAK_TLS,
        severity: Severity::Medium,
        title: "Weak TLS for the WebSocket",
        explanation: "The TLS connection carrying the WebSocket was negotiated with a deprecated protocol version \
            (TLS 1.0, 1.1, SSL 3.0: high), a CBC cipher suite, RSA key exchange (no forward secrecy), or TLS 1.2 \
            without the extended master secret.",
        reference: "RFC 8996 (deprecating TLS 1.0 and 1.1); RFC 9325 (recommendations for TLS); RFC 7627",
        fix: "Allow only TLS 1.2 with ECDHE and AEAD suites (and the extended master secret) or TLS 1.3.",
    },
];

/// The rule `id`, if there is one.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "{} twice", r.id);
            assert!(
                r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                r.id
            );
            assert!(!r.explanation.is_empty() && !r.fix.is_empty() && !r.reference.is_empty());
        }
    }
}
