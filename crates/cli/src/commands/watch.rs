//! `mproc watch NAME`: live depth and message rates, refreshed in place.

use std::time::{Duration, Instant};

use mproc_shm::ShmError;

use crate::{CliError, QueueStats, Result, SegmentReport, Streams, human_rate};

/// Prints one status line of `name` every `interval`, `count` times (for
/// ever without a count). On a terminal each line replaces the previous.
pub(crate) fn run(
    io: &mut Streams<'_>,
    name: &str,
    interval: Duration,
    count: Option<u64>,
) -> Result<()> {
    let outcome = watch(io, name, interval, count);
    if io.tty {
        // Leave the last line in place and the cursor below it.
        writeln!(io.out)?;
    }
    outcome
}

fn watch(io: &mut Streams<'_>, name: &str, interval: Duration, count: Option<u64>) -> Result<()> {
    let mut previous: Option<(Instant, QueueStats)> = None;
    let mut ticks = 0u64;
    loop {
        let report = match super::report(name) {
            Ok(report) => report,
            Err(ShmError::NotFound { .. }) if ticks > 0 => {
                return Err(CliError::Vanished {
                    name: name.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let now = Instant::now();
        let queue = report.stats.as_ref().and_then(|s| s.as_queue().copied());
        let line = match queue {
            Some(q) => queue_line(name, &q, previous.map(|(at, p)| (now - at, p))),
            None => format!("{name}  {}  {}", kind(&report), report.details()),
        };
        if io.tty {
            write!(io.out, "\r\x1b[2K{}", line.trim_end())?;
        } else {
            writeln!(io.out, "{}", line.trim_end())?;
        }
        io.out.flush()?;
        previous = queue.map(|q| (now, q));
        ticks += 1;
        if count.is_some_and(|c| ticks >= c) {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

fn kind(report: &SegmentReport) -> &str {
    report.kind.as_deref().unwrap_or("?")
}

/// `jobs  depth 3/64  in 1.2k/s  out 1.1k/s  producers 1  consumers 1
/// abandoned 0` (then a JoinableQueue's unfinished tasks, and `closed`);
/// rates are `-` until there is a previous sample.
fn queue_line(name: &str, q: &QueueStats, previous: Option<(Duration, QueueStats)>) -> String {
    let rate = |now: u64, before: u64, elapsed: Duration| {
        let secs = elapsed.as_secs_f64();
        if secs > 0.0 {
            human_rate(now.saturating_sub(before) as f64 / secs)
        } else {
            "-".to_owned()
        }
    };
    let (sent, received) = match previous {
        Some((elapsed, p)) => (
            rate(q.sent, p.sent, elapsed),
            rate(q.received, p.received, elapsed),
        ),
        None => ("-".to_owned(), "-".to_owned()),
    };
    let mut line = format!(
        "{name}  depth {}/{}  in {sent}  out {received}  producers {}  consumers {}  abandoned {}",
        q.depth, q.capacity, q.producers, q.consumers, q.abandoned
    );
    if let Some(u) = q.unfinished {
        line.push_str(&format!("  unfinished {u}"));
    }
    if q.closed {
        line.push_str("  closed");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_come_from_the_previous_sample() {
        let q = |sent, received| QueueStats {
            capacity: 64,
            slot_size: 8,
            stride: 16,
            depth: sent - received,
            producers: 1,
            consumers: 2,
            sent,
            received,
            abandoned: 0,
            sleepers: 0,
            closed: false,
            unfinished: None,
        };
        assert_eq!(
            queue_line("j", &q(10, 7), None),
            "j  depth 3/64  in -  out -  producers 1  consumers 2  abandoned 0"
        );
        let line = queue_line("j", &q(1010, 507), Some((Duration::from_secs(2), q(10, 7))));
        assert_eq!(
            line,
            "j  depth 503/64  in 500/s  out 250/s  producers 1  consumers 2  abandoned 0"
        );
        let mut joinable = q(4, 1);
        joinable.unfinished = Some(3);
        joinable.closed = true;
        assert!(queue_line("j", &joinable, None).ends_with("abandoned 0  unfinished 3  closed"));
    }
}
