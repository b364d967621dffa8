//! Cipher suites: which ones we can decrypt, and the IANA name of every
//! suite a peer is likely to offer.
//!
//! Two tables, both sorted by id and searched by binary search:
//! - [`suite`] knows the suites whose records [`super::cipher`] can
//!   decrypt: the three TLS 1.3 suites, and every TLS 1.2 suite whose record
//!   protection is AES-GCM, ChaCha20-Poly1305 or AES-CBC with HMAC-SHA1/256/384.
//!   The key exchange does not matter to a passive decryptor (the key log
//!   hands us the master secret), so RSA, DHE, ECDHE, static ECDH, PSK and
//!   anonymous variants of the same protection all decrypt the same way.
//! - [`suite_name`] names any suite in the registry subset below, decryptable
//!   or not (3DES, RC4, CCM, ARIA, Camellia, NULL, the SCSVs), so that the
//!   `tls` event can show what a ClientHello offered. GREASE values
//!   (RFC 8701) are named `GREASE`; anything else is shown as `0xXXXX`.
//!
//! The names are the IANA registry's, which OpenSSL (`openssl ciphers
//! -stdname`) and Wireshark also use; a test checks both tables agree, and an
//! ignored test checks the names against `tshark -G values`.

use super::suite_names::NAMES;
use std::borrow::Cow;

/// The protocol version a suite belongs to (TLS 1.3 suites name only the
/// AEAD and the hash; TLS 1.2 suites name the whole record protection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// The bulk cipher protecting records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bulk {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Cbc,
    Aes256Cbc,
}

impl Bulk {
    /// The cipher key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Bulk::Aes128Gcm | Bulk::Aes128Cbc => 16,
            Bulk::Aes256Gcm | Bulk::Aes256Cbc | Bulk::ChaCha20Poly1305 => 32,
        }
    }

    /// Whether this is an AEAD (GCM or ChaCha20-Poly1305) rather than CBC.
    pub fn is_aead(self) -> bool {
        !matches!(self, Bulk::Aes128Cbc | Bulk::Aes256Cbc)
    }
}

/// The hash of the key schedule: the TLS 1.2 PRF's P_hash, or TLS 1.3's HKDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    /// The output length in bytes (also the length of TLS 1.3 secrets).
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// Record integrity: the AEAD's own tag, or an HMAC for CBC suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mac {
    Aead,
    HmacSha1,
    HmacSha256,
    HmacSha384,
}

impl Mac {
    /// The MAC (and MAC key) length in bytes; 0 for AEAD suites.
    pub fn output_len(self) -> usize {
        match self {
            Mac::Aead => 0,
            Mac::HmacSha1 => 20,
            Mac::HmacSha256 => 32,
            Mac::HmacSha384 => 48,
        }
    }
}

/// A cipher suite we can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    /// The IANA name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub name: &'static str,
    pub version: TlsVersion,
    pub bulk: Bulk,
    pub mac: Mac,
    /// The PRF hash (TLS 1.2) or HKDF hash (TLS 1.3).
    pub hash: Hash,
}

impl Suite {
    /// The length of the implicit IV each side derives: TLS 1.3 and
    /// ChaCha20-Poly1305 12 bytes, TLS 1.2 AES-GCM the 4-byte salt, TLS 1.2
    /// CBC a block (16; the key block holds it although records carry
    /// explicit IVs).
    pub fn fixed_iv_len(&self) -> usize {
        match (self.version, self.bulk) {
            (TlsVersion::Tls13, _) | (TlsVersion::Tls12, Bulk::ChaCha20Poly1305) => 12,
            (TlsVersion::Tls12, Bulk::Aes128Gcm | Bulk::Aes256Gcm) => 4,
            (TlsVersion::Tls12, Bulk::Aes128Cbc | Bulk::Aes256Cbc) => 16,
        }
    }
}

const fn s(id: u16, name: &'static str, version: TlsVersion, bulk: Bulk, mac: Mac, hash: Hash) -> Suite {
    Suite {
        id,
        name,
        version,
        bulk,
        mac,
        hash,
    }
}

use Bulk::*;
use Hash::*;
use Mac::*;
use TlsVersion::*;

/// Every suite we can decrypt, sorted by id.
static SUITES: &[Suite] = &[
    s(
        0x002F,
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0032,
        "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0033,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0034,
        "TLS_DH_anon_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0035,
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0038,
        "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0039,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x003A,
        "TLS_DH_anon_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x003C,
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x003D,
        "TLS_RSA_WITH_AES_256_CBC_SHA256",
        Tls12,
        Aes256Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x0040,
        "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x0067,
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x006A,
        "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
        Tls12,
        Aes256Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x006B,
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        Tls12,
        Aes256Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x006C,
        "TLS_DH_anon_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x006D,
        "TLS_DH_anon_WITH_AES_256_CBC_SHA256",
        Tls12,
        Aes256Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x008C,
        "TLS_PSK_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x008D,
        "TLS_PSK_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0090,
        "TLS_DHE_PSK_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0091,
        "TLS_DHE_PSK_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0094,
        "TLS_RSA_PSK_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x0095,
        "TLS_RSA_PSK_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0x009C,
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0x009D,
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0x009E,
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0x009F,
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0x00A2,
        "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0x00A3,
        "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0x00A6,
        "TLS_DH_anon_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0x00A7,
        "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0x00A8,
        "TLS_PSK_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0x00A9,
        "TLS_PSK_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0x00AA,
        "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0x00AB,
        "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0x00AC,
        "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0x00AD,
        "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0x00AE,
        "TLS_PSK_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x00AF,
        "TLS_PSK_WITH_AES_256_CBC_SHA384",
        Tls12,
        Aes256Cbc,
        HmacSha384,
        Sha384,
    ),
    s(
        0x00B2,
        "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x00B3,
        "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384",
        Tls12,
        Aes256Cbc,
        HmacSha384,
        Sha384,
    ),
    s(
        0x00B6,
        "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0x00B7,
        "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384",
        Tls12,
        Aes256Cbc,
        HmacSha384,
        Sha384,
    ),
    s(0x1301, "TLS_AES_128_GCM_SHA256", Tls13, Aes128Gcm, Aead, Sha256),
    s(0x1302, "TLS_AES_256_GCM_SHA384", Tls13, Aes256Gcm, Aead, Sha384),
    s(
        0x1303,
        "TLS_CHACHA20_POLY1305_SHA256",
        Tls13,
        ChaCha20Poly1305,
        Aead,
        Sha256,
    ),
    s(
        0xC004,
        "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC005,
        "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC009,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC00A,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC00E,
        "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC00F,
        "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC013,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC014,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC018,
        "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC019,
        "TLS_ECDH_anon_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC01D,
        "TLS_SRP_SHA_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC01E,
        "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC01F,
        "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC020,
        "TLS_SRP_SHA_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC021,
        "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC022,
        "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC023,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0xC024,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        Tls12,
        Aes256Cbc,
        HmacSha384,
        Sha384,
    ),
    s(
        0xC025,
        "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0xC026,
        "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
        Tls12,
        Aes256Cbc,
        HmacSha384,
        Sha384,
    ),
    s(
        0xC027,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0xC028,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        Tls12,
        Aes256Cbc,
        HmacSha384,
        Sha384,
    ),
    s(
        0xC029,
        "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0xC02A,
        "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
        Tls12,
        Aes256Cbc,
        HmacSha384,
        Sha384,
    ),
    s(
        0xC02B,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0xC02C,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0xC02D,
        "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0xC02E,
        "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0xC02F,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0xC030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0xC031,
        "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256",
        Tls12,
        Aes128Gcm,
        Aead,
        Sha256,
    ),
    s(
        0xC032,
        "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384",
        Tls12,
        Aes256Gcm,
        Aead,
        Sha384,
    ),
    s(
        0xC035,
        "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA",
        Tls12,
        Aes128Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC036,
        "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA",
        Tls12,
        Aes256Cbc,
        HmacSha1,
        Sha256,
    ),
    s(
        0xC037,
        "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256",
        Tls12,
        Aes128Cbc,
        HmacSha256,
        Sha256,
    ),
    s(
        0xC038,
        "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384",
        Tls12,
        Aes256Cbc,
        HmacSha384,
        Sha384,
    ),
    s(
        0xCCA8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Tls12,
        ChaCha20Poly1305,
        Aead,
        Sha256,
    ),
    s(
        0xCCA9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Tls12,
        ChaCha20Poly1305,
        Aead,
        Sha256,
    ),
    s(
        0xCCAA,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Tls12,
        ChaCha20Poly1305,
        Aead,
        Sha256,
    ),
    s(
        0xCCAB,
        "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256",
        Tls12,
        ChaCha20Poly1305,
        Aead,
        Sha256,
    ),
    s(
        0xCCAC,
        "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
        Tls12,
        ChaCha20Poly1305,
        Aead,
        Sha256,
    ),
    s(
        0xCCAD,
        "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
        Tls12,
        ChaCha20Poly1305,
        Aead,
        Sha256,
    ),
    s(
        0xCCAE,
        "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256",
        Tls12,
        ChaCha20Poly1305,
        Aead,
        Sha256,
    ),
];

/// The suite with this id, if we can decrypt it.
pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES
        .binary_search_by_key(&id, |s| s.id)
        .ok()
        .and_then(|i| SUITES.get(i))
}

/// Every suite we can decrypt, sorted by id.
pub fn all_suites() -> &'static [Suite] {
    SUITES
}

/// Whether `id` is a GREASE value (RFC 8701): `0x?A?A` with both bytes equal.
pub fn is_grease(id: u16) -> bool {
    id & 0x0f0f == 0x0a0a && id >> 8 == id & 0xff
}

/// The IANA name of a suite (`TLS_AES_128_GCM_SHA256`), `GREASE` for GREASE
/// values, else the id as `0xXXXX`.
pub fn suite_name(id: u16) -> Cow<'static, str> {
    if is_grease(id) {
        return Cow::Borrowed("GREASE");
    }
    match NAMES.binary_search_by_key(&id, |&(i, _)| i) {
        Ok(i) => NAMES
            .get(i)
            .map_or(Cow::Borrowed("?"), |&(_, n)| Cow::Borrowed(n)),
        Err(_) => Cow::Owned(format!("0x{id:04X}")),
    }
}

#[cfg(test)]
mod tests;
