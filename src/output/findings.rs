//! `wsscope audit`'s report for people: findings grouped by rule, most
//! severe first, each group with its count, the connections it concerns,
//! its first evidence, and the rule's explanation and fix.

use crate::audit::catalog;
use crate::event::{FindingEvent, Severity};
use crate::output::text::sanitize_str;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// What auditing one capture found.
#[derive(Debug, Default, Clone)]
pub struct AuditedCapture {
    /// The capture's name ([`crate::source::captures::name`]).
    pub name: String,
    /// Its path as given (SARIF's artifact).
    pub path: String,
    pub connections: u64,
    pub findings: Vec<FindingEvent>,
}

/// Counts per severity, most severe first: `2 high, 1 low`.
pub fn severity_counts<'a>(findings: impl Iterator<Item = &'a FindingEvent>) -> String {
    let mut n = [0u64; 4];
    for f in findings {
        if let Some(c) = n.get_mut(f.severity as usize) {
            *c += 1;
        }
    }
    let parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter(|s| n[**s as usize] > 0)
        .map(|s| format!("{} {}", n[*s as usize], s.as_str()))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Findings of one rule, keyed to sort most severe first, then in catalog order.
type Groups<'a> =
    BTreeMap<(std::cmp::Reverse<Severity>, usize, &'a str), Vec<(&'a AuditedCapture, &'a FindingEvent)>>;

/// Writes the report of `captures` (several captures name theirs in
/// each connection: `name#3`).
pub fn report(w: &mut dyn Write, captures: &[AuditedCapture], fail_on: Severity) -> io::Result<()> {
    let several = captures.len() > 1;
    let all: Vec<(&AuditedCapture, &FindingEvent)> = captures
        .iter()
        .flat_map(|c| c.findings.iter().map(move |f| (c, f)))
        .collect();
    let conns: u64 = captures.iter().map(|c| c.connections).sum();
    writeln!(
        w,
        "wsscope audit: {} capture{}, {conns} connection{}, {} finding{} ({})",
        captures.len(),
        if captures.len() == 1 { "" } else { "s" },
        if conns == 1 { "" } else { "s" },
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        severity_counts(all.iter().map(|(_, f)| *f))
    )?;
    // By rule; within a rule, by severity then order of appearance.
    let mut groups: Groups<'_> = BTreeMap::new();
    for (c, f) in &all {
        let order = catalog::RULES
            .iter()
            .position(|r| r.id == f.rule)
            .unwrap_or(usize::MAX);
        groups
            .entry((std::cmp::Reverse(f.severity), order, f.rule))
            .or_default()
            .push((c, f));
    }
    for ((sev, _, rule), items) in &groups {
        let info = catalog::rule(rule);
        let mut conns: Vec<String> = items
            .iter()
            .map(|(c, f)| {
                let s = f.session.stream.map(|s| format!("/{s}")).unwrap_or_default();
                if several {
                    format!("{}#{}{s}", sanitize_str(&c.name), f.conn)
                } else {
                    format!("#{}{s}", f.conn)
                }
            })
            .collect();
        conns.dedup();
        let (c0, first) = items[0];
        writeln!(w)?;
        writeln!(
            w,
            "{:<6} {rule} — {} finding{} in {} connection{}",
            sev.0.as_str().to_ascii_uppercase(),
            items.len(),
            if items.len() == 1 { "" } else { "s" },
            conns.len(),
            if conns.len() == 1 { "" } else { "s" },
        )?;
        if let Some(i) = info {
            writeln!(w, "       {}", i.title)?;
        }
        let packets: Vec<String> = first.packets.iter().map(u64::to_string).collect();
        writeln!(
            w,
            "       first: {}conn {}{}: {}",
            if several {
                format!("{} ", sanitize_str(&c0.name))
            } else {
                String::new()
            },
            first.conn,
            if packets.is_empty() {
                String::new()
            } else {
                format!(" (packets {})", packets.join(", "))
            },
            sanitize_str(&first.evidence)
        )?;
        writeln!(w, "       {}", sanitize_str(&first.detail))?;
        const SHOWN: usize = 12;
        writeln!(
            w,
            "       connections: {}{}",
            conns.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(" "),
            if conns.len() > SHOWN {
                format!(" … ({} more)", conns.len() - SHOWN)
            } else {
                String::new()
            }
        )?;
        if let Some(i) = info {
            writeln!(w, "       why: {}", i.explanation)?;
            writeln!(w, "       reference: {}", i.reference)?;
            writeln!(w, "       fix: {}", i.fix)?;
        }
    }
    let failing = all.iter().filter(|(_, f)| f.severity >= fail_on).count();
    writeln!(w)?;
    if failing > 0 {
        writeln!(
            w,
            "{failing} finding{} at {} or above (--fail-on): exit status 4",
            if failing == 1 { "" } else { "s" },
            fail_on.as_str()
        )?;
    } else {
        writeln!(w, "no finding at {} or above (--fail-on)", fail_on.as_str())?;
    }
    Ok(())
}
