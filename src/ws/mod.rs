//! WebSocket: frames, messages, permessage-deflate, RFC 6455 rules, and the
//! per-connection HTTP → WebSocket state machine ([`Session`]).
//!
//! (Skeleton: interface fixed by the analyzer; implementation in progress.)
