//! TLS: seeing inside `wss://` — a layer on the seam ([`crate::stream`])
//! that turns records into plaintext for the HTTP/1.1 layer above it.
//!
//! The wire (pure parsing over byte slices; wire data is never indexed or
//! unwrapped):
//! - [`reader`]: the checked reader every parser here reads wire bytes with;
//! - [`record`]: record headers, the connection probe's sniffing
//!   (`looks_like_client_hello`) and resynchronisation after a TCP gap;
//! - [`hello`]: handshake messages reassembled across records (and several
//!   per record), and the facts of ClientHello, ServerHello,
//!   EncryptedExtensions, NewSessionTicket, KeyUpdate and alerts.
//!
//! The cryptographic core (pure functions, no I/O):
//! - [`suites`]: which cipher suites we decrypt, and the IANA name of any
//!   suite a peer offers;
//! - the NSS key log format (`SSLKEYLOGFILE`, pcapng Decryption Secrets
//!   Blocks) lives with the other secrets in [`crate::keys::keylog`]
//!   (re-exported here as `keylog`);
//! - [`schedule`]: from those secrets to record keys — TLS 1.3 HKDF
//!   (traffic keys, KeyUpdate) and the TLS 1.2 PRF key block;
//! - [`cipher`]: record protection per direction and key epoch — TLS 1.3
//!   AEAD, TLS 1.2 AES-GCM, ChaCha20-Poly1305 and AES-CBC with HMAC (with
//!   and without encrypt-then-MAC) — plus encrypters for tests and benches.
//!
//! The connection layer:
//! - [`layer`]: [`TlsLayer`], which owns the layer above it (HTTP/1.1) and
//!   feeds it the decrypted stream, stamped with the packets that carried
//!   each record.
//!
//! Cryptographic primitives come from RustCrypto (`aes-gcm`,
//! `chacha20poly1305`, `aes` + `cbc`, `hkdf`, `hmac`, `sha1`, `sha2`); what
//! is ours is the wiring: label encodings, key block layout, nonces,
//! additional data, padding and MAC checks. The unit tests pin it to RFC
//! 8448's TLS 1.3 traces, the published TLS 1.2 PRF vectors and records
//! made by OpenSSL (`tls/testdata/`).
//!
//! Not covered: TLS 1.0/1.1 (MD5/SHA-1 PRF; TLS 1.0's chained CBC IVs),
//! CCM, ARIA, Camellia, 3DES, RC4 and NULL suites — [`suites::suite`]
//! returns `None` for them and the layer reports them as unsupported.

pub mod cipher;
pub mod hello;
pub use crate::keys::keylog;
mod keying;
pub mod layer;
pub mod reader;
pub mod record;
pub mod schedule;
mod suite_names;
pub mod suites;

pub use layer::TlsLayer;
