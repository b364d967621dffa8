//! HTTP/2 (RFC 9113) on a connection, as far as WebSocket needs it: the
//! frame layer ([`frame`]), header blocks ([`hpack`]), and the layer that
//! follows the streams and opens a WebSocket session on each extended
//! CONNECT (RFC 8441) ([`layer`]).

pub mod frame;
pub mod hpack;
pub mod layer;
pub mod stream;

pub use layer::H2Layer;

#[cfg(test)]
mod tests;
