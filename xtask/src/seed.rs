//! `cargo xtask seed --tickets N [--site DIR]`: a site filled with realistic
//! helpdesk data (bench/src/seed.rs), written with the tickets plugin's own
//! SQL (a test proves it equal to what the plugin writes), fast enough for
//! a million tickets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Parse `--tickets N` and `--site DIR` (default target/seed-site), then seed.
pub fn run(root: &Path, dist: &Path, args: &[String]) -> Result<()> {
    let mut tickets: Option<u64> = None;
    let mut site = root.join("target/seed-site");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tickets" => {
                let n = args.next().context("--tickets needs a number")?;
                tickets = Some(n.replace('_', "").parse().with_context(|| {
                    format!("--tickets {n}: not a number (e.g. 1000000 or 1_000_000)")
                })?);
            }
            "--site" => site = PathBuf::from(args.next().context("--site needs a folder")?),
            other => {
                bail!("unknown argument {other}: usage: cargo xtask seed --tickets N [--site DIR]")
            }
        }
    }
    let tickets = tickets.context("usage: cargo xtask seed --tickets N [--site DIR]")?;
    if tickets == 0 {
        bail!("--tickets must be at least 1");
    }
    seed_site(dist, &site, tickets)?;
    eprintln!(
        "xtask: {} holds {tickets} tickets; try: dist/wasmdesk --site {} call tickets.list",
        site.display(),
        site.display()
    );
    Ok(())
}

/// A fresh site at `site` with the tickets plugin enabled and `tickets`
/// tickets written; returns how long the writing took.
pub fn seed_site(dist: &Path, site: &Path, tickets: u64) -> Result<f64> {
    let _ = std::fs::remove_dir_all(site);
    let bin = dist.join("wasmdesk");
    let wasmdesk = |args: &[&str]| -> Result<()> {
        let output = Command::new(&bin)
            .arg("--site")
            .arg(site)
            .args(args)
            .output()?;
        if !output.status.success() {
            bail!(
                "wasmdesk {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    };
    wasmdesk(&["init"])?;
    std::fs::copy(
        dist.join("plugins/tickets.wasm"),
        site.join("plugins/tickets.wasm"),
    )?;
    wasmdesk(&["plugin", "enable", "tickets", "--yes"])?;
    crate::run(crate::cargo().args(["build", "--release", "-p", "wasmdesk-bench"]))?;
    eprintln!("xtask: seeding {tickets} tickets into {}", site.display());
    let started = Instant::now();
    crate::run(
        Command::new(crate::target_dir().join("release/wasmdesk-bench"))
            .arg("seed")
            .arg(site)
            .arg(tickets.to_string()),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("xtask: seeded {tickets} tickets in {seconds:.1} s");
    Ok(seconds)
}
