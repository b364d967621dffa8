//! Export effects: formatting is pure (done by the app), writing the file is
//! the run loop's job.

use super::app::ExportJob;

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
