//! Writes a large synthetic WebSocket capture, for benchmarks and scale tests.
//!
//! `cargo run --release --example gencap -- OUT.pcap [MEGABYTES] [CONNECTIONS]`

#[path = "../benches/synth/mod.rs"]
mod synth;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(out) = args.get(1) else {
        eprintln!("usage: gencap OUT.pcap [MEGABYTES=256] [CONNECTIONS=500]");
        std::process::exit(2);
    };
    let mb: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(256);
    let conns: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(500);
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let n = synth::generate(file, mb << 20, conns)?;
    eprintln!("wrote {out}: {n} bytes");
    Ok(())
}
