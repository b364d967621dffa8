//! tshark/tcpdump habits on the command line: `-r FILE`, `-t` time formats,
//! live-only options refused for a file, exit status 3 for a truncated
//! capture, and the progress line on a terminal.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const FIXTURE: &str = "fixtures/py_basic.pcap";

fn fixture() -> PathBuf {
    common::root().join(FIXTURE)
}

fn wsscope(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsscope"));
    cmd.args(args).env("TZ", "UTC").env_remove("SSLKEYLOGFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn run(args: &[&str]) -> Output {
    wsscope(args, &[])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn with_stdin(args: &[&str], input: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(input).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    child.wait_with_output().unwrap()
}

#[test]
fn dash_r_reads_the_file_like_the_positional_argument() {
    let f = fixture();
    let f = f.to_str().unwrap();
    for args in [
        vec!["dump"],
        vec!["dump", "--format", "jsonl"],
        vec!["conns"],
        vec!["export", "--format", "xxd"],
        vec![],
    ] {
        let mut positional = args.clone();
        positional.push(f);
        let mut dash_r = args.clone();
        dash_r.extend(["-r", f]);
        let (a, b) = (run(&positional), run(&dash_r));
        assert!(
            a.status.success() && b.status.success(),
            "{args:?}: {}",
            stderr(&b)
        );
        assert!(!a.stdout.is_empty(), "{args:?}");
        assert_eq!(a.stdout, b.stdout, "{args:?}");
    }
    // `-r -` reads standard input.
    let from_file = run(&["conns", "--format", "jsonl", f]);
    let from_stdin = with_stdin(&["conns", "--format", "jsonl", "-r", "-"], &fixture());
    assert!(from_stdin.status.success(), "{}", stderr(&from_stdin));
    assert_eq!(from_stdin.stdout, from_file.stdout);
    let dump = with_stdin(&["dump", "-r", "-"], &fixture());
    assert_eq!(dump.stdout, run(&["dump", f]).stdout);
}

#[test]
fn dash_r_and_a_positional_file_together_is_an_error_that_says_so() {
    let f = fixture();
    let f = f.to_str().unwrap();
    for args in [
        vec!["dump", "-r", f, f],
        vec!["conns", f, "-r", f],
        vec!["export", "-r", f, f],
        vec!["-r", f, f],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("given twice") && err.contains("-r FILE or as FILE"),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn live_only_options_with_a_file_say_what_to_do_and_exit_2() {
    let f = fixture();
    let f = f.to_str().unwrap();
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["-w", "/tmp/never-written.pcap"],
            &[
                "-w saves a live capture",
                "wsscope export --format pcap -o OUT FILE",
            ],
        ),
        (
            &["-f", "tcp port 80"],
            &[
                "BPF",
                "--select",
                "--conn",
                "tcpdump -r FILE -w OUT 'tcp port 80'",
            ],
        ),
        (&["--duration", "5"], &["--duration stops a live capture", "-c N"]),
        (&["--snaplen", "64"], &["--snaplen", "live capture"]),
    ];
    for (opt, says) in cases {
        for cmd in [&["dump"][..], &["conns"], &["export"], &[]] {
            let mut args = cmd.to_vec();
            args.extend_from_slice(opt);
            args.push(f);
            let o = run(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = stderr(&o);
            for s in says {
                assert!(err.contains(s), "{args:?}: {s:?} not in {err}");
            }
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(o.stdout.is_empty(), "{args:?}");
        }
    }
    assert!(!Path::new("/tmp/never-written.pcap").exists());
}

// ---- -t ----

/// A JSON Lines record's `ts` ("ts":1795239649.624127000) as nanoseconds,
/// read from the line's text (a JSON parser would make it a float).
fn ts_nanos(line: &str) -> i128 {
    let at = line.find("\"ts\":").unwrap() + 5;
    let text: String = line[at..]
        .chars()
        .take_while(|c| *c == '-' || *c == '.' || c.is_ascii_digit())
        .collect();
    let (secs, frac) = text.split_once('.').unwrap();
    assert_eq!(frac.len(), 9, "{text}");
    assert!(!secs.starts_with('-'), "{text}");
    secs.parse::<i128>().unwrap() * 1_000_000_000 + frac.parse::<i128>().unwrap()
}

/// Days since 1970-01-01 as (year, month, day): the proleptic Gregorian
/// calendar (H. Hinnant's civil_from_days), for checking dates without the
/// crate the program uses.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn time_of_day(nanos: i128, offset_secs: i128) -> String {
    let t = nanos + offset_secs * 1_000_000_000;
    let secs = t.div_euclid(1_000_000_000);
    let micros = t.rem_euclid(1_000_000_000) / 1000;
    let day = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{micros:06}",
        day / 3600,
        day / 60 % 60,
        day % 60
    )
}

fn date_time(nanos: i128, offset_secs: i128) -> String {
    let secs = (nanos + offset_secs * 1_000_000_000).div_euclid(1_000_000_000);
    let (y, m, d) = civil(secs.div_euclid(86_400) as i64);
    format!("{y:04}-{m:02}-{d:02} {}", time_of_day(nanos, offset_secs))
}

fn seconds(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let micros = nanos.abs() / 1000;
    format!("{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// The text dump's lines as (time column, rest), split at the first ` #`
/// (every line names its connection) or the first space.
fn split_lines(out: &[u8]) -> Vec<(String, String)> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            let at = l.find(" #").unwrap_or_else(|| l.find(' ').unwrap());
            (l[..at].to_string(), l[at..].to_string())
        })
        .collect()
}

/// The time of each text line (of `dump -t u`), as the nanoseconds of the
/// JSON Lines record it shows — found by its UTC time of day, which the
/// record's `ts` gives independently.
fn line_times(path: &str) -> (Vec<i128>, i128) {
    let jsonl = run(&["dump", "--format", "jsonl", path]);
    let all: Vec<i128> = String::from_utf8(jsonl.stdout)
        .unwrap()
        .lines()
        .map(ts_nanos)
        .collect();
    let first = *all.iter().min().unwrap();
    let text = run(&["dump", "-t", "u", path]);
    let times = split_lines(&text.stdout)
        .iter()
        .map(|(t, _)| {
            *all.iter()
                .find(|n| &time_of_day(**n, 0) == t)
                .unwrap_or_else(|| panic!("no JSON Lines record at {t}"))
        })
        .collect::<Vec<_>>();
    assert!(times.len() > 10);
    (times, first)
}

fn check_format(path: &str, format: &str, tz: &str, expected: &[String]) {
    let out = wsscope(&["dump", "-t", format, path], &[("TZ", tz)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = split_lines(&out.stdout);
    let base = split_lines(&run(&["dump", path]).stdout);
    assert_eq!(lines.len(), expected.len(), "-t {format}");
    for (i, ((time, rest), want)) in lines.iter().zip(expected).enumerate() {
        assert_eq!(time, want, "-t {format} TZ={tz}, line {i}");
        assert_eq!(rest, &base[i].1, "-t {format}: only the time changes");
    }
}

#[test]
fn every_time_format_shows_the_json_lines_ts() {
    let f = fixture();
    let path = f.to_str().unwrap();
    let (times, first) = line_times(path);
    let map = |g: &dyn Fn(i128) -> String| times.iter().map(|n| g(*n)).collect::<Vec<_>>();
    check_format(path, "u", "UTC", &map(&|n| time_of_day(n, 0)));
    check_format(path, "u", "JST-9", &map(&|n| time_of_day(n, 0)));
    check_format(path, "ud", "JST-9", &map(&|n| date_time(n, 0)));
    check_format(path, "e", "JST-9", &map(&seconds));
    check_format(path, "r", "UTC", &map(&|n| seconds(n - first)));
    let mut deltas = Vec::new();
    let mut prev = None;
    for n in &times {
        deltas.push(seconds(n - prev.unwrap_or(*n)));
        prev = Some(*n);
    }
    check_format(path, "d", "UTC", &deltas);
    // Local time: TZ=UTC, a POSIX rule nine hours east, and the zone
    // database's Tokyo (when tzdata is installed).
    check_format(path, "a", "UTC", &map(&|n| time_of_day(n, 0)));
    check_format(path, "ad", "UTC", &map(&|n| date_time(n, 0)));
    check_format(path, "a", "JST-9", &map(&|n| time_of_day(n, 9 * 3600)));
    check_format(path, "ad", "JST-9", &map(&|n| date_time(n, 9 * 3600)));
    check_format(path, "a", "EST5", &map(&|n| time_of_day(n, -5 * 3600)));
    if Path::new("/usr/share/zoneinfo/Asia/Tokyo").exists() {
        check_format(path, "ad", "Asia/Tokyo", &map(&|n| date_time(n, 9 * 3600)));
    }
}

#[test]
fn the_default_is_utc_time_of_day_and_json_lines_ignore_dash_t() {
    let f = fixture();
    let path = f.to_str().unwrap();
    let default = run(&["dump", path]);
    assert_eq!(default.stdout, run(&["dump", "-t", "u", path]).stdout);
    // The local zone does not change the default.
    assert_eq!(
        default.stdout,
        wsscope(&["dump", path], &[("TZ", "JST-9")]).stdout
    );
    let jsonl = run(&["dump", "--format", "jsonl", path]);
    for t in ["a", "ad", "r", "d", "e", "ud"] {
        let o = wsscope(&["dump", "--format", "jsonl", "-t", t, path], &[("TZ", "JST-9")]);
        assert_eq!(o.stdout, jsonl.stdout, "-t {t}");
    }
    // The text timeline printed when stdout is not a terminal takes -t too.
    let timeline = run(&["-t", "r", path]);
    assert_eq!(timeline.stdout, run(&["dump", "-t", "r", path]).stdout);
    assert!(String::from_utf8_lossy(&timeline.stdout).starts_with("0.000000 #0 open"));
    let bad = run(&["dump", "-t", "x", path]);
    assert_eq!(bad.status.code(), Some(2));
}

// ---- truncated captures ----

/// The fixture cut in the middle of a record, as `head -c 3000` cuts it.
fn cut_fixture(dir: &Path) -> PathBuf {
    let bytes = std::fs::read(fixture()).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..3000]).unwrap();
    cut
}

#[test]
fn a_truncated_capture_exits_3_after_its_output_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let cut = cut_fixture(dir.path());
    let cut = cut.to_str().unwrap();
    for cmd in [
        &["dump"][..],
        &["dump", "--format", "jsonl"],
        &["conns"],
        &["conns", "--format", "jsonl"],
        &["export"],
        &["export", "--format", "jsonl"],
        &[],
    ] {
        let mut args = cmd.to_vec();
        args.push(cut);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("truncated")).collect();
        assert_eq!(warnings.len(), 1, "{err}");
        assert!(
            warnings[0].contains("cut.pcap is truncated")
                && warnings[0].contains("exit status 3 (--allow-truncated: 0)"),
            "{err}"
        );
        assert!(
            !o.stdout.is_empty(),
            "{args:?}: the part before the cut is written"
        );

        args.insert(args.len() - 1, "--allow-truncated");
        let allowed = run(&args);
        assert_eq!(allowed.status.code(), Some(0), "{args:?}");
        assert_eq!(allowed.stdout, o.stdout, "{args:?}: the same output");
        assert!(stderr(&allowed).contains("is truncated"), "still said");
    }
    // The analysis saw the cut: the diagnostic is in the records.
    let o = run(&["dump", "--format", "jsonl", cut]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"capture-truncated\""));
    // A selection that matched nothing in a truncated capture: 3, not 1.
    let o = run(&["dump", "--select", "no-such-payload", cut]);
    assert_eq!(o.status.code(), Some(3));
    let o = run(&["export", "--grep", "^no-such-payload$", cut]);
    assert_eq!(o.status.code(), Some(3));
    // A whole capture still exits 0, and says nothing about truncation.
    let o = run(&["conns", fixture().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("truncated"));
}

// ---- progress ----

/// Runs `wsscope ARGS > OUT` with standard error on a pseudo-terminal
/// (`script` from util-linux), returning what the terminal received; `None`
/// without `script`.
fn on_a_terminal(args: &[&str], out: &Path, env: &[(&str, &str)]) -> Option<(Option<i32>, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return None;
    }
    let mut line = String::from(env!("CARGO_BIN_EXE_wsscope"));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    line.push_str(&format!(" > '{}'", out.display()));
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env("TZ", "UTC")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    Some((o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned()))
}

#[test]
fn a_progress_line_is_shown_on_a_terminal_then_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let f = f.to_str().unwrap();
    // Drawn from the first packet on (the default waits half a second).
    let now = [("WSSCOPE_PROGRESS_AFTER_MS", "0")];
    for cmd in [
        &["dump"][..],
        &["conns"],
        &["export"],
        &["export", "--format", "pcap", "-o", "/dev/null"],
    ] {
        let out = dir.path().join("out");
        let mut args = cmd.to_vec();
        args.push(f);
        let Some((code, tty)) = on_a_terminal(&args, &out, &now) else {
            return;
        };
        assert_eq!(code, Some(0), "{args:?}: {tty:?}");
        assert!(tty.starts_with("\rwsscope: reading "), "{args:?}: {tty:?}");
        assert!(tty.contains("% ") || tty.contains("%)"), "{tty:?}");
        assert!(tty.contains("packets") && tty.contains("MB/s"), "{tty:?}");
        // Cleared at the end: the last thing written erases the line.
        assert!(tty.ends_with("\r\x1b[K"), "{args:?}: {tty:?}");
        // The output is untouched.
        let plain = run(&args);
        if !cmd.contains(&"-o") {
            assert_eq!(std::fs::read(&out).unwrap(), plain.stdout, "{args:?}");
        }
        // -q: nothing on the terminal.
        args.insert(1, "-q");
        let (_, quiet) = on_a_terminal(&args, &out, &now).unwrap();
        assert_eq!(quiet, "", "{args:?}");
    }
}

#[test]
fn no_progress_line_without_a_terminal() {
    let f = fixture();
    let f = f.to_str().unwrap();
    let now = [("WSSCOPE_PROGRESS_AFTER_MS", "0")];
    for cmd in [&["dump"][..], &["conns"], &["export"]] {
        let mut args = cmd.to_vec();
        args.push(f);
        let o = wsscope(&args, &now);
        assert!(o.status.success());
        assert_eq!(stderr(&o), "", "{args:?}");
    }
}

/// `export -o -` writes to standard output (as `tcpdump -w -`), the same
/// bytes as without `-o`, and leaves no file named `-` behind.
#[test]
fn dash_o_dash_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let f = f.to_str().unwrap();
    let plain = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["export", "--format", "jsonl", f])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let dash = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["export", "--format", "jsonl", "-o", "-", f])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        plain.status.success() && dash.status.success(),
        "{}",
        stderr(&dash)
    );
    assert!(!plain.stdout.is_empty());
    assert_eq!(dash.stdout, plain.stdout);
    assert!(!dir.path().join("-").exists(), "a file named - was written");
}
