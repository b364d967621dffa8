//! Key schedules: from the secrets in a key log to record keys.
//!
//! A passive decryptor never sees the (EC)DHE shared secret, so it starts
//! where the key log does:
//! - **TLS 1.3** (RFC 8446 §7): a traffic secret (handshake or application,
//!   per direction) gives the record key and IV with HKDF-Expand-Label
//!   ([`tls13_traffic_keys`]); a KeyUpdate replaces the secret with
//!   HKDF-Expand-Label(secret, "traffic upd") ([`tls13_next_secret`]), which
//!   we derive ourselves rather than wait for `CLIENT_TRAFFIC_SECRET_N` lines.
//! - **TLS 1.2** (RFC 5246 §5, §6.3): the master secret (`CLIENT_RANDOM`)
//!   and both hello randoms give the key block through the PRF
//!   ([`tls12_key_block`]). Extended master secret (RFC 7627) and session
//!   resumption change how the master secret is made, not how it is used,
//!   so they need nothing here.
//!
//! Everything is a pure function over byte slices; lengths are checked up
//! front and reported as [`ScheduleError`], never panicked on. HKDF and
//! HMAC come from RustCrypto (`hkdf`, `hmac`, `sha1`, `sha2`); only the
//! label encodings and key block layout are ours.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::suites::{Hash, Mac as MacAlg, Suite, TlsVersion};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};
use std::fmt;

/// Why keys could not be derived. Every case means the inputs do not fit
/// together (a secret or key of the wrong length, a suite of the other
/// version), never that the wire was odd.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScheduleError {
    /// A secret whose length does not fit: TLS 1.3 secrets are as long as
    /// the suite's hash (32 or 48 bytes), a TLS 1.2 master secret is 48.
    SecretLength { expected: usize, got: usize },
    /// Key material (from [`DirKeys`]) of the wrong length for the suite.
    KeyLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// A TLS 1.2 suite where a TLS 1.3 one is needed, or the reverse.
    WrongVersion,
    /// An HKDF label (with "tls13 ") or context longer than 255 bytes.
    LabelTooLong,
    /// More output than HKDF (255 × hash length) or the label's `u16`
    /// length can give.
    OutputTooLong,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleError::SecretLength { expected, got } => {
                write!(f, "secret of {got} bytes where {expected} are needed")
            }
            ScheduleError::KeyLength { what, expected, got } => {
                write!(f, "{what} of {got} bytes where {expected} are needed")
            }
            ScheduleError::WrongVersion => f.write_str("cipher suite of the other TLS version"),
            ScheduleError::LabelTooLong => f.write_str("HKDF label or context longer than 255 bytes"),
            ScheduleError::OutputTooLong => f.write_str("HKDF output too long"),
        }
    }
}

impl std::error::Error for ScheduleError {}

// ------------------------------------------------------------------ HMAC

/// The hash under an HMAC: the PRF's, or a CBC suite's record MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HmacHash {
    Sha1,
    Sha256,
    Sha384,
}

impl From<Hash> for HmacHash {
    fn from(h: Hash) -> Self {
        match h {
            Hash::Sha256 => HmacHash::Sha256,
            Hash::Sha384 => HmacHash::Sha384,
        }
    }
}

impl HmacHash {
    /// The MAC hash of a CBC suite; `None` for AEAD suites.
    pub(crate) fn of_mac(m: MacAlg) -> Option<HmacHash> {
        match m {
            MacAlg::Aead => None,
            MacAlg::HmacSha1 => Some(HmacHash::Sha1),
            MacAlg::HmacSha256 => Some(HmacHash::Sha256),
            MacAlg::HmacSha384 => Some(HmacHash::Sha384),
        }
    }
}

/// A keyed HMAC over one of our hashes. Key it once and clone it per
/// message: the clone starts from the keyed state.
#[derive(Clone)]
pub(crate) enum AnyHmac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
}

/// HMAC takes keys of any length (RFC 2104 hashes long ones), so keying
/// cannot fail; the `Result` is the generic `KeyInit` signature.
fn keyed<M, E>(r: Result<M, E>) -> M {
    match r {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

impl AnyHmac {
    pub(crate) fn new(hash: HmacHash, key: &[u8]) -> AnyHmac {
        match hash {
            HmacHash::Sha1 => AnyHmac::Sha1(keyed(Hmac::<Sha1>::new_from_slice(key))),
            HmacHash::Sha256 => AnyHmac::Sha256(keyed(Hmac::<Sha256>::new_from_slice(key))),
            HmacHash::Sha384 => AnyHmac::Sha384(keyed(Hmac::<Sha384>::new_from_slice(key))),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            AnyHmac::Sha1(m) => m.update(data),
            AnyHmac::Sha256(m) => m.update(data),
            AnyHmac::Sha384(m) => m.update(data),
        }
    }

    pub(crate) fn finalize(self) -> Vec<u8> {
        match self {
            AnyHmac::Sha1(m) => m.finalize().into_bytes().to_vec(),
            AnyHmac::Sha256(m) => m.finalize().into_bytes().to_vec(),
            AnyHmac::Sha384(m) => m.finalize().into_bytes().to_vec(),
        }
    }

    /// Whether the MAC equals `tag` (which must be the full MAC length).
    pub(crate) fn verify(self, tag: &[u8]) -> bool {
        match self {
            AnyHmac::Sha1(m) => m.verify_slice(tag).is_ok(),
            AnyHmac::Sha256(m) => m.verify_slice(tag).is_ok(),
            AnyHmac::Sha384(m) => m.verify_slice(tag).is_ok(),
        }
    }
}

// --------------------------------------------------------------- TLS 1.3

/// A record key and IV (TLS 1.3: the IV is 12 bytes, XORed with the
/// sequence number for each record's nonce).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficKeys {
    pub key: Vec<u8>,
    pub iv: Vec<u8>,
}

/// HKDF-Expand-Label (RFC 8446 §7.1): `label` without the `"tls13 "`
/// prefix, which is added here.
pub fn hkdf_expand_label(
    hash: Hash,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Vec<u8>, ScheduleError> {
    const PREFIX: &[u8] = b"tls13 ";
    let out_len = u16::try_from(len).map_err(|_| ScheduleError::OutputTooLong)?;
    let label_len = PREFIX
        .len()
        .checked_add(label.len())
        .and_then(|n| u8::try_from(n).ok())
        .ok_or(ScheduleError::LabelTooLong)?;
    let context_len = u8::try_from(context.len()).map_err(|_| ScheduleError::LabelTooLong)?;
    // struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel;
    let mut info = Vec::with_capacity(
        4usize
            .saturating_add(usize::from(label_len))
            .saturating_add(context.len()),
    );
    info.extend_from_slice(&out_len.to_be_bytes());
    info.push(label_len);
    info.extend_from_slice(PREFIX);
    info.extend_from_slice(label);
    info.push(context_len);
    info.extend_from_slice(context);
    let mut out = vec![0u8; len];
    let too_short = |_| ScheduleError::SecretLength {
        expected: hash.output_len(),
        got: secret.len(),
    };
    match hash {
        Hash::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .map_err(too_short)?
            .expand(&info, &mut out),
        Hash::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .map_err(too_short)?
            .expand(&info, &mut out),
    }
    .map_err(|_| ScheduleError::OutputTooLong)?;
    Ok(out)
}

/// Checks that `suite` is TLS 1.3 and `secret` is as long as its hash.
fn check_tls13(suite: &Suite, secret: &[u8]) -> Result<(), ScheduleError> {
    if suite.version != TlsVersion::Tls13 {
        return Err(ScheduleError::WrongVersion);
    }
    if secret.len() != suite.hash.output_len() {
        return Err(ScheduleError::SecretLength {
            expected: suite.hash.output_len(),
            got: secret.len(),
        });
    }
    Ok(())
}

/// The record key and IV of a TLS 1.3 traffic secret (RFC 8446 §7.3).
pub fn tls13_traffic_keys(suite: &Suite, secret: &[u8]) -> Result<TrafficKeys, ScheduleError> {
    check_tls13(suite, secret)?;
    Ok(TrafficKeys {
        key: hkdf_expand_label(suite.hash, secret, b"key", &[], suite.bulk.key_len())?,
        iv: hkdf_expand_label(suite.hash, secret, b"iv", &[], 12)?,
    })
}

/// The traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn tls13_next_secret(suite: &Suite, secret: &[u8]) -> Result<Vec<u8>, ScheduleError> {
    check_tls13(suite, secret)?;
    hkdf_expand_label(suite.hash, secret, b"traffic upd", &[], suite.hash.output_len())
}

// --------------------------------------------------------------- TLS 1.2

/// The TLS 1.2 PRF (RFC 5246 §5): `P_hash(secret, label + seed)`, `len`
/// bytes.
pub fn tls12_prf(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let keyed = AnyHmac::new(hash.into(), secret);
    let mut out = Vec::with_capacity(len.saturating_add(hash.output_len()));
    // A(1) = HMAC(secret, label + seed); A(i) = HMAC(secret, A(i-1)).
    let mut a = {
        let mut m = keyed.clone();
        m.update(label);
        m.update(seed);
        m.finalize()
    };
    while out.len() < len {
        let mut m = keyed.clone();
        m.update(&a);
        m.update(label);
        m.update(seed);
        out.extend_from_slice(&m.finalize());
        let mut m = keyed.clone();
        m.update(&a);
        a = m.finalize();
    }
    out.truncate(len);
    out
}

/// One direction's TLS 1.2 record keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirKeys {
    /// The HMAC key; empty for AEAD suites.
    pub mac_key: Vec<u8>,
    pub key: Vec<u8>,
    /// AES-GCM: the 4-byte salt; ChaCha20-Poly1305: the 12-byte IV; CBC: the
    /// key block's 16 bytes, unused (records carry explicit IVs).
    pub iv: Vec<u8>,
}

/// Both directions' TLS 1.2 record keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls12Keys {
    pub client: DirKeys,
    pub server: DirKeys,
}

/// The TLS 1.2 key block (RFC 5246 §6.3): `PRF(master_secret, "key
/// expansion", server_random + client_random)`, cut into client MAC key,
/// server MAC key, client key, server key, client IV, server IV.
pub fn tls12_key_block(
    suite: &Suite,
    master_secret: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<Tls12Keys, ScheduleError> {
    if suite.version != TlsVersion::Tls12 {
        return Err(ScheduleError::WrongVersion);
    }
    if master_secret.len() != 48 {
        return Err(ScheduleError::SecretLength {
            expected: 48,
            got: master_secret.len(),
        });
    }
    let (mac, key, iv) = (suite.mac.output_len(), suite.bulk.key_len(), suite.fixed_iv_len());
    // Three lengths of at most 48 bytes each: no overflow.
    let total = mac.saturating_add(key).saturating_add(iv).saturating_mul(2);
    let mut seed = [0u8; 64];
    let (s, c) = seed.split_at_mut(32);
    s.copy_from_slice(server_random);
    c.copy_from_slice(client_random);
    let block = tls12_prf(suite.hash, master_secret, b"key expansion", &seed, total);
    let mut rest: &[u8] = &block;
    let mut take = |n: usize| -> Vec<u8> {
        let (head, tail) = rest.split_at_checked(n).unwrap_or((rest, &[]));
        rest = tail;
        head.to_vec()
    };
    let (client_mac, server_mac) = (take(mac), take(mac));
    let (client_key, server_key) = (take(key), take(key));
    let (client_iv, server_iv) = (take(iv), take(iv));
    Ok(Tls12Keys {
        client: DirKeys {
            mac_key: client_mac,
            key: client_key,
            iv: client_iv,
        },
        server: DirKeys {
            mac_key: server_mac,
            key: server_key,
            iv: server_iv,
        },
    })
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use crate::tls::suites::suite;

    pub(crate) fn h(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    // RFC 8448 §3 (Simple 1-RTT Handshake), TLS_AES_128_GCM_SHA256.
    const S_HS: &str =
        "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38";
    const C_HS: &str =
        "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21";
    const S_AP: &str =
        "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";
    const C_AP: &str =
        "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5";

    #[test]
    fn rfc8448_traffic_keys() {
        let suite = suite(0x1301).unwrap();
        for (secret, key, iv) in [
            (
                S_HS,
                "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc",
                "5d 31 3e b2 67 12 76 ee 13 00 0b 30",
            ),
            (
                C_HS,
                "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01",
                "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f",
            ),
            (
                S_AP,
                "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56",
                "cf 78 2b 88 dd 83 54 9a ad f1 e9 84",
            ),
            (
                C_AP,
                "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51",
                "5b 78 92 3d ee 08 57 90 33 e5 23 d9",
            ),
        ] {
            let k = tls13_traffic_keys(suite, &h(secret)).unwrap();
            assert_eq!(
                k,
                TrafficKeys {
                    key: h(key),
                    iv: h(iv)
                }
            );
        }
    }

    /// The RFC's intermediate steps: "tls13 c hs traffic" from the handshake
    /// secret and transcript hash, and "tls13 finished" from the server
    /// handshake secret (the label encodings and the HKDF plumbing).
    #[test]
    fn rfc8448_derive_secret_and_finished_key() {
        let hs = h(
            "1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f be ac",
        );
        let hello_hash = h(
            "86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8",
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &hs, b"c hs traffic", &hello_hash, 32).unwrap(),
            h(C_HS)
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &hs, b"s hs traffic", &hello_hash, 32).unwrap(),
            h(S_HS)
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &h(S_HS), b"finished", &[], 32).unwrap(),
            h(
                "00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 bf 49 2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8"
            )
        );
    }

    #[test]
    fn key_update_and_sha384() {
        let aes128 = suite(0x1301).unwrap();
        let next = tls13_next_secret(aes128, &h(C_AP)).unwrap();
        assert_eq!(
            next,
            hkdf_expand_label(Hash::Sha256, &h(C_AP), b"traffic upd", &[], 32).unwrap()
        );
        assert_ne!(next, h(C_AP));
        let aes256 = suite(0x1302).unwrap();
        let secret = [7u8; 48];
        let k = tls13_traffic_keys(aes256, &secret).unwrap();
        assert_eq!((k.key.len(), k.iv.len()), (32, 12));
        assert_eq!(tls13_next_secret(aes256, &secret).unwrap().len(), 48);
        let chacha = suite(0x1303).unwrap();
        assert_eq!(tls13_traffic_keys(chacha, &[1; 32]).unwrap().key.len(), 32);
    }

    #[test]
    fn length_and_version_errors() {
        let aes128 = suite(0x1301).unwrap();
        assert_eq!(
            tls13_traffic_keys(aes128, &[0; 48]),
            Err(ScheduleError::SecretLength {
                expected: 32,
                got: 48
            })
        );
        assert_eq!(
            tls13_traffic_keys(suite(0x1302).unwrap(), &[0; 32]),
            Err(ScheduleError::SecretLength {
                expected: 48,
                got: 32
            })
        );
        assert_eq!(
            tls13_traffic_keys(suite(0xC02F).unwrap(), &[0; 32]),
            Err(ScheduleError::WrongVersion)
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &[0; 16], b"key", &[], 16),
            Err(ScheduleError::SecretLength {
                expected: 32,
                got: 16
            })
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &[0; 32], &[b'x'; 250], &[], 16),
            Err(ScheduleError::LabelTooLong)
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &[0; 32], b"key", &[0; 256], 16),
            Err(ScheduleError::LabelTooLong)
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &[0; 32], b"key", &[], 255 * 32 + 1),
            Err(ScheduleError::OutputTooLong)
        );
        assert_eq!(
            tls12_key_block(suite(0xC02F).unwrap(), &[0; 32], &[0; 32], &[0; 32]),
            Err(ScheduleError::SecretLength {
                expected: 48,
                got: 32
            })
        );
        assert_eq!(
            tls12_key_block(aes128, &[0; 48], &[0; 32], &[0; 32]),
            Err(ScheduleError::WrongVersion)
        );
    }

    /// The P_SHA256 and P_SHA384 vectors posted to the IETF TLS list
    /// (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html),
    /// used by GnuTLS, OpenJDK and others.
    #[test]
    fn prf_known_answers() {
        let out = tls12_prf(
            Hash::Sha256,
            &h("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &h("a0ba9f936cda311827a6f796ffd5198c"),
            100,
        );
        assert_eq!(
            out,
            h("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a
               6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab
               4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701
               87347b66")
        );
        let out = tls12_prf(
            Hash::Sha384,
            &h("b80b733d6ceefcdc71566ea48e5567df"),
            b"test label",
            &h("cd665cf6a8447dd6ff8b27555edb7465"),
            148,
        );
        assert_eq!(
            out,
            h("7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd
               e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd
               8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425
               9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6
               91c8f3a26854308d5eaa3be85e0990703d73e56f")
        );
        // A shorter output is a prefix of a longer one.
        let short = tls12_prf(Hash::Sha256, b"k", b"l", b"s", 13);
        assert_eq!(short[..], tls12_prf(Hash::Sha256, b"k", b"l", b"s", 70)[..13]);
        assert!(tls12_prf(Hash::Sha256, b"k", b"l", b"s", 0).is_empty());
    }

    /// Key block layout, checked against the PRF output cut by hand.
    #[test]
    fn key_block_layout() {
        let ms = [0x42u8; 48];
        let (cr, sr) = ([1u8; 32], [2u8; 32]);
        let mut seed = sr.to_vec();
        seed.extend_from_slice(&cr);
        for (id, mac, key, iv) in [
            (0xC02F, 0, 16, 4),
            (0xC030, 0, 32, 4),
            (0xCCA8, 0, 32, 12),
            (0xC013, 20, 16, 16),
            (0xC028, 48, 32, 16),
            (0x003C, 32, 16, 16),
        ] {
            let s = suite(id).unwrap();
            let k = tls12_key_block(s, &ms, &cr, &sr).unwrap();
            let block = tls12_prf(s.hash, &ms, b"key expansion", &seed, 2 * (mac + key + iv));
            let mut at = 0;
            let mut next = |n: usize| {
                at += n;
                block[at - n..at].to_vec()
            };
            assert_eq!(k.client.mac_key, next(mac), "{id:04x}");
            assert_eq!(k.server.mac_key, next(mac));
            assert_eq!(k.client.key, next(key));
            assert_eq!(k.server.key, next(key));
            assert_eq!(k.client.iv, next(iv));
            assert_eq!(k.server.iv, next(iv));
        }
    }
}
