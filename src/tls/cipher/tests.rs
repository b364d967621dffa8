//! Tests of [`super`], kept apart from the code they test.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::*;
use crate::keys::keylog::{KeyLog, ParseReport};
use crate::tls::schedule::tls12_key_block;
use crate::tls::suites::{Mac, all_suites, suite};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

/// Splits a whole record into its header and body.
fn split(rec: &[u8]) -> ([u8; 5], &[u8]) {
    let (hd, body) = rec.split_at(5);
    assert_eq!(
        usize::from(u16::from_be_bytes([hd[3], hd[4]])),
        body.len(),
        "record length field"
    );
    (hd.try_into().unwrap(), body)
}

fn dec(d: &dyn RecordDecrypter, seq: u64, rec: &[u8]) -> Result<Plain, DecryptError> {
    let (hd, body) = split(rec);
    d.decrypt(seq, &hd, body)
}

// ------------------------------------------------ RFC 8448 §3 (1-RTT)

const C_HS: &str = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
const S_HS: &str = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
const C_AP: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
const S_AP: &str = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";

/// {server} send handshake record: payload (657 octets) — EncryptedExtensions,
/// Certificate, CertificateVerify, Finished.
const FLIGHT: &str = "
    080000240022000a00140012001d00170018001901000101010201030104001c
    00024001000000000b0001b9000001b50001b0308201ac30820115a003020102
    020102300d06092a864886f70d01010b0500300e310c300a0603550403130372
    7361301e170d3136303733303031323335395a170d3236303733303031323335
    395a300e310c300a0603550403130372736130819f300d06092a864886f70d01
    0101050003818d0030818902818100b4bb498f8279303d980836399b36c6988c
    0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19e
    aa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e2
    2a5fda430846748030530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a
    8002c47428a6d35a8d88d79f7f1e3f0203010001a31a301830090603551d1304
    023000300b0603551d0f0404030205a0300d06092a864886f70d01010b050003
    81810085aad2a0e5b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594
    365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd
    335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb
    2bd5203b1c3b84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b4
    2b4de100000f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f82
    4cd484145ab3ff52f1fda8477b0b7abc90db78e2d33a5c141a078653fa6bef78
    0c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671
    459e46445c9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda
    65cdf5aea20d53dfacd42f74f3140000209b9b141d906337fbd2cbdce71df4de
    da4ab42c309572cb7fffee5454b78f0718";

/// {server} send handshake record: complete record (679 octets).
const FLIGHT_RECORD: &str = "
    17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35e
    df7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78
    b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13b
    d9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9
    d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2e
    d65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd61092
    8d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead68694
    5ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b368
    4596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f
    4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26
    f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b65962224531
    7b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e
    1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da
    8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d4
    61e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe
    5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb
    992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c859
    77b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038
    ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b84
    5e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5
    d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e
    750edc53370d2b";

/// {client} send handshake record (58 octets): the client Finished.
const CLIENT_FINISHED_RECORD: &str = "
    17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0
    51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c
    ae ac ab 68 67 d7 26 c4 05 46";
const CLIENT_FINISHED: &str = "
    14 00 00 20 a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76 94
    fa c6 e9 85 27 b6 42 f2 ed d5 ce 61";

/// {server} send handshake record (227 octets): NewSessionTicket, the
/// server's first record under its application secret.
const NST_RECORD: &str = "
    17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24
    0e 6c ff ac 11 6e 95 d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a
    01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3 8e fb cf 57 53 ad 8e f1
    70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0
    9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15
    13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77
    f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac 87 aa c3
    47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74
    bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b
    3b 6c 67 79 b3 7b f1 59 85 68 4f";

/// {client} / {server} send application_data record (72 octets each):
/// payload 00 01 … 31.
const CLIENT_APP_RECORD: &str = "
    17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea
    42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b
    62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";
const SERVER_APP_RECORD: &str = "
    17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc
    32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8
    fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";

/// {client} / {server} send alert record (24 octets each): close_notify.
const CLIENT_ALERT_RECORD: &str = "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
const SERVER_ALERT_RECORD: &str = "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

#[test]
fn rfc8448_handshake_records() {
    let suite = suite(0x1301).unwrap();
    let server = tls13_decrypter(suite, &h(S_HS)).unwrap();
    let p = dec(&*server, 0, &h(FLIGHT_RECORD)).unwrap();
    assert_eq!(p.content_type, 22);
    assert_eq!(p.data.len(), 657);
    assert_eq!(p.data, h(FLIGHT));
    // The same record at the wrong sequence number, or under the other
    // direction's secret, does not authenticate.
    assert_eq!(
        dec(&*server, 1, &h(FLIGHT_RECORD)),
        Err(DecryptError::BadRecordMac)
    );
    let client = tls13_decrypter(suite, &h(C_HS)).unwrap();
    assert_eq!(
        dec(&*client, 0, &h(FLIGHT_RECORD)),
        Err(DecryptError::BadRecordMac)
    );

    let p = dec(&*client, 0, &h(CLIENT_FINISHED_RECORD)).unwrap();
    assert_eq!((p.content_type, p.data), (22, h(CLIENT_FINISHED)));
}

#[test]
fn rfc8448_application_records() {
    let suite = suite(0x1301).unwrap();
    let payload: Vec<u8> = (0..50).collect();
    let server = tls13_decrypter(suite, &h(S_AP)).unwrap();
    let client = tls13_decrypter(suite, &h(C_AP)).unwrap();
    // Server: NewSessionTicket (seq 0), data (seq 1), close_notify (seq 2).
    let nst = dec(&*server, 0, &h(NST_RECORD)).unwrap();
    assert_eq!(nst.content_type, 22);
    assert_eq!(nst.data[..4], [0x04, 0x00, 0x00, 0xc9]);
    assert_eq!(nst.data.len(), 4 + 0xc9);
    assert_eq!(
        dec(&*server, 1, &h(SERVER_APP_RECORD)).unwrap(),
        Plain {
            content_type: 23,
            data: payload.clone()
        }
    );
    assert_eq!(
        dec(&*server, 2, &h(SERVER_ALERT_RECORD)).unwrap(),
        Plain {
            content_type: 21,
            data: vec![1, 0]
        }
    );
    // Client: data (seq 0), close_notify (seq 1).
    assert_eq!(
        dec(&*client, 0, &h(CLIENT_APP_RECORD)).unwrap(),
        Plain {
            content_type: 23,
            data: payload.clone()
        }
    );
    assert_eq!(
        dec(&*client, 1, &h(CLIENT_ALERT_RECORD)).unwrap(),
        Plain {
            content_type: 21,
            data: vec![1, 0]
        }
    );
    // Our encrypter makes the RFC's bytes.
    let enc = tls13_encrypter(suite, &h(C_AP)).unwrap();
    assert_eq!(enc.encrypt(0, 23, &payload), h(CLIENT_APP_RECORD));
    assert_eq!(enc.encrypt(1, 21, &[1, 0]), h(CLIENT_ALERT_RECORD));
    let enc = tls13_encrypter(suite, &h(S_HS)).unwrap();
    assert_eq!(enc.encrypt(0, 22, &h(FLIGHT)), h(FLIGHT_RECORD));
}

// ------------------------------------------- records made by OpenSSL

struct Vector {
    name: String,
    suite: &'static Suite,
    etm: bool,
    keylog: KeyLog,
    server_random: [u8; 32],
    records: Vec<(String, String, u64, u8, Vec<u8>, String)>,
}

fn openssl_vectors() -> Vec<Vector> {
    let mut out: Vec<Vector> = Vec::new();
    for line in include_str!("../testdata/openssl_records.txt").lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first().copied() {
            Some("vector") => out.push(Vector {
                name: f[1].to_owned(),
                suite: suite(u16::from_str_radix(f[2], 16).unwrap()).unwrap(),
                etm: f[3] == "1",
                keylog: KeyLog::new(),
                server_random: [0; 32],
                records: Vec::new(),
            }),
            Some("keylog") => {
                let v = out.last_mut().unwrap();
                let mut report = ParseReport::default();
                let text = format!("{}\n", f[1..].join(" "));
                assert_eq!(v.keylog.parse(text.as_bytes(), &mut report), text.len());
                assert_eq!(report.malformed, 0, "{line}");
            }
            Some("server_random") => {
                out.last_mut().unwrap().server_random = h(f[1]).try_into().unwrap();
            }
            Some("record") => out.last_mut().unwrap().records.push((
                f[1].to_owned(),
                f[2].to_owned(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
                h(f[5]),
                f[6].to_owned(),
            )),
            _ => {}
        }
    }
    out
}

#[test]
fn openssl_records_decrypt() {
    let vectors = openssl_vectors();
    assert_eq!(vectors.len(), 10);
    for v in &vectors {
        assert_eq!(v.keylog.len(), 1, "{}", v.name);
        let (client_random, secrets) = v.keylog.iter().next().unwrap();
        let name = &v.name;
        let mut decrypted = 0;
        for (dir, epoch, seq, ty, rec, want) in &v.records {
            let client = dir == "c2s";
            let d: Box<dyn RecordDecrypter> = match v.suite.version {
                TlsVersion::Tls12 => {
                    let ms = secrets.master_secret.as_ref().unwrap();
                    let keys = tls12_key_block(v.suite, ms, client_random, &v.server_random).unwrap();
                    let keys = if client { &keys.client } else { &keys.server };
                    // The wrong encrypt-then-MAC setting does not decrypt.
                    if v.suite.mac != Mac::Aead {
                        let wrong = tls12_decrypter(v.suite, keys, !v.etm).unwrap();
                        assert!(dec(&*wrong, *seq, rec).is_err(), "{name}");
                    }
                    tls12_decrypter(v.suite, keys, v.etm).unwrap()
                }
                TlsVersion::Tls13 => {
                    let secret = match (client, epoch.as_str()) {
                        (true, "hs") => &secrets.client_handshake,
                        (false, "hs") => &secrets.server_handshake,
                        (true, _) => &secrets.client_traffic_0,
                        (false, _) => &secrets.server_traffic_0,
                    };
                    tls13_decrypter(v.suite, secret.as_ref().unwrap()).unwrap()
                }
            };
            let p = dec(&*d, *seq, rec).unwrap_or_else(|e| panic!("{name} {dir} {seq}: {e}"));
            assert_eq!(p.content_type, *ty, "{name}");
            match want.as_str() {
                // TLS 1.2 Finished: handshake type 20, 12 bytes of verify_data.
                "finished" => assert_eq!(p.data[..4], [20, 0, 0, 12], "{name}"),
                // TLS 1.3 handshake messages: a whole number of them.
                "handshake" => {
                    let mut rest = &p.data[..];
                    while !rest.is_empty() {
                        let len = u32::from_be_bytes([0, rest[1], rest[2], rest[3]]) as usize;
                        rest = &rest[4 + len..];
                    }
                }
                hex => assert_eq!(p.data, h(hex), "{name}"),
            }
            // Sequence numbers matter, for every protection.
            assert!(dec(&*d, seq + 1, rec).unwrap_err().is_auth_failure(), "{name}");
            decrypted += 1;
        }
        assert!(decrypted >= 4, "{name}");
    }
}

// ------------------------------------- TLS 1.2 ChaCha20: implicit nonce

/// RFC 7905: the nonce is the 12-byte IV XOR the sequence number, and
/// nothing of the body is a nonce. Checked against the `chacha20poly1305`
/// crate with a nonce worked out by hand.
#[test]
fn tls12_chacha20_nonce_is_iv_xor_seq() {
    let suite = suite(0xCCA8).unwrap();
    let keys = DirKeys {
        mac_key: Vec::new(),
        key: (0..32).collect(),
        iv: h("a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab"),
    };
    let plain = b"a WebSocket frame, say";
    let rec = tls12_encrypter(suite, &keys, false)
        .unwrap()
        .encrypt(5, 23, plain);
    // No explicit nonce: 5-byte header, ciphertext, tag.
    assert_eq!(rec.len(), 5 + plain.len() + 16);
    let d = tls12_decrypter(suite, &keys, false).unwrap();
    assert_eq!(dec(&*d, 5, &rec).unwrap().data, plain);
    for seq in (0..64).filter(|&s| s != 5) {
        assert_eq!(dec(&*d, seq, &rec), Err(DecryptError::BadRecordMac), "seq {seq}");
    }
    // By hand: IV with its last byte XOR 5; AAD = seq ‖ type ‖ version ‖ length.
    let nonce = h("a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ae");
    let mut aad = h("00 00 00 00 00 00 00 05 17 03 03");
    aad.extend_from_slice(&(plain.len() as u16).to_be_bytes());
    let (hd, body) = split(&rec);
    let (ct, tag) = body.split_at(plain.len());
    let mut buf = ct.to_vec();
    ChaCha20Poly1305::new_from_slice(&keys.key)
        .unwrap()
        .decrypt_in_place_detached(
            GenericArray::from_slice(&nonce),
            &aad,
            &mut buf,
            GenericArray::from_slice(tag),
        )
        .unwrap();
    assert_eq!(buf, plain);
    // Reading the first 8 body bytes as an explicit nonce (the AES-GCM
    // construction, a bug other decryptors have) does not authenticate.
    let mut wrong = keys.iv[..4].to_vec();
    wrong.extend_from_slice(&body[..8]);
    let mut buf = body[8..body.len() - 16].to_vec();
    let mut aad = h("00 00 00 00 00 00 00 05 17 03 03");
    aad.extend_from_slice(&(buf.len() as u16).to_be_bytes());
    assert!(
        ChaCha20Poly1305::new_from_slice(&keys.key)
            .unwrap()
            .decrypt_in_place_detached(
                GenericArray::from_slice(&wrong),
                &aad,
                &mut buf,
                GenericArray::from_slice(tag)
            )
            .is_err()
    );
    assert_eq!(hd, [23, 3, 3, 0, (plain.len() + 16) as u8]);
}

// ---------------------------------------------- every suite, round trip

fn tls12_keys(s: &Suite, ms: u8) -> crate::tls::schedule::Tls12Keys {
    tls12_key_block(s, &[ms; 48], &[1; 32], &[2; 32]).unwrap()
}

/// What a decrypter under the wrong key says: the tag or MAC fails
/// (MAC-then-encrypt CBC may fail at the padding first).
fn assert_wrong_key(e: DecryptError, s: &Suite, etm: bool) {
    if s.mac == Mac::Aead || etm {
        assert_eq!(e, DecryptError::BadRecordMac, "{}", s.name);
    } else {
        assert!(e.is_auth_failure(), "{}: {e:?}", s.name);
    }
}

#[test]
fn every_suite_round_trips() {
    let sizes = [0usize, 1, 15, 16, 17, 31, 32, 47, 48, 100, 1000, 16384];
    for s in all_suites() {
        let etms: &[bool] = if s.mac == Mac::Aead {
            &[false]
        } else {
            &[false, true]
        };
        for &etm in etms {
            let (enc, d, other) = match s.version {
                TlsVersion::Tls13 => {
                    let secret = vec![0x5a; s.hash.output_len()];
                    let wrong = vec![0x5b; s.hash.output_len()];
                    (
                        tls13_encrypter(s, &secret).unwrap(),
                        tls13_decrypter(s, &secret).unwrap(),
                        tls13_decrypter(s, &wrong).unwrap(),
                    )
                }
                TlsVersion::Tls12 => {
                    let k = tls12_keys(s, 7);
                    (
                        tls12_encrypter(s, &k.client, etm).unwrap(),
                        tls12_decrypter(s, &k.client, etm).unwrap(),
                        tls12_decrypter(s, &k.server, etm).unwrap(),
                    )
                }
            };
            for (i, &n) in sizes.iter().enumerate() {
                let plain: Vec<u8> = (0..n).map(|j| (j * 7 + i) as u8).collect();
                let seq = [0, 1, 2, 1 << 32, u64::MAX][i % 5];
                let ty = [22, 23, 21][i % 3];
                let rec = enc.encrypt(seq, ty, &plain);
                let got = dec(&*d, seq, &rec).unwrap_or_else(|e| panic!("{} etm={etm} n={n}: {e}", s.name));
                assert_eq!(
                    got,
                    Plain {
                        content_type: ty,
                        data: plain.clone()
                    },
                    "{} n={n}",
                    s.name
                );
                assert!(dec(&*d, seq ^ 1, &rec).unwrap_err().is_auth_failure());
                assert_wrong_key(dec(&*other, seq, &rec).unwrap_err(), s, etm);
                // One flipped bit anywhere in the body fails.
                for at in [5, rec.len() / 2, rec.len() - 1] {
                    let mut bad = rec.clone();
                    bad[at] ^= 0x10;
                    assert!(
                        dec(&*d, seq, &bad).unwrap_err().is_auth_failure(),
                        "{} at {at}",
                        s.name
                    );
                }
            }
        }
    }
}

#[test]
fn truncated_records_are_too_short() {
    for s in all_suites() {
        for etm in [false, true] {
            let (enc, d) = match s.version {
                TlsVersion::Tls13 => {
                    let secret = vec![1; s.hash.output_len()];
                    (
                        tls13_encrypter(s, &secret).unwrap(),
                        tls13_decrypter(s, &secret).unwrap(),
                    )
                }
                TlsVersion::Tls12 => {
                    let k = tls12_keys(s, 3);
                    (
                        tls12_encrypter(s, &k.client, etm).unwrap(),
                        tls12_decrypter(s, &k.client, etm).unwrap(),
                    )
                }
            };
            let rec = enc.encrypt(9, 23, &[b'x'; 40]);
            let (hd, body) = split(&rec);
            // Shorter than the protection's smallest record.
            let overhead = match (s.version, s.bulk, s.mac) {
                (TlsVersion::Tls13, ..) | (_, Bulk::ChaCha20Poly1305, _) => 16,
                (_, Bulk::Aes128Gcm | Bulk::Aes256Gcm, _) => 24,
                _ if etm => 16 + 16 + s.mac.output_len(),
                _ => 16 + (s.mac.output_len() + 1).next_multiple_of(16),
            };
            for n in [0, 1, overhead - 1] {
                assert_eq!(
                    d.decrypt(9, &hd, &body[..n]),
                    Err(DecryptError::TooShort),
                    "{} n={n}",
                    s.name
                );
            }
            // One byte short of the whole: the tag no longer fits (AEAD),
            // or the blocks do not (CBC).
            let e = d.decrypt(9, &hd, &body[..body.len() - 1]).unwrap_err();
            let want = if s.bulk.is_aead() {
                DecryptError::BadRecordMac
            } else {
                DecryptError::BadLength
            };
            assert_eq!(e, want, "{} etm={etm}", s.name);
        }
    }
}

// ---------------------------------------- TLS 1.3 inner plaintext rules

#[test]
fn tls13_padding_and_missing_content_type() {
    let s = suite(0x1302).unwrap();
    let t = tls13(s, &[9; 48]).unwrap();
    let seal = |inner: &[u8]| {
        let header = record_header(23, inner.len() + TAG);
        let mut buf = inner.to_vec();
        let tag = t.aead.seal(&xor_nonce(&t.iv, 3), &header, &mut buf);
        buf.extend_from_slice(&tag);
        (header, buf)
    };
    // content ‖ type ‖ zeros: the zeros go, the last non-zero byte is the type.
    let (hd, body) = seal(b"hi\x00\x17\x00\x00\x00\x00");
    assert_eq!(
        t.decrypt(3, &hd, &body).unwrap(),
        Plain {
            content_type: 23,
            data: b"hi\x00".to_vec()
        }
    );
    // Only a type: empty content (a legal empty record).
    let (hd, body) = seal(b"\x15");
    assert_eq!(
        t.decrypt(3, &hd, &body).unwrap(),
        Plain {
            content_type: 21,
            data: vec![]
        }
    );
    // All zeros, or nothing at all: no content type.
    for inner in [&b"\x00\x00\x00"[..], b""] {
        let (hd, body) = seal(inner);
        assert_eq!(t.decrypt(3, &hd, &body), Err(DecryptError::NoContentType));
    }
    // The header is the additional data: another header does not authenticate.
    let (mut hd, body) = seal(b"abc\x17");
    hd[2] = 1;
    assert_eq!(t.decrypt(3, &hd, &body), Err(DecryptError::BadRecordMac));
}

// -------------------------------------------------------- CBC padding

/// Builds a CBC record by hand with the given padding bytes.
fn cbc_record(c: &Tls12Cbc, seq: u64, content: &[u8], padding: &[u8]) -> ([u8; 5], Vec<u8>) {
    let iv = [0x33; 16];
    let mut pt = content.to_vec();
    let mut body = iv.to_vec();
    if c.encrypt_then_mac {
        pt.extend_from_slice(padding);
        c.aes.cbc_encrypt(&iv, &mut pt);
        body.extend_from_slice(&pt);
        let hd = record_header(23, body.len() + c.mac_len);
        let mac = c.mac_of(seq, &hd, &body).unwrap().finalize();
        body.extend_from_slice(&mac);
        (hd, body)
    } else {
        let mac = c.mac_of(seq, &record_header(23, 0), content).unwrap().finalize();
        pt.extend_from_slice(&mac);
        pt.extend_from_slice(padding);
        c.aes.cbc_encrypt(&iv, &mut pt);
        body.extend_from_slice(&pt);
        (record_header(23, body.len()), body)
    }
}

#[test]
fn cbc_padding_is_checked_byte_by_byte() {
    let s = suite(0xC013).unwrap(); // AES-128-CBC, HMAC-SHA1 (20-byte MAC)
    let k = tls12_keys(s, 1);
    for etm in [false, true] {
        let Tls12::Cbc(c) = tls12(s, &k.client, etm).unwrap() else {
            panic!()
        };
        let mac = if etm { 0 } else { 20 };
        // 7 content bytes (+ MAC): pad to the block with p = 8 - 1 - …; build good and bad.
        let content = b"content";
        let p = 15 - (content.len() + mac) % 16;
        let good = vec![p as u8; p + 1];
        let (hd, body) = cbc_record(&c, 4, content, &good);
        assert_eq!(c.decrypt(4, &hd, &body).unwrap().data, content, "etm={etm}");
        // Longer padding (another whole block of it) is legal too.
        let long = vec![(p + 16) as u8; p + 17];
        let (hd, body) = cbc_record(&c, 4, content, &long);
        assert_eq!(c.decrypt(4, &hd, &body).unwrap().data, content, "etm={etm}");
        // One wrong padding byte, even the first one.
        let mut bad = good.clone();
        bad[0] ^= 1;
        let (hd, body) = cbc_record(&c, 4, content, &bad);
        assert_eq!(
            c.decrypt(4, &hd, &body),
            Err(DecryptError::BadPadding),
            "etm={etm}"
        );
        // A padding length beyond the record.
        let (hd, body) = cbc_record(&c, 4, content, &vec![200u8; p + 1]);
        assert_eq!(
            c.decrypt(4, &hd, &body),
            Err(DecryptError::BadPadding),
            "etm={etm}"
        );
        // A good record with the MAC of another sequence number.
        let (hd, body) = cbc_record(&c, 5, content, &good);
        assert_eq!(
            c.decrypt(4, &hd, &body),
            Err(DecryptError::BadRecordMac),
            "etm={etm}"
        );
    }
}

// ------------------------------------------------------ construction

#[test]
fn constructors_check_what_they_are_given() {
    let gcm = suite(0xC02F).unwrap();
    let k = tls12_keys(gcm, 1).client;
    assert!(tls12_decrypter(gcm, &k, false).is_ok());
    let short = DirKeys {
        key: vec![0; 15],
        ..k.clone()
    };
    assert_eq!(
        tls12_decrypter(gcm, &short, false).unwrap_err(),
        ScheduleError::KeyLength {
            what: "key",
            expected: 16,
            got: 15
        }
    );
    let bad_iv = DirKeys {
        iv: vec![0; 12],
        ..k.clone()
    };
    assert_eq!(
        tls12_decrypter(gcm, &bad_iv, false).unwrap_err(),
        ScheduleError::KeyLength {
            what: "IV",
            expected: 4,
            got: 12
        }
    );
    let cbc = suite(0xC014).unwrap();
    let ck = tls12_keys(cbc, 1).client;
    let no_mac = DirKeys {
        mac_key: vec![],
        ..ck.clone()
    };
    assert!(matches!(
        tls12_decrypter(cbc, &no_mac, true).unwrap_err(),
        ScheduleError::KeyLength {
            what: "MAC key",
            expected: 20,
            got: 0
        }
    ));
    assert_eq!(
        tls12_decrypter(suite(0x1301).unwrap(), &k, false).unwrap_err(),
        ScheduleError::WrongVersion
    );
    assert_eq!(
        tls13_decrypter(gcm, &[0; 32]).unwrap_err(),
        ScheduleError::WrongVersion
    );
    assert!(matches!(
        tls13_decrypter(suite(0x1303).unwrap(), &[0; 48]).unwrap_err(),
        ScheduleError::SecretLength {
            expected: 32,
            got: 48
        }
    ));
    // Debug shows the suite, never the keys.
    let d = format!("{:?}", tls12_decrypter(cbc, &ck, true).unwrap());
    assert!(
        d.contains("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA") && d.contains("encrypt_then_mac: true"),
        "{d}"
    );
    assert!(!d.contains(&format!("{:?}", ck.key[0..4].to_vec())));
}

#[test]
fn decrypters_are_send() {
    fn send<T: Send>(_: &T) {}
    let d = tls13_decrypter(suite(0x1301).unwrap(), &[0; 32]).unwrap();
    send(&d);
}
