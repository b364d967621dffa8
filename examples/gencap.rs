//! Writes a large synthetic WebSocket capture, for benchmarks and scale tests.
//!
//! `cargo run --release --example gencap -- OUT.pcap [MEGABYTES] [CONNECTIONS]`
//!
//! With `--wss PREFIX` it writes the same traffic twice, in lockstep:
//! `PREFIX-plain.pcap` (the bytes OUT.pcap would get), `PREFIX-wss.pcap`
//! (inside TLS 1.3) and `PREFIX-wss.keys` (its key log).
//!
//! With `--deflate OUT.pcap [MEGABYTES] [CONNECTIONS]` every connection
//! negotiates permessage-deflate (context takeover) and its messages are
//! compressed, about 4:1. With `--json` every message is a JSON-RPC 2.0
//! document (what the application decoders read: `benches/decode_cost.sh`).
//!
//! With `--hostile KIND OUT.pcap [N]` it writes one of the memory-hostile
//! shapes of `benches/synth/hostile.rs` (`syns`, `handshakes`, `ooo`,
//! `bigframes`, `fragmsg`), N scaling its count (`benches/memory_hostile.sh`).

#[path = "../benches/synth/mod.rs"]
mod synth;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--hostile") {
        return hostile(&args[2..]);
    }
    if let Some(flag @ ("--deflate" | "--json")) = args.get(1).map(String::as_str) {
        let Some(out) = args.get(2) else {
            eprintln!("usage: gencap {flag} OUT.pcap [MEGABYTES=256] [CONNECTIONS=500]");
            std::process::exit(2);
        };
        let mb: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(256);
        let conns: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(500);
        let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
        let shape = synth::Shape {
            deflate: flag == "--deflate",
            json: flag == "--json",
        };
        let n = synth::generate_shaped(file, mb << 20, conns, shape)?;
        eprintln!("wrote {out}: {n} bytes ({})", &flag[2..]);
        return Ok(());
    }
    if let (Some("--wss"), Some(prefix)) = (args.get(1).map(String::as_str), args.get(2)) {
        let mb: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(256);
        let conns: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(500);
        let open = |suffix: &str| -> std::io::Result<_> {
            let f = std::fs::File::create(format!("{prefix}-{suffix}"))?;
            Ok(std::io::BufWriter::with_capacity(1 << 20, f))
        };
        let (p, w) = synth::tls::generate_pair(
            open("plain.pcap")?,
            open("wss.pcap")?,
            open("wss.keys")?,
            mb << 20,
            conns,
        )?;
        eprintln!("wrote {prefix}-plain.pcap: {p} bytes, {prefix}-wss.pcap: {w} bytes, {prefix}-wss.keys");
        return Ok(());
    }
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

/// `--hostile KIND OUT.pcap [N]`.
fn hostile(args: &[String]) -> std::io::Result<()> {
    use synth::hostile::Kind;
    let (Some(kind), Some(out)) = (args.first().and_then(|k| Kind::parse(k)), args.get(1)) else {
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        eprintln!(
            "usage: gencap --hostile KIND OUT.pcap [N]   (KIND: {})",
            kinds.join(", ")
        );
        std::process::exit(2);
    };
    let n = match args.get(2) {
        None => kind.default_n(),
        Some(s) => match s.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("gencap --hostile: N must be a whole number, got {s:?}");
                std::process::exit(2);
            }
        },
    };
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let w = synth::hostile::generate(file, kind, n)?;
    eprintln!(
        "wrote {out}: {} (n={n}): {} bytes, {} packets, {} connections",
        kind.name(),
        w.bytes,
        w.packets,
        w.connections
    );
    Ok(())
}
