//! TLS: the record layer and the cleartext handshake, read passively.
//!
//! - [`record`]: record headers, the connection probe's sniffing
//!   (`looks_like_client_hello`) and resynchronisation after a TCP gap.
//! - [`hello`]: handshake messages reassembled across records (and several
//!   per record), and the facts of ClientHello, ServerHello,
//!   EncryptedExtensions, NewSessionTicket, KeyUpdate and alerts.
//! - [`reader`]: the checked reader every parser here reads wire bytes with.
//!
//! Everything here is pure parsing over byte slices: no TCP, no crypto, no
//! events. Wire data is never indexed or unwrapped.

pub mod hello;
pub mod reader;
pub mod record;
