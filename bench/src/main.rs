//! In-process measurements for `cargo xtask bench`: warm plugin calls on a
//! seeded site, each against a baseline in the same process and run.
//! Prints one JSON object per measurement on stdout.
//!
//! Usage: wasmdesk-bench SITE TICKETS ROUNDS
//!        wasmdesk-bench seed SITE TICKETS   (fill an initialised site with
//!                                            the tickets plugin enabled)
//!        wasmdesk-bench bridge SITE   (`wasmdesk bridge` with the audit log
//!                                      off: the baseline for a cold call)
//!        wasmdesk-bench resubject SITE TICKETS   (write the subject's 20
//!                                      tickets again after an erasure)
//!        wasmdesk-bench export-floor SITE EMAIL OUT   (the native floor
//!                                      of `privacy export`: rusqlite,
//!                                      serde_json, zip)
//!        wasmdesk-bench restore-floor BACKUP DB   (the floor of `restore`:
//!                                      copy the file, integrity_check)
//!        wasmdesk-bench repeat SITE PLUGIN COMMAND ARGS TIMES   (one call
//!                                      over and over, for a profiler)
//!        wasmdesk-bench hooks SITE_WITHOUT SITE_WITH ROUNDS   (tickets.create
//!                                      without and with hook plugins; a
//!                                      trivial call against tickets.get)

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
        wasmdesk::serve_bridge(&mut site, "bench", std::io::stdin().lock(), stdout)?;
        return Ok(());
    }
    if let [mode, site, tickets] = args.as_slice()
        && mode == "resubject"
    {
        let conn = rusqlite::Connection::open(std::path::Path::new(site).join("site.db"))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        return Ok(seed::write_subject(
            &conn,
            tickets.parse().context("TICKETS")?,
            now_ms()?,
        )?);
    }
    if let [mode, site, email, out] = args.as_slice()
        && mode == "export-floor"
    {
        let db = std::path::Path::new(site).join("site.db");
        let counts = wasmdesk_bench::floor::export(&db, email, std::path::Path::new(out))?;
        println!(
            "{}",
            json!({"tickets": counts.tickets, "messages": counts.messages, "files": counts.files})
        );
        return Ok(());
    }
    if let [mode, backup, db] = args.as_slice()
        && mode == "restore-floor"
    {
        return wasmdesk_bench::floor::restore(
            std::path::Path::new(backup),
            std::path::Path::new(db),
        );
    }
    if let [mode, site, tickets] = args.as_slice()
        && mode == "seed"
    {
        return seed_site(
            std::path::Path::new(site),
            tickets.parse().context("TICKETS")?,
        );
    }
    if let [mode, site, plugin, command, call_args, times] = args.as_slice()
        && mode == "repeat"
    {
        // For a profiler: `perf record wasmdesk-bench repeat ...`.
        let mut site = Site::open(std::path::Path::new(site))?;
        for _ in 0..times.parse::<u32>().context("TIMES")? {
            site.call(plugin, command, call_args)?;
        }
        return Ok(());
    }
    if let [mode, without, with, rounds] = args.as_slice()
        && mode == "hooks"
    {
        return hook_cost(
            std::path::Path::new(without),
            std::path::Path::new(with),
            rounds.parse().context("ROUNDS")?,
        );
    }
    let [site, tickets, rounds] = args.as_slice() else {
        bail!("usage: wasmdesk-bench SITE TICKETS ROUNDS");
    };
    let root = std::path::Path::new(site);
    let tickets: i64 = tickets.parse().context("TICKETS")?;
    let rounds: usize = rounds.parse().context("ROUNDS")?;
    audit_cost(root, tickets, rounds)?;
    sandbox_cost(root, tickets, rounds)?;
    native_cost(root, tickets, rounds)
}

/// The SQL `tickets.get` runs (plugins/tickets/src/commands.rs, `read`).
const GET_SQL: [&str; 4] = [
    "SELECT t.id, c.email, c.name, t.subject, t.status, t.priority, t.assignee,
            t.created_at, t.updated_at, t.deleted_at
     FROM tickets__tickets t JOIN tickets__customers c ON c.id = t.customer_id WHERE t.id = ?1",
    "SELECT tag FROM tickets__tags WHERE ticket_id = ?1 ORDER BY tag",
    "SELECT id, message_id, name, mime_type AS type, size FROM tickets__attachments WHERE ticket_id = ?1 ORDER BY id",
    "SELECT m.id, m.author, (SELECT email FROM tickets__customers WHERE id = m.customer_id) AS email,
            m.internal, m.body, m.created_at
     FROM tickets__messages m WHERE m.ticket_id = ?1 ORDER BY m.id",
];

/// Run the reads of `tickets.get` for ticket `id`, keeping every value as
/// the host would hand it over.
fn native_read(conn: &rusqlite::Connection, id: i64) -> Result<usize> {
    let mut values = 0;
    for sql in GET_SQL {
        let mut stmt = conn.prepare_cached(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            for i in 0..n {
                let _: rusqlite::types::Value = row.get(i)?;
                values += 1;
            }
        }
    }
    Ok(values)
}

/// A warm plugin command against the same SQL run natively through
/// rusqlite in this process, on the same database, each in a transaction
/// as the host runs a command.
fn native_cost(root: &std::path::Path, tickets: i64, rounds: usize) -> Result<()> {
    let mut site = Site::open(root)?;
    let conn = rusqlite::Connection::open(root.join("site.db"))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let id_of = |i: u32| 1 + (i64::from(i) * 7919) % tickets;

    let plugin_get = |site: &mut Site, i: u32| -> Result<()> {
        site.call("tickets", "get", &format!("{{\"id\":{}}}", id_of(i)))?;
        Ok(())
    };
    let native_get = |i: u32| -> Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        native_read(&conn, id_of(i))?;
        conn.execute_batch("COMMIT")?;
        Ok(())
    };
    let plugin_create = |site: &mut Site, i: u32| -> Result<()> {
        let args = json!({"email": format!("native{}@example.com", i % 500),
                          "subject": format!("Bench order {i}"), "body": format!("Order {i} is late."),
                          "tags": ["orders"]});
        site.call("tickets", "create", &args.to_string())?;
        Ok(())
    };
    // The statements `tickets.create` runs, then its read-back.
    let native_create = |i: u32| -> Result<()> {
        let now = i64::from(i);
        let email = format!("native{}@example.com", i % 500);
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.prepare_cached(
            "INSERT INTO tickets__customers (email, name, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (email) DO UPDATE SET name = coalesce(excluded.name, name)",
        )?
        .execute(rusqlite::params![email, None::<String>, now])?;
        conn.prepare_cached(
            "INSERT INTO tickets__tickets (id, customer_id, subject, priority, created_at, updated_at)
             SELECT (SELECT max_ticket + 1 FROM tickets__id_floor WHERE id = 1), id, ?2, ?3, ?4, ?4
             FROM tickets__customers WHERE email = ?1",
        )?
        .execute(rusqlite::params![
            email,
            format!("Bench order {i}"),
            "normal",
            now
        ])?;
        let id = conn.last_insert_rowid();
        let subject = format!("Bench order {i}");
        conn.prepare_cached("INSERT INTO tickets__search (rowid, text) VALUES (?1, ?2)")?
            .execute(rusqlite::params![id, subject])?;
        let owner: i64 = conn
            .prepare_cached("SELECT id FROM tickets__customers WHERE email = ?1")?
            .query_row([&email], |r| r.get(0))?;
        let body = format!("Order {i} is late.");
        conn.prepare_cached(
            "INSERT INTO tickets__messages (ticket_id, author, internal, body, created_at, customer_id)
             VALUES (?1, 'customer', 0, ?2, ?3, ?4)",
        )?
        .execute(rusqlite::params![id, body, now, owner])?;
        conn.prepare_cached(
            "UPDATE tickets__search SET text = text || char(10) || ?2 WHERE rowid = ?1",
        )?
        .execute(rusqlite::params![id, body])?;
        conn.prepare_cached(
            "INSERT OR IGNORE INTO tickets__tags (ticket_id, tag) VALUES (?1, ?2)",
        )?
        .execute(rusqlite::params![id, "orders"])?;
        native_read(&conn, id)?;
        conn.execute_batch("COMMIT")?;
        Ok(())
    };
    type Plugin<'a> = &'a dyn Fn(&mut Site, u32) -> Result<()>;
    type Native<'a> = &'a dyn Fn(u32) -> Result<()>;
    for (name, plugin, native) in [
        ("tickets.get", &plugin_get as Plugin, &native_get as Native),
        ("tickets.create", &plugin_create, &native_create),
    ] {
        let (ours, theirs) = paired(rounds, &mut |i| plugin(&mut site, i), &mut |i| native(i))?;
        println!(
            "{}",
            json!({
                "measure": "native",
                "command": name,
                "plugin_ns": ours.as_nanos() as u64,
                "native_ns": theirs.as_nanos() as u64,
            })
        );
    }
    Ok(())
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
        let (with, without) = paired(rounds, &mut |i| op(&mut audited, i), &mut |i| {
            op(&mut unaudited, i)
        })?;
        println!(
            "{}",
            json!({
                "measure": "audit",
                "command": name,
                "audited_ns": with.as_nanos() as u64,
                "unaudited_ns": without.as_nanos() as u64,
            })
        );
    }
    Ok(())
}

/// What the sandbox checks of issue 12 add to a warm plugin call (the
/// transaction checked after every statement, host checks free of the
/// deadline): the same calls through two
/// sites on the same database, one with the checks and one without.
fn sandbox_cost(root: &std::path::Path, tickets: i64, rounds: usize) -> Result<()> {
    let mut checked = Site::open(root)?;
    let mut unchecked = Site::open(root)?;
    unchecked.unchecked_for_benchmarks();
    let get = |site: &mut Site, i: u32| -> Result<()> {
        let id = 1 + (i64::from(i) * 7919) % tickets;
        site.call("tickets", "get", &format!("{{\"id\":{id}}}"))?;
        Ok(())
    };
    let create = |site: &mut Site, i: u32| -> Result<()> {
        site.call(
            "tickets",
            "create",
            &format!(
                "{{\"email\":\"sandbox{i}@example.com\",\"subject\":\"Sandbox bench\",\"body\":\"bench {i}\"}}"
            ),
        )?;
        Ok(())
    };
    for (name, op) in [
        ("tickets.get", &get as &dyn Fn(&mut Site, u32) -> Result<()>),
        ("tickets.create", &create),
    ] {
        let (with, without) = paired(rounds, &mut |i| op(&mut checked, i), &mut |i| {
            op(&mut unchecked, i)
        })?;
        println!(
            "{}",
            json!({
                "measure": "sandbox",
                "command": name,
                "checked_ns": with.as_nanos() as u64,
                "unchecked_ns": without.as_nanos() as u64,
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
    // But the file must hold what the plugin under wasmdesk would leave in
    // it, and every wasmdesk connection overwrites deleted content: without
    // this, the customer rows the seeder's upserts rewrite and the pages it
    // moves keep stale copies of customers' addresses in free space, which
    // an erasure's byte-level proof then finds (and wasmdesk never wrote).
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "cache_size", -256_000)?;
    let existing: i64 =
        conn.query_row("SELECT count(*) FROM tickets__tickets", [], |r| r.get(0))?;
    if existing > 0 {
        bail!("the site already has {existing} tickets: seed a fresh site");
    }
    let now = now_ms()?;
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

fn now_ms() -> Result<i64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64)
}

/// Median time per call of `a` and of `b`, after a warm-up batch of each
/// (compiled components, connections, statement caches), in batches of
/// [`BATCH`] calls that alternate which goes first, so drift favours
/// neither. Both get the same call numbers.
fn paired(
    rounds: usize,
    a: &mut dyn FnMut(u32) -> Result<()>,
    b: &mut dyn FnMut(u32) -> Result<()>,
) -> Result<(Duration, Duration)> {
    fn batch(start: u32, op: &mut dyn FnMut(u32) -> Result<()>) -> Result<Duration> {
        let started = Instant::now();
        for i in start..start + BATCH {
            op(i)?;
        }
        Ok(started.elapsed() / BATCH)
    }
    batch(0, a)?;
    batch(0, b)?;
    let (mut a_times, mut b_times) = (Vec::new(), Vec::new());
    for round in 1..=rounds as u32 {
        let start = round * BATCH;
        if round % 2 == 0 {
            a_times.push(batch(start, a)?);
            b_times.push(batch(start, b)?);
        } else {
            b_times.push(batch(start, b)?);
            a_times.push(batch(start, a)?);
        }
    }
    Ok((median(a_times), median(b_times)))
}

/// What action and filter plugins add to `tickets.create`: the same
/// creations on a site without hook plugins and on one with them; then a
/// trivial call (a fresh instance answering `ping`, no SQL) against a warm
/// `tickets.get`, on the site with them.
fn hook_cost(without: &std::path::Path, with: &std::path::Path, rounds: usize) -> Result<()> {
    let mut plain = Site::open(without)?;
    let mut hooked = Site::open(with)?;
    let create = |site: &mut Site, i: u32| -> Result<()> {
        // Trailing spaces for the filters to trim.
        let args = json!({"email": format!("hooks{}@example.com", i % 500),
                          "subject": format!("Bench order {i}"), "body": format!("Order {i} is late.   ")});
        site.call("tickets", "create", &args.to_string())?;
        Ok(())
    };
    let (with_hooks, without_hooks) = paired(rounds, &mut |i| create(&mut hooked, i), &mut |i| {
        create(&mut plain, i)
    })?;
    println!(
        "{}",
        json!({"measure": "hooks", "with_ns": with_hooks.as_nanos() as u64,
               "without_ns": without_hooks.as_nanos() as u64})
    );
    let site = std::cell::RefCell::new(hooked);
    let (ping, get) = paired(
        rounds,
        &mut |_| {
            site.borrow_mut().call("hook-filter-1", "ping", "{}")?;
            Ok(())
        },
        &mut |i| {
            let id = 1 + i % 1000;
            site.borrow_mut()
                .call("tickets", "get", &format!("{{\"id\":{id}}}"))?;
            Ok(())
        },
    )?;
    println!(
        "{}",
        json!({"measure": "trivial", "ping_ns": ping.as_nanos() as u64,
               "get_ns": get.as_nanos() as u64})
    );
    Ok(())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
