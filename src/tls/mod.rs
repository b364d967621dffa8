//! TLS: the record layer and the cleartext handshake, read passively.
//!
//! - [`reader`]: the checked reader every parser here reads wire bytes with.
//!
//! Everything here is pure parsing over byte slices: no TCP, no crypto, no
//! events. Wire data is never indexed or unwrapped.

pub mod reader;
