//! Live capture through libpcap (feature `live`).
//!
//! libpcap runs on its own thread and hands packets to the pipeline through
//! a bounded channel in batches; when the pipeline falls behind, the capture
//! thread never waits — it drops the batch and counts it, so the kernel ring
//! keeps draining. `-w` is written on the capture thread, before any channel
//! drop, so the saved file holds everything the kernel delivered. SIGINT and
//! SIGTERM, `-c` and `--duration` all stop capture cleanly: the file is
//! flushed and the drop counts are reported in [`SourceEnd`].

use super::{LinkType, Packet, PacketSource, SourceEnd, SourceItem};
use crate::event::Timestamp;
use crate::source::pcap_writer::PcapWriter;
use anyhow::{Context, bail};
use std::io::BufWriter;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Batches in flight between the capture thread and the pipeline.
const CHANNEL_BATCHES: usize = 1024;
/// Most packets handed over in one batch.
const BATCH: usize = 256;
/// libpcap read timeout: how often the capture thread checks for a stop.
const READ_TIMEOUT_MS: i32 = 50;

/// What to capture, from the command line.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub interface: String,
    /// BPF filter compiled by libpcap.
    pub filter: String,
    pub snaplen: i32,
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Save raw packets here (pcap, nanosecond timestamps).
    pub write: Option<PathBuf>,
}

/// A captured packet, owned so it can cross the channel.
struct Owned {
    ts: Timestamp,
    data: Vec<u8>,
    orig_len: u32,
}

/// Counters shared with the capture thread (the TUI shows them live).
#[derive(Debug, Default)]
pub struct LiveStats {
    pub captured: AtomicU64,
    /// Packets the pipeline could not take in time (channel full).
    pub channel_dropped: AtomicU64,
    /// Packets the kernel dropped (libpcap's ps_drop + ps_ifdrop), updated periodically.
    pub kernel_dropped: AtomicU64,
}

pub struct LiveSource {
    opts: LiveOptions,
    link: LinkType,
    rx: Option<Receiver<Vec<Owned>>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
    stop: Arc<AtomicBool>,
    stats: Arc<LiveStats>,
    error: Arc<Mutex<Option<String>>>,
}

/// Lists capture interfaces (`-D`).
pub fn list_interfaces() -> anyhow::Result<Vec<(String, Option<String>)>> {
    let devs = pcap::Device::list().context("cannot list interfaces")?;
    Ok(devs.into_iter().map(|d| (d.name, d.desc)).collect())
}

fn interface_names() -> String {
    list_interfaces()
        .map(|v| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// Turns libpcap's errors into ones that say what to do.
fn explain(iface: &str, e: pcap::Error) -> anyhow::Error {
    let msg = e.to_string();
    let lower = msg.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        anyhow::anyhow!(
            "cannot capture on {iface}: permission denied ({msg}); run as root, or grant the capability once: \
             sudo setcap cap_net_raw,cap_net_admin+eip $(command -v wsscope)"
        )
    } else if lower.contains("no such device")
        || lower.contains("doesn't exist")
        || lower.contains("not found")
    {
        anyhow::anyhow!(
            "cannot open {iface}: no such interface; available: {} (list them with --list-interfaces)",
            interface_names()
        )
    } else {
        anyhow::anyhow!("cannot capture on {iface}: {msg}")
    }
}

impl LiveSource {
    /// Opens the interface and compiles the filter now, so that errors are
    /// reported before anything else starts; capture begins in [`run`].
    pub fn open(opts: LiveOptions, stop: Arc<AtomicBool>) -> anyhow::Result<LiveSource> {
        let iface = opts.interface.clone();
        let known = list_interfaces()
            .map(|v| v.iter().any(|(n, _)| *n == iface))
            .unwrap_or(true);
        if !known {
            bail!(
                "cannot open {iface}: no such interface; available: {} (list them with --list-interfaces)",
                interface_names()
            );
        }
        let inactive = pcap::Capture::from_device(iface.as_str())
            .map_err(|e| explain(&iface, e))?
            .snaplen(opts.snaplen)
            .timeout(READ_TIMEOUT_MS)
            .immediate_mode(true)
            .buffer_size(32 << 20)
            .precision(pcap::Precision::Nano);
        let mut cap = inactive.open().map_err(|e| explain(&iface, e))?;
        cap.filter(&opts.filter, true)
            .map_err(|e| anyhow::anyhow!("cannot use filter `{}`: {e}", opts.filter))?;
        let link = LinkType(cap.get_datalink().0 as u32);
        let (tx, rx) = sync_channel::<Vec<Owned>>(CHANNEL_BATCHES);
        let stats = Arc::new(LiveStats::default());
        let error = Arc::new(Mutex::new(None));
        let writer = match &opts.write {
            Some(p) => {
                let f = std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
                Some(PcapWriter::new(
                    BufWriter::with_capacity(1 << 20, f),
                    link,
                    opts.snaplen.max(0) as u32,
                )?)
            }
            None => None,
        };
        let thread = {
            let (stop, stats, opts) = (stop.clone(), stats.clone(), opts.clone());
            std::thread::Builder::new()
                .name("wsscope-capture".into())
                .spawn(move || capture_loop(cap, tx, writer, stop, stats, opts))?
        };
        Ok(LiveSource {
            opts,
            link,
            rx: Some(rx),
            thread: Some(thread),
            stop,
            stats,
            error,
        })
    }

    /// Live counters, for display while capturing.
    pub fn stats(&self) -> Arc<LiveStats> {
        self.stats.clone()
    }

    pub fn link(&self) -> LinkType {
        self.link
    }
}

fn capture_loop(
    mut cap: pcap::Capture<pcap::Active>,
    tx: SyncSender<Vec<Owned>>,
    mut writer: Option<PcapWriter<BufWriter<std::fs::File>>>,
    stop: Arc<AtomicBool>,
    stats: Arc<LiveStats>,
    opts: LiveOptions,
) -> anyhow::Result<()> {
    // On Linux, libpcap blocks inside a read until a packet arrives, whatever
    // the timeout; a watcher thread breaks the loop when it is time to stop
    // (pcap_breakloop wakes libpcap's poll).
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (brk, stop, done, duration) = (cap.breakloop_handle(), stop.clone(), done.clone(), opts.duration);
        let started = Instant::now();
        std::thread::Builder::new()
            .name("wsscope-capture-stop".into())
            .spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    if duration.is_some_and(|d| started.elapsed() >= d) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if stop.load(Ordering::Relaxed) {
                        brk.breakloop();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })?
    };
    let result = read_packets(&mut cap, &tx, writer.as_mut(), &stop, &stats, &opts);
    done.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    if let Ok(s) = cap.stats() {
        stats
            .kernel_dropped
            .store(u64::from(s.dropped) + u64::from(s.if_dropped), Ordering::Relaxed);
    }
    if let Some(w) = writer.as_mut() {
        w.flush().context("writing the -w file")?;
    }
    result
}

/// Reads bursts of packets (`pcap_dispatch` hands over whatever the kernel
/// has, at once) and sends each burst as one batch.
fn read_packets(
    cap: &mut pcap::Capture<pcap::Active>,
    tx: &SyncSender<Vec<Owned>>,
    mut writer: Option<&mut PcapWriter<BufWriter<std::fs::File>>>,
    stop: &AtomicBool,
    stats: &LiveStats,
    opts: &LiveOptions,
) -> anyhow::Result<()> {
    let mut captured = 0u64;
    let mut last_stats = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) || opts.count.is_some_and(|c| captured >= c) {
            return Ok(());
        }
        let remaining = opts.count.map(|c| {
            usize::try_from(c.saturating_sub(captured))
                .unwrap_or(usize::MAX)
                .min(BATCH)
        });
        let mut batch: Vec<Owned> = Vec::with_capacity(16);
        let mut write_err: Option<std::io::Error> = None;
        let r = cap.dispatch(remaining.or(Some(BATCH)), |p| {
            // With nanosecond precision libpcap puts nanoseconds in tv_usec;
            // time_t is i64 here but i32 on some platforms.
            #[allow(clippy::useless_conversion)]
            let secs = i64::from(p.header.ts.tv_sec);
            let ts = Timestamp::new(
                secs,
                u32::try_from(p.header.ts.tv_usec).unwrap_or(0).min(999_999_999),
            );
            if let Some(w) = writer.as_mut()
                && write_err.is_none()
                && let Err(e) = w.write_raw(ts, p.data, p.header.len)
            {
                write_err = Some(e);
            }
            batch.push(Owned {
                ts,
                data: p.data.to_vec(),
                orig_len: p.header.len,
            });
        });
        if let Some(e) = write_err {
            return Err(anyhow::Error::new(e).context("writing the -w file"));
        }
        captured += batch.len() as u64;
        stats.captured.store(captured, Ordering::Relaxed);
        if !batch.is_empty() {
            let n = batch.len() as u64;
            match tx.try_send(batch) {
                Ok(()) => {}
                // The pipeline is behind: never block the capture; count it.
                Err(TrySendError::Full(_)) => {
                    stats.channel_dropped.fetch_add(n, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => return Ok(()),
            }
        }
        if let Err(e) = r {
            // pcap_breakloop makes the read fail: that is our stop.
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            return Err(anyhow::anyhow!("capture on {} failed: {e}", opts.interface));
        }
        if last_stats.elapsed() >= Duration::from_millis(500) {
            last_stats = Instant::now();
            if let Ok(s) = cap.stats() {
                stats
                    .kernel_dropped
                    .store(u64::from(s.dropped) + u64::from(s.if_dropped), Ordering::Relaxed);
            }
        }
    }
}

impl PacketSource for LiveSource {
    fn describe(&self) -> String {
        format!("{} (live)", self.opts.interface)
    }

    fn run(&mut self, f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>) -> anyhow::Result<SourceEnd> {
        let rx = self.rx.take().context("live capture already ran")?;
        let mut index = 0u64;
        'outer: for batch in rx.iter() {
            for p in &batch {
                index += 1;
                let pkt = Packet {
                    index,
                    ts: p.ts,
                    link: self.link,
                    data: &p.data,
                    orig_len: p.orig_len,
                    at: 0,
                };
                if f(SourceItem::Packet(pkt)).is_break() {
                    self.stop.store(true, Ordering::Relaxed);
                    break 'outer;
                }
            }
        }
        // Drain what the capture thread still sends until it stops.
        self.stop.store(true, Ordering::Relaxed);
        drop(rx);
        if let Some(t) = self.thread.take() {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{e:#}")),
                Err(_) => bail!("the capture thread panicked"),
            }
        }
        if let Some(e) = self.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bail!(e);
        }
        let kernel = self.stats.kernel_dropped.load(Ordering::Relaxed);
        let pipeline = self.stats.channel_dropped.load(Ordering::Relaxed);
        Ok(SourceEnd {
            packets: index,
            truncated: None,
            dropped: Some(kernel + pipeline),
            dropped_kernel: Some(kernel),
            dropped_pipeline: Some(pipeline),
        })
    }
}

/// Sets `flag` on SIGINT and SIGTERM (a second signal exits at once, so a
/// stuck run can still be interrupted).
pub fn stop_on_signals(flag: Arc<AtomicBool>) -> anyhow::Result<()> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone())?;
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(())
}
