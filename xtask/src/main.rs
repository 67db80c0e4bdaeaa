//! `cargo xtask`: dist, demo, test, bench, seed. Each installs what it needs
//! (the wasm32-wasip2 target) before it starts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod bench;
mod seed;

const WASM_TARGET: &str = "wasm32-wasip2";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dist") => dist().map(drop),
        Some("demo") => demo(),
        Some("test") => test(&args[1..]),
        Some("lint") => ensure_wasm_target().and_then(|()| lint()),
        Some("bench") => dist().and_then(|dist| bench::run(&root(), &dist, &args[1..])),
        Some("seed") => dist().and_then(|dist| seed::run(&root(), &dist, &args[1..])),
        _ => {
            eprintln!("usage: cargo xtask <dist|demo|test|lint|bench|seed>\n");
            eprintln!("  dist   build dist/wasmdesk and dist/plugins/*.wasm (release)");
            eprintln!("  demo   build, then run a short scenario on a fresh demo site");
            eprintln!(
                "  test   check formatting and lints, then run every test (unit and end-to-end)"
            );
            eprintln!(
                "  lint   only check formatting and lints (cargo fmt --check, clippy -D warnings)"
            );
            eprintln!(
                "  bench  measure against sqlite3 and write docs/benchmarks.md (--quick: fewer runs)"
            );
            eprintln!(
                "  seed   --tickets N [--site DIR]: a site with N realistic tickets (default target/seed-site)"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Install the wasm32-wasip2 target through rustup when it is missing.
fn ensure_wasm_target() -> Result<()> {
    let output = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .context("cannot run rustc")?;
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status.success() && Path::new(&libdir).is_dir() {
        return Ok(());
    }
    eprintln!("xtask: installing the {WASM_TARGET} target with rustup");
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
        .context("cannot install the wasm32-wasip2 target; install rustup, then run: rustup target add wasm32-wasip2")
}

/// Install rustfmt and clippy with rustup when `cargo fmt` or `cargo
/// clippy` is missing (a minimal rustup profile has neither).
fn ensure_lint_tools() -> Result<()> {
    for (tool, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        let present = Command::new("cargo")
            .args([tool, "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            eprintln!("xtask: installing {component} with rustup");
            run(Command::new("rustup").args(["component", "add", component])).with_context(
                || format!("cannot install {component}; run: rustup component add {component}"),
            )?;
        }
    }
    Ok(())
}

/// The guest crates, linted for the target they are built for.
const GUEST_CRATES: &[&str] = &["wasmdesk-plugin", "tickets", "consent", "redact", "reports"];

/// Formatting and lints, as CI checks them: `cargo fmt --check`, clippy
/// with warnings denied on the host side and on the guest crates.
fn lint() -> Result<()> {
    ensure_lint_tools()?;
    run(cargo().args(["fmt", "--all", "--check"]))
        .context("the code is not formatted: run cargo fmt")?;
    // The default members, and the bench crate (not one: it builds wasmtime
    // in release for the benchmarks).
    run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo().args([
        "clippy",
        "--all-targets",
        "-p",
        "wasmdesk-bench",
        "--",
        "-D",
        "warnings",
    ]))?;
    let mut guests = cargo();
    guests.args(["clippy", "--target", WASM_TARGET]);
    for name in GUEST_CRATES {
        guests.args(["-p", name]);
    }
    run(guests.args(["--", "-D", "warnings"]))
}

/// Install php-cli through apt-get when `php` is missing (the bridge tests
/// run the PHP client with the real php command line).
fn ensure_php() -> Result<()> {
    ensure_command("php", "php-cli")
}

/// The componentize-py the Python plugin is built with, pinned, in a
/// virtual environment under target/ (created with the machine's python3
/// the first time; pip fetches it from PyPI).
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

fn ensure_componentize_py() -> Result<PathBuf> {
    let venv = target_dir().join("py-venv");
    let bin = venv.join("bin/componentize-py");
    let pinned = venv.join(".componentize-py-0.25.1");
    if bin.is_file() && pinned.is_file() {
        return Ok(bin);
    }
    ensure_command("python3", "python3")?;
    eprintln!(
        "xtask: installing {COMPONENTIZE_PY} into {}",
        venv.display()
    );
    let venv_made = run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    if venv_made.is_err() {
        // Debian splits venv out of python3.
        ensure_command_package("python3-venv")?;
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", COMPONENTIZE_PY])).context(
        "cannot install componentize-py from PyPI (pip install componentize-py==0.25.1)",
    )?;
    std::fs::write(&pinned, "")?;
    Ok(bin)
}

/// componentize-js, pinned, installed with npm under target/ (Node.js and
/// npm from apt-get when missing).
const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js@0.23.0";

fn ensure_componentize_js() -> Result<PathBuf> {
    let tools = target_dir().join("js-tools");
    let bin = tools.join("node_modules/.bin/componentize-js");
    let pinned = tools.join(".componentize-js-0.23.0");
    if bin.is_file() && pinned.is_file() {
        return Ok(bin);
    }
    ensure_command("node", "nodejs")?;
    ensure_command("npm", "npm")?;
    eprintln!(
        "xtask: installing {COMPONENTIZE_JS} into {}",
        tools.display()
    );
    std::fs::create_dir_all(&tools)?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
        .arg(&tools)
        .arg(COMPONENTIZE_JS))
    .context("cannot install componentize-js from npm (npm install @bytecodealliance/componentize-js@0.23.0)")?;
    std::fs::write(&pinned, "")?;
    Ok(bin)
}

/// Install Debian package `package` through apt-get when `command` is missing.
pub(crate) fn ensure_command(command: &str, package: &str) -> Result<()> {
    if Command::new(command)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    ensure_command_package(package)
}

/// Install Debian package `package` through apt-get.
fn ensure_command_package(package: &str) -> Result<()> {
    eprintln!("xtask: installing {package} with apt-get");
    let apt = |args: &[&str]| {
        run(Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    apt(&["update", "-qq"])
        .and_then(|()| apt(&["install", "-y", "-qq", package]))
        .with_context(|| {
            format!("cannot install {package}; install it yourself with: apt-get install {package}")
        })
}

/// First-party plugin crates: every folder under plugins/.
fn first_party_plugins() -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root().join("plugins"))? {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file() {
            names.push(
                path.file_name()
                    .expect("a folder has a name")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    names.sort();
    Ok(names)
}

/// Build the release binary and the first-party plugins into dist/.
fn dist() -> Result<PathBuf> {
    ensure_wasm_target()?;
    let root = root();
    run(cargo().args(["build", "--release", "-p", "wasmdesk"]))?;
    let plugins = first_party_plugins()?;
    let mut build = cargo();
    build.args(["build", "--release", "--target", WASM_TARGET]);
    for name in &plugins {
        build.args(["-p", name]);
    }
    run(&mut build)?;

    let target = target_dir();
    let dist = root.join("dist");
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::create_dir_all(dist.join("plugins"))?;
    std::fs::copy(target.join("release/wasmdesk"), dist.join("wasmdesk"))
        .context("copy the wasmdesk binary")?;
    for name in &plugins {
        let built = target
            .join(WASM_TARGET)
            .join("release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        std::fs::copy(&built, dist.join("plugins").join(format!("{name}.wasm")))
            .with_context(|| format!("copy {}", built.display()))?;
    }
    eprintln!(
        "xtask: dist/wasmdesk and dist/plugins/{{{}}}.wasm are ready",
        plugins.join(",")
    );
    Ok(dist)
}

/// Where cargo puts build outputs.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Build, then show a site owner's first minutes on a fresh demo site.
fn demo() -> Result<()> {
    let dist = dist()?;
    let site = root().join("demo-site");
    let _ = std::fs::remove_dir_all(&site);
    let bin = dist.join("wasmdesk");
    let wasmdesk = |args: &[&str], expect_ok: bool| -> Result<()> {
        println!(
            "\n$ wasmdesk {}",
            args.iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let status = Command::new(&bin)
            .args(args)
            .env("WASMDESK_SITE", &site)
            .status()?;
        if status.success() != expect_ok {
            bail!("wasmdesk {args:?} exited with {status}, which the demo did not expect");
        }
        Ok(())
    };
    println!("# A fresh site in {}", site.display());
    wasmdesk(&["init"], true)?;
    for name in first_party_plugins()? {
        std::fs::copy(
            dist.join("plugins").join(format!("{name}.wasm")),
            site.join("plugins").join(format!("{name}.wasm")),
        )?;
    }
    println!("\n# Plugins dropped into plugins/ wait for approval");
    wasmdesk(&["plugin", "list"], true)?;
    wasmdesk(&["plugin", "inspect", "reports"], true)?;
    wasmdesk(&["plugin", "enable", "tickets", "--yes"], true)?;
    wasmdesk(&["plugin", "enable", "reports", "--yes"], true)?;
    wasmdesk(&["plugin", "enable", "redact", "--yes"], true)?;
    println!("\n# The helpdesk at work");
    wasmdesk(
        &[
            "call",
            "tickets.create",
            r#"{"email": "ada@example.com", "name": "Ada", "subject": "Invoice missing", "body": "I did not get my invoice for March."}"#,
        ],
        true,
    )?;
    wasmdesk(
        &[
            "call",
            "tickets.create",
            r#"{"email": "grace@example.com", "subject": "Login fails", "body": "My password is refused.", "priority": "high"}"#,
        ],
        true,
    )?;
    println!("\n# redact masks the card number before tickets stores the reply");
    wasmdesk(
        &[
            "call",
            "tickets.reply",
            r#"{"id": 1, "from": "customer", "body": "I paid with card 4111 1111 1111 1111."}"#,
        ],
        true,
    )?;
    wasmdesk(
        &[
            "call",
            "tickets.list",
            r#"{"limit": 10, "text": "invoice"}"#,
        ],
        true,
    )?;
    wasmdesk(&["call", "reports.summary"], true)?;
    println!("\n# Capabilities are enforced: without its grant, reports is refused");
    wasmdesk(
        &["plugin", "revoke", "reports", "read:tickets__tickets"],
        true,
    )?;
    wasmdesk(&["call", "reports.summary"], false)?;
    wasmdesk(
        &["plugin", "grant", "reports", "read:tickets__tickets"],
        true,
    )?;
    wasmdesk(&["call", "reports.summary"], true)?;
    println!("\n# GDPR: give Ada her data, erase Grace and prove it");
    let archive = site.join("ada-export.zip").display().to_string();
    wasmdesk(
        &[
            "privacy",
            "export",
            "--email",
            "ada@example.com",
            "--out",
            &archive,
        ],
        true,
    )?;
    wasmdesk(
        &["privacy", "erase", "--email", "grace@example.com", "--yes"],
        true,
    )?;
    println!("\n# The audit log: who touched whose data, even after an erasure; tamper-evident");
    wasmdesk(&["audit", "log", "--subject", "grace@example.com"], true)?;
    wasmdesk(&["audit", "verify"], true)?;
    wasmdesk(&["audit", "anomalies"], true)?;
    println!(
        "\n# Done. Explore with: WASMDESK_SITE={} dist/wasmdesk plugin list",
        site.display()
    );
    Ok(())
}

fn shell_quote(arg: &str) -> String {
    if arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Every test: unit tests and the end-to-end suite on real plugins.
fn test(extra: &[String]) -> Result<()> {
    ensure_wasm_target()?;
    lint()?;
    ensure_php()?;
    // The Python and JavaScript plugins' tests build them.
    let componentize_py = ensure_componentize_py()?;
    let componentize_js = ensure_componentize_js()?;
    // The default members: host, xtask, identifiers and tests/artifacts
    // (whose build script builds the guests for wasm32-wasip2).
    run(cargo()
        .arg("test")
        .args(extra)
        .env("WASMDESK_COMPONENTIZE_PY", &componentize_py)
        .env("WASMDESK_COMPONENTIZE_JS", &componentize_js))?;
    // Guest crates are not default members; the ones with pure logic have
    // native unit tests.
    run(cargo().args(["test", "--lib", "-p", "redact"]).args(extra))?;
    // The guest SDK's unit and doc tests run natively too.
    run(cargo().args(["test", "-p", "wasmdesk-plugin"]).args(extra))?;
    // The data generator must write what the tickets plugin writes.
    run(cargo().args(["test", "-p", "wasmdesk-bench"]).args(extra))
}
