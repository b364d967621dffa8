//! Output identity: every output variant on every capture prints exactly what
//! the baseline binary (built from the commit pinned in
//! `tests/identical/record.sh`) printed, byte for byte.
//!
//! `tests/identical/manifest.tsv` holds one row per capture × variant: the
//! exit code, sha256 and length of stdout, sha256 of stderr, sha256 of any
//! file or directory written through `{out}`, and the argument list. The
//! variants are defined only in `record.sh`; this test reads the arguments
//! back from the manifest and runs each row the way `record.sh`'s `run_row`
//! does (see the comment at the top of record.sh).
//!
//! * `WSSCOPE_BIN=/path/to/wsscope` tests that binary instead of the one cargo
//!   built (e.g. the baseline itself, when the tree does not compile).
//! * `WSSCOPE_IDENTICAL_JOBS=N` runs N rows at once (default 4).
//! * A mismatch prints the command line to reproduce it and
//!   `tests/identical/diff.sh CAPTURE VARIANT`, which diffs the outputs of the
//!   baseline and the current release binary.

use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const MANIFEST: &str = "tests/identical/manifest.tsv";
const CORPUS: &str = "../shared/corpus";
const FIXTURES: &str = "fixtures";
/// A row that runs longer than this is reported as hung (debug builds are slow).
const ROW_TIMEOUT: Duration = Duration::from_secs(300);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn binary() -> PathBuf {
    match std::env::var_os("WSSCOPE_BIN").filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            let p = if p.is_absolute() {
                p
            } else {
                std::env::current_dir().unwrap().join(p)
            };
            assert!(p.is_file(), "WSSCOPE_BIN={} is not a file", p.display());
            p
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_wsscope")),
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    exit: i32,
    stdout_sha256: String,
    stderr_sha256: String,
    stdout_len: u64,
    out_sha256: String,
}

#[derive(Clone, Debug)]
struct Row {
    line: usize,
    capture: String,
    variant: String,
    args: String,
    expected: Outcome,
}

fn manifest() -> Vec<Row> {
    let path = root().join(MANIFEST);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record it with tests/identical/record.sh",
            path.display()
        )
    });
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            f.len(),
            8,
            "{MANIFEST}:{}: expected 8 tab-separated columns",
            i + 1
        );
        let num = |s: &str, what: &str| -> i64 {
            s.parse()
                .unwrap_or_else(|_| panic!("{MANIFEST}:{}: {what} {s:?} is not a number", i + 1))
        };
        rows.push(Row {
            line: i + 1,
            capture: f[0].to_string(),
            variant: f[1].to_string(),
            args: f[7].to_string(),
            expected: Outcome {
                exit: num(f[2], "exit") as i32,
                stdout_sha256: f[3].to_string(),
                stderr_sha256: f[4].to_string(),
                stdout_len: num(f[5], "stdout_len") as u64,
                out_sha256: f[6].to_string(),
            },
        });
    }
    rows
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces every occurrence of `from` in `data` with `to`.
fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// The out_sha256 column for what a row left at `p` (see record.sh's hash_out).
fn hash_out(p: &Path) -> String {
    let Ok(meta) = fs::metadata(p) else {
        return "-".into();
    };
    if meta.is_file() {
        return sha256_hex(&fs::read(p).unwrap());
    }
    if meta.is_dir() {
        use std::os::unix::ffi::OsStrExt;
        let mut names: Vec<Vec<u8>> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().as_bytes().to_vec())
            .collect();
        names.sort();
        let mut listing = Vec::new();
        for name in names {
            let entry = p.join(std::ffi::OsStr::from_bytes(&name));
            listing.extend_from_slice(&name);
            listing.push(b' ');
            let regular = fs::symlink_metadata(&entry)
                .map(|m| m.file_type().is_file())
                .unwrap_or(false);
            if regular {
                listing.extend_from_slice(sha256_hex(&fs::read(&entry).unwrap()).as_bytes());
            } else {
                listing.push(b'-');
            }
            listing.push(b'\n');
        }
        return sha256_hex(&listing);
    }
    "-".into()
}

/// The argument list of a row: `{cap}` → the capture, `{out}` → `out`.
fn argv(row: &Row, out: &str) -> Vec<String> {
    row.args
        .split(' ')
        .filter(|a| !a.is_empty())
        .map(|a| match a {
            "{cap}" => row.capture.clone(),
            "{out}" => out.to_string(),
            a => a.to_string(),
        })
        .collect()
}

fn uses_out(row: &Row) -> bool {
    row.args.split(' ').any(|a| a == "{out}")
}

/// Runs one row as record.sh does. Returns the outcome and the (normalised)
/// stderr, for the report.
fn run_row(bin: &Path, row: &Row) -> Result<(Outcome, Vec<u8>), String> {
    let work = tempfile::Builder::new()
        .prefix("wsscope-identical.")
        .tempdir()
        .map_err(|e| format!("tempdir: {e}"))?;
    let out = work.path().join("out");
    let out_str = out.to_str().expect("temp paths are UTF-8").to_string();
    let stdout_path = work.path().join("stdout");
    let stderr_path = work.path().join("stderr");
    let stdin = File::open(root().join(&row.capture)).map_err(|e| format!("{}: {e}", row.capture))?;
    let mut child = Command::new(bin)
        .args(argv(row, &out_str))
        .current_dir(root())
        .env_clear()
        .env("LC_ALL", "C")
        .env("NO_COLOR", "1")
        .env("TZ", "UTC")
        .stdin(Stdio::from(stdin))
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > ROW_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {ROW_TIMEOUT:?}: killed"));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let exit = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    let mut stdout = fs::read(&stdout_path).unwrap();
    let mut stderr = fs::read(&stderr_path).unwrap();
    if uses_out(row) {
        stdout = replace_all(&stdout, out_str.as_bytes(), b"{out}");
        stderr = replace_all(&stderr, out_str.as_bytes(), b"{out}");
    }
    let outcome = Outcome {
        exit,
        stdout_sha256: sha256_hex(&stdout),
        stderr_sha256: sha256_hex(&stderr),
        stdout_len: stdout.len() as u64,
        out_sha256: if uses_out(row) { hash_out(&out) } else { "-".into() },
    };
    Ok((outcome, stderr))
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn report(bin: &Path, row: &Row, result: &Result<(Outcome, Vec<u8>), String>) -> String {
    let e = &row.expected;
    let mut msg = format!("{}  {}  ({MANIFEST}:{})\n", row.capture, row.variant, row.line);
    match result {
        Err(why) => msg += &format!("  {why}\n"),
        Ok((got, stderr)) => {
            if got.exit != e.exit {
                msg += &format!("  exit code: expected {}, got {}\n", e.exit, got.exit);
            }
            if got.stdout_sha256 != e.stdout_sha256 || got.stdout_len != e.stdout_len {
                msg += &format!(
                    "  stdout differs: expected {} bytes sha256 {}, got {} bytes sha256 {}\n",
                    e.stdout_len, e.stdout_sha256, got.stdout_len, got.stdout_sha256
                );
            }
            if got.stderr_sha256 != e.stderr_sha256 {
                let shown = String::from_utf8_lossy(&stderr[..stderr.len().min(600)]).into_owned();
                msg += &format!(
                    "  stderr differs: expected sha256 {}, got {}; it now reads:\n    {}\n",
                    e.stderr_sha256,
                    got.stderr_sha256,
                    shown.trim_end().replace('\n', "\n    ")
                );
            }
            if got.out_sha256 != e.out_sha256 {
                msg += &format!(
                    "  file(s) written to {{out}} differ: expected {}, got {}\n",
                    e.out_sha256, got.out_sha256
                );
            }
        }
    }
    let args: Vec<String> = argv(row, "/tmp/wsscope-identical-out")
        .iter()
        .map(|a| shell_quote(a))
        .collect();
    msg += &format!(
        "  reproduce: cd {} && rm -rf /tmp/wsscope-identical-out && env -i LC_ALL=C NO_COLOR=1 TZ=UTC {} {} < {}\n",
        shell_quote(&root().display().to_string()),
        shell_quote(&bin.display().to_string()),
        args.join(" "),
        shell_quote(&row.capture)
    );
    msg += &format!(
        "  diff against the baseline: tests/identical/diff.sh {} {}\n",
        shell_quote(&row.capture),
        row.variant
    );
    msg
}

/// Runs `rows` in parallel and panics with a report if any differs.
fn check_rows(rows: &[Row]) {
    let bin = binary();
    let jobs = std::env::var("WSSCOPE_IDENTICAL_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(4usize)
        .max(1);
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(row) = rows.get(i) else { break };
                    let result = run_row(&bin, row);
                    let ok = matches!(&result, Ok((got, _)) if *got == row.expected);
                    if !ok {
                        failures.lock().unwrap().push((i, report(&bin, row, &result)));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    eprintln!(
        "identical: {} rows with {} in {:.1?}, {} differ",
        rows.len(),
        bin.display(),
        started.elapsed(),
        failures.len()
    );
    if failures.is_empty() {
        return;
    }
    failures.sort_by_key(|(i, _)| *i);
    let mut by_variant = std::collections::BTreeMap::<&str, usize>::new();
    for (i, _) in &failures {
        *by_variant.entry(rows[*i].variant.as_str()).or_default() += 1;
    }
    const SHOWN: usize = 25;
    let mut msg = format!(
        "{} of {} rows differ from the baseline recorded in {MANIFEST}\nby variant: {}\n\n",
        failures.len(),
        rows.len(),
        by_variant
            .iter()
            .map(|(v, n)| format!("{v} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (_, f) in failures.iter().take(SHOWN) {
        msg += f;
        msg += "\n";
    }
    if failures.len() > SHOWN {
        msg += &format!("... and {} more\n", failures.len() - SHOWN);
    }
    panic!("{msg}");
}

/// The captures record.sh runs in `dir` (relative to the repository root, as
/// the manifest writes them).
fn captures_in(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut caps: Vec<String> = fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| keep(n))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    caps.sort();
    caps
}

/// Rows of the captures under `dir`, after checking that every capture there
/// has rows (a capture added since the recording must be recorded too).
fn rows_for(dir: &str, captures: &[String]) -> Vec<Row> {
    let prefix = format!("{dir}/");
    let rows: Vec<Row> = manifest()
        .into_iter()
        .filter(|r| r.capture.starts_with(&prefix))
        .collect();
    let missing: Vec<&String> = captures
        .iter()
        .filter(|c| !rows.iter().any(|r| &r.capture == *c))
        .collect();
    assert!(
        missing.is_empty(),
        "captures with no rows in {MANIFEST} (re-record with tests/identical/record.sh): {missing:?}"
    );
    assert!(!rows.is_empty(), "{MANIFEST} has no rows for {dir}/");
    rows
}

#[test]
fn fixtures_output_identical_to_baseline() {
    let caps = captures_in(FIXTURES, |n| n.ends_with(".pcap") || n.ends_with(".pcapng"));
    check_rows(&rows_for(FIXTURES, &caps));
}

#[test]
#[ignore = "needs ../shared/corpus"]
fn corpus_output_identical_to_baseline() {
    assert!(
        root().join(CORPUS).is_dir(),
        "{CORPUS} (beside the checkout) is missing: this test needs the shared corpus"
    );
    let caps = captures_in(CORPUS, |n| {
        !(n.starts_with("README")
            || n.starts_with("PROVENANCE")
            || n.ends_with(".md")
            || n.ends_with(".tsv")
            || n.ends_with(".txt"))
    });
    check_rows(&rows_for(CORPUS, &caps));
}
