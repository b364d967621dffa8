//! Export effects: formatting is pure (done by the app), writing the file is
//! the run loop's job.

use std::path::PathBuf;

/// A file the user asked for: written by the run loop, reported by the app.
#[derive(Debug, PartialEq)]
pub struct ExportJob {
    pub path: PathBuf,
    pub contents: Vec<u8>,
    /// What was written, for the status line.
    pub summary: String,
}

/// `hexdump -C` layout, from the shared export formatter (so the TUI's `e`
/// and `wsscope export --format hexdump` write the same bytes).
pub(crate) fn hexdump(data: &[u8], out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    let _ = crate::output::hexdump::hexdump_c(data, true, out);
}

/// Writes an export job's file.
pub fn write(job: &ExportJob) -> std::io::Result<()> {
    std::fs::write(&job.path, &job.contents)
}
