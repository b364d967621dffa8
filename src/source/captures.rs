//! Which capture files a command reads: its FILE arguments, each a path,
//! a directory (the captures in it) or a glob pattern the shell left
//! unexpanded (`'caps/*.pcap*'`, as Spark and cron jobs pass them), and
//! the name each capture goes by in the outputs (the `capture` column).

use anyhow::bail;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File names a directory argument contributes.
const CAPTURE_SUFFIXES: [&str; 5] = [".pcap", ".pcapng", ".cap", ".pcap.ng", ".ntar"];

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The captures `args` name, in the order given; a directory's and a
/// pattern's in name order. `-` (standard input) is taken as it is. An
/// argument naming nothing is an error that says which.
pub fn expand(args: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        let text = a.to_string_lossy();
        if a.as_os_str() == "-" || a.exists() && !a.is_dir() {
            out.push(a.clone());
        } else if a.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(a)
                .map_err(|e| anyhow::anyhow!("cannot list the directory {}: {e}", a.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .map(|n| n.to_string_lossy().to_ascii_lowercase())
                            .is_some_and(|n| CAPTURE_SUFFIXES.iter().any(|s| n.ends_with(s)))
                })
                .collect();
            found.sort();
            if found.is_empty() {
                bail!(
                    "the directory {} holds no capture (files named *.pcap, *.pcapng or *.cap)",
                    a.display()
                );
            }
            out.extend(found);
        } else if is_pattern(&text) {
            let paths =
                glob::glob(&text).map_err(|e| anyhow::anyhow!("{text:?} is not a valid pattern: {e}"))?;
            let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
            found.sort();
            if found.is_empty() {
                bail!("no capture file matches {text:?}");
            }
            out.extend(found);
        } else {
            // Opening it says why (missing, unreadable) with the usual message.
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// The name a capture goes by in the outputs: its file name (`stdin` for `-`).
pub fn name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return "stdin".into();
    }
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Refuses two captures that would go by one name: their rows (and
/// partitions) could not be told apart.
pub fn check_names(captures: &[PathBuf]) -> anyhow::Result<()> {
    let mut seen: BTreeMap<String, &Path> = BTreeMap::new();
    for c in captures {
        if let Some(first) = seen.insert(name(c), c) {
            bail!(
                "{} and {} are both named {:?}: their rows would carry the same `capture`; \
                 rename one (or link it under another name) and run again",
                first.display(),
                c.display(),
                name(c)
            );
        }
    }
    if captures.len() > 1 && captures.iter().any(|c| c.as_os_str() == "-") {
        bail!(
            "standard input (`-`) can only be read alone: save it to a file to analyse it with other captures"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_patterns_and_directories_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.pcap", "a.pcapng", "notes.txt", "c.cap"] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let d = dir.path();
        let got = expand(&[d.join("*.pcap*")]).unwrap();
        assert_eq!(got, vec![d.join("a.pcapng"), d.join("b.pcap")]);
        let got = expand(&[d.to_path_buf()]).unwrap();
        assert_eq!(got, vec![d.join("a.pcapng"), d.join("b.pcap"), d.join("c.cap")]);
        // Given paths keep their order; `-` passes.
        let got = expand(&[d.join("c.cap"), PathBuf::from("-"), d.join("b.pcap")]).unwrap();
        assert_eq!(got, vec![d.join("c.cap"), PathBuf::from("-"), d.join("b.pcap")]);
        let e = expand(&[d.join("*.zzz")]).unwrap_err().to_string();
        assert!(e.contains("no capture file matches"), "{e}");
        let e = expand(&[d.join("sub")]).map(|v| v.len());
        assert_eq!(e.ok(), Some(1), "a missing path is left for opening to report");
    }

    #[test]
    fn names_must_differ() {
        assert_eq!(name(Path::new("/x/y/cap.pcap")), "cap.pcap");
        assert_eq!(name(Path::new("-")), "stdin");
        let twice = [PathBuf::from("a/x.pcap"), PathBuf::from("b/x.pcap")];
        assert!(
            check_names(&twice)
                .unwrap_err()
                .to_string()
                .contains("both named \"x.pcap\"")
        );
        assert!(check_names(&[PathBuf::from("a/x.pcap"), PathBuf::from("a/y.pcap")]).is_ok());
    }
}
