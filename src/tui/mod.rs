//! The interactive terminal UI: `wsscope FILE` and `wsscope -i IFACE`.
//!
//! Design (after bandwhich and ratatui's demo2): a background thread reads the
//! capture through the [`crate::pipeline`] and sends batches of events over a
//! bounded channel; the UI thread owns an [`App`] (state, no terminal IO), feeds it
//! those batches and key presses, and draws it (`impl Widget for &App`).
//! There is one run loop; its OS effects — the terminal backend and where
//! key presses come from ([`Input`]) — are injected, so the interactive
//! timeline, the headless measurement and tests all run the same loop
//! (tests also drive an `App` directly and snapshot a `TestBackend`).

pub mod app;
pub mod export;
mod exporting;
pub mod fetch;
mod hits;
pub mod keys;
pub mod lean;
mod mouse;
pub mod panes;
pub mod payload;
pub mod problems;
mod reader;
pub mod replay;
pub mod search;
pub mod store;
pub mod text;
pub mod theme;
pub mod ui;

pub use app::{Action, App, Feed, Options, Progress};
use reader::{Reader, ReaderOptions, open_counted, spawn_reader};

use crate::analyzer::AnalyzerConfig;
use crate::source::{PacketSource, SourceEnd};
use anyhow::Context;
use ratatui::crossterm::event::{self as term, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::{cursor, execute};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{TryRecvError, sync_channel};
use std::time::{Duration, Instant};

/// Events per batch sent to the UI (files).
const BATCH: usize = 4096;
/// A partial batch is sent after this long.
const FLUSH: Duration = Duration::from_millis(40);
/// Batches in flight.
const CHANNEL: usize = 4;
/// Redraws while loading at most this often.
const FRAME: Duration = Duration::from_millis(33);

/// A file's app (with its progress gauge) and the reader filling it.
/// The store's budget is the output share of the run's (`cfg.budget`).
fn open_file(path: &Path, cfg: AnalyzerConfig, opts: Options) -> anyhow::Result<(App, Reader)> {
    let (source, counter, replay) = open_counted(path)?;
    let opts = Options {
        budget: store::Budget::for_run(&cfg.budget),
        ..opts
    };
    let mut app = App::new(display_name(path), opts);
    app.progress.total_bytes = counter.as_ref().map(|c| c.1);
    let index = replay.index();
    app.attach_replay(index.clone(), cfg.clone());
    let lean = app.fetcher.is_some().then(|| lean::Lean::new(&app.store.budget));
    let (back, recycle) = sync_channel(CHANNEL + 2);
    app.recycle = Some(back);
    let reader = spawn_reader(
        source,
        cfg,
        ReaderOptions {
            counter,
            index,
            spool: None,
            lean,
            recycle: Some(recycle),
            ..Default::default()
        },
    );
    Ok((app, reader))
}

/// Opens a capture file in the interactive view. `-` reads standard input.
pub fn run_file(path: &Path, cfg: AnalyzerConfig) -> anyhow::Result<Option<SourceEnd>> {
    let (app, reader) = open_file(path, cfg, options(false))?;
    run_terminal(app, reader)
}

/// How [`run_source`] reads.
#[derive(Default)]
pub struct RunOptions {
    /// Live capture: follow the tail, show packets/s and drops, Space pauses.
    pub live: bool,
    /// Stop after this many packets (`-c`).
    pub limit: Option<u64>,
    /// Packets dropped so far (kernel + pipeline), polled while reading.
    pub dropped: Option<Box<dyn Fn() -> u64 + Send>>,
    /// The capture file the source reads, if it is one: payloads are
    /// fetched from it. Otherwise (live, standard input) packets are
    /// spooled to a temporary file for that.
    pub file: Option<std::path::PathBuf>,
}

/// The interactive view over any source (live, stdin, `-c`), with every option.
pub fn run_source(
    source: Box<dyn PacketSource + Send>,
    cfg: AnalyzerConfig,
    opts: RunOptions,
) -> anyhow::Result<Option<SourceEnd>> {
    let (app, reader) = open_source(source, cfg, opts);
    run_terminal(app, reader)
}

/// The app over any source and the reader filling it. A source that is not
/// the capture file (live, standard input with `-c`) is spooled to a
/// temporary file as it is read, so payloads can be fetched again.
fn open_source(source: Box<dyn PacketSource + Send>, cfg: AnalyzerConfig, opts: RunOptions) -> (App, Reader) {
    let mut app = App::new(
        source.describe(),
        Options {
            budget: store::Budget::for_run(&cfg.budget),
            ..options(opts.live)
        },
    );
    let (index, spool) = match opts.file {
        Some(f) => (replay::SharedIndex::new(Some(f)), None),
        None => match replay::Spool::temporary() {
            Ok((spool, file)) => {
                let index = replay::SharedIndex::new(Some(spool.path().to_path_buf()));
                index.keep(spool);
                (index, Some(replay::PacketSpool::new(file)))
            }
            Err(e) => {
                app.status = Some((
                    format!(
                        "cannot spool the capture to a temporary file ({e}): payloads over the memory budget cannot be shown; set TMPDIR"
                    ),
                    true,
                ));
                (replay::SharedIndex::new(None), None)
            }
        },
    };
    // Without a file nothing can be fetched again: payloads go whole.
    let lean = if index.lock().path.is_some() {
        app.attach_replay(index.clone(), cfg.clone());
        Some(lean::Lean::new(&app.store.budget))
    } else {
        None
    };
    let (back, recycle) = sync_channel(CHANNEL + 2);
    app.recycle = Some(back);
    let reader = spawn_reader(
        source,
        cfg,
        ReaderOptions {
            live: opts.live,
            limit: opts.limit,
            dropped: opts.dropped,
            counter: None,
            index,
            spool,
            lean,
            recycle: Some(recycle),
        },
    );
    (app, reader)
}

/// Live capture with its drop counters in the header.
#[cfg(feature = "live")]
pub fn run_live(
    source: crate::source::live::LiveSource,
    cfg: AnalyzerConfig,
    limit: Option<u64>,
) -> anyhow::Result<Option<SourceEnd>> {
    let stats = source.stats();
    let dropped =
        move || stats.kernel_dropped.load(Ordering::Relaxed) + stats.channel_dropped.load(Ordering::Relaxed);
    run_source(
        Box::new(source),
        cfg,
        RunOptions {
            live: true,
            limit,
            dropped: Some(Box::new(dropped)),
            file: None,
        },
    )
}

/// The name shown in the header: the file name, not its directory.
fn display_name(path: &Path) -> String {
    match path.file_name() {
        Some(n) if path != Path::new("-") => n.to_string_lossy().into_owned(),
        _ => path.display().to_string(),
    }
}

fn options(live: bool) -> Options {
    Options {
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        live,
        budget: store::Budget::default(),
    }
}

/// SIGTERM sets `flag`, so the run loop exits and restores the terminal; a
/// second SIGTERM exits at once. SIGHUP keeps its default action: the
/// terminal is gone, there is nothing to restore (and crossterm's reader
/// spins on a hung-up tty, so the loop would never see a flag).
fn on_sigterm(flag: &Arc<AtomicBool>) -> std::io::Result<()> {
    let sig = signal_hook::consts::SIGTERM;
    signal_hook::flag::register_conditional_shutdown(sig, 143, flag.clone())?;
    signal_hook::flag::register(sig, flag.clone())?;
    Ok(())
}

/// Restores the terminal when dropped (normal exit, error, or unwinding).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn restore_terminal() {
    let _ = execute!(std::io::stdout(), DisableMouseCapture, cursor::Show);
    ratatui::restore();
}

/// Runs the timeline until the user quits; how the input ended, when it
/// did (the caller reports a truncated capture once the screen is back).
fn run_terminal(mut app: App, reader: Reader) -> anyhow::Result<Option<SourceEnd>> {
    let terminate = Arc::new(AtomicBool::new(false));
    on_sigterm(&terminate).context("cannot handle SIGTERM")?;
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let _guard = TerminalGuard;
    // ratatui's hook restores raw mode and the screen; also release the mouse.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture, cursor::Show);
        prev(info);
    }));
    execute!(std::io::stdout(), EnableMouseCapture).context("cannot enable the mouse")?;
    let result = run_loop(
        &mut terminal,
        &mut TerminalInput,
        &mut app,
        &reader,
        &terminate,
        Until::Quit,
    );
    reader.stop();
    drop(reader);
    result.map(|_| app.end.and_then(Result::ok))
}

/// Where the run loop's key presses and mouse events come from: the
/// terminal, or nothing (headless). The loop waits in [`Input::poll`], so an
/// input without events still paces the loop like an idle terminal.
pub trait Input {
    /// Waits up to `timeout` for an event; whether one is ready.
    fn poll(&mut self, timeout: Duration) -> std::io::Result<bool>;
    /// The next event (after `poll` said one is ready).
    fn read(&mut self) -> std::io::Result<term::Event>;
}

/// The terminal's events, through crossterm.
struct TerminalInput;

impl Input for TerminalInput {
    fn poll(&mut self, timeout: Duration) -> std::io::Result<bool> {
        term::poll(timeout)
    }
    fn read(&mut self) -> std::io::Result<term::Event> {
        term::read()
    }
}

/// No key is ever pressed: waiting is sleeping.
struct NoInput;

impl Input for NoInput {
    fn poll(&mut self, timeout: Duration) -> std::io::Result<bool> {
        std::thread::sleep(timeout);
        Ok(false)
    }
    fn read(&mut self) -> std::io::Result<term::Event> {
        Err(std::io::Error::other("no input"))
    }
}

/// When [`run_loop`] returns, besides `q` and SIGTERM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Until {
    /// Only `q` or SIGTERM (the interactive timeline).
    Quit,
    /// Once a screen shows the whole capture loaded.
    Loaded,
    /// Once a screen shows indexed content (or the capture loaded empty).
    FirstContent,
}

/// What the run loop saw, and when.
#[derive(Clone, Copy, Debug, Default)]
struct LoopStats {
    first_screen: Option<Instant>,
    first_content: Option<Instant>,
    frames_drawn: u64,
}

/// The run loop: draw when something changed (at most once a frame, at
/// once after input), take what the reader sent without starving input,
/// handle input, until `q`, `terminate` or `until`. The terminal backend and
/// the input are injected: the interactive timeline and the headless
/// measurement run the same loop.
fn run_loop<B>(
    terminal: &mut ratatui::Terminal<B>,
    input: &mut dyn Input,
    app: &mut App,
    reader: &Reader,
    terminate: &AtomicBool,
    until: Until,
) -> anyhow::Result<LoopStats>
where
    B: ratatui::backend::Backend,
    B::Error: Send + Sync + 'static,
{
    let mut stats = LoopStats::default();
    let mut dirty = true;
    let mut input_seen = true;
    let mut last_draw = Instant::now();
    loop {
        if input_seen || (dirty && last_draw.elapsed() >= FRAME) {
            terminal.draw(|f| f.render_widget(&*app, f.area()))?;
            last_draw = Instant::now();
            dirty = false;
            input_seen = false;
            stats.frames_drawn += 1;
            stats.first_screen.get_or_insert(last_draw);
            if stats.first_content.is_none() && (!app.store.records.is_empty() || !app.loading) {
                stats.first_content = Some(last_draw);
            }
            let done = match until {
                Until::Quit => false,
                Until::Loaded => !app.loading,
                Until::FirstContent => stats.first_content.is_some(),
            };
            if done {
                return Ok(stats);
            }
        }
        // Take what the reader has, but stay responsive to keys.
        let started = Instant::now();
        let mut fed = false;
        loop {
            match reader.rx.try_recv() {
                Ok(feed) => {
                    app.on_feed(feed);
                    dirty = true;
                    fed = true;
                    if started.elapsed() >= Duration::from_millis(25) {
                        break;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    if app.loading {
                        app.loading = false;
                        dirty = true;
                    }
                    break;
                }
            }
        }
        if app.poll_fetches() || app.poll_job() {
            dirty = true;
        }
        if terminate.load(Ordering::Relaxed) {
            return Ok(stats);
        }
        // While loading, look at the reader again within a frame.
        let waiting = app.fetcher.as_ref().is_some_and(|f| f.pending() > 0) || app.job.is_some();
        let wait = if (fed || !app.live) && app.loading {
            // A file is being read: the reader fills a channel of a few
            // batches in a few milliseconds, then waits for this thread;
            // sleeping a whole frame would leave it idle most of the time.
            // Look for keys, then take more.
            Duration::from_millis(1)
        } else if dirty || app.loading || waiting {
            FRAME.saturating_sub(last_draw.elapsed())
        } else {
            FRAME * 3
        };
        if input.poll(wait)? {
            // Handle every queued input event before drawing again.
            loop {
                match input.read()? {
                    term::Event::Key(k) => match app.on_key(k) {
                        Action::Quit => return Ok(stats),
                        Action::Export(job) => {
                            let r = export::write(&job);
                            app.export_done(job.summary, r);
                        }
                        Action::None => {}
                    },
                    term::Event::Mouse(m) => app.on_mouse(m),
                    _ => {}
                }
                input_seen = true;
                if !input.poll(Duration::ZERO)? {
                    break;
                }
            }
        }
    }
}

/// What a headless run measured.
#[derive(Clone, Debug)]
pub struct HeadlessReport {
    /// Until the first screen was drawn (before any event arrived).
    pub first_screen: Duration,
    /// Until the first screen that showed indexed content.
    pub first_content: Option<Duration>,
    /// Until the whole capture was indexed and drawn.
    pub loaded: Duration,
    pub frames_drawn: u64,
    /// The last screen, as text.
    pub screen: String,
    pub records: usize,
    pub connections: usize,
    pub frames: u64,
    pub messages: u64,
}

/// Runs the TUI without a terminal: reads `path` exactly as `run_file` does
/// and runs the same loop, drawing to a `width`×`height` `TestBackend`
/// with no key ever pressed, until the capture is loaded (or the first
/// screen with content, when `first_only`). For measuring time to first
/// screen and memory (hidden `--headless` mode).
pub fn run_headless(
    path: &Path,
    cfg: AnalyzerConfig,
    width: u16,
    height: u16,
    first_only: bool,
) -> anyhow::Result<HeadlessReport> {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let t0 = Instant::now();
    let (mut app, reader) = open_file(path, cfg, Options::default())?;
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    let until = if first_only {
        Until::FirstContent
    } else {
        Until::Loaded
    };
    let never = AtomicBool::new(false);
    let stats = run_loop(&mut terminal, &mut NoInput, &mut app, &reader, &never, until)?;
    reader.stop();
    let loaded = t0.elapsed();
    if std::env::var_os("WSSCOPE_MEMSTATS").is_some() {
        // A measurement aid (benches/tui_scale.sh): what the index holds.
        eprintln!(
            "wsscope: memstats: index {} (records {} x {} B, previews and payloads {}), replay index {}",
            app.store.held(),
            app.store.records.len(),
            std::mem::size_of::<store::Record>(),
            app.store.arena_held(),
            app.fetcher.as_ref().map_or(0, |f| f.index().lock().heap_bytes())
        );
    }
    let screen = buffer_text(terminal.backend().buffer());
    Ok(HeadlessReport {
        first_screen: stats
            .first_screen
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(t0)),
        first_content: stats.first_content.map(|t| t.saturating_duration_since(t0)),
        loaded,
        frames_drawn: stats.frames_drawn,
        screen,
        records: app.store.records.len(),
        connections: app.store.conns.len(),
        frames: app.store.frames,
        messages: app.store.messages,
    })
}

/// A buffer's characters, one line per row (trailing spaces trimmed).
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.y..area.y + area.height {
        let mut line = String::new();
        let mut x = area.x;
        while x < area.x + area.width {
            let cell = &buf[(x, y)];
            let sym = cell.symbol();
            line.push_str(sym);
            // Wide characters occupy the following cell(s).
            let w = ratatui::text::Span::raw(sym).width().max(1) as u16;
            x += w;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Reads a whole capture file as the timeline does — the reader thread,
/// the security audit, the replay index — into an [`App`], without a
/// terminal (tests drive it with keys and draw it to a `TestBackend`).
pub fn load_file(path: &Path, cfg: AnalyzerConfig, opts: Options) -> anyhow::Result<App> {
    let (mut app, reader) = open_file(path, cfg, opts)?;
    load_all(&mut app, &reader);
    app.loading = false;
    Ok(app)
}

/// Feeds `app` everything `reader` sends until the capture is loaded.
pub(crate) fn load_all(app: &mut App, reader: &Reader) {
    while let Ok(feed) = reader.rx.recv() {
        let done = matches!(feed, Feed::Done(_));
        app.on_feed(feed);
        if done {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::source::file::FileSource;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::collections::VecDeque;

    /// Replays events, then has none; never waits (the loop spins on the
    /// reader instead of sleeping).
    struct Script(VecDeque<term::Event>);

    impl Script {
        fn keys(keys: &str) -> Self {
            let key = |c| term::Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
            Script(keys.chars().map(key).collect())
        }
    }

    impl Input for Script {
        fn poll(&mut self, _: Duration) -> std::io::Result<bool> {
            Ok(!self.0.is_empty())
        }
        fn read(&mut self) -> std::io::Result<term::Event> {
            self.0
                .pop_front()
                .ok_or_else(|| std::io::Error::other("script ended"))
        }
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
    }

    #[test]
    fn the_loop_loads_the_whole_capture_and_draws_it() {
        let path = fixture("py_basic.pcap");
        let mut events: Vec<Event> = Vec::new();
        let mut src = FileSource::open(&path).unwrap();
        crate::pipeline::analyze(&mut src, AnalyzerConfig::default(), &mut events).unwrap();
        let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(e)).count() as u64;

        let (mut app, reader) = open_file(&path, AnalyzerConfig::default(), Options::default()).unwrap();
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let never = AtomicBool::new(false);
        let stats = run_loop(
            &mut terminal,
            &mut Script::keys(""),
            &mut app,
            &reader,
            &never,
            Until::Loaded,
        )
        .unwrap();
        assert!(!app.loading);
        assert!(stats.first_screen.is_some() && stats.first_content.is_some());
        assert_eq!(app.store.frames, count(|e| matches!(e, Event::Frame(_))));
        assert_eq!(app.store.messages, count(|e| matches!(e, Event::Message(_))));
        let screen = buffer_text(terminal.backend().buffer());
        assert!(screen.contains("20 frames · 14 msgs"), "{screen}");
    }

    #[test]
    fn injected_keys_drive_the_loop_until_quit() {
        let (mut app, reader) = open_file(
            &fixture("py_basic.pcap"),
            AnalyzerConfig::default(),
            Options::default(),
        )
        .unwrap();
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let never = AtomicBool::new(false);
        assert!(!app.hex);
        let stats = run_loop(
            &mut terminal,
            &mut Script::keys("xq"),
            &mut app,
            &reader,
            &never,
            Until::Quit,
        )
        .unwrap();
        assert!(app.hex, "`x` switched the payload to hex");
        assert!(stats.frames_drawn >= 1);
        reader.stop();
    }

    #[test]
    fn terminate_ends_the_loop() {
        let (mut app, reader) = open_file(
            &fixture("py_basic.pcap"),
            AnalyzerConfig::default(),
            Options::default(),
        )
        .unwrap();
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let terminate = AtomicBool::new(true);
        run_loop(
            &mut terminal,
            &mut Script::keys(""),
            &mut app,
            &reader,
            &terminate,
            Until::Quit,
        )
        .unwrap();
        reader.stop();
    }

    /// A source that is not the capture file (as live capture and standard
    /// input are) is spooled as it is read: every payload the timeline cut
    /// to a preview comes back whole from the spool, and a search over
    /// whole payloads reads it.
    #[test]
    fn a_source_that_is_not_a_file_is_spooled_and_fetched_from() {
        let bytes = std::fs::read(fixture("deflate_takeover.pcap")).unwrap();
        let src = FileSource::from_reader("memory".into(), Box::new(std::io::Cursor::new(bytes))).unwrap();
        let (mut app, reader) = open_source(Box::new(src), AnalyzerConfig::default(), RunOptions::default());
        app.store.budget.max_total = 0;
        load_all(&mut app, &reader);
        let path = app.fetcher.as_ref().unwrap().index().lock().path.clone().unwrap();
        assert!(path.exists(), "the spool is there while the app is");
        let mut src = FileSource::open(&fixture("deflate_takeover.pcap")).unwrap();
        let mut events = Vec::new();
        crate::pipeline::analyze(&mut src, AnalyzerConfig::default(), &mut events).unwrap();
        let messages: Vec<Vec<u8>> = events
            .into_iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.data),
                _ => None,
            })
            .collect();
        let rows: Vec<store::Record> = app
            .store
            .records
            .iter()
            .filter(|r| r.kind == store::Kind::Message)
            .copied()
            .collect();
        assert_eq!(rows.len(), messages.len());
        let mut fetched = 0;
        for (r, want) in rows.iter().zip(&messages) {
            if !r.has(store::flag::KEPT) {
                fetched += 1;
            }
            assert_eq!(&app.payload_now(r).unwrap()[..], &want[..]);
        }
        assert!(fetched > 10, "{fetched} payloads fetched");
        reader.stop();
    }
}
