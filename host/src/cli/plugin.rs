//! `wasmdesk plugin ...`: review, enable, disable and remove plugins, grant
//! capabilities, set limits; and, with no site, start a project or test one.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::args::{Cli, LimitsArgs, PluginCommand};
use super::{Confirmation, confirm, open_site, output};
use crate::database::Capability;
use crate::error::Error;
use crate::runtime::LimitChange;
use crate::site::Site;

/// Run a plugin subcommand. `new` and `test` never open the site at `root`;
/// every other one opens it first.
pub fn run(root: &Path, command: PluginCommand, json: bool) -> Result<(), Error> {
    match command {
        PluginCommand::New { name, dir, lang } => new_project(&name, &dir, lang, json),
        PluginCommand::Test {
            file,
            seed,
            with,
            keep,
        } => test(&file, seed, with, keep, json),
        PluginCommand::List => list(&mut open_site(root)?, json),
        PluginCommand::Inspect { name } => inspect(&mut open_site(root)?, &name, json),
        PluginCommand::Enable { name, yes } => enable(&mut open_site(root)?, &name, yes, json),
        PluginCommand::Disable { name } => disable(&mut open_site(root)?, &name, json),
        PluginCommand::Remove {
            name,
            purge_data,
            yes,
        } => remove(&mut open_site(root)?, &name, purge_data, yes, json),
        PluginCommand::Grant { name, capabilities } => {
            grant(&mut open_site(root)?, &name, &capabilities, json)
        }
        PluginCommand::Revoke { name, capabilities } => {
            revoke(&mut open_site(root)?, &name, &capabilities, json)
        }
        PluginCommand::Limits(args) => limits(&mut open_site(root)?, &args, json),
    }
}

/// `plugin new`: a project from the template, and how to build and test it.
fn new_project(
    name: &str,
    dir: &Path,
    lang: crate::devkit::template::Lang,
    json: bool,
) -> Result<(), Error> {
    let project = crate::devkit::template::create_in(name, dir, lang)?;
    let shown = project.display();
    let snake = name.replace('-', "_");
    let (build, wasm) = match lang {
        crate::devkit::template::Lang::Rust => (
            "cargo build --release --target wasm32-wasip2".to_string(),
            format!("target/wasm32-wasip2/release/{snake}.wasm"),
        ),
        _ => ("./build.sh".to_string(), format!("{snake}.wasm")),
    };
    output::print(
        json,
        json!({"id": name, "dir": shown.to_string(), "build": build, "wasm": wasm}),
        || {
            format!(
                "created {shown}\nbuild it:  cd {shown} && {build}\n\
                 test it:   wasmdesk plugin test {wasm}"
            )
        },
    );
    Ok(())
}

/// `plugin test`: the test kit, in a throw-away site of its own.
fn test(
    file: &Path,
    seed: Option<PathBuf>,
    with: Vec<String>,
    keep: bool,
    json: bool,
) -> Result<(), Error> {
    refuse_site_for_test()?;
    let seed = read_seed(seed)?;
    let options = crate::devkit::testkit::Options { seed, with, keep };
    let report = crate::devkit::testkit::run(file, options)?;
    let passed = report.passed;
    output::print(json, json!(report), || report.render());
    if !passed {
        return Err(Error::TestFailed(format!(
            "plugin \"{}\" failed the test kit: see the FAIL lines above",
            report.plugin
        )));
    }
    Ok(())
}

/// `plugin test` builds its own throw-away site and never opens a real
/// one, so a `--site` given on its command line would be silently ignored:
/// it is refused instead. `WASMDESK_SITE` in the environment is ignored,
/// as the shell of a site owner sets it for every command.
fn refuse_site_for_test() -> Result<(), Error> {
    use clap::CommandFactory;
    let given = Cli::command()
        .try_get_matches_from(std::env::args_os())
        .ok()
        .is_some_and(|m| m.value_source("site") == Some(clap::parser::ValueSource::CommandLine));
    if given {
        return Err(Error::BadRequest(
            "plugin test runs in a throw-away site and never touches a real one, so it takes no \
             --site: drop it; to have other plugins in the test site, install them with --with \
             PLUGIN"
                .into(),
        ));
    }
    Ok(())
}

/// The test kit's seed steps: `--seed FILE`, else `wasmdesk-test.json` in
/// the current folder when there is one, else none (the kit guesses).
fn read_seed(path: Option<PathBuf>) -> Result<Option<crate::devkit::testkit::Seed>, Error> {
    let (path, required) = match path {
        Some(path) => (path, true),
        None => (PathBuf::from("wasmdesk-test.json"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !required {
                return Ok(None);
            }
            return Err(Error::NotFound(format!(
                "{} does not exist: give --seed a wasmdesk-test.json",
                path.display()
            )));
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    crate::devkit::testkit::Seed::parse(&text)
        .map(Some)
        .map_err(|e| Error::BadRequest(format!("{} is not a seed file: {e}", path.display())))
}

fn list(site: &mut Site, json: bool) -> Result<(), Error> {
    let plugins = site.plugins()?;
    output::print(json, json!({"plugins": plugins}), || {
        output::plugin_table(&plugins)
    });
    Ok(())
}

fn inspect(site: &mut Site, name: &str, json: bool) -> Result<(), Error> {
    let entry = site.inspect(name)?;
    output::print(json, json!(entry), || output::plugin_details(&entry));
    Ok(())
}

/// `plugin enable`: show what the plugin asks for, ask, then grant it.
fn enable(site: &mut Site, name: &str, yes: bool, json: bool) -> Result<(), Error> {
    let entry = site.inspect(name)?;
    if !yes {
        let asked = entry.manifest.as_ref().map_or(0, |m| m.capabilities.len());
        confirm(
            json,
            Confirmation {
                details: Some(output::lines_only(&output::plugin_details(&entry))),
                question: format!("Enable {name} and grant the {asked} grant(s) it asks for?"),
                unattended: format!(
                    "enabling \"{name}\" needs your approval: run it in a terminal, or pass --yes \
                     after reviewing: wasmdesk plugin inspect {name}"
                ),
                refused: format!("not enabled: you did not approve \"{name}\""),
            },
        )?;
    }
    let report = site.enable(name, entry.sha256.as_deref())?;
    output::print(json, json!(report), || output::enable_report(&report));
    Ok(())
}

fn disable(site: &mut Site, name: &str, json: bool) -> Result<(), Error> {
    site.disable(name)?;
    output::print(json, json!({"id": name, "status": "disabled"}), || {
        format!("{name} disabled")
    });
    Ok(())
}

fn remove(
    site: &mut Site,
    name: &str,
    purge_data: bool,
    yes: bool,
    json: bool,
) -> Result<(), Error> {
    if !yes {
        let what = if purge_data {
            "its file, grants and ALL ITS DATA"
        } else {
            "its file and grants"
        };
        confirm(
            json,
            Confirmation {
                details: None,
                question: format!("Remove {name} ({what})?"),
                unattended: format!(
                    "removing \"{name}\" needs confirmation: run it in a terminal, or pass --yes"
                ),
                refused: format!("not removed: you did not confirm removing \"{name}\""),
            },
        )?;
    }
    let report = site.remove(name, purge_data)?;
    output::print(json, json!(report), || output::remove_report(&report));
    Ok(())
}

fn grant(site: &mut Site, name: &str, capabilities: &[String], json: bool) -> Result<(), Error> {
    let caps = parse_capabilities(capabilities)?;
    site.grant(name, &caps)?;
    print_grants(site, name, json)
}

fn revoke(site: &mut Site, name: &str, capabilities: &[String], json: bool) -> Result<(), Error> {
    let caps = parse_capabilities(capabilities)?;
    site.revoke(name, &caps)?;
    print_grants(site, name, json)
}

/// The plugin's grants after `grant` or `revoke` changed them.
fn print_grants(site: &mut Site, name: &str, json: bool) -> Result<(), Error> {
    let grants = site.grants(name)?;
    output::print(json, json!({"id": name, "grants": grants}), || {
        output::grants_line(name, &grants)
    });
    Ok(())
}

fn limits(site: &mut Site, args: &LimitsArgs, json: bool) -> Result<(), Error> {
    let change = |value: Option<u32>| match value {
        _ if args.reset => LimitChange::Reset,
        Some(n) => LimitChange::Set(n),
        None => LimitChange::Keep,
    };
    let (memory, deadline) = (change(args.memory_mib), change(args.deadline_ms));
    let limits = site.set_limits(&args.name, memory, deadline)?;
    output::print(json, json!({"id": args.name, "limits": limits}), || {
        format!(
            "{}: memory {} MiB, deadline {} ms per call",
            args.name, limits.memory_mib, limits.deadline_ms
        )
    });
    Ok(())
}

fn parse_capabilities(args: &[String]) -> Result<Vec<Capability>, Error> {
    let mut caps = Vec::new();
    let mut problems = Vec::new();
    for arg in args {
        match arg.parse::<Capability>() {
            Ok(cap) => caps.push(cap),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(caps)
    } else {
        Err(Error::BadRequest(problems.join("; ")))
    }
}
