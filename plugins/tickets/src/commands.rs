//! The tickets plugin's commands.

use serde_json::{Value as Json, json};

use crate::db::{self, int, text};
use crate::exports::wasmdesk::plugin::commands::CommandError;

const STATUSES: &[&str] = &["open", "pending", "resolved", "closed"];
const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];

fn required<'a>(args: &'a Json, field: &str) -> Result<&'a str, CommandError> {
    match args[field].as_str().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(CommandError::BadRequest(format!(
            "{field} is required (a non-empty string)"
        ))),
    }
}

fn one_of<'a>(
    args: &'a Json,
    field: &str,
    allowed: &[&str],
    default: &'a str,
) -> Result<&'a str, CommandError> {
    match &args[field] {
        Json::Null => Ok(default),
        Json::String(s) if allowed.contains(&s.as_str()) => Ok(s),
        other => Err(CommandError::BadRequest(format!(
            "{field} must be one of {}, not {other}",
            allowed.join(", ")
        ))),
    }
}

/// `{email, name?, subject, body, priority?}` -> the new ticket.
pub fn create(args: &Json) -> Result<Json, CommandError> {
    let email = required(args, "email")?.to_lowercase();
    if !email.contains('@') {
        return Err(CommandError::BadRequest(format!(
            "email {email:?} is not an e-mail address"
        )));
    }
    let subject = required(args, "subject")?;
    let body = required(args, "body")?;
    let priority = one_of(args, "priority", PRIORITIES, "normal")?;
    let name = args["name"].as_str();
    let now = db::now();
    db::run(
        "INSERT INTO tickets__customers (email, name, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (email) DO UPDATE SET name = coalesce(excluded.name, name)",
        &[
            text(&email),
            name.map(text)
                .unwrap_or(crate::wasmdesk::plugin::types::Value::Null),
            int(now),
        ],
    )?;
    let ticket = db::run(
        "INSERT INTO tickets__tickets (customer_id, subject, priority, created_at, updated_at)
         SELECT id, ?2, ?3, ?4, ?4 FROM tickets__customers WHERE email = ?1",
        &[text(&email), text(subject), text(priority), int(now)],
    )?;
    let id = ticket.last_insert_rowid;
    db::run(
        "INSERT INTO tickets__messages (ticket_id, author, body, created_at) VALUES (?1, 'customer', ?2, ?3)",
        &[int(id), text(body), int(now)],
    )?;
    get(&json!({"id": id}))
}

/// `{id}` -> the ticket with its messages.
pub fn get(args: &Json) -> Result<Json, CommandError> {
    let id = args["id"]
        .as_i64()
        .ok_or_else(|| CommandError::BadRequest("id is required (an integer)".into()))?;
    let ticket = db::run(
        "SELECT t.id, c.email, c.name, t.subject, t.status, t.priority, t.created_at, t.updated_at
         FROM tickets__tickets t JOIN tickets__customers c ON c.id = t.customer_id WHERE t.id = ?1",
        &[int(id)],
    )?;
    let Some(mut ticket) = db::objects(&ticket).into_iter().next() else {
        return Err(CommandError::NotFound(format!("no ticket {id}")));
    };
    let messages = db::run(
        "SELECT id, author, body, created_at FROM tickets__messages WHERE ticket_id = ?1 ORDER BY id",
        &[int(id)],
    )?;
    ticket["messages"] = Json::Array(db::objects(&messages));
    Ok(ticket)
}

/// `{email?, status?, limit?, cursor?}` -> a page of tickets, newest first.
pub fn list(args: &Json) -> Result<Json, CommandError> {
    let limit = args["limit"].as_i64().unwrap_or(50).clamp(1, 500);
    let cursor = args["cursor"].as_i64().unwrap_or(i64::MAX);
    let status = match &args["status"] {
        Json::Null => None,
        _ => Some(one_of(args, "status", STATUSES, "open")?),
    };
    let email = args["email"].as_str().map(str::to_lowercase);
    let rows = db::run(
        "SELECT t.id, c.email, t.subject, t.status, t.priority, t.updated_at
         FROM tickets__tickets t JOIN tickets__customers c ON c.id = t.customer_id
         WHERE t.id < ?1 AND (?2 IS NULL OR t.status = ?2) AND (?3 IS NULL OR c.email = ?3)
         ORDER BY t.id DESC LIMIT ?4",
        &[
            int(cursor),
            status
                .map(text)
                .unwrap_or(crate::wasmdesk::plugin::types::Value::Null),
            email
                .as_deref()
                .map(text)
                .unwrap_or(crate::wasmdesk::plugin::types::Value::Null),
            int(limit + 1),
        ],
    )?;
    let mut tickets = db::objects(&rows);
    let next = if tickets.len() as i64 > limit {
        tickets.truncate(limit as usize);
        tickets.last().map(|t| t["id"].clone())
    } else {
        None
    };
    Ok(json!({"tickets": tickets, "next_cursor": next}))
}
