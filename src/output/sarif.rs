//! `wsscope audit --format sarif`: SARIF 2.1.0 (OASIS), what code-scanning
//! systems (GitHub, Azure DevOps, DefectDojo) ingest. One run; the rules'
//! metadata from [`crate::audit::catalog`]; one result per finding, located
//! in its capture file: `region.startLine` is the first packet's number
//! (as Wireshark numbers frames, 1-based; a capture has no lines), every
//! packet and the connection are in `properties` and a logical location.

use crate::audit::catalog::{self, RuleInfo};
use crate::event::Severity;
use crate::output::findings::AuditedCapture;
use serde_json::{Value, json};
use std::io::{self, Write};

/// SARIF's level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (a CVSS-like score) of a severity.
fn score(s: Severity) -> &'static str {
    match s {
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// `origin-not-enforced` → `OriginNotEnforced` (SARIF's `name`).
fn camel(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map_or(String::new(), |f| f.to_ascii_uppercase().to_string() + c.as_str())
        })
        .collect()
}

fn rule_json(r: &RuleInfo) -> Value {
    json!({
        "id": r.id,
        "name": camel(r.id),
        "shortDescription": { "text": r.title },
        "fullDescription": { "text": r.explanation },
        "help": {
            "text": format!("{}\n\nFix: {}\n\nReference: {}", r.explanation, r.fix, r.reference),
            "markdown": format!("{}\n\n**Fix:** {}\n\n**Reference:** {}", r.explanation, r.fix, r.reference),
        },
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": {
            "tags": ["security", "websocket"],
            "security-severity": score(r.severity),
            "precision": "high",
        },
    })
}

/// The SARIF document of `captures`' findings.
pub fn document(captures: &[AuditedCapture]) -> Value {
    let rules: Vec<Value> = catalog::RULES.iter().map(rule_json).collect();
    let artifacts: Vec<Value> = captures
        .iter()
        .map(|c| json!({ "location": { "uri": uri(&c.path) }, "mimeType": "application/vnd.tcpdump.pcap" }))
        .collect();
    let mut results = Vec::new();
    for (ci, c) in captures.iter().enumerate() {
        for f in &c.findings {
            let rule_index = catalog::RULES.iter().position(|r| r.id == f.rule);
            let conn = match f.session.stream {
                Some(s) => format!("conn {}/{s}", f.conn),
                None => format!("conn {}", f.conn),
            };
            let mut location = json!({
                "physicalLocation": { "artifactLocation": { "uri": uri(&c.path), "index": ci } },
                "logicalLocations": [{
                    "name": conn,
                    "fullyQualifiedName": format!("{}/{conn}", c.name),
                    "kind": "object",
                }],
            });
            if let Some(p) = f.packets.first() {
                location["physicalLocation"]["region"] = json!({ "startLine": p });
            }
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": format!("{} ({}): {}", f.detail, conn, f.evidence) },
                "locations": [location],
                "partialFingerprints": {
                    "wsscope/v1": fingerprint(&c.name, f.conn, f.session.stream, f.rule, &f.evidence),
                },
                "properties": {
                    "severity": f.severity.as_str(),
                    "capture": c.name,
                    "conn": f.conn,
                    "packets": f.packets,
                    "evidence": f.evidence,
                    "timestamp": f.ts.to_decimal(),
                },
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            if let Some(s) = f.session.stream {
                result["properties"]["stream"] = json!(s);
            }
            results.push(result);
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "wsscope",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/wsscope/wsscope",
                    "rules": rules,
                }
            },
            "artifacts": artifacts,
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// A path as a SARIF URI reference (relative paths stay relative;
/// characters a URI cannot hold are percent-encoded).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A stable identity of a finding across runs (SARIF baselining).
fn fingerprint(capture: &str, conn: u64, stream: Option<u32>, rule: &str, evidence: &str) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(format!("{capture}\0{conn}\0{stream:?}\0{rule}\0{evidence}").as_bytes());
    hex::encode(h.finalize())
}

/// Writes the document, pretty-printed.
pub fn write(w: &mut dyn Write, captures: &[AuditedCapture]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &document(captures)).map_err(io::Error::other)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(camel("origin-not-enforced"), "OriginNotEnforced");
        assert_eq!(uri("caps/a b.pcap"), "caps/a%20b.pcap");
    }
}
