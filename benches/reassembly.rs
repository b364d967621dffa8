//! Reading + decoding + TCP reassembly throughput over a generated capture
//! of ≥ 200 MB (written once to target/, reused by later runs).
//!
//! `cargo bench --bench reassembly` prints MB/s (criterion "thrpt").
//! `benches/compare.sh` puts the figure next to `cat FILE > /dev/null` and
//! tshark on the same file.

mod synth;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::ops::ControlFlow;
use std::path::PathBuf;
use wsscope::analyzer::AnalyzerConfig;
use wsscope::decode::{Decoded, Decoder};
use wsscope::event::{Event, EventSink};
use wsscope::source::file::FileSource;
use wsscope::source::{PacketSource, SourceItem};
use wsscope::tcp::{FlowTable, NoClassifier, StreamEvent, TcpConfig};

/// Counts events without keeping them: measures the pipeline, not a sink.
#[derive(Default)]
struct Count(u64);
impl EventSink for Count {
    fn event(&mut self, _: Event) {
        self.0 += 1;
    }
}

fn capture() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("synth-256mb.pcap");
    if !path.exists() {
        let tmp = dir.join("synth-256mb.pcap.tmp");
        let f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp).unwrap());
        synth::generate(f, 256 << 20, 500).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

fn bench(c: &mut Criterion) {
    let path = capture();
    let size = std::fs::metadata(&path).unwrap().len();
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(size));
    g.bench_function("tcp: read+decode+reassemble (256 MB)", |b| {
        b.iter(|| {
            let mut src = FileSource::open(&path).unwrap();
            let mut decoder = Decoder::default();
            let mut flows = FlowTable::new(TcpConfig::default(), Box::new(NoClassifier));
            let mut bytes = 0u64;
            let mut sink = |e: StreamEvent<'_>| {
                if let StreamEvent::Data { bytes: b, .. } = e {
                    bytes += b.len() as u64;
                }
            };
            src.run(&mut |item| {
                let SourceItem::Packet(pkt) = item else {
                    return ControlFlow::Continue(());
                };
                if let Decoded::Tcp(seg) = decoder.decode(&pkt) {
                    flows.segment(&seg, pkt.ts, pkt.orig_len, pkt.index, &mut sink);
                }
                ControlFlow::Continue(())
            })
            .unwrap();
            flows.finish(&mut sink);
            bytes
        })
    });
    g.bench_function("full: + HTTP/WebSocket decode, events (256 MB)", |b| {
        b.iter(|| {
            let mut src = FileSource::open(&path).unwrap();
            let mut sink = Count::default();
            wsscope::pipeline::analyze(&mut src, AnalyzerConfig::default(), &mut sink).unwrap();
            sink.0
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
