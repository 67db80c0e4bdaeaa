//! In-process measurements for `cargo xtask bench`: warm plugin calls on a
//! seeded site, each against a baseline in the same process and run.
//! Prints one JSON object per measurement on stdout.
//!
//! Usage: wasmdesk-bench SITE TICKETS ROUNDS
//!        wasmdesk-bench seed SITE TICKETS   (fill an initialised site with
//!                                            the tickets plugin enabled)
//!        wasmdesk-bench bridge SITE   (`wasmdesk bridge` with the audit log
//!                                      off: the baseline for a cold call)

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use serde_json::json;
use wasmdesk::Site;
use wasmdesk_bench::seed;

/// Calls per timed batch: long enough to dwarf the clock, short enough to
/// interleave often.
const BATCH: u32 = 50;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, site] = args.as_slice()
        && mode == "bridge"
    {
        let mut site = Site::open(std::path::Path::new(site))?;
        site.unaudited_for_benchmarks();
        let stdout = std::io::BufWriter::new(std::io::stdout().lock());
        wasmdesk::bridge::serve(&mut site, "bench", std::io::stdin().lock(), stdout)?;
        return Ok(());
    }
    if let [mode, site, tickets] = args.as_slice()
        && mode == "seed"
    {
        return seed_site(
            std::path::Path::new(site),
            tickets.parse().context("TICKETS")?,
        );
    }
    let [site, tickets, rounds] = args.as_slice() else {
        bail!("usage: wasmdesk-bench SITE TICKETS ROUNDS");
    };
    let root = std::path::Path::new(site);
    let tickets: i64 = tickets.parse().context("TICKETS")?;
    let rounds: usize = rounds.parse().context("ROUNDS")?;
    audit_cost(root, tickets, rounds)
}

/// What the audit log adds to a warm plugin call: the same calls through
/// two sites on the same database, one recording every call (as the CLI
/// and bridge always do) and one with recording switched off.
fn audit_cost(root: &std::path::Path, tickets: i64, rounds: usize) -> Result<()> {
    let mut audited = Site::open(root)?;
    let mut unaudited = Site::open(root)?;
    unaudited.unaudited_for_benchmarks();

    let get = |site: &mut Site, i: u32| -> Result<()> {
        let id = 1 + (i64::from(i) * 7919) % tickets;
        site.call("tickets", "get", &format!("{{\"id\":{id}}}"))?;
        Ok(())
    };
    let reply = |site: &mut Site, i: u32| -> Result<()> {
        let id = 1 + (i64::from(i) * 7919) % tickets;
        site.call(
            "tickets",
            "note",
            &format!("{{\"id\":{id},\"body\":\"bench note {i}\"}}"),
        )?;
        Ok(())
    };
    for (name, op) in [
        ("tickets.get", &get as &dyn Fn(&mut Site, u32) -> Result<()>),
        ("tickets.note", &reply),
    ] {
        // Warm both: compiled component, connections, statement caches.
        for i in 0..BATCH {
            op(&mut audited, i)?;
            op(&mut unaudited, i)?;
        }
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for round in 0..rounds as u32 {
            // Alternate which goes first, so drift favours neither.
            let start = round * BATCH;
            if round % 2 == 0 {
                with.push(batch(&mut audited, start, op)?);
                without.push(batch(&mut unaudited, start, op)?);
            } else {
                without.push(batch(&mut unaudited, start, op)?);
                with.push(batch(&mut audited, start, op)?);
            }
        }
        println!(
            "{}",
            json!({
                "measure": "audit",
                "command": name,
                "audited_ns": median(with).as_nanos() as u64,
                "unaudited_ns": median(without).as_nanos() as u64,
            })
        );
    }
    Ok(())
}

/// Fill the site's tickets tables with the plugin's SQL, 10 000 tickets per
/// transaction, then empty the WAL.
fn seed_site(root: &std::path::Path, total: i64) -> Result<()> {
    let conn = rusqlite::Connection::open(root.join("site.db"))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // A generator, not a site at work: no fsync until the end.
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -256_000)?;
    let existing: i64 =
        conn.query_row("SELECT count(*) FROM tickets__tickets", [], |r| r.get(0))?;
    if existing > 0 {
        bail!("the site already has {existing} tickets: seed a fresh site");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let started = Instant::now();
    let chunk = 10_000;
    let mut from = 1;
    while from <= total {
        let to = (from + chunk - 1).min(total);
        seed::write_sql(&conn, from, to, total, now)?;
        eprintln!(
            "seed: {to} / {total} tickets ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        from = to + 1;
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    println!(
        "{}",
        json!({"measure": "seed", "tickets": total, "seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
}

/// Mean time per call over one batch.
fn batch(
    site: &mut Site,
    start: u32,
    op: &dyn Fn(&mut Site, u32) -> Result<()>,
) -> Result<Duration> {
    let started = Instant::now();
    for i in start..start + BATCH {
        op(site, i)?;
    }
    Ok(started.elapsed() / BATCH)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
