//! Tests of [`super`], kept apart from the code they test.

use super::*;

#[test]
fn tables_are_sorted_and_agree() {
    assert!(SUITES.windows(2).all(|w| w[0].id < w[1].id));
    assert!(NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    for s in SUITES {
        assert_eq!(suite_name(s.id), s.name, "{:04x}", s.id);
        assert_eq!(suite(s.id), Some(s));
    }
}

#[test]
fn the_brief_s_suites_are_decryptable() {
    for id in [
        0x1301, 0x1302, 0x1303, 0xC02F, 0xC030, 0xC02B, 0xC02C, 0xCCA8, 0xCCA9, 0xCCAA, 0x009C, 0x009D,
        0x009E, 0x009F, 0xC013, 0xC014, 0xC009, 0xC00A, 0xC027, 0xC028, 0xC023, 0xC024, 0x002F, 0x0035,
        0x003C, 0x003D, 0x0033, 0x0039, 0x0067, 0x006B,
    ] {
        assert!(suite(id).is_some(), "{id:04x}");
    }
}

/// The suite's parameters follow from its name: bulk cipher, MAC and PRF
/// hash (RFC 5246 §5: SHA-256 unless the suite says SHA384).
#[test]
fn parameters_follow_the_name() {
    for s in SUITES {
        let n = s.name;
        let bulk = if n.contains("AES_128_GCM") {
            Aes128Gcm
        } else if n.contains("AES_256_GCM") {
            Aes256Gcm
        } else if n.contains("CHACHA20_POLY1305") {
            ChaCha20Poly1305
        } else if n.contains("AES_128_CBC") {
            Aes128Cbc
        } else {
            assert!(n.contains("AES_256_CBC"), "{n}");
            Aes256Cbc
        };
        assert_eq!(s.bulk, bulk, "{n}");
        assert_eq!(s.hash, if n.ends_with("SHA384") { Sha384 } else { Sha256 }, "{n}");
        let mac = match (bulk.is_aead(), n.rsplit('_').next()) {
            (true, _) => Aead,
            (false, Some("SHA")) => HmacSha1,
            (false, Some("SHA256")) => HmacSha256,
            (false, Some("SHA384")) => HmacSha384,
            other => panic!("{n}: {other:?}"),
        };
        assert_eq!(s.mac, mac, "{n}");
        assert_eq!(s.version == Tls13, !n.contains("_WITH_"), "{n}");
    }
    let c = suite(0xCCA8).unwrap();
    assert_eq!(
        (c.fixed_iv_len(), c.bulk.key_len(), c.mac.output_len()),
        (12, 32, 0)
    );
    let g = suite(0xC030).unwrap();
    assert_eq!(
        (g.fixed_iv_len(), g.bulk.key_len(), g.hash.output_len()),
        (4, 32, 48)
    );
    let b = suite(0xC014).unwrap();
    assert_eq!(
        (b.fixed_iv_len(), b.bulk.key_len(), b.mac.output_len()),
        (16, 32, 20)
    );
}

#[test]
fn names() {
    assert_eq!(suite_name(0x1301), "TLS_AES_128_GCM_SHA256");
    assert_eq!(suite_name(0xC02F), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(suite_name(0x000A), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
    assert_eq!(suite_name(0x00FF), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
    assert_eq!(suite_name(0x5600), "TLS_FALLBACK_SCSV");
    assert_eq!(suite_name(0x1304), "TLS_AES_128_CCM_SHA256");
    assert!(suite(0x1304).is_none() && suite(0x000A).is_none());
    for g in [0x0A0A, 0x1A1A, 0x7A7A, 0xFAFA] {
        assert_eq!(suite_name(g), "GREASE");
    }
    assert!(!is_grease(0x0A1A) && !is_grease(0x0B0B));
    assert_eq!(suite_name(0xFFFE), "0xFFFE");
    assert_eq!(suite_name(0x0A1A), "0x0A1A");
}

/// Our names are Wireshark's (which follows the IANA registry).
#[test]
#[ignore = "needs tshark"]
fn names_agree_with_tshark() {
    let out = std::process::Command::new("tshark")
        .args(["-G", "values"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut checked = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() == 4 && f[0] == "V" && f[1] == "tls.handshake.ciphersuite" {
            let id: u16 = f[2].parse().unwrap();
            if let Ok(i) = NAMES.binary_search_by_key(&id, |&(i, _)| i) {
                assert_eq!(NAMES[i].1, f[3], "{id:04x}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, NAMES.len());
}
