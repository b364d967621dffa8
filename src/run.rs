//! Drives a packet source through the analyzer into a sink: the one loop
//! shared by every command, for files and live capture alike.

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::event::EventSink;
use crate::source::{PacketSource, SourceEnd};
use std::ops::ControlFlow;

/// Reads `source` to its end, feeding every packet to a new analyzer.
pub fn analyze(
    source: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    sink: &mut dyn EventSink,
) -> anyhow::Result<(Analyzer, SourceEnd)> {
    analyze_limited(source, cfg, None, sink)
}

/// Like [`analyze`], stopping after `limit` packets (`-c`).
pub fn analyze_limited(
    source: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    limit: Option<u64>,
    sink: &mut dyn EventSink,
) -> anyhow::Result<(Analyzer, SourceEnd)> {
    let mut analyzer = Analyzer::new(cfg);
    let mut seen = 0u64;
    let end = source.run(&mut |pkt| {
        analyzer.feed(&pkt, sink);
        seen += 1;
        if limit.is_some_and(|l| seen >= l) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    analyzer.finish(&end, sink);
    Ok((analyzer, end))
}
