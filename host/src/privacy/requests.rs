//! Data-subject requests with a lifecycle: received (a confirmation token
//! for the customer), confirmed, done (with its outcome report), each with
//! its deadline of one month from receipt (GDPR Art. 12(3)).

use std::path::Path;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Subject;
use crate::error::Error;
use crate::site::Site;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    Export,
    Erase,
}

impl RequestKind {
    fn as_str(self) -> &'static str {
        match self {
            RequestKind::Export => "export",
            RequestKind::Erase => "erase",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Request {
    pub id: i64,
    pub kind: String,
    pub status: String,
    /// The address, while the request needs it; none once an erasure is done.
    pub email: Option<String>,
    /// Keyed hash of the address: matches the person without naming them.
    pub subject_hash: String,
    pub received_at_ms: i64,
    pub deadline_at_ms: i64,
    pub confirmed_at_ms: Option<i64>,
    pub completed_at_ms: Option<i64>,
    pub overdue: bool,
    pub archive: Option<String>,
    pub report: Option<serde_json::Value>,
}

/// A new request and the token to send the customer (shown only once).
#[derive(Debug, Serialize)]
pub struct NewRequest {
    pub request: Request,
    pub token: String,
}

/// Days a confirmation token stays valid: 7, or `WASMDESK_TOKEN_DAYS`.
pub fn token_days() -> u32 {
    std::env::var("WASMDESK_TOKEN_DAYS")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|d| *d > 0)
        .unwrap_or(7)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One calendar month after `ms` (UTC).
fn one_month_after(ms: i64) -> i64 {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .checked_add(jiff::Span::new().months(1))
                .ok()
        })
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(ms + 28 * 24 * 3600 * 1000)
}

const COLUMNS: &str = "id, kind, status, email, subject_hash, received_at, deadline_at, confirmed_at, completed_at, archive, report";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Request> {
    let status: String = row.get(2)?;
    let deadline: i64 = row.get(6)?;
    let report: Option<String> = row.get(10)?;
    Ok(Request {
        id: row.get(0)?,
        kind: row.get(1)?,
        overdue: status != "done" && crate::now_ms() > deadline,
        status,
        email: row.get(3)?,
        subject_hash: row.get(4)?,
        received_at_ms: row.get(5)?,
        deadline_at_ms: deadline,
        confirmed_at_ms: row.get(7)?,
        completed_at_ms: row.get(8)?,
        archive: row.get(9)?,
        report: report.and_then(|r| serde_json::from_str(&r).ok()),
    })
}

impl Site {
    /// The keyed hash (HMAC-SHA256 with the site's secret) of an identifier.
    pub fn subject_hash(&self, identifier: &str) -> Result<String, Error> {
        Ok(crate::pseudonym::keyed_hash(self.site_key(), identifier))
    }

    /// Record a request; returns it with the confirmation token.
    pub fn create_request(
        &mut self,
        kind: RequestKind,
        subject: &Subject,
    ) -> Result<NewRequest, Error> {
        let mut token = [0u8; 16];
        getrandom::fill(&mut token)
            .map_err(|e| Error::Database(crate::database::DatabaseError::Secret(e.to_string())))?;
        let token = hex(&token);
        let now = crate::now_ms();
        let name = subject
            .identifiers
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.clone());
        let subject_hash = self.subject_hash(&subject.email)?;
        let actor = self.actor().clone();
        let id = self.audited_with(|tx| {
            tx.execute(
                "INSERT INTO wasmdesk__requests (kind, email, name, subject_hash, token_hash, status, received_at, deadline_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'awaiting-confirmation', ?6, ?7)",
                params![
                    kind.as_str(),
                    subject.email,
                    name,
                    subject_hash,
                    hex(&Sha256::digest(token.as_bytes())),
                    now,
                    one_month_after(now)
                ],
            )?;
            let id = tx.last_insert_rowid();
            let draft = crate::audit::Draft::act(
                &actor,
                crate::audit::action::REQUEST_OPEN,
                serde_json::json!({"request": id, "kind": kind.as_str()}),
            )
            .subject(subject_hash.clone());
            Ok((id, draft))
        })?;
        Ok(NewRequest {
            request: self.request(id)?,
            token,
        })
    }

    pub fn request(&self, id: i64) -> Result<Request, Error> {
        self.db()
            .query_row(
                &format!("SELECT {COLUMNS} FROM wasmdesk__requests WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no privacy request {id}: list them with: wasmdesk privacy requests"
                ))
            })
    }

    /// The customer confirmed (followed the link with the token).
    /// A token works once, within [`token_days`] days of the request, in any
    /// letter case; a used or expired one reveals nothing about the request.
    pub fn confirm_request(&mut self, token: &str) -> Result<Request, Error> {
        let hash = hex(&Sha256::digest(
            token.trim().to_ascii_lowercase().as_bytes(),
        ));
        let found: Option<(i64, String, i64)> = self
            .db()
            .query_row(
                "SELECT id, status, received_at FROM wasmdesk__requests WHERE token_hash = ?1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let days = token_days();
        let unknown = || {
            Error::NotFound(format!(
                "no open privacy request has this token: a token works once and expires \
                 {days} days after the request (ask for a new request)"
            ))
        };
        let Some((id, status, received_at)) = found else {
            return Err(unknown());
        };
        if status != "awaiting-confirmation" {
            return Err(unknown());
        }
        if crate::now_ms() > received_at + i64::from(days) * 24 * 3600 * 1000 {
            return Err(unknown());
        }
        {
            let request = self.request(id)?;
            let draft = self
                .act(
                    crate::audit::action::REQUEST_CONFIRM,
                    serde_json::json!({"request": id, "kind": request.kind}),
                )
                .subject(request.subject_hash.clone());
            // Used: the token no longer finds the request.
            self.audited(draft, |tx| {
                tx.execute(
                    "UPDATE wasmdesk__requests SET status = 'confirmed', confirmed_at = ?2, \
                         token_hash = 'used:' || id WHERE id = ?1",
                    params![id, crate::now_ms()],
                )?;
                Ok(())
            })?;
        }
        self.request(id)
    }

    /// Requests, oldest deadline first; with `overdue_only`, the open ones
    /// past their deadline.
    pub fn requests(&self, overdue_only: bool) -> Result<Vec<Request>, Error> {
        let mut stmt = self.db().prepare(&format!(
            "SELECT {COLUMNS} FROM wasmdesk__requests ORDER BY status = 'done', deadline_at, id"
        ))?;
        let all = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(all
            .into_iter()
            .filter(|r| !overdue_only || r.overdue)
            .collect())
    }

    /// Carry out a confirmed request and keep its outcome report. An export
    /// goes to `out` (default `SITE/exports/request-ID.zip`).
    pub fn run_request(&mut self, id: i64, out: Option<&Path>) -> Result<Request, Error> {
        let request = self.request(id)?;
        match request.status.as_str() {
            "awaiting-confirmation" => {
                return Err(Error::Conflict(format!(
                    "request {id} is not confirmed yet: the customer confirms with their token (wasmdesk privacy confirm TOKEN)"
                )));
            }
            "done" => return Err(Error::Conflict(format!("request {id} is already done"))),
            _ => {}
        }
        let (email, name): (Option<String>, Option<String>) = self.db().query_row(
            "SELECT email, name FROM wasmdesk__requests WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some(email) = email else {
            if request.kind == "erase" {
                // Interrupted after every eraser finished and the address was
                // forgotten: only the record of completion is missing.
                let report = serde_json::json!({
                    "resumed": true,
                    "summary": "the erasure had finished before the run was interrupted; \
                                it was completed now (its scan was not repeated)",
                });
                self.finish_request(id, None, &report)?;
                return self.request(id);
            }
            return Err(Error::Conflict(format!(
                "request {id} no longer holds the address: the subject was erased"
            )));
        };
        let subject = Subject::new(&email, name.as_deref())?;
        let (archive, report) = if request.kind == "export" {
            // Kept absolute: expiry may run from another directory.
            let out = out
                .map(std::path::absolute)
                .transpose()
                .map_err(|e| Error::io("cannot resolve the archive path".to_string(), e))?;
            let out = out.unwrap_or_else(|| {
                self.paths()
                    .root
                    .join("exports")
                    .join(format!("request-{id}.zip"))
            });
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            }
            let report = self.export_subject(&subject, &out)?;
            (
                Some(out.display().to_string()),
                serde_json::to_value(report).expect("a report serializes"),
            )
        } else {
            // The request keeps the address until every eraser finished (the
            // erasure forgets it then), so an interrupted run can run again.
            let erasure =
                self.erase_subject_keeping(&subject, false, super::Scope::Full, Some(id))?;
            let report = redact(
                serde_json::to_value(&erasure).expect("a report serializes"),
                &subject,
            );
            if let Some(error) = erasure.incomplete(&format!(
                "request {id} stays open: see it with wasmdesk privacy show {id}, fix the \
                 plugin, then run: wasmdesk privacy run {id}"
            )) {
                self.db().execute(
                    "UPDATE wasmdesk__requests SET report = ?2 WHERE id = ?1",
                    params![id, report.to_string()],
                )?;
                return Err(error);
            }
            (None, report)
        };
        self.finish_request(id, archive.as_deref(), &report)?;
        self.request(id)
    }

    fn finish_request(
        &self,
        id: i64,
        archive: Option<&str>,
        report: &serde_json::Value,
    ) -> Result<(), Error> {
        self.db()
            .execute(
                "UPDATE wasmdesk__requests SET status = 'done', completed_at = ?2, archive = ?3, report = ?4 WHERE id = ?1",
                params![id, crate::now_ms(), archive, report.to_string()],
            )
            ?;
        Ok(())
    }
}

/// The report of an erasure, without the identifiers it erased.
fn redact(report: serde_json::Value, subject: &Subject) -> serde_json::Value {
    let mut text = report.to_string();
    for value in std::iter::once(&subject.email).chain(subject.identifiers.iter().map(|(_, v)| v)) {
        if !value.is_empty() {
            text = text.replace(value.as_str(), "[subject]");
        }
    }
    serde_json::from_str(&text).unwrap_or(report)
}
