//! The TLS handshake layer above records (RFC 8446 §4, RFC 5246 §7.4):
//! message reassembly and the cleartext facts of the handshake.
//!
//! [`HandshakeReassembler`] turns the payloads of one direction's handshake
//! records — or the decrypted TLS 1.3 handshake content — into whole
//! messages: several messages per record, one message across several
//! records. It holds at most one message, bounded by `max_message`; a
//! message claiming more is reported as [`HandshakeError::TooLong`] and its
//! bytes are skipped as they arrive, so the stream stays in step.
//!
//! The `parse_*` functions read one message body (after its 4-byte header)
//! with the checked [`Reader`]. They keep what a passive analyzer needs —
//! randoms, session ids, suites, SNI, ALPN, versions, resumption signals —
//! and keep values open: GREASE and unknown code points are kept as they
//! are. Two stages, as in rusticata: the framing of a message (its fields
//! and its extension list) must be exact, or the message is an error; the
//! contents of a known extension that do not parse leave that fact unset
//! and list the extension in `malformed_extensions`, so that one odd
//! extension does not hide the client random a key log is looked up by.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::fmt;

use super::reader::Reader;

/// A handshake message type, kept open: unknown values are shown, not rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HandshakeType(pub u8);

impl HandshakeType {
    pub const HELLO_REQUEST: HandshakeType = HandshakeType(0);
    pub const CLIENT_HELLO: HandshakeType = HandshakeType(1);
    pub const SERVER_HELLO: HandshakeType = HandshakeType(2);
    pub const NEW_SESSION_TICKET: HandshakeType = HandshakeType(4);
    pub const END_OF_EARLY_DATA: HandshakeType = HandshakeType(5);
    pub const ENCRYPTED_EXTENSIONS: HandshakeType = HandshakeType(8);
    pub const CERTIFICATE: HandshakeType = HandshakeType(11);
    pub const SERVER_KEY_EXCHANGE: HandshakeType = HandshakeType(12);
    pub const CERTIFICATE_REQUEST: HandshakeType = HandshakeType(13);
    pub const SERVER_HELLO_DONE: HandshakeType = HandshakeType(14);
    pub const CERTIFICATE_VERIFY: HandshakeType = HandshakeType(15);
    pub const CLIENT_KEY_EXCHANGE: HandshakeType = HandshakeType(16);
    pub const FINISHED: HandshakeType = HandshakeType(20);
    pub const CERTIFICATE_STATUS: HandshakeType = HandshakeType(22);
    pub const KEY_UPDATE: HandshakeType = HandshakeType(24);
    pub const COMPRESSED_CERTIFICATE: HandshakeType = HandshakeType(25);
    pub const MESSAGE_HASH: HandshakeType = HandshakeType(254);

    /// The registered name (`client_hello`, …), or `None`.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "hello_request",
            1 => "client_hello",
            2 => "server_hello",
            3 => "hello_verify_request",
            4 => "new_session_ticket",
            5 => "end_of_early_data",
            8 => "encrypted_extensions",
            11 => "certificate",
            12 => "server_key_exchange",
            13 => "certificate_request",
            14 => "server_hello_done",
            15 => "certificate_verify",
            16 => "client_key_exchange",
            20 => "finished",
            21 => "certificate_url",
            22 => "certificate_status",
            23 => "supplemental_data",
            24 => "key_update",
            25 => "compressed_certificate",
            254 => "message_hash",
            _ => return None,
        })
    }
}

impl fmt::Display for HandshakeType {
    /// The name, or `unknown-N`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "unknown-{}", self.0),
        }
    }
}

/// Extension code points read here (IANA "TLS ExtensionType Values").
pub mod ext {
    pub const SERVER_NAME: u16 = 0;
    pub const SUPPORTED_GROUPS: u16 = 10;
    pub const ALPN: u16 = 16;
    pub const ENCRYPT_THEN_MAC: u16 = 22;
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    pub const SESSION_TICKET: u16 = 35;
    pub const PRE_SHARED_KEY: u16 = 41;
    pub const EARLY_DATA: u16 = 42;
    pub const SUPPORTED_VERSIONS: u16 = 43;
    pub const KEY_SHARE: u16 = 51;
    pub const ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;
}

/// Why a handshake message could not be read.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// The named field runs past the end of the message.
    Truncated(&'static str),
    /// A message claims more than the reassembler's `max_message` bytes;
    /// its bytes are skipped.
    TooLong { typ: u8, len: u32 },
    /// The message is complete but does not fit its grammar.
    Malformed(&'static str),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Truncated(what) => write!(f, "handshake message truncated in {what}"),
            HandshakeError::TooLong { typ, len } => write!(
                f,
                "{} message of {len} bytes is over the limit",
                HandshakeType(*typ)
            ),
            HandshakeError::Malformed(what) => write!(f, "malformed handshake message: {what}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// One reassembled handshake message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeMessage {
    pub typ: HandshakeType,
    /// The body, without the 4-byte header.
    pub body: Vec<u8>,
}

/// Default bound on one handshake message: certificate chains reach tens
/// of kilobytes; 256 KiB leaves room without letting a claim of 16 MiB
/// hold memory.
pub const DEFAULT_MAX_MESSAGE: usize = 256 * 1024;

/// Bytes in a handshake message header: type (1) and length (3).
pub const MESSAGE_HEADER_LEN: usize = 4;

#[derive(Clone, Debug)]
enum State {
    /// Collecting the 4-byte header; `have` of them so far.
    Header {
        have: usize,
        bytes: [u8; MESSAGE_HEADER_LEN],
    },
    /// Collecting a body of `len` bytes into `buf`.
    Body { typ: HandshakeType, len: usize },
    /// Dropping the rest of an over-long message.
    Skip { remaining: usize },
}

/// Reassembles the handshake messages of ONE direction from the payloads
/// of its handshake records (or decrypted TLS 1.3 handshake content), in
/// order. Memory is bounded by `max_message` (+ the 4 header bytes).
#[derive(Clone, Debug)]
pub struct HandshakeReassembler {
    max_message: usize,
    state: State,
    /// The body collected so far; handed over (not copied) when complete.
    buf: Vec<u8>,
}

impl Default for HandshakeReassembler {
    fn default() -> Self {
        HandshakeReassembler::new(DEFAULT_MAX_MESSAGE)
    }
}

impl HandshakeReassembler {
    /// A reassembler refusing messages with bodies over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        HandshakeReassembler {
            max_message,
            state: State::Header {
                have: 0,
                bytes: [0; MESSAGE_HEADER_LEN],
            },
            buf: Vec::new(),
        }
    }

    /// Feeds the next fragment; every message it completes (and every
    /// over-long header it reveals) is appended to `out`, in order.
    pub fn push(&mut self, fragment: &[u8], out: &mut Vec<Result<HandshakeMessage, HandshakeError>>) {
        let mut r = Reader::new(fragment);
        loop {
            match &mut self.state {
                State::Header { have, bytes } => {
                    // Copy up to the header's missing bytes (have <= 4).
                    let want = MESSAGE_HEADER_LEN.saturating_sub(*have).min(r.left());
                    let Some(src) = r.take(want) else { return };
                    if let Some(dst) = bytes.get_mut(*have..(*have).saturating_add(want)) {
                        dst.copy_from_slice(src);
                    }
                    // have + want <= 4.
                    *have = (*have).saturating_add(want);
                    if *have < MESSAGE_HEADER_LEN {
                        return;
                    }
                    let [t, a, b, c] = *bytes;
                    let typ = HandshakeType(t);
                    let len32 = u32::from_be_bytes([0, a, b, c]);
                    // A u24 always fits usize on the 32- and 64-bit targets
                    // we build for; saturate rather than assume.
                    let len = usize::try_from(len32).unwrap_or(usize::MAX);
                    self.state = if len > self.max_message {
                        out.push(Err(HandshakeError::TooLong { typ: t, len: len32 }));
                        State::Skip { remaining: len }
                    } else if len == 0 {
                        out.push(Ok(HandshakeMessage {
                            typ,
                            body: Vec::new(),
                        }));
                        Self::fresh()
                    } else {
                        self.buf.clear();
                        State::Body { typ, len }
                    };
                }
                State::Body { typ, len } => {
                    if !r.any_left() {
                        return;
                    }
                    let (typ, len) = (*typ, *len);
                    // buf.len() < len while in this state.
                    let missing = len.saturating_sub(self.buf.len());
                    let Some(src) = r.take(missing.min(r.left())) else {
                        return;
                    };
                    self.grow_for(src.len(), len);
                    self.buf.extend_from_slice(src);
                    if self.buf.len() >= len {
                        out.push(Ok(HandshakeMessage {
                            typ,
                            body: std::mem::take(&mut self.buf),
                        }));
                        self.state = Self::fresh();
                    }
                }
                State::Skip { remaining } => {
                    if *remaining == 0 {
                        self.state = Self::fresh();
                        continue;
                    }
                    if !r.any_left() {
                        return;
                    }
                    let n = (*remaining).min(r.left());
                    r.take(n);
                    // n <= remaining.
                    *remaining = remaining.saturating_sub(n);
                }
            }
        }
    }

    /// Forgets any partial message (after a gap: what follows is not its
    /// continuation).
    pub fn reset(&mut self) {
        self.state = Self::fresh();
        self.buf = Vec::new();
    }

    /// Bytes of the message in progress held now (header and body so far;
    /// bytes of an over-long message being skipped are not held).
    pub fn pending(&self) -> usize {
        match &self.state {
            State::Header { have, .. } => *have,
            // The header's 4 bytes plus the body so far.
            State::Body { .. } => MESSAGE_HEADER_LEN.saturating_add(self.buf.len()),
            State::Skip { .. } => 0,
        }
    }

    /// Whether a message has begun and not ended (including one being skipped).
    pub fn mid_message(&self) -> bool {
        !matches!(self.state, State::Header { have: 0, .. })
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// The bound given to [`new`](Self::new).
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    fn fresh() -> State {
        State::Header {
            have: 0,
            bytes: [0; MESSAGE_HEADER_LEN],
        }
    }

    /// Reserves room for `n` more bytes of a `len`-byte body: doubling (so
    /// that many small fragments stay linear) but never past `len`.
    fn grow_for(&mut self, n: usize, len: usize) {
        let need = self.buf.len().saturating_add(n);
        if need > self.buf.capacity() {
            let target = need.max(self.buf.len().saturating_mul(2)).min(len);
            self.buf
                .reserve_exact(target.saturating_sub(self.buf.len()).max(n));
        }
    }
}

/// The HelloRetryRequest's `random`: SHA-256 of "HelloRetryRequest" (RFC 8446 §4.1.3).
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2,
    0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What a ClientHello shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    /// In wire order, GREASE included.
    pub cipher_suites: Vec<u16>,
    pub compression_methods: Vec<u8>,
    /// The first `host_name` of server_name (lossy UTF-8).
    pub sni: Option<String>,
    /// Protocols offered (lossy UTF-8), in order.
    pub alpn: Vec<String>,
    /// supported_versions, in order, GREASE included; empty when absent.
    pub supported_versions: Vec<u16>,
    /// supported_groups, in order, GREASE included.
    pub supported_groups: Vec<u16>,
    pub key_share: bool,
    pub psk: bool,
    pub early_data: bool,
    pub ech: bool,
    pub extended_master_secret: bool,
    pub encrypt_then_mac: bool,
    /// A non-empty ticket offered (TLS 1.2 resumption).
    pub session_ticket: Option<Vec<u8>>,
    /// Every extension type in wire order (GREASE and unknown included).
    pub extensions: Vec<u16>,
    /// Known extensions whose contents did not parse (their facts are unset).
    pub malformed_extensions: Vec<u16>,
}

/// What a ServerHello (or HelloRetryRequest) shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suite: u16,
    pub compression_method: u8,
    /// From supported_versions (TLS 1.3 and HelloRetryRequest).
    pub selected_version: Option<u16>,
    /// `random` is the HelloRetryRequest value.
    pub hello_retry_request: bool,
    /// The selected protocol (TLS 1.2; TLS 1.3 sends it in EncryptedExtensions).
    pub alpn: Option<String>,
    pub extended_master_secret: bool,
    pub encrypt_then_mac: bool,
    /// pre_shared_key present: TLS 1.3 resumption (or external PSK) accepted.
    pub psk_selected: bool,
    /// An (empty) session_ticket extension: a TLS 1.2 NewSessionTicket follows.
    pub session_ticket_ext: bool,
    /// Every extension type in wire order.
    pub extensions: Vec<u16>,
    /// Known extensions whose contents did not parse (their facts are unset).
    pub malformed_extensions: Vec<u16>,
}

impl ServerHello {
    /// The negotiated version: `selected_version`, else `legacy_version`.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

/// Reads the extension block that ends a hello or EncryptedExtensions:
/// absent (no bytes left) is allowed when `optional`; otherwise a u16 length
/// that must match the bytes left exactly. `f` gets each extension's type
/// and a reader bounded to its data.
fn extensions<'a>(
    r: &mut Reader<'a>,
    optional: bool,
    mut f: impl FnMut(u16, Reader<'a>),
) -> Result<(), HandshakeError> {
    if optional && !r.any_left() {
        return Ok(());
    }
    let mut list = r.sub(2).ok_or(HandshakeError::Truncated("extensions"))?;
    if r.any_left() {
        return Err(HandshakeError::Malformed("bytes after the extensions"));
    }
    while list.any_left() {
        let typ = list.u16().ok_or(HandshakeError::Truncated("extension type"))?;
        let data = list.sub(2).ok_or(HandshakeError::Truncated("extension data"))?;
        f(typ, data);
    }
    Ok(())
}

/// A `u16` list prefixed by a `len_bytes`-wide length (odd lengths refused).
fn u16_list(r: &mut Reader<'_>, len_bytes: usize) -> Option<Vec<u16>> {
    let mut v = r.sub(len_bytes)?;
    if v.left() % 2 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(v.left() / 2);
    while v.any_left() {
        out.push(v.u16()?);
    }
    Some(out)
}

/// The whole of `r` must have been read.
fn done(r: &Reader<'_>) -> Option<()> {
    (!r.any_left()).then_some(())
}

/// server_name (RFC 6066 §3): the first host_name entry.
fn server_name(mut r: Reader<'_>) -> Option<Option<String>> {
    let mut list = r.sub(2)?;
    done(&r)?;
    let mut first = None;
    while list.any_left() {
        let name_type = list.u8()?;
        // Every defined name type is a u16-prefixed vector.
        let name = list.sub(2)?.rest();
        if name_type == 0 && first.is_none() {
            first = Some(String::from_utf8_lossy(name).into_owned());
        }
    }
    Some(first)
}

/// ALPN's ProtocolNameList (RFC 7301 §3.1): non-empty u8-prefixed names.
fn alpn_list(mut r: Reader<'_>) -> Option<Vec<String>> {
    let mut list = r.sub(2)?;
    done(&r)?;
    let mut out = Vec::new();
    while list.any_left() {
        let name = list.sub(1)?.rest();
        if name.is_empty() {
            return None;
        }
        out.push(String::from_utf8_lossy(name).into_owned());
    }
    Some(out)
}

/// The server's ALPN answer: exactly one name.
fn alpn_selected(r: Reader<'_>) -> Option<String> {
    let mut names = alpn_list(r)?;
    if names.len() != 1 {
        return None;
    }
    names.pop()
}

/// An extension that must be empty.
fn empty(r: Reader<'_>) -> Option<()> {
    done(&r)
}

fn hello_head(r: &mut Reader<'_>) -> Result<(u16, [u8; 32], Vec<u8>), HandshakeError> {
    let version = r.u16().ok_or(HandshakeError::Truncated("legacy_version"))?;
    let random = r.array::<32>().ok_or(HandshakeError::Truncated("random"))?;
    let session_id = r
        .sub(1)
        .ok_or(HandshakeError::Truncated("session_id"))?
        .rest()
        .to_vec();
    Ok((version, random, session_id))
}

/// Reads a ClientHello body (RFC 8446 §4.1.2; also TLS 1.0–1.2, whose
/// extension block may be absent).
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello, HandshakeError> {
    let mut r = Reader::new(body);
    let (legacy_version, random, session_id) = hello_head(&mut r)?;
    let mut suites = r.sub(2).ok_or(HandshakeError::Truncated("cipher_suites"))?;
    if suites.left() % 2 != 0 {
        return Err(HandshakeError::Malformed("cipher_suites of odd length"));
    }
    let mut cipher_suites = Vec::with_capacity(suites.left() / 2);
    while let Some(s) = suites.u16() {
        cipher_suites.push(s);
    }
    let compression_methods = r
        .sub(1)
        .ok_or(HandshakeError::Truncated("compression_methods"))?
        .rest()
        .to_vec();
    let mut ch = ClientHello {
        legacy_version,
        random,
        session_id,
        cipher_suites,
        compression_methods,
        ..Default::default()
    };
    extensions(&mut r, true, |typ, mut data| {
        ch.extensions.push(typ);
        let ok = match typ {
            ext::SERVER_NAME => server_name(data).map(|n| {
                if ch.sni.is_none() {
                    ch.sni = n;
                }
            }),
            ext::ALPN => alpn_list(data).map(|v| ch.alpn = v),
            ext::SUPPORTED_VERSIONS => u16_list(&mut data, 1)
                .and_then(|v| done(&data).map(|()| v))
                .map(|v| ch.supported_versions = v),
            ext::SUPPORTED_GROUPS => u16_list(&mut data, 2)
                .and_then(|v| done(&data).map(|()| v))
                .map(|v| ch.supported_groups = v),
            ext::KEY_SHARE => {
                ch.key_share = true;
                Some(())
            }
            ext::PRE_SHARED_KEY => {
                ch.psk = true;
                Some(())
            }
            ext::EARLY_DATA => empty(data).map(|()| ch.early_data = true),
            ext::ENCRYPTED_CLIENT_HELLO => {
                ch.ech = true;
                Some(())
            }
            ext::EXTENDED_MASTER_SECRET => empty(data).map(|()| ch.extended_master_secret = true),
            ext::ENCRYPT_THEN_MAC => empty(data).map(|()| ch.encrypt_then_mac = true),
            ext::SESSION_TICKET => {
                let t = data.rest();
                if !t.is_empty() {
                    ch.session_ticket = Some(t.to_vec());
                }
                Some(())
            }
            _ => Some(()),
        };
        if ok.is_none() {
            ch.malformed_extensions.push(typ);
        }
    })?;
    Ok(ch)
}

/// Reads a ServerHello or HelloRetryRequest body (RFC 8446 §4.1.3; TLS
/// 1.0–1.2 too).
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello, HandshakeError> {
    let mut r = Reader::new(body);
    let (legacy_version, random, session_id) = hello_head(&mut r)?;
    let cipher_suite = r.u16().ok_or(HandshakeError::Truncated("cipher_suite"))?;
    let compression_method = r.u8().ok_or(HandshakeError::Truncated("compression_method"))?;
    let mut sh = ServerHello {
        legacy_version,
        random,
        session_id,
        cipher_suite,
        compression_method,
        hello_retry_request: random == HELLO_RETRY_REQUEST_RANDOM,
        ..Default::default()
    };
    extensions(&mut r, true, |typ, mut data| {
        sh.extensions.push(typ);
        let ok = match typ {
            ext::SUPPORTED_VERSIONS => data
                .u16()
                .and_then(|v| done(&data).map(|()| sh.selected_version = Some(v))),
            ext::ALPN => alpn_selected(data).map(|p| sh.alpn = Some(p)),
            ext::EXTENDED_MASTER_SECRET => empty(data).map(|()| sh.extended_master_secret = true),
            ext::ENCRYPT_THEN_MAC => empty(data).map(|()| sh.encrypt_then_mac = true),
            // selected_identity: u16.
            ext::PRE_SHARED_KEY => data
                .u16()
                .and_then(|_| done(&data).map(|()| sh.psk_selected = true)),
            ext::SESSION_TICKET => empty(data).map(|()| sh.session_ticket_ext = true),
            _ => Some(()),
        };
        if ok.is_none() {
            sh.malformed_extensions.push(typ);
        }
    })?;
    Ok(sh)
}

/// TLS 1.3 EncryptedExtensions: the selected ALPN protocol (TLS 1.3 sends
/// it here, not in ServerHello).
pub fn parse_encrypted_extensions(body: &[u8]) -> Result<Option<String>, HandshakeError> {
    let mut r = Reader::new(body);
    let mut alpn = Ok(None);
    extensions(&mut r, false, |typ, data| {
        if typ == ext::ALPN {
            alpn = alpn_selected(data).map(Some).ok_or(HandshakeError::Malformed(
                "application_layer_protocol_negotiation",
            ));
        }
    })?;
    alpn
}

/// A NewSessionTicket (RFC 5077 §3.3 for TLS 1.2, RFC 8446 §4.6.1 for 1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionTicket {
    /// Seconds (`ticket_lifetime_hint` in TLS 1.2).
    pub lifetime: u32,
    pub ticket: Vec<u8>,
    /// TLS 1.3 only (0 in TLS 1.2).
    pub age_add: u32,
    /// TLS 1.3 only (empty in TLS 1.2).
    pub nonce: Vec<u8>,
    /// TLS 1.3 early_data extension: max_early_data_size.
    pub max_early_data: Option<u32>,
}

/// Reads a NewSessionTicket body; `tls13` picks the grammar.
pub fn parse_new_session_ticket(body: &[u8], tls13: bool) -> Result<NewSessionTicket, HandshakeError> {
    let mut r = Reader::new(body);
    let lifetime = r.u32().ok_or(HandshakeError::Truncated("ticket_lifetime"))?;
    let mut nst = NewSessionTicket {
        lifetime,
        ticket: Vec::new(),
        age_add: 0,
        nonce: Vec::new(),
        max_early_data: None,
    };
    if !tls13 {
        nst.ticket = r
            .sub(2)
            .ok_or(HandshakeError::Truncated("ticket"))?
            .rest()
            .to_vec();
        return match done(&r) {
            Some(()) => Ok(nst),
            None => Err(HandshakeError::Malformed("bytes after the ticket")),
        };
    }
    nst.age_add = r.u32().ok_or(HandshakeError::Truncated("ticket_age_add"))?;
    nst.nonce = r
        .sub(1)
        .ok_or(HandshakeError::Truncated("ticket_nonce"))?
        .rest()
        .to_vec();
    nst.ticket = r
        .sub(2)
        .ok_or(HandshakeError::Truncated("ticket"))?
        .rest()
        .to_vec();
    if nst.ticket.is_empty() {
        return Err(HandshakeError::Malformed("empty ticket"));
    }
    let mut bad_early_data = false;
    extensions(&mut r, false, |typ, mut data| {
        if typ == ext::EARLY_DATA {
            match data.u32().and_then(|v| done(&data).map(|()| v)) {
                Some(v) => nst.max_early_data = Some(v),
                None => bad_early_data = true,
            }
        }
    })?;
    if bad_early_data {
        return Err(HandshakeError::Malformed("early_data"));
    }
    Ok(nst)
}

/// A KeyUpdate body (RFC 8446 §4.6.3): whether the peer is asked to update too.
pub fn parse_key_update(body: &[u8]) -> Result<bool, HandshakeError> {
    match body {
        [] => Err(HandshakeError::Truncated("request_update")),
        [0] => Ok(false),
        [1] => Ok(true),
        [_] => Err(HandshakeError::Malformed("request_update not 0 or 1")),
        _ => Err(HandshakeError::Malformed("bytes after request_update")),
    }
}

/// An alert (RFC 8446 §6): level and description, kept open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    pub level: u8,
    pub description: u8,
}

impl Alert {
    /// `warning` (1), `fatal` (2), or `None`. TLS 1.3 ignores the level.
    pub fn level_name(&self) -> Option<&'static str> {
        match self.level {
            1 => Some("warning"),
            2 => Some("fatal"),
            _ => None,
        }
    }

    /// The name from RFC 8446 §6 (values reserved there keep their TLS 1.2
    /// names, since TLS 1.2 peers still send them), or `None`.
    pub fn description_name(&self) -> Option<&'static str> {
        Some(match self.description {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            21 => "decryption_failed",
            22 => "record_overflow",
            30 => "decompression_failure",
            40 => "handshake_failure",
            41 => "no_certificate",
            42 => "bad_certificate",
            43 => "unsupported_certificate",
            44 => "certificate_revoked",
            45 => "certificate_expired",
            46 => "certificate_unknown",
            47 => "illegal_parameter",
            48 => "unknown_ca",
            49 => "access_denied",
            50 => "decode_error",
            51 => "decrypt_error",
            60 => "export_restriction",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            90 => "user_canceled",
            100 => "no_renegotiation",
            109 => "missing_extension",
            110 => "unsupported_extension",
            111 => "certificate_unobtainable",
            112 => "unrecognized_name",
            113 => "bad_certificate_status_response",
            114 => "bad_certificate_hash_value",
            115 => "unknown_psk_identity",
            116 => "certificate_required",
            120 => "no_application_protocol",
            _ => return None,
        })
    }
}

impl fmt::Display for Alert {
    /// `fatal handshake_failure`, `level-7 description-200`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level_name() {
            Some(l) => f.write_str(l)?,
            None => write!(f, "level-{}", self.level)?,
        }
        match self.description_name() {
            Some(d) => write!(f, " {d}"),
            None => write!(f, " description-{}", self.description),
        }
    }
}

/// A cleartext (or decrypted) alert record's payload: exactly two bytes.
pub fn parse_alert(body: &[u8]) -> Result<Alert, HandshakeError> {
    match body {
        [level, description] => Ok(Alert {
            level: *level,
            description: *description,
        }),
        [] | [_] => Err(HandshakeError::Truncated("alert")),
        _ => Err(HandshakeError::Malformed("alert longer than 2 bytes")),
    }
}

/// Recorded handshakes (`testdata/*.hex`, see `testdata/gen.py`) for the
/// tests of this module and of `record`.
#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
pub(crate) mod testdata {
    fn file(name: &str) -> &'static str {
        match name {
            "tls12_full" => include_str!("testdata/tls12_full.hex"),
            "tls12_resumed" => include_str!("testdata/tls12_resumed.hex"),
            "tls13_full" => include_str!("testdata/tls13_full.hex"),
            _ => panic!("no test data {name}"),
        }
    }

    /// Each flight in order: (`c2s`/`s2c`, bytes).
    pub fn flights(name: &str) -> Vec<(&'static str, Vec<u8>)> {
        file(name)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (dir, hex) = l.split_once(' ').unwrap();
                (dir, hex::decode(hex.trim()).unwrap())
            })
            .collect()
    }

    /// The `i`-th flight's bytes.
    pub fn flight(name: &str, i: usize) -> Vec<u8> {
        flights(name).swap_remove(i).1
    }

    /// One direction's whole stream: `dir` 0 = client to server, 1 = back.
    pub fn direction(name: &str, dir: usize) -> Vec<u8> {
        let want = ["c2s", "s2c"][dir];
        flights(name)
            .into_iter()
            .filter(|(d, _)| *d == want)
            .flat_map(|(_, b)| b)
            .collect()
    }

    /// Hex with any whitespace, as printed in RFCs.
    pub fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        hex::decode(s).unwrap()
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::testdata::{self, unhex};
    use super::*;
    use crate::tls::record::{ContentType, parse_record};

    // RFC 8448 §3 "Simple 1-RTT Handshake", ClientHello (196 octets).
    const RFC8448_CH: &str = "
        01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec
        18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00
        00 06 73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00
        01 01 01 02 01 03 01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd
        43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00 03
        02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01
        02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01";
    // RFC 8448 §3, ServerHello (90 octets).
    const RFC8448_SH: &str = "
        02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34
        da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20
        95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00
        02 03 04";
    // RFC 8448 §3, EncryptedExtensions (40 octets), as decrypted.
    const RFC8448_EE: &str = "
        08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01
        04 00 1c 00 02 40 01 00 00 00 00";
    // RFC 8448 §3, NewSessionTicket (205 octets), as decrypted.
    const RFC8448_NST: &str = "
        04 00 00 c9 00 00 00 1e fa d6 aa c5 02 00 00 00 b2 2c 03 5d 82 93 59 ee 5f f7 af 4e c9
        00 00 00 00 26 2a 64 94 dc 48 6d 2c 8a 34 cb 33 fa 90 bf 1b 00 70 ad 3c 49 88 83 c9 36
        7c 09 a2 be 78 5a bc 55 cd 22 60 97 a3 a9 82 11 72 83 f8 2a 03 a1 43 ef d3 ff 5d d3 6d
        64 e8 61 be 7f d6 1d 28 27 db 27 9c ce 14 50 77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0 37 25
        a6 a4 da fc d0 fc 67 d2 ae a7 05 29 51 3e 3d a2 67 7f a5 90 6c 5b 3f 7d 8f 92 f2 28 bd
        a4 0d da 72 14 70 f9 fb f2 97 b5 ae a6 17 64 6f ac 5c 03 27 2e 97 07 27 c6 21 a7 91 41
        ef 5f 7d e6 50 5e 5b fb c3 88 e9 33 43 69 40 93 93 4a e4 d3 57 00 08 00 2a 00 04 00 00
        04 00";
    // RFC 8448 §4 "Resumed 0-RTT Handshake", ClientHello (512 octets): PSK,
    // early_data, padding.
    const RFC8448_RESUMED_CH: &str = "
        01 00 01 fc 03 03 1b c3 ce b6 bb e3 9c ff 93 83 55 b5 a5 0a db 6d b2 1b 7a 6a f6 49 d7
        b4 bc 41 9d 78 76 48 7d 95 00 00 06 13 01 13 03 13 02 01 00 01 cd 00 00 00 0b 00 09 00
        00 06 73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00
        01 01 01 02 01 03 01 04 00 33 00 26 00 24 00 1d 00 20 e4 ff b6 8a c0 5f 8d 96 c9 9d a2
        66 98 34 6c 6b e1 64 82 ba dd da fe 05 1a 66 b4 f1 8d 66 8f 0b 00 2a 00 00 00 2b 00 03
        02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01
        02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01 00 15 00 57 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 29 00
        dd 00 b8 00 b2 2c 03 5d 82 93 59 ee 5f f7 af 4e c9 00 00 00 00 26 2a 64 94 dc 48 6d 2c
        8a 34 cb 33 fa 90 bf 1b 00 70 ad 3c 49 88 83 c9 36 7c 09 a2 be 78 5a bc 55 cd 22 60 97
        a3 a9 82 11 72 83 f8 2a 03 a1 43 ef d3 ff 5d d3 6d 64 e8 61 be 7f d6 1d 28 27 db 27 9c
        ce 14 50 77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0 37 25 a6 a4 da fc d0 fc 67 d2 ae a7 05 29
        51 3e 3d a2 67 7f a5 90 6c 5b 3f 7d 8f 92 f2 28 bd a4 0d da 72 14 70 f9 fb f2 97 b5 ae
        a6 17 64 6f ac 5c 03 27 2e 97 07 27 c6 21 a7 91 41 ef 5f 7d e6 50 5e 5b fb c3 88 e9 33
        43 69 40 93 93 4a e4 d3 57 fa d6 aa cb 00 21 20 3a dd 4f b2 d8 fd f8 22 a0 ca 3c f7 67
        8e f5 e8 8d ae 99 01 41 c5 92 4d 57 bb 6f a3 1b 9e 5f 9d";
    // RFC 8448 §4, ServerHello (96 octets): pre_shared_key selected.
    const RFC8448_RESUMED_SH: &str = "
        02 00 00 5c 03 03 3c cf d2 de c8 90 22 27 63 47 2a e8 13 67 77 c9 d7 35 87 77 bb 66 e9
        1e a5 12 24 95 f5 59 ea 2d 00 13 01 00 00 34 00 29 00 02 00 00 00 33 00 24 00 1d 00 20
        12 17 61 ee 42 c3 33 e1 b9 e7 7b 60 dd 57 c2 05 3c d9 45 12 ab 47 f1 15 e8 6e ff 50 94
        2c ea 31 00 2b 00 02 03 04";
    // RFC 8448 §5 "HelloRetryRequest", the HelloRetryRequest (176 octets):
    // key_share naming a group, a cookie.
    const RFC8448_HRR: &str = "
        02 00 00 ac 03 03 cf 21 ad 74 e5 9a 61 11 be 1d 8c 02 1e 65 b8 91 c2 a2 11 16 7a bb 8c
        5e 07 9e 09 e2 c8 a8 33 9c 00 13 01 00 00 84 00 33 00 02 00 17 00 2c 00 74 00 72 71 dc
        d0 4b b8 8b c3 18 91 19 39 8a 00 00 00 00 ee fa fc 76 c1 46 b8 23 b0 96 f8 aa ca d3 65
        dd 00 30 95 3f 4e df 62 56 36 e5 f2 1b b2 e2 3f cc 65 4b 1b 5b 40 31 8d 10 d1 37 ab cb
        b8 75 74 e3 6e 8a 1f 02 5f 7d fa 5d 6e 50 78 1b 5e da 4a a1 5b 0c 8b e7 78 25 7d 16 aa
        30 30 e9 e7 84 1d d9 e4 c0 34 22 67 e8 ca 0c af 57 1f b2 b7 cf f0 f9 34 b0 00 2b 00 02
        03 04";

    /// One whole handshake message (header included) into its parts.
    fn message(wire: &[u8]) -> HandshakeMessage {
        let mut out = Vec::new();
        let mut r = HandshakeReassembler::default();
        r.push(wire, &mut out);
        assert_eq!(out.len(), 1, "exactly one message");
        assert_eq!(r.pending(), 0);
        out.pop().unwrap().unwrap()
    }

    /// The handshake messages of one direction of a recorded handshake, up
    /// to the first non-handshake record (after it, TLS 1.2 handshake
    /// records are encrypted).
    fn cleartext_messages(name: &str, dir: usize) -> Vec<HandshakeMessage> {
        let s = testdata::direction(name, dir);
        let mut rest = &s[..];
        let mut out = Vec::new();
        let mut r = HandshakeReassembler::default();
        while let Ok((rec, tail)) = parse_record(rest) {
            if rec.header.content_type != ContentType::HANDSHAKE {
                break;
            }
            r.push(rec.payload, &mut out);
            rest = tail;
        }
        out.into_iter().map(Result::unwrap).collect()
    }

    fn hex32(s: &str) -> [u8; 32] {
        unhex(s).try_into().unwrap()
    }

    #[test]
    fn rfc8448_client_hello() {
        let m = message(&unhex(RFC8448_CH));
        assert_eq!(m.typ, HandshakeType::CLIENT_HELLO);
        let ch = parse_client_hello(&m.body).unwrap();
        assert_eq!(
            ch,
            ClientHello {
                legacy_version: 0x0303,
                random: hex32("cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"),
                session_id: vec![],
                cipher_suites: vec![0x1301, 0x1303, 0x1302],
                compression_methods: vec![0],
                sni: Some("server".into()),
                alpn: vec![],
                supported_versions: vec![0x0304],
                supported_groups: vec![
                    0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104
                ],
                key_share: true,
                psk: false,
                early_data: false,
                ech: false,
                extended_master_secret: false,
                encrypt_then_mac: false,
                session_ticket: None,
                extensions: vec![0, 0xff01, 10, 35, 51, 43, 13, 45, 28],
                malformed_extensions: vec![],
            }
        );
    }

    #[test]
    fn rfc8448_server_hello() {
        let m = message(&unhex(RFC8448_SH));
        assert_eq!(m.typ, HandshakeType::SERVER_HELLO);
        let sh = parse_server_hello(&m.body).unwrap();
        assert_eq!(
            sh,
            ServerHello {
                legacy_version: 0x0303,
                random: hex32("a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e26928"),
                session_id: vec![],
                cipher_suite: 0x1301,
                compression_method: 0,
                selected_version: Some(0x0304),
                hello_retry_request: false,
                alpn: None,
                extended_master_secret: false,
                encrypt_then_mac: false,
                psk_selected: false,
                session_ticket_ext: false,
                extensions: vec![51, 43],
                malformed_extensions: vec![],
            }
        );
        assert_eq!(sh.version(), 0x0304);
    }

    #[test]
    fn rfc8448_resumption() {
        let ch = parse_client_hello(&message(&unhex(RFC8448_RESUMED_CH)).body).unwrap();
        assert_eq!(
            ch.random,
            hex32("1bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc419d7876487d95")
        );
        assert!(ch.psk && ch.early_data && ch.key_share);
        assert_eq!(ch.sni.as_deref(), Some("server"));
        assert_eq!(ch.session_ticket, None);
        assert_eq!(ch.extensions, [0, 0xff01, 10, 51, 42, 43, 13, 45, 28, 21, 41]);
        assert!(ch.malformed_extensions.is_empty());

        let sh = parse_server_hello(&message(&unhex(RFC8448_RESUMED_SH)).body).unwrap();
        assert!(sh.psk_selected);
        assert!(!sh.hello_retry_request);
        assert_eq!((sh.cipher_suite, sh.version()), (0x1301, 0x0304));
        assert_eq!(
            sh.random,
            hex32("3ccfd2dec890222763472ae8136777c9d7358777bb66e91ea5122495f559ea2d")
        );
    }

    #[test]
    fn rfc8448_hello_retry_request() {
        let sh = parse_server_hello(&message(&unhex(RFC8448_HRR)).body).unwrap();
        assert!(sh.hello_retry_request);
        assert_eq!(sh.random, HELLO_RETRY_REQUEST_RANDOM);
        assert_eq!(sh.selected_version, Some(0x0304));
        assert_eq!(sh.cipher_suite, 0x1301);
        assert_eq!(sh.extensions, [51, 44, 43]);
    }

    #[test]
    fn rfc8448_encrypted_extensions() {
        let m = message(&unhex(RFC8448_EE));
        assert_eq!(m.typ, HandshakeType::ENCRYPTED_EXTENSIONS);
        assert_eq!(parse_encrypted_extensions(&m.body), Ok(None));
        // The same with an ALPN answer appended (type 16, "h2").
        let mut body = m.body.clone();
        body.extend_from_slice(&[0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, b'h', b'2']);
        body[1] += 9;
        assert_eq!(parse_encrypted_extensions(&body), Ok(Some("h2".into())));
        // Two names in an answer is not an answer.
        let bad = [0, 12, 0, 16, 0, 8, 0, 6, 2, b'h', b'2', 2, b'h', b'3'];
        assert_eq!(
            parse_encrypted_extensions(&bad),
            Err(HandshakeError::Malformed(
                "application_layer_protocol_negotiation"
            ))
        );
        assert_eq!(parse_encrypted_extensions(&[0, 0]), Ok(None));
        assert_eq!(
            parse_encrypted_extensions(&[]),
            Err(HandshakeError::Truncated("extensions"))
        );
    }

    #[test]
    fn rfc8448_new_session_ticket() {
        let m = message(&unhex(RFC8448_NST));
        assert_eq!(m.typ, HandshakeType::NEW_SESSION_TICKET);
        let t = parse_new_session_ticket(&m.body, true).unwrap();
        assert_eq!(t.lifetime, 30);
        assert_eq!(t.age_add, 0xfad6aac5);
        assert_eq!(t.nonce, [0, 0]);
        assert_eq!(t.ticket.len(), 0xb2);
        assert_eq!(&t.ticket[..4], &[0x2c, 0x03, 0x5d, 0x82]);
        assert_eq!(&t.ticket[0xb2 - 4..], &[0x4a, 0xe4, 0xd3, 0x57]);
        assert_eq!(t.max_early_data, Some(1024));
        // The RFC 8448 §4 ClientHello offers this very ticket as its PSK identity.
        let ch = unhex(RFC8448_RESUMED_CH);
        assert!(ch.windows(t.ticket.len()).any(|w| w == t.ticket));
        // Read with the TLS 1.2 grammar it does not fit.
        assert!(parse_new_session_ticket(&m.body, false).is_err());
    }

    #[test]
    fn tls12_full_handshake_from_openssl() {
        // testdata/tls12_full.hex: Python ssl (OpenSSL 3.0.19) client and
        // server, TLS 1.2 max, SNI ws.example.com, ALPN http/1.1.
        let c = cleartext_messages("tls12_full", 0);
        let types: Vec<_> = c.iter().map(|m| m.typ).collect();
        assert_eq!(
            types,
            [HandshakeType::CLIENT_HELLO, HandshakeType::CLIENT_KEY_EXCHANGE]
        );
        let ch = parse_client_hello(&c[0].body).unwrap();
        assert_eq!(ch.legacy_version, 0x0303);
        assert_eq!(
            ch.random,
            hex32("efd7035e5c1e14a52fa388ea3a708b32d00c08f3ee81f4cefb9489e0e3d33683")
        );
        assert!(ch.session_id.is_empty());
        assert_eq!(
            ch.cipher_suites,
            [
                0xc02c, 0xc030, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc024, 0xc028, 0xc023, 0xc027, 0x009f,
                0x009e, 0x006b, 0x0067, 0x00ff
            ]
        );
        assert_eq!(ch.compression_methods, [0]);
        assert_eq!(ch.sni.as_deref(), Some("ws.example.com"));
        assert_eq!(ch.alpn, ["http/1.1"]);
        assert!(ch.supported_versions.is_empty());
        assert_eq!(ch.supported_groups, [0x1d, 0x17, 0x1e, 0x19, 0x18]);
        assert!(ch.extended_master_secret && ch.encrypt_then_mac);
        assert!(!ch.key_share && !ch.psk && !ch.early_data && !ch.ech);
        assert_eq!(ch.session_ticket, None);
        assert_eq!(ch.extensions, [0, 11, 10, 35, 16, 22, 23, 13]);

        let s = cleartext_messages("tls12_full", 1);
        let types: Vec<_> = s.iter().map(|m| m.typ).collect();
        assert_eq!(
            types,
            [
                HandshakeType::SERVER_HELLO,
                HandshakeType::CERTIFICATE,
                HandshakeType::SERVER_KEY_EXCHANGE,
                HandshakeType::SERVER_HELLO_DONE,
                HandshakeType::NEW_SESSION_TICKET,
            ]
        );
        let sh = parse_server_hello(&s[0].body).unwrap();
        assert_eq!(sh.legacy_version, 0x0303);
        assert_eq!(sh.version(), 0x0303);
        assert_eq!(sh.selected_version, None);
        // A TLS 1.3-capable server negotiating 1.2 ends its random with
        // the downgrade sentinel "DOWNGRD\x01" (RFC 8446 §4.1.3).
        assert_eq!(&sh.random[24..], b"DOWNGRD\x01");
        assert_eq!(
            sh.random,
            hex32("881a46ada27d766d35f8f1758d989a64bedd38b70ba51ee3444f574e47524401")
        );
        assert!(sh.session_id.is_empty());
        // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        assert_eq!(sh.cipher_suite, 0xc02c);
        assert_eq!(sh.alpn.as_deref(), Some("http/1.1"));
        assert!(sh.extended_master_secret);
        // ETM is only for CBC suites: the server does not echo it for GCM.
        assert!(!sh.encrypt_then_mac);
        assert!(sh.session_ticket_ext && !sh.psk_selected && !sh.hello_retry_request);
        assert_eq!(sh.extensions, [0xff01, 11, 35, 16, 23]);
        assert!(s[3].body.is_empty());

        let t = parse_new_session_ticket(&s[4].body, false).unwrap();
        assert_eq!(t.lifetime, 7200);
        assert_eq!(t.ticket.len(), 0xc0);
        assert_eq!((t.age_add, t.nonce.len(), t.max_early_data), (0, 0, None));
    }

    #[test]
    fn tls12_resumption_from_openssl() {
        // The client of tls12_full.hex comes back with its ticket.
        let first = cleartext_messages("tls12_full", 1);
        let ticket = parse_new_session_ticket(&first[4].body, false).unwrap().ticket;
        let c = cleartext_messages("tls12_resumed", 0);
        let ch = parse_client_hello(&c[0].body).unwrap();
        assert_eq!(ch.session_ticket.as_ref(), Some(&ticket));
        assert_eq!(
            ch.session_id,
            unhex("156ab3234648af8b1f491d21bcb633e91ddb43023adaea23a10e43b7f6f7495c")
        );
        // Padded to 512 bytes by OpenSSL (extension 21).
        assert_eq!(ch.extensions.last(), Some(&21));
        let s = cleartext_messages("tls12_resumed", 1);
        assert_eq!(s.len(), 1, "ServerHello, then ChangeCipherSpec");
        let sh = parse_server_hello(&s[0].body).unwrap();
        // Resumption by ticket: the server echoes the client's session id.
        assert_eq!(sh.session_id, ch.session_id);
        assert!(!sh.session_ticket_ext);
        assert_eq!(sh.alpn.as_deref(), Some("http/1.1"));
    }

    #[test]
    fn tls13_hellos_from_openssl() {
        let c = cleartext_messages("tls13_full", 0);
        let ch = parse_client_hello(&c[0].body).unwrap();
        assert_eq!(ch.supported_versions, [0x0304, 0x0303]);
        assert_eq!(&ch.cipher_suites[..3], &[0x1302, 0x1303, 0x1301]);
        assert_eq!(ch.alpn, ["http/1.1", "h2"]);
        assert_eq!(ch.session_id.len(), 32, "middlebox compatibility mode");
        assert!(ch.key_share && !ch.psk);
        let s = cleartext_messages("tls13_full", 1);
        assert_eq!(s.len(), 1, "the rest is encrypted");
        let sh = parse_server_hello(&s[0].body).unwrap();
        assert_eq!(sh.version(), 0x0304);
        assert_eq!(sh.legacy_version, 0x0303);
        // TLS_AES_256_GCM_SHA384
        assert_eq!(sh.cipher_suite, 0x1302);
        assert_eq!(sh.session_id, ch.session_id);
        assert_eq!(sh.alpn, None);
    }

    /// A ClientHello body with the given suites and extensions.
    fn build_ch(suites: &[u16], exts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[7; 32]);
        b.push(0);
        b.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
        for s in suites {
            b.extend_from_slice(&s.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut e = Vec::new();
        for (t, d) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        b
    }

    #[test]
    fn grease_and_unknown_values_are_kept() {
        let body = build_ch(
            &[0x2a2a, 0x1301],
            &[
                (0x0a0a, &[]),
                (ext::SUPPORTED_VERSIONS, &[4, 0x3a, 0x3a, 3, 4]),
                (ext::SUPPORTED_GROUPS, &[0, 4, 0x4a, 0x4a, 0, 0x1d]),
                (ext::ENCRYPTED_CLIENT_HELLO, &[0, 1, 2]),
                (0x1a1a, &[0]),
            ],
        );
        let ch = parse_client_hello(&body).unwrap();
        assert_eq!(ch.cipher_suites, [0x2a2a, 0x1301]);
        assert_eq!(ch.supported_versions, [0x3a3a, 0x0304]);
        assert_eq!(ch.supported_groups, [0x4a4a, 0x001d]);
        assert_eq!(ch.extensions, [0x0a0a, 43, 10, 0xfe0d, 0x1a1a]);
        assert!(ch.ech);
        assert!(ch.malformed_extensions.is_empty());
    }

    #[test]
    fn odd_extension_contents_keep_the_hello() {
        let body = build_ch(
            &[0x1301],
            &[
                // server_name list length past its data.
                (ext::SERVER_NAME, &[0, 9, 0, 0, 2, b'a', b'b']),
                // An empty protocol name.
                (ext::ALPN, &[0, 1, 0]),
                (ext::SUPPORTED_VERSIONS, &[3, 3, 4, 3]),
                (ext::EXTENDED_MASTER_SECRET, &[1]),
            ],
        );
        let ch = parse_client_hello(&body).unwrap();
        assert_eq!(ch.random, [7; 32]);
        assert_eq!(ch.sni, None);
        assert!(ch.alpn.is_empty() && ch.supported_versions.is_empty());
        assert!(!ch.extended_master_secret);
        assert_eq!(ch.malformed_extensions, [0, 16, 43, 23]);

        // Non-UTF-8 names are shown, not dropped; other name types are skipped.
        let body = build_ch(
            &[0x1301],
            &[(ext::SERVER_NAME, &[0, 9, 7, 0, 1, b'z', 0, 0, 2, 0xff, b'a'])],
        );
        let ch = parse_client_hello(&body).unwrap();
        assert_eq!(ch.sni.as_deref(), Some("\u{fffd}a"));
    }

    #[test]
    fn hellos_without_extensions() {
        // SSL 3.0 / TLS 1.0 style: the extension block is absent.
        let mut body = build_ch(&[0x002f], &[]);
        body.truncate(body.len() - 2);
        let ch = parse_client_hello(&body).unwrap();
        assert_eq!(ch.cipher_suites, [0x002f]);
        assert!(ch.extensions.is_empty());

        let mut sh = vec![3, 1];
        sh.extend_from_slice(&[9; 32]);
        sh.extend_from_slice(&[0, 0x00, 0x2f, 0]);
        let sh = parse_server_hello(&sh).unwrap();
        assert_eq!((sh.version(), sh.cipher_suite), (0x0301, 0x002f));
    }

    #[test]
    fn framing_errors() {
        let good = build_ch(&[0x1301], &[(ext::KEY_SHARE, &[0, 0])]);
        // Trailing bytes after the extension block.
        let mut b = good.clone();
        b.push(0);
        assert_eq!(
            parse_client_hello(&b),
            Err(HandshakeError::Malformed("bytes after the extensions"))
        );
        // Odd cipher_suites length.
        let mut b = good.clone();
        b[35..37].copy_from_slice(&[0, 3]);
        assert_eq!(
            parse_client_hello(&b),
            Err(HandshakeError::Malformed("cipher_suites of odd length"))
        );
        // Impossible lengths: session id and extension list claiming everything.
        let mut b = good.clone();
        b[34] = 0xff;
        assert_eq!(
            parse_client_hello(&b),
            Err(HandshakeError::Truncated("session_id"))
        );
        let mut b = good.clone();
        let n = b.len();
        b[n - 8..n - 6].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(
            parse_client_hello(&b),
            Err(HandshakeError::Truncated("extensions"))
        );
        let mut b = good.clone();
        let n = b.len();
        b[n - 4..n - 2].copy_from_slice(&[0, 9]);
        assert_eq!(
            parse_client_hello(&b),
            Err(HandshakeError::Truncated("extension data"))
        );
    }

    #[test]
    fn every_prefix_fails_cleanly() {
        type Parses = fn(&[u8]) -> bool;
        let vectors: [(&str, Parses); 7] = [
            (RFC8448_CH, |b| parse_client_hello(b).is_ok()),
            (RFC8448_RESUMED_CH, |b| parse_client_hello(b).is_ok()),
            (RFC8448_SH, |b| parse_server_hello(b).is_ok()),
            (RFC8448_RESUMED_SH, |b| parse_server_hello(b).is_ok()),
            (RFC8448_HRR, |b| parse_server_hello(b).is_ok()),
            (RFC8448_EE, |b| parse_encrypted_extensions(b).is_ok()),
            (RFC8448_NST, |b| parse_new_session_ticket(b, true).is_ok()),
        ];
        for (i, (hex, parses)) in vectors.iter().enumerate() {
            let body = &unhex(hex)[4..];
            assert!(parses(body), "vector {i}");
            // A hello cut right after compression is an extension-less
            // hello (TLS 1.0 style); every other prefix is an error.
            let no_ext = match i {
                0 | 1 => Some(2 + 32 + 1 + 2 + 6 + 2),
                2..=4 => Some(2 + 32 + 1 + 2 + 1),
                _ => None,
            };
            for n in 0..body.len() {
                assert_eq!(parses(&body[..n]), Some(n) == no_ext, "vector {i} prefix {n}");
            }
        }
        let t12 = &cleartext_messages("tls12_full", 1)[4].body;
        for n in 0..t12.len() {
            assert!(parse_new_session_ticket(&t12[..n], false).is_err());
        }
        for n in 0..2 {
            assert!(parse_alert(&[2, 40][..n]).is_err());
        }
        assert!(parse_key_update(&[]).is_err());
    }

    #[test]
    fn reassembly_across_records_and_several_per_record() {
        // RFC 8448's server flight as one stream: ServerHello, then
        // EncryptedExtensions and NewSessionTicket.
        let mut stream = unhex(RFC8448_SH);
        stream.extend(unhex(RFC8448_EE));
        stream.extend(unhex(RFC8448_NST));
        stream.extend_from_slice(&[14, 0, 0, 0]); // an empty message
        let want: Vec<HandshakeMessage> = [RFC8448_SH, RFC8448_EE, RFC8448_NST]
            .iter()
            .map(|h| message(&unhex(h)))
            .chain([HandshakeMessage {
                typ: HandshakeType::SERVER_HELLO_DONE,
                body: vec![],
            }])
            .collect();
        // Every fragment size from 1 byte to the whole stream.
        for size in 1..=stream.len() {
            let mut r = HandshakeReassembler::new(1024);
            let mut out = Vec::new();
            for chunk in stream.chunks(size) {
                r.push(chunk, &mut out);
                // The longest message (NewSessionTicket) has 201 body bytes.
                assert!(r.pending() <= 4 + 201);
                assert!(r.heap_bytes() <= 201);
            }
            let got: Vec<_> = out.into_iter().map(Result::unwrap).collect();
            assert_eq!(got, want, "fragment size {size}");
            assert_eq!(r.pending(), 0);
            assert!(!r.mid_message());
        }
    }

    #[test]
    fn over_long_messages_are_reported_and_skipped() {
        let mut r = HandshakeReassembler::new(64);
        let mut out = Vec::new();
        // A 100-byte certificate, then a Finished of 4 bytes.
        let mut stream = vec![11, 0, 0, 100];
        stream.extend_from_slice(&[0xab; 100]);
        stream.extend_from_slice(&[20, 0, 0, 4, 1, 2, 3, 4]);
        for b in &stream {
            r.push(std::slice::from_ref(b), &mut out);
            assert!(r.heap_bytes() <= 64);
        }
        assert_eq!(
            out,
            [
                Err(HandshakeError::TooLong { typ: 11, len: 100 }),
                Ok(HandshakeMessage {
                    typ: HandshakeType::FINISHED,
                    body: vec![1, 2, 3, 4]
                })
            ]
        );
        // A claim of 16 MiB holds nothing.
        let mut r = HandshakeReassembler::default();
        let mut out = Vec::new();
        r.push(&[11, 0xff, 0xff, 0xff, 0, 0, 0], &mut out);
        assert_eq!(
            out,
            [Err(HandshakeError::TooLong {
                typ: 11,
                len: 0xffffff
            })]
        );
        assert_eq!((r.pending(), r.heap_bytes()), (0, 0));
        assert!(r.mid_message());
        // Exactly at the limit is fine.
        let mut r = HandshakeReassembler::new(3);
        let mut out = Vec::new();
        r.push(&[15, 0, 0, 3, 1, 2, 3], &mut out);
        assert!(out[0].is_ok());
    }

    #[test]
    fn reset_forgets_the_partial_message() {
        let mut r = HandshakeReassembler::default();
        let mut out = Vec::new();
        r.push(&[11, 0, 1, 0, 1, 2, 3], &mut out);
        assert_eq!(r.pending(), 7);
        assert!(r.mid_message());
        r.reset();
        assert_eq!((r.pending(), r.heap_bytes()), (0, 0));
        assert!(!r.mid_message());
        r.push(&[24, 0, 0, 1, 1], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(parse_key_update(&out[0].as_ref().unwrap().body), Ok(true));
        // A partial header is forgotten too.
        r.push(&[20, 0], &mut out);
        assert_eq!(r.pending(), 2);
        r.reset();
        r.push(&[24, 0, 0, 1, 0], &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn key_update_and_alert() {
        assert_eq!(parse_key_update(&[0]), Ok(false));
        assert_eq!(parse_key_update(&[1]), Ok(true));
        assert!(matches!(
            parse_key_update(&[2]),
            Err(HandshakeError::Malformed(_))
        ));
        assert!(matches!(
            parse_key_update(&[1, 0]),
            Err(HandshakeError::Malformed(_))
        ));

        let a = parse_alert(&[2, 40]).unwrap();
        assert_eq!(
            a,
            Alert {
                level: 2,
                description: 40
            }
        );
        assert_eq!(a.to_string(), "fatal handshake_failure");
        assert_eq!(parse_alert(&[1, 0]).unwrap().to_string(), "warning close_notify");
        assert_eq!(
            parse_alert(&[9, 200]).unwrap().to_string(),
            "level-9 description-200"
        );
        assert_eq!(
            parse_alert(&[2, 120]).unwrap().description_name(),
            Some("no_application_protocol")
        );
        assert!(matches!(
            parse_alert(&[2, 40, 0]),
            Err(HandshakeError::Malformed(_))
        ));
    }

    #[test]
    fn names() {
        assert_eq!(HandshakeType::CLIENT_HELLO.name(), Some("client_hello"));
        assert_eq!(HandshakeType::KEY_UPDATE.to_string(), "key_update");
        assert_eq!(HandshakeType(99).to_string(), "unknown-99");
        assert_eq!(
            HandshakeError::TooLong { typ: 11, len: 9 }.to_string(),
            "certificate message of 9 bytes is over the limit"
        );
    }
}
