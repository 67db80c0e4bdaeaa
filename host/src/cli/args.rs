//! The command line's arguments: every clap definition, and nothing else.
//! Their doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    Audit(AuditCommand),
    /// The breach register: record, find whom it touched, close when notified.
    #[command(subcommand)]
    Breach(BreachCommand),
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
        lang: crate::devkit::template::Lang,
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

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Show audit entries, oldest first (the newest --limit of those that match).
    Log {
        /// From this time: 2026-11-23T08:00:00Z, 2026-11-23, or an age: 90m, 24h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// Before this time (same forms as --since).
        #[arg(long)]
        until: Option<String>,
        /// Only calls of this plugin (and acts about it).
        #[arg(long)]
        plugin: Option<String>,
        /// Only entries that touched this person's data (matched by keyed hash).
        #[arg(long, value_name = "EMAIL")]
        subject: Option<String>,
        /// Only this action: plugin.call, plugin.enable, grant.add, export.download, ...
        #[arg(long)]
        action: Option<String>,
        /// Only this actor: a bridge caller id (wp:user:7) or cli:USER.
        #[arg(long)]
        caller: Option<String>,
        /// Show at most this many (the newest); 0 shows all.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Check the hash chain; names the first edited, deleted or reordered entry.
    Verify,
    /// Write the whole log to a zip for an auditor (with checksums and the hash recipe).
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Flag unusual access since --since: bulk reads, volume spikes, odd hours, bulk exports.
    Anomalies {
        /// The window to examine (default 24h); the 30 days before it are the baseline.
        #[arg(long, default_value = "24h")]
        since: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BreachCommand {
    /// Open a breach; the authority must be notified within 72 hours of detection.
    Record {
        #[arg(long)]
        summary: String,
        /// When it was detected (default: now).
        #[arg(long)]
        detected_at: Option<String>,
    },
    /// Every breach with its deadline and status, open ones first.
    List,
    /// Whose data a plugin or caller touched in a window: e-mails where they
    /// still exist, hashes where they were erased.
    Affected {
        id: i64,
        #[arg(long)]
        plugin: Option<String>,
        /// A bridge caller id (wp:user:7) or cli:USER.
        #[arg(long)]
        caller: Option<String>,
        #[arg(long)]
        since: String,
        #[arg(long)]
        until: Option<String>,
    },
    /// Record that the notification was sent (closes the breach).
    Close {
        id: i64,
        /// How and whom you notified, with references.
        #[arg(long)]
        note: String,
        /// When it was sent (default: now).
        #[arg(long)]
        notified_at: Option<String>,
    },
}
