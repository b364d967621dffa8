//! pcapng Decryption Secrets Blocks reach the analyzer's key store through
//! the pipeline, and do not change what the packets around them yield.

mod common;

use wsscope::event::Event;
use wsscope::pipeline;
use wsscope::source::SecretsKind;
use wsscope::source::file::FileSource;

/// A little-endian pcapng block: type, length, body padded to 32 bits, length.
fn block(ty: u32, body: &[u8]) -> Vec<u8> {
    let len = 12 + body.len().div_ceil(4) * 4;
    let mut v = Vec::new();
    v.extend(ty.to_le_bytes());
    v.extend((len as u32).to_le_bytes());
    v.extend_from_slice(body);
    v.resize(len - 4, 0);
    v.extend((len as u32).to_le_bytes());
    v
}

/// A Decryption Secrets Block (type 0x0000000A).
fn dsb(kind: SecretsKind, secrets: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(kind.0.to_le_bytes());
    body.extend((secrets.len() as u32).to_le_bytes());
    body.extend_from_slice(secrets);
    body.resize(8 + secrets.len().div_ceil(4) * 4, 0);
    block(0x0000_000A, &body)
}

fn analyze(bytes: Vec<u8>) -> (Vec<Event>, wsscope::analyzer::Analyzer) {
    let mut src = FileSource::from_reader("t.pcapng".into(), Box::new(std::io::Cursor::new(bytes))).unwrap();
    let mut events = Vec::new();
    let (analyzer, end) = pipeline::analyze(&mut src, Default::default(), &mut events).unwrap();
    assert_eq!(end.truncated, None);
    (events, analyzer)
}

#[test]
fn key_log_in_a_pcapng_reaches_the_analyzer() {
    let original = std::fs::read(common::root().join("fixtures/pcapng_usec.pcapng")).unwrap();
    // The section header block comes first; its length is at offset 4.
    let shb_len = u32::from_le_bytes(original[4..8].try_into().unwrap()) as usize;
    // Not a multiple of 4 bytes: the padding must not be part of the secrets.
    let key_log = b"CLIENT_RANDOM 0102030405060708 a1a2a3a4a5a6a7a8a9b0b1b2b3b4b5\n";
    let wireguard = b"LOCAL_STATIC_PRIVATE_KEY = x\n";
    let mut with = original[..shb_len].to_vec();
    with.extend(dsb(SecretsKind::TLS_KEY_LOG, key_log));
    with.extend(dsb(SecretsKind::WIREGUARD_KEY_LOG, wireguard));
    with.extend_from_slice(&original[shb_len..]);
    // And one at the very end, after the last packet.
    with.extend(dsb(
        SecretsKind::TLS_KEY_LOG,
        b"SERVER_HANDSHAKE_TRAFFIC_SECRET 01 02\n",
    ));

    let (events, analyzer) = analyze(with);
    let keys = analyzer.keys();
    let tls: Vec<&[u8]> = keys.of_kind(SecretsKind::TLS_KEY_LOG).collect();
    assert_eq!(
        tls,
        [&key_log[..], &b"SERVER_HANDSHAKE_TRAFFIC_SECRET 01 02\n"[..]]
    );
    let wg: Vec<&[u8]> = keys.of_kind(SecretsKind::WIREGUARD_KEY_LOG).collect();
    assert_eq!(wg, [&wireguard[..]]);
    assert_eq!(keys.blobs().len(), 3);
    assert_eq!(keys.dropped(), 0);

    // The packets analyse exactly as without the secrets.
    let (plain, plain_analyzer) = analyze(original);
    assert!(plain_analyzer.keys().is_empty());
    assert_eq!(events, plain);
    assert_eq!(analyzer.totals(), plain_analyzer.totals());
}
