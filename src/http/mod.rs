//! HTTP/1.1: the upgrade handshake (nom, streaming) and the accept key.
