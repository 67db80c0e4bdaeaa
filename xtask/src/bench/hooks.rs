//! Rows that need more plugins than tickets: hook dispatch (5 action and 2
//! filter plugins), a trivial call, and the sites the memory rows use. The
//! plugins are one crate, bench/hook-plugin, built once per id.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};

use super::{Row, Target, cold_bridge, median};

/// Tickets on each hook site: creation hardly depends on it.
const TICKETS: u64 = 1_000;

/// Action plugins in a plugin count (`hook-action-1` ...), then the two
/// filter plugins.
fn hook_ids(actions: usize) -> Vec<String> {
    (1..=actions)
        .map(|n| format!("hook-action-{n}"))
        .chain((1..=2).map(|n| format!("hook-filter-{n}")))
        .collect()
}

/// The three sites: tickets alone, tickets with 5 action and 2 filter
/// plugins, and 20 plugins (tickets with 17 action and 2 filter plugins).
pub struct Sites {
    pub plain: PathBuf,
    pub hooked: PathBuf,
    pub twenty: PathBuf,
}

pub fn prepare(root: &Path, dist: &Path) -> Result<Sites> {
    let built = build(root, &hook_ids(17))?;
    let sites = Sites {
        plain: root.join("target/bench-hooks-none"),
        hooked: root.join("target/bench-hooks-7"),
        twenty: root.join("target/bench-plugins-20"),
    };
    for (site, ids) in [
        (&sites.plain, vec![]),
        (&sites.hooked, hook_ids(5)),
        (&sites.twenty, hook_ids(17)),
    ] {
        crate::seed::seed_site(dist, site, TICKETS)?;
        for id in &ids {
            std::fs::copy(
                built.join(format!("{id}.wasm")),
                site.join("plugins").join(format!("{id}.wasm")),
            )?;
            let output = Command::new(dist.join("wasmdesk"))
                .arg("--site")
                .arg(site)
                .args(["plugin", "enable", id, "--yes"])
                .output()?;
            if !output.status.success() {
                bail!(
                    "cannot enable {id}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    }
    Ok(sites)
}

/// Build bench/hook-plugin once per id (its id is a build-time variable)
/// into target/bench-hooks/ID.wasm; a file newer than the crate's sources
/// and the contract is kept.
fn build(root: &Path, ids: &[String]) -> Result<PathBuf> {
    let out = crate::target_dir().join("bench-hooks");
    std::fs::create_dir_all(&out)?;
    let inputs = [
        root.join("bench/hook-plugin/src/lib.rs"),
        root.join("bench/hook-plugin/Cargo.toml"),
        root.join("wit"),
    ];
    let newest_input = newest(&inputs)?;
    for id in ids {
        let wasm = out.join(format!("{id}.wasm"));
        if std::fs::metadata(&wasm)
            .and_then(|m| m.modified())
            .is_ok_and(|built| built > newest_input)
        {
            continue;
        }
        crate::run(
            crate::cargo()
                .args(["build", "--release", "-p", "bench-hook"])
                .args(["--target", crate::WASM_TARGET])
                .env("BENCH_HOOK_ID", id),
        )?;
        std::fs::copy(
            crate::target_dir().join(format!("{}/release/bench_hook.wasm", crate::WASM_TARGET)),
            &wasm,
        )
        .with_context(|| format!("cannot copy the build of {id}"))?;
    }
    Ok(out)
}

/// The newest modification time among files and the files of folders.
fn newest(paths: &[PathBuf]) -> Result<SystemTime> {
    let mut newest = SystemTime::UNIX_EPOCH;
    for path in paths {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            let children: Vec<PathBuf> = std::fs::read_dir(path)?
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<_>>()?;
            newest = newest.max(self::newest(&children)?);
        } else {
            newest = newest.max(meta.modified()?);
        }
    }
    Ok(newest)
}

/// Ticket creation with hooks against without, warm and cold, and a
/// trivial call against a warm `tickets.get`.
pub fn rows(dist: &Path, sites: &Sites, runs: usize) -> Result<Vec<Row>> {
    let bench_bin = crate::target_dir().join("release/wasmdesk-bench");
    let output = Command::new(&bench_bin)
        .arg("hooks")
        .arg(&sites.plain)
        .arg(&sites.hooked)
        .arg(runs.max(40).to_string())
        .output()
        .with_context(|| format!("cannot run {}", bench_bin.display()))?;
    if !output.status.success() {
        bail!(
            "wasmdesk-bench hooks failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut rows = Vec::new();
    for line in String::from_utf8(output.stdout)?.lines() {
        let m: serde_json::Value = serde_json::from_str(line)?;
        let ns = |key: &str| Duration::from_nanos(m[key].as_u64().unwrap_or(0));
        if m["measure"] == "hooks" {
            rows.push(Row {
                path: "warm `tickets.create` in one process with 5 action plugins (each queues the event in its table) and 2 `message.body` filters enabled".into(),
                ours: ns("with_ns"),
                baseline_name: "the same with no hook plugin".into(),
                baseline: ns("without_ns"),
                target: Target::None,
            });
        }
        if m["measure"] == "trivial" {
            rows.push(Row {
                path: "warm trivial call in one process: a fresh instance of a small plugin answering `ping` (no SQL), its audit entry".into(),
                ours: ns("ping_ns"),
                baseline_name: "a warm `tickets.get` on the same site".into(),
                baseline: ns("get_ns"),
                target: Target::Under(Duration::from_micros(20)),
            });
        }
    }
    let bin = dist.join("wasmdesk");
    let (mut hooked, mut plain) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let request = format!(
            "{{\"id\":1,\"op\":\"tickets.create\",\"args\":{{\"email\":\"cold{run}@example.com\",\"subject\":\"Cold\",\"body\":\"Order {run} is late.  \"}}}}\n"
        );
        let timed = |site: &Path, times: &mut Vec<Duration>| -> Result<()> {
            let started = Instant::now();
            cold_bridge(&bin, site, &request)?;
            times.push(started.elapsed());
            Ok(())
        };
        if run % 2 == 0 {
            timed(&sites.hooked, &mut hooked)?;
            timed(&sites.plain, &mut plain)?;
        } else {
            timed(&sites.plain, &mut plain)?;
            timed(&sites.hooked, &mut hooked)?;
        }
    }
    rows.push(Row {
        path: "cold `wasmdesk bridge` process answering one `tickets.create` with the 5 action and 2 filter plugins enabled".into(),
        ours: median(hooked),
        baseline_name: "the same with no hook plugin".into(),
        baseline: median(plain),
        target: Target::None,
    });
    Ok(rows)
}
