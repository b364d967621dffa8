//! A copy of an input that cannot be read twice (standard input, a live
//! capture), so that payloads can be fetched from it later.

use crate::source::pcap_writer::PcapWriter;
use crate::source::{LinkType, Packet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A temporary file (removed when the last handle goes) or a file the user
/// named (`-w`, kept).
#[derive(Clone, Debug)]
pub struct Spool {
    path: PathBuf,
    /// Keeps a temporary file alive.
    _temp: Option<Arc<tempfile::TempPath>>,
}

impl Spool {
    /// A new temporary spool file (in `$TMPDIR`).
    pub fn temporary() -> io::Result<(Spool, File)> {
        let f = tempfile::Builder::new()
            .prefix("wsscope-spool-")
            .suffix(".pcap")
            .tempfile()?;
        let (file, path) = f.into_parts();
        let spool = Spool {
            path: path.to_path_buf(),
            _temp: Some(Arc::new(path)),
        };
        Ok((spool, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Copies every byte read from `inner` into the spool file: positions in
/// the stream are positions in the file.
pub struct Tee<R> {
    pub inner: R,
    pub copy: File,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(b) = buf.get(..n) {
            // Written before the bytes are handed on: a packet is in the
            // file before anything can ask for it.
            self.copy.write_all(b)?;
        }
        Ok(n)
    }
}

/// Writes live packets to the spool as a pcap file, saying where each
/// record starts.
pub struct PacketSpool {
    writer: Option<PcapWriter<File>>,
    file: Option<File>,
    /// Bytes written so far: where the next record starts.
    written: u64,
}

impl PacketSpool {
    pub fn new(file: File) -> PacketSpool {
        PacketSpool {
            writer: None,
            file: Some(file),
            written: 0,
        }
    }

    /// The file header's place, once the first packet wrote it.
    pub const HEADER: (u64, u32) = (0, 24);

    /// Appends `pkt` (unbuffered: it is in the file when this returns);
    /// returns where its record starts, or `None` when the spool cannot be
    /// written (then payloads not held cannot be fetched).
    pub fn write(&mut self, pkt: &Packet<'_>) -> Option<u64> {
        if self.writer.is_none() {
            let file = self.file.take()?;
            let link: LinkType = pkt.link;
            self.writer = PcapWriter::new(file, link, 262_144).ok();
            self.written = u64::from(Self::HEADER.1);
        }
        let w = self.writer.as_mut()?;
        let at = self.written;
        if w.write(pkt).is_err() {
            self.writer = None;
            return None;
        }
        // A pcap record: 16 bytes of header, then the captured bytes.
        self.written += 16 + pkt.data.len() as u64;
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The temporary file lives as long as a handle to it does.
    #[test]
    fn temporary_spool_goes_with_its_last_handle() {
        let (spool, mut file) = Spool::temporary().unwrap();
        file.write_all(b"x").unwrap();
        let path = spool.path().to_path_buf();
        let other = spool.clone();
        drop(spool);
        assert!(path.exists());
        drop(other);
        assert!(!path.exists());
    }
}
