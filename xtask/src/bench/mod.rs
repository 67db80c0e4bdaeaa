//! `cargo xtask bench`: wasmdesk's paths measured against a baseline doing
//! the same work in the same run, written to docs/benchmarks.md.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

mod hooks;
mod load;
mod memory;
mod privacy;

/// One measured row: wasmdesk against its baseline.
struct Row {
    path: String,
    ours: Duration,
    baseline_name: String,
    baseline: Duration,
    target: Target,
}

/// What a row is held to.
enum Target {
    /// The ratio to the baseline at most this.
    Within(f64),
    /// Ours, in absolute terms, under this.
    Under(Duration),
    /// Measured and reported; the issue sets no target.
    None,
}

pub fn run(root: &Path, dist: &Path, args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    crate::ensure_command("sqlite3", "sqlite3")?;
    let (tickets, runs) = if quick { (1_000, 15) } else { (10_000, 60) };
    let bin = dist.join("wasmdesk");
    let site = root.join("target/bench-site");
    crate::seed::seed_site(dist, &site, tickets as u64)?;

    let id = tickets / 2;
    let request = format!("{{\"id\":1,\"op\":\"tickets.get\",\"args\":{{\"id\":{id}}}}}\n");
    // The same reads tickets.get does, as one sqlite3 invocation.
    let sql = format!(
        "SELECT t.id, c.email, c.name, t.subject, t.status, t.priority, t.assignee, t.created_at, t.updated_at, t.deleted_at \
         FROM tickets__tickets t JOIN tickets__customers c ON c.id = t.customer_id WHERE t.id = {id}; \
         SELECT tag FROM tickets__tags WHERE ticket_id = {id} ORDER BY tag; \
         SELECT id, message_id, name, mime_type, size FROM tickets__attachments WHERE ticket_id = {id} ORDER BY id; \
         SELECT id, author, internal, body, created_at FROM tickets__messages WHERE ticket_id = {id} ORDER BY id;"
    );
    let db = site.join("site.db");
    // Warm both (the compiled plugin cache, the page cache) and check that
    // they answer the same ticket.
    let ours = cold_bridge(&bin, &site, &request)?;
    let theirs = sqlite3(&db, &sql)?;
    let subject = sqlite3(
        &db,
        &format!("SELECT subject FROM tickets__tickets WHERE id = {id}"),
    )?
    .lines()
    .last()
    .unwrap_or_default()
    .to_string();
    if !ours.contains(&subject) || !theirs.contains(&subject) {
        bail!("the bridge and sqlite3 did not both return ticket {id}:\n{ours}\n{theirs}");
    }

    crate::run(crate::cargo().args(["build", "--release", "-p", "wasmdesk-bench"]))?;
    let bench_bin = crate::target_dir().join("release/wasmdesk-bench");
    let unaudited = |request: &str| -> Result<String> {
        let mut child = Command::new(&bench_bin)
            .arg("bridge")
            .arg(&site)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(request.as_bytes())?;
        let output = child.wait_with_output()?;
        let text = String::from_utf8(output.stdout)?;
        if !text.contains("\"ok\":true") {
            bail!("the unaudited bridge failed: {text}");
        }
        Ok(text)
    };
    unaudited(&request)?;

    let (mut bridge_times, mut shell_times, mut unaudited_times) =
        (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        // Interleaved, so all see the same machine state, and in turns, so
        // that none always follows the same one (the one before leaves the
        // page cache and the WAL as it found them, or not).
        for turn in 0..3 {
            let started = Instant::now();
            match (run + turn) % 3 {
                0 => {
                    cold_bridge(&bin, &site, &request)?;
                    bridge_times.push(started.elapsed());
                }
                1 => {
                    sqlite3(&db, &sql)?;
                    shell_times.push(started.elapsed());
                }
                _ => {
                    unaudited(&request)?;
                    unaudited_times.push(started.elapsed());
                }
            }
        }
    }
    let bridge = median(bridge_times);
    let mut rows = vec![
        Row {
            path: format!(
                "cold `wasmdesk bridge` process answering one `tickets.get` ({tickets}-ticket site, cached compiled plugin)"
            ),
            ours: bridge,
            baseline_name: "`sqlite3` shell process running the same four queries".into(),
            baseline: median(shell_times),
            target: Target::Within(3.0),
        },
        Row {
            path: "the same cold bridge call, recorded in the audit log".into(),
            ours: bridge,
            baseline_name: "the same process with the audit log off".into(),
            baseline: median(unaudited_times),
            target: Target::Within(1.1),
        },
    ];
    rows.extend(in_process(&site, tickets, runs)?);
    rows.extend(load::rows(&bin, &site, tickets, quick)?);
    rows.extend(subject_scale(root, dist, &site, tickets, quick)?);
    // On its own site seeded like this one, at this size only (see the row).
    rows.push(privacy::restore(root, dist, &bench_bin, tickets)?);
    let sites = hooks::prepare(root, dist)?;
    rows.extend(hooks::rows(dist, &sites, runs)?);
    let memory = memory::render(&memory::rows(dist, &site, tickets, &request, &sql, &sites)?);
    let table = render(&rows);
    println!("{table}\n{memory}");
    write_doc(root, &table, &memory, &missed(&rows), tickets, runs)
}

/// The in-process measurements (`bench/`): warm calls with the audit log
/// on, against the same calls with it off.
fn in_process(site: &Path, tickets: usize, runs: usize) -> Result<Vec<Row>> {
    crate::run(crate::cargo().args(["build", "--release", "-p", "wasmdesk-bench"]))?;
    let bin = crate::target_dir().join("release/wasmdesk-bench");
    let output = Command::new(&bin)
        .arg(site)
        .arg(tickets.to_string())
        // Warm calls are cheap: more rounds, steadier medians.
        .arg(runs.max(40).to_string())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !output.status.success() {
        bail!("wasmdesk-bench failed");
    }
    let mut rows = Vec::new();
    for line in String::from_utf8(output.stdout)?.lines() {
        let m: serde_json::Value = serde_json::from_str(line)?;
        let ns = |key: &str| Duration::from_nanos(m[key].as_u64().unwrap_or(0));
        if m["measure"] == "native" {
            let command = m["command"].as_str().unwrap_or("?");
            rows.push(Row {
                path: format!(
                    "warm `{command}` in one process: a fresh plugin instance, its SQL through the store import, the audit entry"
                ),
                ours: ns("plugin_ns"),
                baseline_name: "the same SQL through rusqlite in the same process, in a transaction".into(),
                baseline: ns("native_ns"),
                target: Target::Within(1.3),
            });
        }
        if m["measure"] == "sandbox" {
            let command = m["command"].as_str().unwrap_or("?");
            rows.push(Row {
                path: format!(
                    "warm `{command}` in one process with the sandbox checks (the transaction checked after every statement, host checks free of the plugin's deadline)"
                ),
                ours: ns("checked_ns"),
                baseline_name: "the same call with those checks off (as before they existed)".into(),
                baseline: ns("unchecked_ns"),
                target: Target::Within(1.1),
            });
        }
        if m["measure"] == "audit" {
            let command = m["command"].as_str().unwrap_or("?");
            rows.push(Row {
                path: format!(
                    "warm `{command}` in one process, recorded in the audit log (tables, rows, subjects, chained hash)"
                ),
                ours: ns("audited_ns"),
                baseline_name: "the same call with the audit log off".into(),
                baseline: ns("unaudited_ns"),
                target: Target::Within(1.1),
            });
        }
    }
    Ok(rows)
}

/// The customer with 20 tickets on every seeded site (bench/src/seed.rs).
const SUBJECT: &str = "subject@example.com";

/// Export and erasure of one subject (20 tickets) on the bench site and on
/// one a hundred times larger: the cost should follow the subject's data.
fn subject_scale(
    root: &Path,
    dist: &Path,
    small_site: &Path,
    small: usize,
    quick: bool,
) -> Result<Vec<Row>> {
    let large = small * 100;
    let large_site = root.join("target/bench-site-large");
    crate::seed::seed_site(dist, &large_site, large as u64)?;
    let bin = dist.join("wasmdesk");
    let cold = |site: &Path, args: &[&str]| -> Result<Duration> {
        let started = Instant::now();
        let output = Command::new(&bin)
            .arg("--site")
            .arg(site)
            .args(args)
            .output()?;
        if !output.status.success() {
            bail!(
                "wasmdesk {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(started.elapsed())
    };
    let archive = root.join("target/bench-export.zip");
    let archive = archive.to_str().context("a UTF-8 path")?;
    let export = ["privacy", "export", "--email", SUBJECT, "--out", archive];
    let dry_run = ["privacy", "erase", "--email", SUBJECT, "--dry-run"];
    // The quick proof: its cost follows the subject; the default (everything
    // searched) is the full-scan row below.
    let erase = ["privacy", "erase", "--email", SUBJECT, "--quick", "--yes"];
    // The whole-file proof, for an address the site never held: erasers
    // that find nothing, then every row and every byte searched.
    let full_scan = [
        "privacy",
        "erase",
        "--email",
        "nobody@example.com",
        "--full-scan",
        "--yes",
    ];
    crate::run(crate::cargo().args(["build", "--release", "-p", "wasmdesk-bench"]))?;
    let bench_bin = crate::target_dir().join("release/wasmdesk-bench");
    let resubject = |site: &Path, tickets: usize| -> Result<()> {
        crate::run(
            Command::new(&bench_bin)
                .arg("resubject")
                .arg(site)
                .arg(tickets.to_string()),
        )
    };
    let runs = if quick { 3 } else { 5 };
    // The subject with 5 000 tickets lives on the large site only; measured
    // first, on the site as seeded (the runs below grow its audit log).
    let heavy = privacy::heavy_export(root, dist, &bench_bin, &large_site, large, runs)?;
    let sites = [(small_site, small), (large_site.as_path(), large)];
    let [mut exports, mut previews, mut erasures, mut scans] =
        std::array::from_fn(|_| [Vec::new(), Vec::new()]);
    for _ in 0..runs {
        for (i, &(site, tickets)) in sites.iter().enumerate() {
            exports[i].push(cold(site, &export)?);
            previews[i].push(cold(site, &dry_run)?);
            erasures[i].push(cold(site, &erase)?);
            // The subject's tickets back, as seeded, for the next run.
            resubject(site, tickets)?;
            scans[i].push(cold(site, &full_scan)?);
        }
    }
    let row = |what: &str, [small_times, large_times]: [Vec<Duration>; 2]| Row {
        path: format!("{what} of one subject (20 tickets) on a {large}-ticket site"),
        ours: median(large_times),
        baseline_name: format!("the same on a {small}-ticket site"),
        baseline: median(small_times),
        target: Target::Within(1.5),
    };
    let megabytes = |site: &Path| -> Result<f64> {
        Ok(std::fs::metadata(site.join("site.db"))?.len() as f64 / 1e6)
    };
    let (small_mb, large_mb) = (megabytes(small_site)?, megabytes(&large_site)?);
    let [small_scans, large_scans] = scans;
    let per_mb = |times: Vec<Duration>, mb: f64| median(times).div_f64(mb);
    let mut rows = list_scale(dist, [small_site, &large_site], [small, large], runs)?;
    rows.extend([
        row("cold `privacy export`", exports),
        row(
            "cold `privacy erase --dry-run` (the erasers, counting; the audit log's tables for the subject)",
            previews,
        ),
        row(
            "cold `privacy erase --quick` (erasers, WAL checkpoint, the rewritten pages, the audit log's untouched tables and the files under the site folder searched)",
            erasures,
        ),
        Row {
            path: format!(
                "cold `privacy erase --full-scan` of an unknown address (every row and byte searched), per MB of a {large}-ticket site ({large_mb:.0} MB)"
            ),
            ours: per_mb(large_scans, large_mb),
            baseline_name: format!("per MB of the {small}-ticket site ({small_mb:.0} MB)"),
            baseline: per_mb(small_scans, small_mb),
            target: Target::Within(1.5),
        },
    ]);
    rows.push(heavy);
    Ok(rows)
}

/// `tickets.list` with filters and a page in the middle of the site, in a
/// cold bridge process, on the two sites: a page costs the same however
/// many tickets there are.
fn list_scale(
    dist: &Path,
    sites: [&Path; 2],
    tickets: [usize; 2],
    runs: usize,
) -> Result<Vec<Row>> {
    let bin = dist.join("wasmdesk");
    let lists = [
        (
            "status `open`, 50 per page, the page starting halfway through the site",
            "{\"status\":\"open\",\"limit\":50,\"cursor\":HALF}",
        ),
        (
            "tag `refund` and status `open`, first page",
            "{\"tag\":\"refund\",\"status\":\"open\",\"limit\":50}",
        ),
        (
            "full text `charged twice`, first page",
            "{\"text\":\"charged twice\",\"limit\":50}",
        ),
    ];
    let mut rows = Vec::new();
    for (what, args) in lists {
        let mut times = [Vec::new(), Vec::new()];
        for run in 0..runs.max(10) {
            for turn in 0..2 {
                let i = (run + turn) % 2;
                let args = args.replace("HALF", &(tickets[i] / 2).to_string());
                let request = format!("{{\"id\":1,\"op\":\"tickets.list\",\"args\":{args}}}\n");
                let started = Instant::now();
                let answer = cold_bridge(&bin, sites[i], &request)?;
                times[i].push(started.elapsed());
                if !answer.contains("\"tickets\":[{") {
                    bail!("tickets.list {args} found nothing: {answer}");
                }
            }
        }
        let [small_times, large_times] = times;
        rows.push(Row {
            path: format!(
                "cold `tickets.list` ({what}) on a {}-ticket site",
                tickets[1]
            ),
            ours: median(large_times),
            baseline_name: format!("the same on a {}-ticket site", tickets[0]),
            baseline: median(small_times),
            target: Target::Within(1.5),
        });
    }
    Ok(rows)
}

fn spawn_bridge(bin: &Path, site: &Path) -> Result<std::process::Child> {
    let child = Command::new(bin)
        .arg("--site")
        .arg(site)
        .arg("bridge")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    Ok(child)
}

fn cold_bridge(bin: &Path, site: &Path, request: &str) -> Result<String> {
    let mut child = spawn_bridge(bin, site)?;
    child
        .stdin
        .take()
        .context("bridge stdin")?
        .write_all(request.as_bytes())?;
    let output = child.wait_with_output()?;
    let text = String::from_utf8(output.stdout)?;
    if !output.status.success() || !text.contains("\"ok\":true") {
        bail!("the bridge failed: {text}");
    }
    Ok(text)
}

fn sqlite3(db: &Path, sql: &str) -> Result<String> {
    // Like wasmdesk's connections, the shell leaves checkpointing to
    // whoever writes: otherwise it would pay for the WAL frames the
    // previous process left, and wasmdesk the next time.
    let output = Command::new("sqlite3")
        .args(["-cmd", ".dbconfig no_ckpt_on_close on"])
        .arg(db)
        .arg(sql)
        .output()?;
    if !output.status.success() {
        bail!(
            "sqlite3 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn render(rows: &[Row]) -> String {
    let mut out =
        String::from("| path | wasmdesk | baseline | ratio | target |\n|---|---|---|---|---|\n");
    for r in rows {
        let ratio = r.ours.as_secs_f64() / r.baseline.as_secs_f64();
        let verdict = |met: bool| if met { "met" } else { "missed" };
        let target = match r.target {
            Target::Within(x) => format!("within {x:.1}x: {}", verdict(ratio <= x)),
            Target::Under(limit) => format!("under {}: {}", time(limit), verdict(r.ours < limit)),
            Target::None => "none set".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {}: {} | {ratio:.2}x | {target} |\n",
            r.path,
            time(r.ours),
            r.baseline_name,
            time(r.baseline),
        ));
    }
    out
}

/// The rows of this run that missed their target, as a list.
fn missed(rows: &[Row]) -> String {
    let lines: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let ratio = r.ours.as_secs_f64() / r.baseline.as_secs_f64();
            match r.target {
                Target::Within(x) if ratio > x => {
                    Some(format!("- {}: {ratio:.2}x, target {x:.1}x", r.path))
                }
                Target::Under(limit) if r.ours >= limit => Some(format!(
                    "- {}: {}, target under {}",
                    r.path,
                    time(r.ours),
                    time(limit)
                )),
                _ => None,
            }
        })
        .collect();
    if lines.is_empty() {
        "Every row met its target in this run.".into()
    } else {
        format!("In this run:\n\n{}", lines.join("\n"))
    }
}

/// `4.40 ms`, or `85.3 µs` below a millisecond.
fn time(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 1.0 {
        format!("{:.1} µs", ms * 1e3)
    } else {
        format!("{ms:.2} ms")
    }
}

fn write_doc(
    root: &Path,
    table: &str,
    memory: &str,
    missed: &str,
    tickets: usize,
    runs: usize,
) -> Result<()> {
    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(root)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism()
        .map(std::num::NonZero::get)
        .unwrap_or(1);
    let doc = include_str!("page.md")
        .replace("{commit}", &commit)
        .replace("{cores}", &cores.to_string())
        .replace("{cpu}", &cpu)
        .replace("{runs}", &runs.to_string())
        .replace("{tickets}", &tickets.to_string())
        .replace("{table}", table)
        .replace("{memory}", memory)
        .replace("{missed}", missed)
        .replace("{quick_tickets}", "1000");
    std::fs::write(root.join("docs/benchmarks.md"), doc)?;
    eprintln!("xtask: wrote docs/benchmarks.md");
    Ok(())
}
