//! The real binary in a real terminal: a tmux server of the test's own
//! (its own socket), keys sent, the screen polled until it shows what is
//! awaited (never fixed sleeps).

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    /// A server on a socket named after `name` and this process.
    pub fn new(name: &str) -> Tmux {
        Tmux {
            socket: format!("wsscope-{name}-{}", std::process::id()),
        }
    }

    /// Starts `script` (a shell command line) in a `cols`×`rows` window named `e2e`.
    pub fn start(&self, cols: u16, rows: u16, script: &str) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
            "sh",
            "-c",
            script,
        ]);
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn text(&self, s: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", s]);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// Polls the screen until `pred` holds (20 s at most).
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for(what, Duration::from_secs(20), pred)
    }

    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}
