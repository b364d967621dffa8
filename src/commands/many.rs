//! A command over several captures: each capture is analysed on its own
//! (they share nothing), several at once across the cores, and their
//! outputs are put together in the order the captures were named, as if
//! run one after another. A capture that cannot be read is reported and
//! skipped; the others are written, and the exit status says some failed.
//!
//! Streams (text, JSON Lines) go to a temporary file per capture, copied
//! to the output when every capture before it is out, so memory never
//! holds a capture's output. A dataset (Parquet) is written by each
//! capture into its own partition directly.

use crate::cli::{AnalysisArgs, InputArgs};
use crate::source::captures;
use anyhow::Context;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Where a command writes one capture's output.
pub enum Dest {
    Stdout,
    /// `-o FILE`, or a capture's share of a several-capture run.
    File(File),
    /// A dataset's directory (Parquet).
    Dir(PathBuf),
}

impl Dest {
    /// A function making the writer, to run on the thread that writes
    /// (standard output's lock cannot move between threads). A dataset
    /// writes no stream: its writer is standard output, left untouched.
    pub fn writer(self) -> impl FnOnce() -> Box<dyn Write> + Send + 'static {
        move || -> Box<dyn Write> {
            match self {
                Dest::File(f) => Box::new(std::io::BufWriter::with_capacity(1 << 16, f)),
                Dest::Stdout | Dest::Dir(_) => Box::new(std::io::BufWriter::with_capacity(
                    1 << 16,
                    std::io::stdout().lock(),
                )),
            }
        }
    }
}

/// Which capture of a several-capture run an output is of.
#[derive(Clone, Debug, Default)]
pub struct Part {
    /// The capture's name ([`captures::name`]): JSON Lines records carry
    /// it as `capture`; the text timeline and tables start with a
    /// `# capture: NAME` line. `None` for a run over one capture.
    pub capture: Option<String>,
    /// The first and the last capture of the run (a format with one
    /// header and one footer writes them there only).
    pub first: bool,
    pub last: bool,
}

/// Memory below which a capture's share of `--max-memory` is not cut.
const MIN_SHARE: usize = 256 << 20;

/// Creates `-o FILE`, saying which file could not be.
pub fn create_output(path: &Path) -> anyhow::Result<File> {
    File::create(path).with_context(|| format!("cannot create the output file {}", path.display()))
}

/// Whether two paths name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Runs `job` for every capture of `input` (`input.captures`), with
/// `--threads` shared out: as many captures at once as threads (each with
/// the rest of the threads, and an equal share of `--max-memory`).
/// Streams are put together in capture order into `output` (standard
/// output without it); with `dataset`, `output` is the directory each job
/// writes into. Returns the combined exit status: 2 when a capture
/// failed (each said on stderr), else 3 when one was truncated, else 1
/// when no capture had what was selected, else 0.
pub fn run_each<F>(
    input: &InputArgs,
    analysis: &AnalysisArgs,
    output: Option<&Path>,
    dataset: bool,
    job: F,
) -> anyhow::Result<u8>
where
    F: Fn(&InputArgs, &Part, &AnalysisArgs, Dest) -> anyhow::Result<u8> + Sync,
{
    let caps = &input.captures;
    let threads = analysis.threads();
    let jobs = threads.min(caps.len()).max(1);
    let mut each = analysis.clone();
    each.threads = Some(u16::try_from((threads / jobs).max(1)).unwrap_or(1));
    each.max_memory = (analysis.max_memory / jobs).max(MIN_SHARE.min(analysis.max_memory));
    let mut out: Box<dyn Write> = match output {
        Some(p) if !dataset => Box::new(std::io::BufWriter::new(create_output(p)?)),
        _ => Box::new(std::io::stdout().lock()),
    };
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, anyhow::Result<u8>, Option<File>)>();
    let mut statuses: Vec<Option<u8>> = vec![None; caps.len()];
    let result = std::thread::scope(|s| -> anyhow::Result<()> {
        for _ in 0..jobs {
            let (tx, next, job, each) = (tx.clone(), &next, &job, &each);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(cap) = caps.get(i) else { break };
                    let mut one = input.for_capture(cap);
                    // Progress lines of captures run side by side would fight.
                    one.quiet = true;
                    let part = Part {
                        capture: Some(captures::name(cap)),
                        first: i == 0,
                        last: i + 1 == caps.len(),
                    };
                    let (r, file) = match (dataset, output) {
                        (true, Some(dir)) => (job(&one, &part, each, Dest::Dir(dir.to_path_buf())), None),
                        _ => match tempfile::tempfile().and_then(|f| Ok((f.try_clone()?, f))) {
                            Ok((w, f)) => (job(&one, &part, each, Dest::File(w)), Some(f)),
                            Err(e) => (Err(anyhow::anyhow!("cannot create a temporary file: {e}")), None),
                        },
                    };
                    if tx.send((i, r, file)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut done = BTreeMap::new();
        let mut want = 0;
        for msg in rx {
            done.insert(msg.0, msg);
            while let Some((i, r, file)) = done.remove(&want) {
                want += 1;
                let cap = caps.get(i).map(|c| c.display().to_string()).unwrap_or_default();
                match r {
                    Ok(status) => {
                        statuses[i] = Some(status);
                        if let Some(mut f) = file {
                            f.rewind()?;
                            std::io::copy(&mut f, &mut out)?;
                        }
                    }
                    Err(e) => {
                        if is_broken_pipe(&e) {
                            next.store(usize::MAX / 2, Ordering::Relaxed);
                            return Err(e);
                        }
                        eprintln!(
                            "wsscope: {}: {} (skipped; the other captures are written)",
                            crate::output::text::sanitize_str(&cap),
                            crate::output::text::sanitize_str(&format!("{e:#}"))
                        );
                    }
                }
            }
        }
        Ok(())
    });
    result?;
    out.flush()?;
    Ok(combined(&statuses))
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit status of a run over captures whose own were `statuses`
/// (`None`: it failed).
fn combined(statuses: &[Option<u8>]) -> u8 {
    if statuses.iter().any(Option::is_none) {
        2
    } else if statuses.contains(&Some(super::EXIT_TRUNCATED)) {
        super::EXIT_TRUNCATED
    } else if !statuses.is_empty() && statuses.iter().all(|s| *s == Some(1)) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::combined;

    #[test]
    fn statuses_combine_by_severity() {
        assert_eq!(combined(&[Some(0), Some(1)]), 0, "something selected somewhere");
        assert_eq!(combined(&[Some(1), Some(1)]), 1, "nothing selected anywhere");
        assert_eq!(combined(&[Some(0), Some(3)]), 3);
        assert_eq!(
            combined(&[Some(3), None, Some(0)]),
            2,
            "a failed capture says most"
        );
    }
}
