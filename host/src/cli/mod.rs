//! The `wasmdesk` command line for site owners: arguments (clap), then the
//! library call, then human or `--json` output. Exit statuses: docs/cli.md.
//!
//! This file holds `main`, the top-level dispatch and what every command
//! family shares: opening the site, and asking for confirmation.

mod args;
mod audit;
mod backup;
mod call;
mod output;
mod plugin;
mod privacy;
mod retention;

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use args::{Cli, Command};

use crate::error::Error;
use crate::site::Site;

/// Parse the arguments, run, print, and return the exit status.
///
/// A reader that went away (stdout or stderr closed, `| head`) changes
/// nothing: `output::print` and `output::to_stderr`, the only writers,
/// ignore failed writes, so the exit status is the command's own.
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
        output::to_stderr(format_args!("{body}\n"));
    } else {
        // One line, whatever a plugin put into the message.
        output::to_stderr(format_args!(
            "wasmdesk: error[{}]: {}\n",
            code.as_str(),
            crate::text::single_line(&error.to_string())
        ));
    }
}

/// Run one command. Each command that works on a site opens it in its own
/// arm; those that need none (`init`, `plugin new`, `plugin test`) never do.
fn run(cli: Cli) -> Result<(), Error> {
    let json = cli.json;
    let root = cli.site.as_path();
    match cli.command {
        Command::Init => init(root, json),
        Command::Plugin(command) => plugin::run(root, command, json),
        Command::Call(args) => call::call(root, &args, json),
        Command::Bridge { caller } => call::bridge(&mut open_site(root)?, &caller),
        Command::Backup { out } => backup::backup(&mut open_site(root)?, &out, json),
        Command::Restore { file, yes } => backup::restore(&mut open_site(root)?, &file, yes, json),
        Command::Retention(command) => retention::run(&mut open_site(root)?, command, json),
        Command::Privacy(command) => privacy::run(&mut open_site(root)?, command, json),
        Command::Audit(command) => audit::run_audit(&mut open_site(root)?, command, json),
        Command::Breach(command) => audit::run_breach(&mut open_site(root)?, command, json),
    }
}

/// `wasmdesk init`: create a site in the --site folder (safe to run again).
fn init(root: &Path, json: bool) -> Result<(), Error> {
    let site = Site::init(root)?;
    let root = site.paths().root.display().to_string();
    output::print(json, json!({"ok": true, "site": root}), || {
        format!(
            "site ready in {root}\ncopy plugins (NAME.wasm) into {}, then run: wasmdesk plugin list",
            site.paths().plugins.display()
        )
    });
    Ok(())
}

/// Open the site as the user at the terminal (for the audit log).
fn open_site(root: &Path) -> Result<Site, Error> {
    let mut site = Site::open(root)?;
    site.set_actor(crate::audit::Actor::cli());
    Ok(site)
}

/// A question a command asks before it changes something that cannot be
/// taken back, and its errors when it gets no yes.
struct Confirmation {
    /// Shown on stderr before the question (what `plugin enable` grants).
    details: Option<String>,
    /// The question; ` [y/N] ` follows it.
    question: String,
    /// The `bad_request` message when nobody can answer: `--json` was
    /// given, or stdin is not a terminal.
    unattended: String,
    /// The `conflict` message when the answer is anything but yes.
    refused: String,
}

/// Ask `ask.question` on the terminal and go on only on a yes. Callers
/// skip it when given `--yes`.
fn confirm(json: bool, ask: Confirmation) -> Result<(), Error> {
    if json || !std::io::stdin().is_terminal() {
        return Err(Error::BadRequest(ask.unattended));
    }
    if let Some(details) = &ask.details {
        output::to_stderr(format_args!("{details}\n"));
    }
    output::to_stderr(format_args!("{} [y/N] ", ask.question));
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("cannot read your answer", e))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Error::Conflict(ask.refused))
    }
}
