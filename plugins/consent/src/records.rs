//! `consent__events`: one row per consent given, refused or withdrawn.
//! Rows are found by the subject's pseudonym (the host's keyed hash), so a
//! withdrawal kept after an erasure still answers a later request.

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use wasmdesk_plugin::identity::pseudonym;
use wasmdesk_plugin::privacy::{ErasePage, ExportItem, ExportPage, RetainedItem};
use wasmdesk_plugin::store::{self, text};
use wasmdesk_plugin::{CommandError, StoreError, Value, args, clock};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS consent__events (
        id        INTEGER PRIMARY KEY,
        email     TEXT,              -- removed on erasure
        subject   TEXT NOT NULL,     -- the host's pseudonym of the address
        purpose   TEXT NOT NULL,
        given     INTEGER NOT NULL CHECK (given IN (0, 1)),
        text_hash TEXT,
        version   TEXT,
        channel   TEXT NOT NULL,
        at_ms     INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS consent__events_subject ON consent__events (subject, purpose, id)",
];

/// Rows as JSON objects, `given` as a boolean.
fn rows(result: &store::QueryResult) -> Vec<Json> {
    store::objects(result)
        .into_iter()
        .map(|mut row| {
            row["given"] = json!(row["given"] == 1);
            row
        })
        .collect()
}

pub fn setup() -> Result<(), String> {
    store::exec_all(SCHEMA).map_err(|e| format!("creating the consent table failed: {e:?}"))
}

/// `{email, purpose, given, text? | text_hash?, version, channel}`; a
/// withdrawal (`given` forced false) needs no text.
pub fn record(args: &Json, force_given: Option<bool>) -> Result<Json, CommandError> {
    let email = args::email(args, "email")?;
    let purpose = args::required_str(args, "purpose")?;
    let channel = args::required_str(args, "channel")?;
    let given = match force_given {
        Some(given) => given,
        None => args["given"]
            .as_bool()
            .ok_or_else(|| CommandError::bad_request("given is required (true or false)"))?,
    };
    let text_hash = match (args["text"].as_str(), args["text_hash"].as_str()) {
        (Some(shown), _) => Some(format!("{:x}", Sha256::digest(shown.as_bytes()))),
        (None, Some(hash)) => Some(hash.to_string()),
        (None, None) if given => {
            return Err(CommandError::bad_request(
                "give the text shown (text) or its hash (text_hash), as proof",
            ));
        }
        (None, None) => None,
    };
    let version = args["version"].as_str();
    if given && version.is_none() {
        return Err(CommandError::bad_request(
            "version (of the consent text) is required when consent is given",
        ));
    }
    let at_ms = clock::now_ms();
    let r = store::execute(
        "INSERT INTO consent__events (email, subject, purpose, given, text_hash, version, channel, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            text(&email),
            text(&pseudonym(&email)),
            text(purpose),
            given.into(),
            text_hash.as_deref().into(),
            version.into(),
            text(channel),
            at_ms.into(),
        ],
    )?;
    Ok(
        json!({"id": r.last_insert_rowid, "email": email, "purpose": purpose, "given": given,
              "text_hash": text_hash, "version": version, "channel": channel, "at_ms": at_ms}),
    )
}

/// `{email}` -> the latest event per purpose.
pub fn status(args: &Json) -> Result<Json, CommandError> {
    let email = args::email(args, "email")?;
    let r = store::execute(
        "SELECT purpose, given, version, at_ms FROM consent__events e
         WHERE subject = ?1 AND id = (SELECT max(id) FROM consent__events WHERE subject = e.subject AND purpose = e.purpose)
         ORDER BY purpose",
        &[text(&pseudonym(&email))],
    )?;
    Ok(json!({"email": email, "purposes": rows(&r)}))
}

/// `{email?, purpose?}` -> events, oldest first.
pub fn list(args: &Json) -> Result<Json, CommandError> {
    let subject = match args["email"].as_str() {
        Some(_) => Some(pseudonym(&args::email(args, "email")?)),
        None => None,
    };
    let r = store::execute(
        "SELECT id, email, purpose, given, text_hash, version, channel, at_ms FROM consent__events
         WHERE (?1 IS NULL OR subject = ?1) AND (?2 IS NULL OR purpose = ?2) ORDER BY id LIMIT 1000",
        &[subject.as_deref().into(), args["purpose"].as_str().into()],
    )?;
    Ok(json!({"events": rows(&r)}))
}

fn fail(e: StoreError) -> String {
    format!("consent: {e:?}")
}

pub fn export(email: &str, _cursor: Option<String>) -> Result<ExportPage, String> {
    let r = store::execute(
        "SELECT id, purpose, given, text_hash, version, channel, at_ms FROM consent__events WHERE subject = ?1 ORDER BY id",
        &[text(&pseudonym(email))],
    )
    .map_err(fail)?;
    let items = rows(&r)
        .into_iter()
        .map(|e| ExportItem {
            group_id: "consent".into(),
            group_label: "Consent".into(),
            item_id: e["id"].to_string(),
            data: vec![
                ("Purpose".into(), e["purpose"].as_str().unwrap_or("").into()),
                (
                    "Consent".into(),
                    if e["given"] == true {
                        "given".into()
                    } else {
                        "refused or withdrawn".into()
                    },
                ),
                (
                    "Text version".into(),
                    e["version"].as_str().unwrap_or("").into(),
                ),
                (
                    "Text (SHA-256)".into(),
                    e["text_hash"].as_str().unwrap_or("").into(),
                ),
                ("Channel".into(), e["channel"].as_str().unwrap_or("").into()),
                ("When (ms)".into(), e["at_ms"].to_string()),
            ],
            files: vec![],
        })
        .collect();
    Ok(ExportPage { items, next: None })
}

/// Consents given are deleted (nothing relies on them once the person is
/// gone); withdrawals are kept without the address, under the pseudonym,
/// as proof that processing stopped.
pub fn erase(email: &str, dry_run: bool) -> Result<ErasePage, String> {
    let subject = pseudonym(email);
    let withdrawals = store::execute(
        "SELECT purpose, at_ms FROM consent__events WHERE subject = ?1 AND given = 0 ORDER BY id",
        &[text(&subject)],
    )
    .map_err(fail)?;
    let retained: Vec<RetainedItem> = withdrawals
        .rows
        .iter()
        .map(|row| RetainedItem {
            item: format!(
                "withdrawal of consent to {} at {} ms",
                match &row[0] { Value::Text(p) => p.as_str(), _ => "?" },
                match &row[1] { Value::Integer(t) => *t, _ => 0 }
            ),
            reason: "kept under a pseudonym, without the address, as proof that processing stopped (GDPR Art. 5(2), 7(3))".into(),
        })
        .collect();
    let removed = if dry_run {
        let r = store::execute(
            "SELECT count(*) FROM consent__events WHERE subject = ?1 AND given = 1",
            &[text(&subject)],
        )
        .map_err(fail)?;
        match r.rows.first().map(|r| &r[0]) {
            Some(Value::Integer(n)) => *n as u64,
            _ => 0,
        }
    } else {
        let deleted = store::execute(
            "DELETE FROM consent__events WHERE subject = ?1 AND given = 1",
            &[text(&subject)],
        )
        .map_err(fail)?;
        store::execute(
            "UPDATE consent__events SET email = NULL WHERE subject = ?1",
            &[text(&subject)],
        )
        .map_err(fail)?;
        // The channel is free text ("e-mail from ada@example.com"): a kept
        // withdrawal must not name the person through it.
        store::execute(
            "UPDATE consent__events SET channel = '[erased]' WHERE subject = ?1
             AND (instr(lower(channel), lower(?2)) > 0 OR instr(channel, '@') > 0)",
            &[text(&subject), text(email)],
        )
        .map_err(fail)?;
        deleted.rows_changed
    };
    let messages = if retained.is_empty() {
        vec![]
    } else {
        vec![format!(
            "kept {} withdrawal record(s) under a pseudonym; the address was removed",
            retained.len()
        )]
    };
    Ok(ErasePage {
        items_removed: removed,
        items_retained: retained,
        messages,
        next: None,
    })
}
