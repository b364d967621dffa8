//! Record protection: one decrypter per direction and key epoch.
//!
//! A [`RecordDecrypter`] turns one protected record (header + body, as on
//! the wire) and its sequence number into plaintext. It holds the expanded
//! keys and nothing else: the caller owns the sequence number, so it can
//! retry a record at other numbers (after a gap, or for trial decryption)
//! without disturbing anything. The constructions, all authenticated before
//! anything is returned:
//!
//! | | nonce | additional data | plaintext |
//! |---|---|---|---|
//! | TLS 1.3 (RFC 8446 §5.2–5.3) | IV ⊕ seq | the 5-byte header | content ‖ type ‖ zeros |
//! | TLS 1.2 AES-GCM (RFC 5288) | salt ‖ first 8 body bytes | seq ‖ type ‖ version ‖ length | content |
//! | TLS 1.2 ChaCha20-Poly1305 (RFC 7905) | IV ⊕ seq — no explicit nonce | seq ‖ type ‖ version ‖ length | content |
//! | TLS 1.2 AES-CBC (RFC 5246 §6.2.3.2) | explicit IV: first body block | HMAC over seq ‖ type ‖ version ‖ length ‖ content | content ‖ MAC ‖ padding |
//! | …with encrypt-then-MAC (RFC 7366) | explicit IV | HMAC over seq ‖ type ‖ version ‖ length ‖ IV ‖ ciphertext, checked first | content ‖ padding |
//!
//! (seq is 8 bytes big-endian, left-padded with zeros to 12 for the XOR.)
//! We are passive, so CBC padding is checked byte by byte without caring
//! about timing. With a wrong key, MAC-then-encrypt CBC usually fails at
//! the padding, before the MAC: [`DecryptError::is_auth_failure`] treats
//! both the same.
//!
//! The [`RecordEncrypter`]s are the inverse, for tests and benchmarks:
//! they make records that real peers would accept, except that CBC IVs are
//! derived from the sequence number instead of drawn at random.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::schedule::{AnyHmac, DirKeys, HmacHash, ScheduleError, tls13_traffic_keys};
use super::suites::{Bulk, Suite, TlsVersion};
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use std::fmt;

/// AEAD tag length (all our AEADs).
const TAG: usize = 16;
/// AES block length (CBC IVs and padding).
const BLOCK: usize = 16;
/// TLS 1.2 AES-GCM explicit nonce length.
const EXPLICIT: usize = 8;

/// A decrypted record: its (inner, for TLS 1.3) content type and content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plain {
    pub content_type: u8,
    pub data: Vec<u8>,
}

/// Why a record did not decrypt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecryptError {
    /// Authentication failed: wrong key, wrong sequence number, or damage.
    BadRecordMac,
    /// Shorter than the protection's overhead (tag, explicit nonce or IV,
    /// at least one block).
    TooShort,
    /// CBC padding bytes are not all equal to the padding length, or the
    /// padding is longer than the record. Usually a wrong key.
    BadPadding,
    /// TLS 1.3: the inner plaintext is all zeros (no content type).
    NoContentType,
    /// A protection this decrypter cannot apply.
    Unsupported,
    /// A length the protection cannot produce: CBC ciphertext that is not a
    /// whole number of blocks, or a body longer than a record's `u16` length.
    BadLength,
}

impl DecryptError {
    /// Whether this is what a wrong key (or sequence number) looks like:
    /// a failed tag or MAC, or — for MAC-then-encrypt CBC, where a wrong
    /// key scrambles the padding before the MAC is reached — bad padding.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, DecryptError::BadRecordMac | DecryptError::BadPadding)
    }
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecryptError::BadRecordMac => "record authentication failed",
            DecryptError::TooShort => "record too short for its protection",
            DecryptError::BadPadding => "bad CBC padding",
            DecryptError::NoContentType => "TLS 1.3 inner plaintext without a content type",
            DecryptError::Unsupported => "unsupported record protection",
            DecryptError::BadLength => "record length impossible for its protection",
        })
    }
}

impl std::error::Error for DecryptError {}

/// Decrypts one direction's records under one key epoch.
pub trait RecordDecrypter: Send + fmt::Debug {
    /// `header`: the 5-byte record header as on the wire; `body`: the
    /// record's payload; `seq`: this direction's record sequence number in
    /// the current epoch (0 for the first record under these keys).
    fn decrypt(&self, seq: u64, header: &[u8; 5], body: &[u8]) -> Result<Plain, DecryptError>;
}

/// Makes records, for tests and benchmarks. `plain` must fit a record
/// (2^14 bytes); beyond that the header's length field is wrong.
pub trait RecordEncrypter: Send {
    /// The whole record, header included, as sequence number `seq`.
    fn encrypt(&self, seq: u64, content_type: u8, plain: &[u8]) -> Vec<u8>;
}

// ----------------------------------------------------------------- pieces

/// One of our AEADs, keyed.
enum Aead {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Aead {
    fn new(bulk: Bulk, key: &[u8]) -> Result<Aead, ScheduleError> {
        let wrong = |_| ScheduleError::KeyLength {
            what: "key",
            expected: bulk.key_len(),
            got: key.len(),
        };
        Ok(match bulk {
            Bulk::Aes128Gcm => Aead::Aes128(Box::new(Aes128Gcm::new_from_slice(key).map_err(wrong)?)),
            Bulk::Aes256Gcm => Aead::Aes256(Box::new(Aes256Gcm::new_from_slice(key).map_err(wrong)?)),
            Bulk::ChaCha20Poly1305 => {
                Aead::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).map_err(wrong)?))
            }
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => {
                return Err(ScheduleError::KeyLength {
                    what: "AEAD key (this is a CBC suite)",
                    expected: 0,
                    got: key.len(),
                });
            }
        })
    }

    /// Checks `tag`, then decrypts `buf` in place.
    fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG],
    ) -> Result<(), DecryptError> {
        let nonce = GenericArray::from_slice(nonce);
        let tag = GenericArray::from_slice(tag);
        match self {
            Aead::Aes128(c) => c.decrypt_in_place_detached(nonce, aad, buf, tag),
            Aead::Aes256(c) => c.decrypt_in_place_detached(nonce, aad, buf, tag),
            Aead::ChaCha(c) => c.decrypt_in_place_detached(nonce, aad, buf, tag),
        }
        .map_err(|_| DecryptError::BadRecordMac)
    }

    /// Encrypts `buf` in place and returns the tag.
    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; TAG] {
        let nonce = GenericArray::from_slice(nonce);
        let tag = match self {
            Aead::Aes128(c) => c.encrypt_in_place_detached(nonce, aad, buf),
            Aead::Aes256(c) => c.encrypt_in_place_detached(nonce, aad, buf),
            Aead::ChaCha(c) => c.encrypt_in_place_detached(nonce, aad, buf),
        };
        // Sealing fails only past 2^36 bytes; a zero tag would make the
        // record fail to decrypt, which the caller's test would notice.
        tag.map(Into::into).unwrap_or([0; TAG])
    }
}

/// An AES block cipher for CBC, keyed once and cloned per record.
#[derive(Clone)]
enum Aes {
    A128(Box<aes::Aes128>),
    A256(Box<aes::Aes256>),
}

impl Aes {
    fn new(bulk: Bulk, key: &[u8]) -> Result<Aes, ScheduleError> {
        let wrong = |_| ScheduleError::KeyLength {
            what: "key",
            expected: bulk.key_len(),
            got: key.len(),
        };
        Ok(match bulk {
            Bulk::Aes128Cbc => Aes::A128(Box::new(aes::Aes128::new_from_slice(key).map_err(wrong)?)),
            Bulk::Aes256Cbc => Aes::A256(Box::new(aes::Aes256::new_from_slice(key).map_err(wrong)?)),
            _ => {
                return Err(ScheduleError::KeyLength {
                    what: "CBC key (this is an AEAD suite)",
                    expected: 0,
                    got: key.len(),
                });
            }
        })
    }

    /// Decrypts whole blocks in place (`buf.len()` a multiple of 16).
    fn cbc_decrypt(&self, iv: &[u8; BLOCK], buf: &mut [u8]) -> Result<(), DecryptError> {
        let iv = GenericArray::from_slice(iv);
        let r = match self {
            Aes::A128(c) => {
                cbc::Decryptor::inner_iv_init((**c).clone(), iv).decrypt_padded_mut::<NoPadding>(buf)
            }
            Aes::A256(c) => {
                cbc::Decryptor::inner_iv_init((**c).clone(), iv).decrypt_padded_mut::<NoPadding>(buf)
            }
        };
        r.map(|_| ()).map_err(|_| DecryptError::BadLength)
    }

    /// Encrypts whole blocks in place (`buf.len()` a multiple of 16).
    fn cbc_encrypt(&self, iv: &[u8; BLOCK], buf: &mut [u8]) {
        let iv = GenericArray::from_slice(iv);
        let len = buf.len();
        // Only fails when `len` is not a whole number of blocks, which the
        // callers' padding rules out.
        let _ = match self {
            Aes::A128(c) => {
                cbc::Encryptor::inner_iv_init((**c).clone(), iv).encrypt_padded_mut::<NoPadding>(buf, len)
            }
            Aes::A256(c) => {
                cbc::Encryptor::inner_iv_init((**c).clone(), iv).encrypt_padded_mut::<NoPadding>(buf, len)
            }
        };
    }
}

/// `iv` XOR the sequence number, left-padded to 12 bytes.
fn xor_nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (b, s) in n.iter_mut().skip(4).zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    n
}

/// TLS 1.2 additional data / MAC header: seq ‖ type ‖ version ‖ length.
fn pseudo_header(seq: u64, header: &[u8; 5], len: usize) -> Result<[u8; 13], DecryptError> {
    let [s0, s1, s2, s3, s4, s5, s6, s7] = seq.to_be_bytes();
    let [t, v0, v1, _, _] = *header;
    let [l0, l1] = u16::try_from(len)
        .map_err(|_| DecryptError::BadLength)?
        .to_be_bytes();
    Ok([s0, s1, s2, s3, s4, s5, s6, s7, t, v0, v1, l0, l1])
}

/// A record header for `len` body bytes (TLS 1.2 version on the wire).
fn record_header(content_type: u8, len: usize) -> [u8; 5] {
    let [l0, l1] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    [content_type, 3, 3, l0, l1]
}

/// Splits off the last `n` bytes.
fn split_tail(body: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    body.split_at_checked(body.len().checked_sub(n)?)
}

fn array<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.try_into().ok()
}

fn iv_of<const N: usize>(iv: &[u8]) -> Result<[u8; N], ScheduleError> {
    array(iv).ok_or(ScheduleError::KeyLength {
        what: "IV",
        expected: N,
        got: iv.len(),
    })
}

// --------------------------------------------------------------- TLS 1.3

struct Tls13 {
    suite: &'static str,
    aead: Aead,
    iv: [u8; 12],
}

impl fmt::Debug for Tls13 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls13Decrypter")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

fn tls13(suite: &Suite, traffic_secret: &[u8]) -> Result<Tls13, ScheduleError> {
    let keys = tls13_traffic_keys(suite, traffic_secret)?;
    Ok(Tls13 {
        suite: suite.name,
        aead: Aead::new(suite.bulk, &keys.key)?,
        iv: iv_of(&keys.iv)?,
    })
}

/// The decrypter for one direction's TLS 1.3 records under `traffic_secret`
/// (a handshake or application traffic secret).
pub fn tls13_decrypter(
    suite: &Suite,
    traffic_secret: &[u8],
) -> Result<Box<dyn RecordDecrypter>, ScheduleError> {
    Ok(Box::new(tls13(suite, traffic_secret)?))
}

/// The encrypter matching [`tls13_decrypter`] (tests and benchmarks).
pub fn tls13_encrypter(
    suite: &Suite,
    traffic_secret: &[u8],
) -> Result<Box<dyn RecordEncrypter>, ScheduleError> {
    Ok(Box::new(tls13(suite, traffic_secret)?))
}

impl RecordDecrypter for Tls13 {
    fn decrypt(&self, seq: u64, header: &[u8; 5], body: &[u8]) -> Result<Plain, DecryptError> {
        let (ct, tag) = split_tail(body, TAG).ok_or(DecryptError::TooShort)?;
        let tag = array(tag).ok_or(DecryptError::TooShort)?;
        let mut data = ct.to_vec();
        self.aead
            .open(&xor_nonce(&self.iv, seq), header, &mut data, &tag)?;
        // TLSInnerPlaintext: content ‖ type ‖ zeros; the type is the last non-zero byte.
        let end = data
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(DecryptError::NoContentType)?;
        let content_type = data.get(end).copied().ok_or(DecryptError::NoContentType)?;
        data.truncate(end);
        Ok(Plain { content_type, data })
    }
}

impl RecordEncrypter for Tls13 {
    fn encrypt(&self, seq: u64, content_type: u8, plain: &[u8]) -> Vec<u8> {
        let inner_len = plain.len().saturating_add(1);
        let header = record_header(23, inner_len.saturating_add(TAG));
        let mut rec = Vec::with_capacity(inner_len.saturating_add(TAG + 5));
        rec.extend_from_slice(&header);
        rec.extend_from_slice(plain);
        rec.push(content_type);
        let tag = self.aead.seal(
            &xor_nonce(&self.iv, seq),
            &header,
            rec.get_mut(5..).unwrap_or_default(),
        );
        rec.extend_from_slice(&tag);
        rec
    }
}

// ------------------------------------------------------- TLS 1.2 AEAD

enum Nonce12 {
    /// AES-GCM: 4-byte salt from the key block ‖ 8-byte explicit nonce.
    Explicit([u8; 4]),
    /// ChaCha20-Poly1305: 12-byte IV XOR the sequence number.
    Implicit([u8; 12]),
}

struct Tls12Aead {
    suite: &'static str,
    aead: Aead,
    nonce: Nonce12,
}

impl fmt::Debug for Tls12Aead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls12AeadDecrypter")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl RecordDecrypter for Tls12Aead {
    fn decrypt(&self, seq: u64, header: &[u8; 5], body: &[u8]) -> Result<Plain, DecryptError> {
        let (nonce, body) = match &self.nonce {
            Nonce12::Explicit(salt) => {
                let (explicit, rest) = body.split_at_checked(EXPLICIT).ok_or(DecryptError::TooShort)?;
                let mut n = [0u8; 12];
                let (a, b) = n.split_at_mut(4);
                a.copy_from_slice(salt);
                b.copy_from_slice(explicit);
                (n, rest)
            }
            Nonce12::Implicit(iv) => (xor_nonce(iv, seq), body),
        };
        let (ct, tag) = split_tail(body, TAG).ok_or(DecryptError::TooShort)?;
        let tag = array(tag).ok_or(DecryptError::TooShort)?;
        let aad = pseudo_header(seq, header, ct.len())?;
        let mut data = ct.to_vec();
        self.aead.open(&nonce, &aad, &mut data, &tag)?;
        let [content_type, ..] = *header;
        Ok(Plain { content_type, data })
    }
}

impl RecordEncrypter for Tls12Aead {
    fn encrypt(&self, seq: u64, content_type: u8, plain: &[u8]) -> Vec<u8> {
        let explicit = match self.nonce {
            Nonce12::Explicit(_) => EXPLICIT,
            Nonce12::Implicit(_) => 0,
        };
        let header = record_header(
            content_type,
            plain.len().saturating_add(explicit.saturating_add(TAG)),
        );
        let nonce = match &self.nonce {
            Nonce12::Explicit(salt) => {
                let mut n = [0u8; 12];
                let (a, b) = n.split_at_mut(4);
                a.copy_from_slice(salt);
                b.copy_from_slice(&seq.to_be_bytes()); // the usual choice of explicit nonce
                n
            }
            Nonce12::Implicit(iv) => xor_nonce(iv, seq),
        };
        let aad = pseudo_header(seq, &header, plain.len()).unwrap_or([0; 13]);
        let mut rec = Vec::with_capacity(plain.len().saturating_add(5 + EXPLICIT + TAG));
        rec.extend_from_slice(&header);
        rec.extend_from_slice(nonce.get(4..4usize.saturating_add(explicit)).unwrap_or_default());
        let start = rec.len();
        rec.extend_from_slice(plain);
        let tag = self
            .aead
            .seal(&nonce, &aad, rec.get_mut(start..).unwrap_or_default());
        rec.extend_from_slice(&tag);
        rec
    }
}

// ------------------------------------------------------- TLS 1.2 CBC

struct Tls12Cbc {
    suite: &'static str,
    aes: Aes,
    /// Keyed with the MAC key; cloned per record.
    mac: AnyHmac,
    mac_len: usize,
    encrypt_then_mac: bool,
}

impl fmt::Debug for Tls12Cbc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls12CbcDecrypter")
            .field("suite", &self.suite)
            .field("encrypt_then_mac", &self.encrypt_then_mac)
            .finish_non_exhaustive()
    }
}

impl Tls12Cbc {
    /// HMAC(mac_key, seq ‖ type ‖ version ‖ len(data) ‖ data).
    fn mac_of(&self, seq: u64, header: &[u8; 5], data: &[u8]) -> Result<AnyHmac, DecryptError> {
        let mut m = self.mac.clone();
        m.update(&pseudo_header(seq, header, data.len())?);
        m.update(data);
        Ok(m)
    }

    /// Strips and checks CBC padding: the last byte is the padding length
    /// `p`, and the `p` bytes before it all equal `p`. Returns the length
    /// without padding.
    fn unpad(data: &[u8], reserve: usize) -> Result<usize, DecryptError> {
        let (&p, rest) = data.split_last().ok_or(DecryptError::BadPadding)?;
        let unpadded = rest
            .len()
            .checked_sub(usize::from(p))
            .ok_or(DecryptError::BadPadding)?;
        if unpadded < reserve {
            return Err(DecryptError::BadPadding);
        }
        let padding = rest.get(unpadded..).ok_or(DecryptError::BadPadding)?;
        if padding.iter().any(|&b| b != p) {
            return Err(DecryptError::BadPadding);
        }
        Ok(unpadded)
    }

    /// Content ‖ padding up to a whole number of blocks.
    fn pad(buf: &mut Vec<u8>) {
        let p = BLOCK.saturating_sub(1).saturating_sub(buf.len() % BLOCK);
        let b = u8::try_from(p).unwrap_or(0);
        buf.resize(buf.len().saturating_add(p).saturating_add(1), b);
    }

    /// A deterministic per-record IV (test support only: real peers draw
    /// it at random).
    fn test_iv(seq: u64) -> [u8; BLOCK] {
        let mut iv = [0u8; BLOCK];
        let (a, b) = iv.split_at_mut(8);
        a.copy_from_slice(&seq.to_be_bytes());
        b.copy_from_slice(&(!seq).to_be_bytes());
        iv
    }
}

impl RecordDecrypter for Tls12Cbc {
    fn decrypt(&self, seq: u64, header: &[u8; 5], body: &[u8]) -> Result<Plain, DecryptError> {
        let [content_type, ..] = *header;
        if self.encrypt_then_mac {
            // IV ‖ ciphertext ‖ MAC, the MAC over IV ‖ ciphertext, checked first.
            let (sealed, mac) = split_tail(body, self.mac_len).ok_or(DecryptError::TooShort)?;
            let (iv, ct) = sealed.split_at_checked(BLOCK).ok_or(DecryptError::TooShort)?;
            if ct.len() < BLOCK {
                return Err(DecryptError::TooShort);
            }
            if ct.len() % BLOCK != 0 {
                return Err(DecryptError::BadLength);
            }
            if !self.mac_of(seq, header, sealed)?.verify(mac) {
                return Err(DecryptError::BadRecordMac);
            }
            let iv = array(iv).ok_or(DecryptError::TooShort)?;
            let mut data = ct.to_vec();
            self.aes.cbc_decrypt(&iv, &mut data)?;
            let len = Self::unpad(&data, 0)?;
            data.truncate(len);
            Ok(Plain { content_type, data })
        } else {
            // IV ‖ E(content ‖ MAC ‖ padding), the MAC over the content.
            let (iv, ct) = body.split_at_checked(BLOCK).ok_or(DecryptError::TooShort)?;
            // At least the MAC and the padding length byte, in whole blocks.
            let min = self.mac_len.saturating_add(1).next_multiple_of(BLOCK);
            if ct.len() < min {
                return Err(DecryptError::TooShort);
            }
            if ct.len() % BLOCK != 0 {
                return Err(DecryptError::BadLength);
            }
            let iv = array(iv).ok_or(DecryptError::TooShort)?;
            let mut data = ct.to_vec();
            self.aes.cbc_decrypt(&iv, &mut data)?;
            let with_mac = Self::unpad(&data, self.mac_len)?;
            let content_len = with_mac
                .checked_sub(self.mac_len)
                .ok_or(DecryptError::BadPadding)?;
            let (content, rest) = data
                .split_at_checked(content_len)
                .ok_or(DecryptError::BadPadding)?;
            let mac = rest.get(..self.mac_len).ok_or(DecryptError::BadPadding)?;
            if !self.mac_of(seq, header, content)?.verify(mac) {
                return Err(DecryptError::BadRecordMac);
            }
            data.truncate(content_len);
            Ok(Plain { content_type, data })
        }
    }
}

impl RecordEncrypter for Tls12Cbc {
    fn encrypt(&self, seq: u64, content_type: u8, plain: &[u8]) -> Vec<u8> {
        let iv = Self::test_iv(seq);
        let mut rec = Vec::new();
        if self.encrypt_then_mac {
            let mut ct = plain.to_vec();
            Self::pad(&mut ct);
            self.aes.cbc_encrypt(&iv, &mut ct);
            let sealed_len = ct.len().saturating_add(BLOCK);
            let header = record_header(content_type, sealed_len.saturating_add(self.mac_len));
            rec.extend_from_slice(&header);
            rec.extend_from_slice(&iv);
            rec.extend_from_slice(&ct);
            let mac = self
                .mac_of(seq, &header, rec.get(5..).unwrap_or_default())
                .map(AnyHmac::finalize)
                .unwrap_or_default();
            rec.extend_from_slice(&mac);
        } else {
            let probe = record_header(content_type, 0);
            let mac = self
                .mac_of(seq, &probe, plain)
                .map(AnyHmac::finalize)
                .unwrap_or_default();
            let mut pt = plain.to_vec();
            pt.extend_from_slice(&mac);
            Self::pad(&mut pt);
            self.aes.cbc_encrypt(&iv, &mut pt);
            rec.extend_from_slice(&record_header(content_type, pt.len().saturating_add(BLOCK)));
            rec.extend_from_slice(&iv);
            rec.extend_from_slice(&pt);
        }
        rec
    }
}

// ------------------------------------------------------- TLS 1.2 builders

enum Tls12 {
    Aead(Tls12Aead),
    Cbc(Box<Tls12Cbc>),
}

fn tls12(suite: &Suite, keys: &DirKeys, encrypt_then_mac: bool) -> Result<Tls12, ScheduleError> {
    if suite.version != TlsVersion::Tls12 {
        return Err(ScheduleError::WrongVersion);
    }
    match HmacHash::of_mac(suite.mac) {
        None => {
            let nonce = match suite.bulk {
                Bulk::ChaCha20Poly1305 => Nonce12::Implicit(iv_of(&keys.iv)?),
                _ => Nonce12::Explicit(iv_of(&keys.iv)?),
            };
            Ok(Tls12::Aead(Tls12Aead {
                suite: suite.name,
                aead: Aead::new(suite.bulk, &keys.key)?,
                nonce,
            }))
        }
        Some(hash) => {
            let mac_len = suite.mac.output_len();
            if keys.mac_key.len() != mac_len {
                return Err(ScheduleError::KeyLength {
                    what: "MAC key",
                    expected: mac_len,
                    got: keys.mac_key.len(),
                });
            }
            Ok(Tls12::Cbc(Box::new(Tls12Cbc {
                suite: suite.name,
                aes: Aes::new(suite.bulk, &keys.key)?,
                mac: AnyHmac::new(hash, &keys.mac_key),
                mac_len,
                encrypt_then_mac,
            })))
        }
    }
}

/// The decrypter for one direction's TLS 1.2 records under `keys` (from
/// [`super::schedule::tls12_key_block`]). `encrypt_then_mac`: both hellos
/// carried the extension (RFC 7366); ignored for AEAD suites.
pub fn tls12_decrypter(
    suite: &Suite,
    keys: &DirKeys,
    encrypt_then_mac: bool,
) -> Result<Box<dyn RecordDecrypter>, ScheduleError> {
    Ok(match tls12(suite, keys, encrypt_then_mac)? {
        Tls12::Aead(d) => Box::new(d),
        Tls12::Cbc(d) => d,
    })
}

/// The encrypter matching [`tls12_decrypter`] (tests and benchmarks).
pub fn tls12_encrypter(
    suite: &Suite,
    keys: &DirKeys,
    encrypt_then_mac: bool,
) -> Result<Box<dyn RecordEncrypter>, ScheduleError> {
    Ok(match tls12(suite, keys, encrypt_then_mac)? {
        Tls12::Aead(d) => Box::new(d),
        Tls12::Cbc(d) => d,
    })
}

#[cfg(test)]
mod tests;
