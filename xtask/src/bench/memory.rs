//! Peak resident memory of one process, as the kernel counts it
//! (`ru_maxrss` from wait4), against a baseline process.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::hooks::Sites;

pub struct MemoryRow {
    path: String,
    ours: u64,
    baseline_name: String,
    baseline: u64,
}

/// Run `cmd` with `input` on stdin to the end; its stdout and its peak
/// resident set in bytes.
fn peak_rss(cmd: &mut Command, input: &str) -> Result<(String, u64)> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(input.as_bytes())?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .context("stdout")?
        .read_to_string(&mut out)?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; the pid is our
    // child's, which nothing else waits for (std waits only when asked).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{cmd:?} failed ({status}): {out}");
    }
    // Linux reports kilobytes.
    Ok((out, usage.ru_maxrss as u64 * 1024))
}

/// Median peak RSS over `runs` processes.
fn median_rss(runs: usize, mut one: impl FnMut() -> Result<u64>) -> Result<u64> {
    let mut all = (0..runs).map(|_| one()).collect::<Result<Vec<_>>>()?;
    all.sort();
    Ok(all[all.len() / 2])
}

pub fn rows(
    dist: &Path,
    site: &Path,
    tickets: usize,
    get_request: &str,
    get_sql: &str,
    sites: &Sites,
) -> Result<Vec<MemoryRow>> {
    let bin = dist.join("wasmdesk");
    let bridge = |site: &Path, request: &str| -> Result<u64> {
        let (out, rss) = peak_rss(
            Command::new(&bin).arg("--site").arg(site).arg("bridge"),
            request,
        )?;
        if !out.contains("\"ok\":true") {
            bail!("the bridge failed: {out}");
        }
        Ok(rss)
    };
    let runs = 5;
    let get = median_rss(runs, || bridge(site, get_request))?;
    let shell = median_rss(runs, || {
        let db = site.join("site.db");
        Ok(peak_rss(
            Command::new("sqlite3")
                .args(["-cmd", ".dbconfig no_ckpt_on_close on"])
                .arg(db)
                .arg(get_sql),
            "",
        )?
        .1)
    })?;
    let create = |n: usize| {
        format!(
            "{{\"id\":1,\"op\":\"tickets.create\",\"args\":{{\"email\":\"rss{n}@example.com\",\"subject\":\"Memory\",\"body\":\"How much?  \"}}}}\n"
        )
    };
    let mut n = 0;
    let twenty = median_rss(runs, || {
        n += 1;
        bridge(&sites.twenty, &create(n))
    })?;
    let one = median_rss(runs, || {
        n += 1;
        bridge(&sites.plain, &create(n))
    })?;
    Ok(vec![
        MemoryRow {
            path: format!(
                "cold `wasmdesk bridge` process answering one `tickets.get` ({tickets}-ticket site)"
            ),
            ours: get,
            baseline_name: "`sqlite3` shell process running the same four queries".into(),
            baseline: shell,
        },
        MemoryRow {
            path: "cold `wasmdesk bridge` process with 20 plugins enabled answering one `tickets.create` that runs all 20 (tickets, 17 action plugins, 2 filters)".into(),
            ours: twenty,
            baseline_name: "the same with tickets alone".into(),
            baseline: one,
        },
    ])
}

pub fn render(rows: &[MemoryRow]) -> String {
    let mut out = String::from("| process | peak RSS | baseline | ratio |\n|---|---|---|---|\n");
    let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {}: {} | {:.2}x |\n",
            r.path,
            mib(r.ours),
            r.baseline_name,
            mib(r.baseline),
            r.ours as f64 / r.baseline as f64
        ));
    }
    out
}
