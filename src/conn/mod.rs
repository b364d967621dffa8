//! Per-connection protocol stacks: which layers run on a TCP connection
//! ([`probe`]) and the stack that routes its stream through them ([`stack`]).
//!
//! The analyzer owns one [`ConnStack`] per TCP connection and holds no
//! protocol policy itself: it hands the stack TCP's [`crate::stream::StreamInput`]
//! and the connection's end.

pub mod probe;
pub mod stack;

pub use probe::{PayloadClassifier, Probe, ProbeHints, Proto};
pub use stack::ConnStack;
