//! The load row: eight bridge processes, as eight PHP workers would run
//! them, each answering 500 mixed requests one after another on the bench
//! site. Reports the p99 latency against a target, with throughput, p50,
//! errors and lost writes (notes acknowledged but not in the database).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{Row, Target};

const WORKERS: usize = 8;

/// The request `i` of worker `w`: 7 in 10 `tickets.get`, 2 `tickets.list`,
/// 1 `tickets.note` (a write).
fn request(w: usize, i: usize, tickets: usize) -> (String, bool) {
    let id = 1 + (i * 7919 + w * 104_729) % tickets;
    match i % 10 {
        7 | 8 => (
            format!(r#"{{"id":{i},"op":"tickets.list","args":{{"status":"open","limit":20}}}}"#),
            false,
        ),
        9 => (
            format!(
                r#"{{"id":{i},"op":"tickets.note","args":{{"id":{id},"body":"load note {w}-{i}"}}}}"#
            ),
            true,
        ),
        _ => (
            format!(r#"{{"id":{i},"op":"tickets.get","args":{{"id":{id}}}}}"#),
            false,
        ),
    }
}

/// One worker: its latencies, errors and acknowledged notes.
fn worker(
    bin: &Path,
    site: &Path,
    w: usize,
    ops: usize,
    tickets: usize,
) -> Result<(Vec<Duration>, usize, usize)> {
    let mut child = super::spawn_bridge(bin, site)?;
    let mut stdin = child.stdin.take().context("bridge stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().context("bridge stdout")?);
    let mut latencies = Vec::with_capacity(ops);
    let (mut errors, mut acked) = (0, 0);
    let mut line = String::new();
    for i in 0..ops {
        let (request, write) = request(w, i, tickets);
        let started = Instant::now();
        writeln!(stdin, "{request}")?;
        stdin.flush()?;
        line.clear();
        if stdout.read_line(&mut line)? == 0 {
            bail!("bridge {w} closed its output after {i} requests");
        }
        latencies.push(started.elapsed());
        if line.contains(r#""ok":true"#) {
            acked += usize::from(write);
        } else {
            errors += 1;
        }
    }
    drop(stdin);
    child.wait()?;
    Ok((latencies, errors, acked))
}

pub fn rows(bin: &Path, site: &Path, tickets: usize, quick: bool) -> Result<Vec<Row>> {
    let ops = if quick { 100 } else { 500 };
    let count_notes = || -> Result<usize> {
        let out = super::sqlite3(
            &site.join("site.db"),
            "SELECT count(*) FROM tickets__messages WHERE body LIKE 'load note %'",
        )?;
        Ok(out.trim().lines().last().unwrap_or("0").trim().parse()?)
    };
    let before = count_notes()?;
    let started = Instant::now();
    let results: Vec<Result<(Vec<Duration>, usize, usize)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| scope.spawn(move || worker(bin, site, w, ops, tickets)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a load worker panicked"))
            .collect()
    });
    let wall = started.elapsed();
    let mut latencies = Vec::new();
    let (mut errors, mut acked) = (0, 0);
    for result in results {
        let (l, e, a) = result?;
        latencies.extend(l);
        errors += e;
        acked += a;
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let lost = acked.saturating_sub(count_notes()? - before);
    let throughput = latencies.len() as f64 / wall.as_secs_f64();
    Ok(vec![Row {
        path: format!(
            "{WORKERS} concurrent `wasmdesk bridge` processes, {ops} mixed requests each (7 in 10 \
             `tickets.get`, 2 `tickets.list`, 1 `tickets.note`): p99 latency; {throughput:.0} \
             requests/s, {errors} error(s), {lost} lost write(s)"
        ),
        ours: at(0.99),
        baseline_name: "the p50 latency of the same run".into(),
        baseline: at(0.50),
        target: Target::Under(Duration::from_millis(100)),
    }])
}
