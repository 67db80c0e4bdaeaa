//! What the command line writes: results on stdout, anything else on
//! stderr, and the human-readable renderings of results (JSON is serde's).

use std::io::Write;

use crate::database::Capability;
use crate::privacy::{ErasureReport, RawBytes, Verification};
use crate::registry::PluginEntry;
use crate::registry::manifest::{Manifest, Processing};
use crate::site::{EnableReport, RemoveReport};

/// Print `value` as JSON, or the text `human` makes.
pub fn print(json: bool, value: serde_json::Value, human: impl FnOnce() -> String) {
    // A reader that went away (`| head`) is not an error worth a panic.
    let mut out = std::io::stdout().lock();
    let _ = if json {
        writeln!(out, "{value}")
    } else {
        writeln!(out, "{}", lines_only(&human()))
    };
}

/// Write to stderr, ignoring a failure: the one way the command line
/// writes there (errors, warnings, questions). Never `eprint!`, which panics
/// on a closed pipe, such as a PHP client that closed the bridge's stderr.
pub fn to_stderr(text: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(text);
    let _ = err.flush();
}

/// A plugin's string on one line, with control, bidi and invisible
/// characters shown escaped: it cannot forge or hide a line.
fn s(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::single_line(text)
}

/// Text for a terminal: each line neutralised, the line breaks kept (a
/// second guard behind the escaping of each field).
pub fn lines_only(text: &str) -> String {
    text.split('\n')
        .map(|line| crate::text::single_line(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn plugin_table(plugins: &[PluginEntry]) -> String {
    if plugins.is_empty() {
        return "no plugins: copy NAME.wasm files into the site's plugins/ folder".to_string();
    }
    let mut out = format!(
        "{:<20} {:<9} {:<9} {}\n",
        "PLUGIN", "STATUS", "VERSION", "NOTE"
    );
    for p in plugins {
        let version = p
            .manifest
            .as_ref()
            .map(|m| s(&m.version))
            .unwrap_or("-".into());
        let note = match (&p.note, &p.manifest) {
            (Some(note), _) => s(note).into_owned(),
            (None, Some(m)) => s(&m.description).into_owned(),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "{:<20} {:<9} {:<9} {}\n",
            p.id,
            p.status.as_str(),
            version,
            note
        ));
    }
    out.trim_end().to_string()
}

pub fn plugin_details(p: &PluginEntry) -> String {
    let mut out = format!("plugin {} ({})\n", p.id, p.status.as_str());
    if let Some(note) = &p.note {
        out.push_str(&format!("  note: {}\n", s(note)));
    }
    if let Some(file) = &p.file {
        out.push_str(&format!("  file: {}\n", file.display()));
    }
    if let Some(sha) = &p.sha256 {
        out.push_str(&format!("  sha256: {sha}\n"));
    }
    if let Some(contract) = &p.contract {
        out.push_str(&format!("  built against: wasmdesk:plugin@{contract}\n"));
    }
    if !p.exports.is_empty() {
        out.push_str(&format!("  exports: {}\n", p.exports.join(", ")));
    }
    if let Some(m) = &p.manifest {
        manifest_details(&mut out, m);
    }
    out.push_str(&format!("  granted: {}\n", caps(&p.grants)));
    out.push_str(&format!(
        "  limits: memory {} MiB, deadline {} ms per call",
        p.limits.memory_mib, p.limits.deadline_ms
    ));
    out
}

/// The manifest part of `plugin_details`: what the plugin is and asks for.
fn manifest_details(out: &mut String, m: &Manifest) {
    out.push_str(&format!(
        "  version: {}\n  description: {}\n",
        s(&m.version),
        s(&m.description)
    ));
    out.push_str(&format!(
        "  own tables: {}*\n",
        crate::database::namespace::Namespace::of(&m.id).prefix()
    ));
    if m.capabilities.is_empty() {
        out.push_str("  asks for: nothing outside its own tables\n");
    } else {
        // The host's own reading of each grant first, the plugin's
        // reason after it: a reason cannot cover the grant line.
        out.push_str(&format!(
            "  asks for {} grant(s) outside its own tables:\n",
            m.capabilities.len()
        ));
        for c in &m.capabilities {
            let cap = c.capability();
            out.push_str(&format!(
                "    {}:{}  (reason given: {})\n",
                cap.access,
                s(&cap.table),
                s(&c.reason)
            ));
        }
    }
    if !m.commands.is_empty() {
        out.push_str("  commands:\n");
        for c in &m.commands {
            out.push_str(&format!(
                "    {}.{}  {}\n",
                m.id,
                s(&c.name),
                s(&c.description)
            ));
        }
    }
    if !m.actions.is_empty() {
        out.push_str(&format!(
            "  subscribes to actions: {} (it receives their full payloads only if it may \
             read every table the emitting call touched; otherwise only their numbers: ids, \
             counts, flags)\n",
            s(&m.actions.join(", "))
        ));
    }
    for f in &m.filters {
        out.push_str(&format!(
            "  filter: {} (priority {})\n",
            s(&f.name),
            f.priority
        ));
    }
    match &m.processing {
        None => out.push_str("  personal data: none declared\n"),
        Some(p) => processing_details(out, p),
    }
}

/// The personal data a plugin declares, and what erasure does to it.
fn processing_details(out: &mut String, p: &Processing) {
    out.push_str(&format!("  purpose: {}\n", s(&p.purpose)));
    out.push_str(&format!(
        "  data categories: {}\n",
        s(&p.data_categories.join(", "))
    ));
    out.push_str(&format!("  retention: {}\n", s(&p.retention)));
    for r in &p.retention_rules {
        out.push_str(&format!(
            "    rule {}: {} ({} days by default)\n",
            s(&r.name),
            s(&r.description),
            r.days
        ));
    }
    if !p.personal_data.is_empty() {
        out.push_str("  personal data, and what erasure does to it:\n");
    }
    for f in &p.personal_data {
        out.push_str(&format!(
            "    {}.{} ({}): {}\n",
            s(&f.table),
            s(&f.column),
            s(&f.category),
            s(&f.policy.on_erasure())
        ));
    }
}

pub fn enable_report(r: &EnableReport) -> String {
    if r.already_enabled {
        return format!("{} {} is already enabled", r.id, r.version);
    }
    let mut out = format!(
        "{} {} enabled; granted: {}",
        r.id,
        r.version,
        caps(&r.granted)
    );
    if !r.revoked.is_empty() {
        out.push_str(&format!(
            "\nrevoked (no longer asked for): {}",
            caps(&r.revoked)
        ));
    }
    out
}

pub fn remove_report(r: &RemoveReport) -> String {
    let mut out = format!("{} removed", r.id);
    if !r.dropped_tables.is_empty() {
        out.push_str(&format!(
            "; dropped tables: {}",
            r.dropped_tables.join(", ")
        ));
    }
    if !r.kept_tables.is_empty() {
        out.push_str(&format!(
            "\nits tables are still in site.db: {} (drop them with --purge-data)",
            r.kept_tables.join(", ")
        ));
    }
    out
}

pub fn erasure_report(r: &ErasureReport) -> String {
    let mut out = String::new();
    for p in &r.plugins {
        out.push_str(&format!(
            "{}: {} item(s) {}\n",
            p.id,
            p.items_removed,
            if r.dry_run { "to remove" } else { "removed" }
        ));
        for retained in &p.items_retained {
            out.push_str(&format!(
                "  retained {}: {}\n",
                retained.item, retained.reason
            ));
        }
        for message in &p.messages {
            out.push_str(&format!("  {message}\n"));
        }
    }
    for residue in &r.residue {
        out.push_str(&format!(
            "residue: {} row(s) of {}.{} (plugin {}{}) still hold an identifier\n",
            residue.rows,
            residue.table,
            residue.column,
            residue.plugin,
            if residue.declared {
                ""
            } else {
                ", not in its personal-data map"
            }
        ));
    }
    let v = &r.verification;
    if let Some(raw) = &r.raw_bytes {
        raw_bytes_lines(&mut out, raw, v);
    }
    match (v.scope, r.dry_run) {
        (crate::privacy::Scope::Full, _) => out.push_str(&format!(
            "searched row by row: every table ({})\n",
            v.tables_searched.len()
        )),
        (crate::privacy::Scope::Subject, true) => {}
        (crate::privacy::Scope::Subject, false) => out.push_str(&format!(
            "searched row by row: {}\n",
            if v.tables_searched.is_empty() {
                "no table (no table the audit log ties to this person was left untouched)"
                    .to_string()
            } else {
                v.tables_searched.join(", ")
            }
        )),
    }
    if !v.tables_awaiting_erasure.is_empty() {
        out.push_str(&format!(
            "tables the audit log ties to this person: {}\n",
            v.tables_awaiting_erasure.join(", ")
        ));
    }
    out.push_str(&r.summary);
    out
}

/// Where the erased person still occurs byte for byte: site.db, its WAL
/// and the files under the site folder.
fn raw_bytes_lines(out: &mut String, raw: &RawBytes, v: &Verification) {
    let pages = match v.scope {
        crate::privacy::Scope::Full => format!("all {} pages of site.db", v.pages_searched),
        crate::privacy::Scope::Subject => {
            format!(
                "the {} page(s) of site.db the erasure rewrote",
                v.pages_searched
            )
        }
    };
    out.push_str(&format!(
        "raw bytes: the person occurs {} time(s) in {pages} and {} in its WAL \
         (any spelling of the address, any case, %XX, =XX, base64)\n",
        raw.database, raw.wal
    ));
    if raw.files.is_empty() {
        out.push_str("files under the site folder: none holds the subject\n");
    }
    for file in &raw.files {
        out.push_str(&format!(
            "file {}: the subject occurs {} time(s){}\n",
            s(&file.path),
            file.occurrences,
            if file.path.starts_with("backups") {
                " (a backup: erasures are replayed on restore; destroy it if it must not be kept)"
            } else {
                ""
            }
        ));
    }
}

pub fn retention_rules(rules: &[crate::privacy::retention::Rule]) -> String {
    if rules.is_empty() {
        return "no enabled plugin declares retention rules".into();
    }
    rules
        .iter()
        .map(|r| {
            let changed = if r.days != r.default_days {
                format!(" (plugin default {})", r.default_days)
            } else {
                String::new()
            };
            format!(
                "{} {}: {} days{changed}: {}",
                r.plugin, r.rule, r.days, r.description
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn retention_run(applied: &[crate::privacy::retention::Applied], dry_run: bool) -> String {
    if applied.is_empty() {
        return "no enabled plugin declares retention rules".into();
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut out = Vec::new();
    for a in applied {
        out.push(format!(
            "{} {} ({} days): {verb} {} item(s)",
            a.plugin, a.rule, a.days, a.items_removed
        ));
        // What the plugin says it did, under its rule; its own words, so
        // shown escaped.
        out.extend(a.messages.iter().map(|m| format!("  {}", s(m))));
    }
    out.join("\n")
}

pub fn request_line(r: &crate::privacy::requests::Request) -> String {
    let who = r
        .email
        .clone()
        .unwrap_or_else(|| format!("erased subject {}", &r.subject_hash[..12]));
    let due = if r.overdue {
        "OVERDUE"
    } else if r.status == "done" {
        "done"
    } else {
        "due"
    };
    format!(
        "#{} {} {} [{}] received {} ms, {due} by {} ms",
        r.id, r.kind, who, r.status, r.received_at_ms, r.deadline_at_ms
    )
}

pub fn grants_line(id: &str, grants: &[Capability]) -> String {
    format!("{id} is granted: {}", caps(grants))
}

fn caps(caps: &[Capability]) -> String {
    if caps.is_empty() {
        "nothing".to_string()
    } else {
        caps.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
