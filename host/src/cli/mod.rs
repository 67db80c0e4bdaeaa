//! The `wasmdesk` command line for site owners: arguments (clap), then the
//! library call, then human or `--json` output. Exit statuses: docs/cli.md.

mod audit;
mod output;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::error::Error;
use crate::privacy::requests::RequestKind;
use crate::privacy::{Scope, Subject};
use crate::site::Site;
use crate::store::Capability;

/// wasmdesk: an on-premises helpdesk core with sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "wasmdesk", version, about, long_about = None)]
pub struct Cli {
    /// The site folder (holds site.db, plugins/, logs/).
    #[arg(long, global = true, env = "WASMDESK_SITE", default_value = ".")]
    pub site: PathBuf,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a site in the --site folder (safe to run again).
    Init,
    /// Review, enable, disable and remove plugins; grant capabilities.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run a plugin command: wasmdesk call tickets.create '{"email": ...}'.
    Call(CallArgs),
    /// Answer JSON requests, one per line on stdin, until EOF (for PHP/CMS sites).
    Bridge {
        /// Who the requests come from, for the audit log, unless a request
        /// names its own "caller" (e.g. wp:user:7).
        #[arg(long, default_value = "unknown")]
        caller: String,
    },
    /// Copy the site database to a file while the site keeps running.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace the site database with a backup, then erase again everyone
    /// erased since the backup was taken. Stop bridge workers first.
    Restore {
        file: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Apply the plugins' retention rules (from cron), list or change them.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Answer a data subject's GDPR request: export or erase their data.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// Investigate who touched whose data: log, verify, export, anomalies.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The breach register: record, find whom it touched, close when notified.
    #[command(subcommand)]
    Breach(audit::BreachCommand),
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Export everything every plugin holds about a person into a zip archive.
    Export {
        #[command(flatten)]
        subject: SubjectArgs,
        /// Where to write the archive (export.json, index.html, files/).
        #[arg(long)]
        out: PathBuf,
    },
    /// Record a customer's request; prints the token they confirm it with.
    Request {
        #[arg(value_enum)]
        kind: KindArg,
        #[command(flatten)]
        subject: SubjectArgs,
    },
    /// Mark the request with this token as confirmed by the customer.
    Confirm { token: String },
    /// List requests with their deadlines (one month from receipt).
    Requests {
        /// Only open requests past their deadline.
        #[arg(long)]
        overdue: bool,
    },
    /// Carry out a confirmed request (export: to --out or SITE/exports/).
    Run {
        id: i64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show one request with its outcome report.
    Show { id: i64 },
    /// Print the register of processing activities (GDPR Art. 30).
    Register {
        /// An HTML page instead of text.
        #[arg(long, conflicts_with = "json")]
        html: bool,
    },
    /// Erase a person from every plugin, then prove it with a residue scan.
    Erase {
        #[command(flatten)]
        subject: SubjectArgs,
        /// Report what would be removed, anonymised or retained; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Search every table, every byte of the database and every file
        /// under the site folder for residue (the default of a real
        /// erasure; a dry run searches no rows unless given this).
        #[arg(long, conflicts_with = "quick")]
        full_scan: bool,
        /// Search only what the erasure rewrote, the tables the audit log
        /// ties to the person and the files under the site folder: faster on
        /// a large site; the report names what it skipped.
        #[arg(long)]
        quick: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Every enabled plugin's retention rules with the days in force.
    List,
    /// Change how many days a rule keeps data (--default goes back to the plugin's).
    Set {
        plugin: String,
        rule: String,
        #[arg(required_unless_present = "default")]
        days: Option<u32>,
        #[arg(long, conflicts_with = "days")]
        default: bool,
    },
    /// Apply every rule now; safe to run again (meant for a daily cron job).
    Run {
        /// Report what would be removed; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    Export,
    Erase,
}

#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// The person's e-mail address.
    #[arg(long)]
    pub email: String,
    /// Their name, also searched for and anonymised in other people's messages.
    #[arg(long)]
    pub name: Option<String>,
    /// Another identifier of theirs, as KIND=VALUE (`phone=+44 20 7946 0000`,
    /// `street=12 Mill Lane`); repeatable. Searched for, anonymised and
    /// exported like the name.
    #[arg(long = "identifier", value_name = "KIND=VALUE")]
    pub identifiers: Vec<String>,
}

impl SubjectArgs {
    fn subject(&self) -> Result<Subject, Error> {
        let mut subject = Subject::new(&self.email, self.name.as_deref())?;
        for pair in &self.identifiers {
            let (kind, value) = pair.split_once('=').ok_or_else(|| {
                Error::BadRequest(format!(
                    "--identifier {pair:?} is not KIND=VALUE (e.g. phone=+44 20 7946 0000)"
                ))
            })?;
            subject.add_identifier(kind, value)?;
        }
        Ok(subject)
    }
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List every plugin with its status (pending, enabled, disabled, rejected, missing).
    List,
    /// Show a plugin's manifest, the capabilities it asks for and its grants.
    Inspect { name: String },
    /// Approve a plugin: show what it asks for, then grant exactly that and enable it.
    Enable {
        name: String,
        /// Approve without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Stop running a plugin; its grants and data stay.
    Disable { name: String },
    /// Delete a plugin's file, approval and grants (its tables stay unless --purge-data).
    Remove {
        name: String,
        /// Also drop every table in the plugin's namespace.
        #[arg(long)]
        purge_data: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Grant capabilities outside the plugin's namespace: read:TABLE or write:TABLE.
    Grant {
        name: String,
        #[arg(required = true, value_name = "CAPABILITY")]
        capabilities: Vec<String>,
    },
    /// Take capabilities back (revoking write leaves read).
    Revoke {
        name: String,
        #[arg(required = true, value_name = "CAPABILITY")]
        capabilities: Vec<String>,
    },
    /// Show or set a plugin's limits (memory cap, deadline per call).
    Limits(LimitsArgs),
    /// Start a new plugin project from the template (Rust): NAME/ with the
    /// contract, one command, one action hook, an exporter and an eraser.
    New {
        name: String,
        /// The folder to create the project in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The language: rust (cargo), python (componentize-py) or
        /// javascript (componentize-js).
        #[arg(long, value_enum, default_value = "rust")]
        lang: crate::template::Lang,
    },
    /// Test a built plugin in a throw-away site: every command, filter and
    /// hook, and its privacy duties against a seeded person: logs, export,
    /// erasure with each column's policy, retention (exit 10 when a check
    /// fails). It never touches a real site: --site is refused.
    Test {
        /// The component: target/wasm32-wasip2/release/NAME.wasm.
        file: PathBuf,
        /// How to store the test person's data through the plugin (default:
        /// wasmdesk-test.json in the current folder, when there is one).
        #[arg(long)]
        seed: Option<PathBuf>,
        /// A plugin to install and enable first, such as one whose tables
        /// it reads: a path to its .wasm, or the name of one shipped with
        /// wasmdesk (tickets, consent, redact, reports: plugins/NAME.wasm
        /// next to the wasmdesk binary). Repeat for several.
        #[arg(long = "with", value_name = "PLUGIN")]
        with: Vec<String>,
        /// Keep the throw-away site to look at.
        #[arg(long)]
        keep: bool,
    },
}

#[derive(Debug, Args)]
pub struct LimitsArgs {
    pub name: String,
    /// Memory cap per call, in MiB (default 64).
    #[arg(long)]
    pub memory_mib: Option<u32>,
    /// Deadline per call, in milliseconds (default 5000).
    #[arg(long)]
    pub deadline_ms: Option<u32>,
    /// Go back to the defaults.
    #[arg(long, conflicts_with_all = ["memory_mib", "deadline_ms"])]
    pub reset: bool,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// PLUGIN.COMMAND, such as tickets.create.
    pub op: String,
    /// The command's arguments as a JSON document.
    #[arg(default_value = "{}")]
    pub args: String,
}

/// Parse the arguments, run, print, and return the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error, json);
            ExitCode::from(error.code().exit_code())
        }
    }
}

/// Print an error once: one line on stderr, or a JSON object with --json.
/// Writes ignore failures (never `eprintln!`, which panics on a closed pipe).
pub fn report(error: &Error, json: bool) {
    let code = error.code();
    if json {
        let body =
            json!({"ok": false, "error": {"code": code.as_str(), "message": error.to_string()}});
        let _ = writeln!(std::io::stderr(), "{body}");
    } else {
        // One line, whatever a plugin put into the message.
        let _ = writeln!(
            std::io::stderr(),
            "wasmdesk: error[{}]: {}",
            code.as_str(),
            crate::text::single_line(&error.to_string())
        );
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let json = cli.json;
    match cli.command {
        Command::Init => {
            let site = Site::init(&cli.site)?;
            let root = site.paths().root.display().to_string();
            output::print(json, json!({"ok": true, "site": root}), || {
                format!(
                    "site ready in {root}\ncopy plugins (NAME.wasm) into {}, then run: wasmdesk plugin list",
                    site.paths().plugins.display()
                )
            });
        }
        Command::Plugin(PluginCommand::New { name, dir, lang }) => {
            let project = crate::template::create_in(&name, &dir, lang)?;
            let shown = project.display();
            let snake = name.replace('-', "_");
            let (build, wasm) = match lang {
                crate::template::Lang::Rust => (
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
        }
        Command::Plugin(PluginCommand::Test {
            file,
            seed,
            with,
            keep,
        }) => {
            refuse_site_for_test()?;
            let seed = read_seed(seed)?;
            let options = crate::testkit::Options { seed, with, keep };
            let report = crate::testkit::run(&file, options)?;
            let passed = report.passed;
            output::print(json, json!(report), || report.render());
            if !passed {
                return Err(Error::TestFailed(format!(
                    "plugin \"{}\" failed the test kit: see the FAIL lines above",
                    report.plugin
                )));
            }
        }
        Command::Plugin(command) => {
            let mut site = open_site(&cli.site)?;
            run_plugin(&mut site, command, json)?;
        }
        Command::Bridge { caller } => {
            let mut site = open_site(&cli.site)?;
            let stdin = std::io::stdin().lock();
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            crate::bridge::serve(&mut site, &caller, stdin, stdout)
                .map_err(|e| Error::io("the bridge lost its stdin or stdout", e))?;
        }
        Command::Backup { out } => {
            let mut site = open_site(&cli.site)?;
            let report = site.backup(&out)?;
            output::print(json, json!(report), || {
                format!("backup written to {} ({} bytes)", report.out, report.bytes)
            });
        }
        Command::Restore { file, yes } => {
            let mut site = open_site(&cli.site)?;
            if !yes {
                if json || !std::io::stdin().is_terminal() {
                    return Err(Error::BadRequest(
                        "restoring replaces the site database: run it in a terminal, or pass --yes"
                            .into(),
                    ));
                }
                if !confirm(&format!(
                    "Replace the site database with {}?",
                    file.display()
                ))? {
                    return Err(Error::Conflict("not restored: you did not confirm".into()));
                }
            }
            let report = site.restore(&file)?;
            output::print(json, json!(report), || {
                format!(
                    "restored {}; replayed {} erasure(s) made since the backup ({} subject(s) were not in it){}",
                    report.from,
                    report.replayed,
                    report.not_present,
                    if report.clean {
                        ""
                    } else {
                        "; WARNING: residue remains, run wasmdesk privacy erase again"
                    }
                )
            });
        }
        Command::Retention(command) => {
            let mut site = open_site(&cli.site)?;
            match command {
                RetentionCommand::List => {
                    let rules = site.retention_rules()?;
                    output::print(json, json!({"rules": rules}), || {
                        output::retention_rules(&rules)
                    });
                }
                RetentionCommand::Set {
                    plugin,
                    rule,
                    days,
                    default,
                } => {
                    let rule =
                        site.set_retention(&plugin, &rule, if default { None } else { days })?;
                    output::print(json, json!(rule), || {
                        output::retention_rules(std::slice::from_ref(&rule))
                    });
                }
                RetentionCommand::Run { dry_run } => {
                    let applied = site.run_retention(dry_run)?;
                    output::print(
                        json,
                        json!({"dry_run": dry_run, "applied": applied}),
                        || output::retention_run(&applied, dry_run),
                    );
                }
            }
        }
        Command::Privacy(command) => {
            let mut site = open_site(&cli.site)?;
            run_privacy(&mut site, command, json)?;
        }
        Command::Audit(command) => {
            let mut site = open_site(&cli.site)?;
            audit::run_audit(&mut site, command, json)?;
        }
        Command::Breach(command) => {
            let mut site = open_site(&cli.site)?;
            audit::run_breach(&mut site, command, json)?;
        }
        Command::Call(args) => {
            let (plugin, command) = args.op.split_once('.').ok_or_else(|| {
                Error::BadRequest(format!(
                    "{:?} is not of the form PLUGIN.COMMAND (e.g. tickets.create)",
                    args.op
                ))
            })?;
            let mut site = open_site(&cli.site)?;
            let output = site.call(plugin, command, &args.args)?;
            // Recorded before anything is printed: a result the audit log
            // could not record is withheld, on every path.
            site.flush_audit()?;
            for warning in &output.warnings {
                let _ = writeln!(
                    std::io::stderr(),
                    "wasmdesk: warning: {}",
                    crate::text::single_line(warning)
                );
            }
            let pretty =
                serde_json::to_string_pretty(&output.result).expect("a JSON value serializes");
            output::print(json, output.result, || pretty);
        }
    }
    Ok(())
}

fn run_plugin(site: &mut Site, command: PluginCommand, json: bool) -> Result<(), Error> {
    match command {
        PluginCommand::List => {
            let plugins = site.plugins()?;
            output::print(json, json!({"plugins": plugins}), || {
                output::plugin_table(&plugins)
            });
        }
        PluginCommand::Inspect { name } => {
            let entry = site.inspect(&name)?;
            output::print(json, json!(entry), || output::plugin_details(&entry));
        }
        PluginCommand::Enable { name, yes } => {
            let entry = site.inspect(&name)?;
            if !yes {
                if json || !std::io::stdin().is_terminal() {
                    return Err(Error::BadRequest(format!(
                        "enabling \"{name}\" needs your approval: run it in a terminal, or pass --yes \
                         after reviewing: wasmdesk plugin inspect {name}"
                    )));
                }
                let _ = writeln!(
                    std::io::stderr(),
                    "{}",
                    output::lines_only(&output::plugin_details(&entry))
                );
                let asked = entry.manifest.as_ref().map_or(0, |m| m.capabilities.len());
                if !confirm(&format!(
                    "Enable {name} and grant the {asked} grant(s) it asks for?"
                ))? {
                    return Err(Error::Conflict(format!(
                        "not enabled: you did not approve \"{name}\""
                    )));
                }
            }
            let report = site.enable(&name, entry.sha256.as_deref())?;
            output::print(json, json!(report), || output::enable_report(&report));
        }
        PluginCommand::Disable { name } => {
            site.disable(&name)?;
            output::print(json, json!({"id": name, "status": "disabled"}), || {
                format!("{name} disabled")
            });
        }
        PluginCommand::Remove {
            name,
            purge_data,
            yes,
        } => {
            if !yes {
                if json || !std::io::stdin().is_terminal() {
                    return Err(Error::BadRequest(format!(
                        "removing \"{name}\" needs confirmation: run it in a terminal, or pass --yes"
                    )));
                }
                let what = if purge_data {
                    "its file, grants and ALL ITS DATA"
                } else {
                    "its file and grants"
                };
                if !confirm(&format!("Remove {name} ({what})?"))? {
                    return Err(Error::Conflict(format!(
                        "not removed: you did not confirm removing \"{name}\""
                    )));
                }
            }
            let report = site.remove(&name, purge_data)?;
            output::print(json, json!(report), || output::remove_report(&report));
        }
        PluginCommand::Grant { name, capabilities } => {
            let caps = parse_capabilities(&capabilities)?;
            site.grant(&name, &caps)?;
            let grants = site.grants(&name)?;
            output::print(json, json!({"id": name, "grants": grants}), || {
                output::grants_line(&name, &grants)
            });
        }
        PluginCommand::Revoke { name, capabilities } => {
            let caps = parse_capabilities(&capabilities)?;
            site.revoke(&name, &caps)?;
            let grants = site.grants(&name)?;
            output::print(json, json!({"id": name, "grants": grants}), || {
                output::grants_line(&name, &grants)
            });
        }
        PluginCommand::New { .. } | PluginCommand::Test { .. } => {
            unreachable!("run() handles the commands that need no site")
        }
        PluginCommand::Limits(args) => {
            let (memory, deadline) = if args.reset {
                (Some(None), Some(None))
            } else {
                (args.memory_mib.map(Some), args.deadline_ms.map(Some))
            };
            let limits = site.set_limits(&args.name, memory, deadline)?;
            output::print(json, json!({"id": args.name, "limits": limits}), || {
                format!(
                    "{}: memory {} MiB, deadline {} ms per call",
                    args.name, limits.memory_mib, limits.deadline_ms
                )
            });
        }
    }
    Ok(())
}

fn run_privacy(site: &mut Site, command: PrivacyCommand, json: bool) -> Result<(), Error> {
    match command {
        PrivacyCommand::Export { subject, out } => {
            let subject = subject.subject()?;
            // A spinner on a terminal; nothing when stderr is a pipe or file.
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            let report = site.export_subject_with_progress(&subject, &out, &mut |plugin, items| {
                bar.set_message(format!(
                    "exporting {}: {items} item(s) from {plugin}",
                    subject.email
                ));
            });
            bar.finish_and_clear();
            let report = report?;
            output::print(json, json!(report), || {
                format!(
                    "exported {} item(s) and {} file(s) about {} from {} to {}",
                    report.items,
                    report.files,
                    report.subject,
                    if report.plugins.is_empty() {
                        "no plugin".to_string()
                    } else {
                        report.plugins.join(", ")
                    },
                    report.out
                )
            });
        }
        PrivacyCommand::Request { kind, subject } => {
            let subject = subject.subject()?;
            let kind = match kind {
                KindArg::Export => RequestKind::Export,
                KindArg::Erase => RequestKind::Erase,
            };
            let created = site.create_request(kind, &subject)?;
            output::print(json, json!(created), || {
                format!(
                    "request {} ({}) recorded; due by {} ms\nsend the customer this confirmation token: {}\n\
                     then: wasmdesk privacy confirm TOKEN; wasmdesk privacy run {}",
                    created.request.id,
                    created.request.kind,
                    created.request.deadline_at_ms,
                    created.token,
                    created.request.id
                )
            });
        }
        PrivacyCommand::Confirm { token } => {
            let request = site.confirm_request(&token)?;
            output::print(json, json!(request), || output::request_line(&request));
        }
        PrivacyCommand::Requests { overdue } => {
            let requests = site.requests(overdue)?;
            output::print(json, json!({"requests": requests}), || {
                if requests.is_empty() {
                    "no requests".to_string()
                } else {
                    requests
                        .iter()
                        .map(output::request_line)
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            });
        }
        PrivacyCommand::Run { id, out } => {
            let request = site.run_request(id, out.as_deref())?;
            output::print(json, json!(request), || output::request_line(&request));
        }
        PrivacyCommand::Show { id } => {
            let request = site.request(id)?;
            let pretty = serde_json::to_string_pretty(&request).expect("a request serializes");
            output::print(json, json!(request), || pretty);
        }
        PrivacyCommand::Register { html } => {
            let register = site.register()?;
            output::print(json, json!(register), || {
                crate::privacy::register::render(&register, html)
            });
        }
        PrivacyCommand::Erase {
            subject,
            dry_run,
            full_scan,
            quick,
            yes,
        } => {
            let subject = subject.subject()?;
            if !dry_run && !yes {
                if json || !std::io::stdin().is_terminal() {
                    return Err(Error::BadRequest(format!(
                        "erasing {} cannot be undone: run it in a terminal, or pass --yes (preview with --dry-run)",
                        subject.email
                    )));
                }
                if !confirm(&format!(
                    "Erase every trace of {} from this site? This cannot be undone.",
                    subject.email
                ))? {
                    return Err(Error::Conflict(format!(
                        "not erased: you did not confirm erasing {}",
                        subject.email
                    )));
                }
            }
            // Everything by default; a preview searches no rows unless asked.
            let scope = if quick || (dry_run && !full_scan) {
                Scope::Subject
            } else {
                Scope::Full
            };
            let report = site.erase_subject(&subject, dry_run, scope)?;
            output::print(json, json!(report), || output::erasure_report(&report));
        }
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
fn read_seed(path: Option<PathBuf>) -> Result<Option<crate::testkit::Seed>, Error> {
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
    crate::testkit::Seed::parse(&text)
        .map(Some)
        .map_err(|e| Error::BadRequest(format!("{} is not a seed file: {e}", path.display())))
}

/// Open the site as the user at the terminal (for the audit log).
fn open_site(root: &std::path::Path) -> Result<Site, Error> {
    let mut site = Site::open(root)?;
    site.set_actor(crate::audit::Actor::cli());
    Ok(site)
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

fn confirm(question: &str) -> Result<bool, Error> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("cannot read your answer", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
