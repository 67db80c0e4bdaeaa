//! The tickets plugin's commands: tickets, their threads, tags, assignment,
//! status, and the trash.

use serde_json::{Value as Json, json};

use crate::attachments;
use wasmdesk_plugin::{CommandError, Value, events};

use crate::db::{self, int, null, text};
use crate::settings;

const STATUSES: &[&str] = &["open", "pending", "resolved", "closed"];
const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
const MAX_LIMIT: i64 = 500;
const MS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

pub fn id_arg(args: &Json) -> Result<i64, CommandError> {
    args["id"]
        .as_i64()
        .ok_or_else(|| CommandError::bad_request("id is required (an integer)"))
}

/// The longest value each text field takes, in characters (docs/tickets.md).
const FIELD_LIMITS: &[(&str, usize)] = &[
    ("subject", 500),
    ("name", 200),
    ("body", 1_000_000),
    ("assignee", 200),
    ("text", 500),
];

/// Most tags on one ticket, and most tags in one request.
const MAX_TAGS: usize = 50;

/// `field`'s value, trimmed, within its length limit.
fn limited<'a>(field: &str, value: &'a str) -> Result<&'a str, CommandError> {
    let max = FIELD_LIMITS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(10_000, |(_, max)| *max);
    let length = value.chars().count();
    if length > max {
        return Err(CommandError::bad_request(format!(
            "{field} is {length} characters long; at most {max} are allowed"
        )));
    }
    Ok(value)
}

/// `field`'s value, trimmed, non-empty, within its length limit.
fn required<'a>(args: &'a Json, field: &str) -> Result<&'a str, CommandError> {
    limited(field, wasmdesk_plugin::args::required_str(args, field)?)
}

fn one_of<'a>(
    value: &'a Json,
    field: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, CommandError> {
    match value {
        Json::Null => Ok(None),
        Json::String(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
        other => Err(CommandError::bad_request(format!(
            "{field} must be one of {}, not {other}",
            allowed.join(", ")
        ))),
    }
}

/// Tags are short lower-case words: letters, digits, `-` and `_`.
fn tags_arg(args: &Json, field: &str) -> Result<Vec<String>, CommandError> {
    let Some(list) = args.get(field).filter(|v| !v.is_null()) else {
        return Ok(vec![]);
    };
    let list = list
        .as_array()
        .ok_or_else(|| CommandError::bad_request(format!("{field} must be a list of tags")))?;
    if list.len() > MAX_TAGS {
        return Err(CommandError::bad_request(format!(
            "{field} has {} tags; at most {MAX_TAGS} are allowed",
            list.len()
        )));
    }
    list.iter()
        .map(|t| {
            let tag = t
                .as_str()
                .map(|s| s.trim().to_lowercase())
                .unwrap_or_default();
            let valid = !tag.is_empty()
                && tag.len() <= 40
                && tag
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
            if valid {
                Ok(tag)
            } else {
                Err(CommandError::bad_request(format!(
                    "tag {t} is not valid: use letters, digits, - and _"
                )))
            }
        })
        .collect()
}

fn emit(event: &str, payload: Json) {
    events::emit(event, &payload.to_string());
}

/// The ticket's customer, status and trash state; `not-found` when there
/// is none.
struct Ticket {
    id: i64,
    customer_id: i64,
    status: String,
    deleted: bool,
}

fn ticket(id: i64) -> Result<Ticket, CommandError> {
    let r = db::run(
        "SELECT customer_id, status, deleted_at IS NOT NULL FROM tickets__tickets WHERE id = ?1",
        &[int(id)],
    )?;
    match r.rows.first().map(|row| row.as_slice()) {
        Some(
            [
                Value::Integer(customer_id),
                Value::Text(status),
                Value::Integer(deleted),
            ],
        ) => Ok(Ticket {
            id,
            customer_id: *customer_id,
            status: status.clone(),
            deleted: *deleted != 0,
        }),
        _ => Err(CommandError::NotFound(format!("no ticket {id}"))),
    }
}

/// A ticket that is not in the trash (the ones that can be changed).
fn live_ticket(id: i64) -> Result<Ticket, CommandError> {
    let t = ticket(id)?;
    if t.deleted {
        return Err(CommandError::Conflict(format!(
            "ticket {id} is in the trash: restore it first"
        )));
    }
    Ok(t)
}

fn customer_id(email: &str) -> Result<i64, CommandError> {
    let r = db::run(
        "SELECT id FROM tickets__customers WHERE email = ?1",
        &[text(email)],
    )?;
    match r.rows.first().map(|row| &row[0]) {
        Some(Value::Integer(id)) => Ok(*id),
        _ => Err(CommandError::NotFound(format!("no customer {email}"))),
    }
}

fn owner_of(ticket: i64) -> Result<i64, CommandError> {
    let r = db::run(
        "SELECT customer_id FROM tickets__tickets WHERE id = ?1",
        &[int(ticket)],
    )?;
    match r.rows.first().map(|row| &row[0]) {
        Some(Value::Integer(id)) => Ok(*id),
        _ => Err(CommandError::NotFound(format!("no ticket {ticket}"))),
    }
}

fn touch(id: i64, now: i64) -> Result<(), CommandError> {
    db::run(
        "UPDATE tickets__tickets SET updated_at = ?2 WHERE id = ?1",
        &[int(id), int(now)],
    )?;
    Ok(())
}

/// Add a message to the thread (and to the search index); returns its id.
/// `customer` is the customer who wrote it (none for agents).
fn add_message(
    ticket_id: i64,
    customer: Option<i64>,
    internal: bool,
    body: &str,
    now: i64,
) -> Result<i64, CommandError> {
    let author = if customer.is_some() {
        "customer"
    } else {
        "agent"
    };
    let m = db::run(
        "INSERT INTO tickets__messages (ticket_id, author, internal, body, created_at, customer_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            int(ticket_id),
            text(author),
            int(i64::from(internal)),
            text(body),
            int(now),
            customer.map(int).unwrap_or(null()),
        ],
    )?;
    db::run(
        "UPDATE tickets__search SET text = text || char(10) || ?2 WHERE rowid = ?1",
        &[int(ticket_id), text(body)],
    )?;
    Ok(m.last_insert_rowid)
}

/// `{email, name?, subject, body, priority?, tags?, attachments?}` -> the new ticket.
pub fn create(args: &mut Json) -> Result<Json, CommandError> {
    let files = attachments::take(args);
    let email = wasmdesk_plugin::args::email(args, "email")?;
    let subject = required(args, "subject")?;
    let body = required(args, "body")?;
    let priority = one_of(&args["priority"], "priority", PRIORITIES)?.unwrap_or("normal");
    let tags = tags_arg(args, "tags")?;
    let files = attachments::parse(files)?;
    let name = args["name"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| limited("name", n))
        .transpose()?;
    let now = db::now();
    db::run(
        "INSERT INTO tickets__customers (email, name, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (email) DO UPDATE SET name = coalesce(excluded.name, name)",
        &[text(&email), name.map(text).unwrap_or(null()), int(now)],
    )?;
    let t = db::run(
        "INSERT INTO tickets__tickets (id, customer_id, subject, priority, created_at, updated_at)
         SELECT (SELECT max_ticket + 1 FROM tickets__id_floor WHERE id = 1), id, ?2, ?3, ?4, ?4
         FROM tickets__customers WHERE email = ?1",
        &[text(&email), text(subject), text(priority), int(now)],
    )?;
    let id = t.last_insert_rowid;
    db::run(
        "INSERT INTO tickets__search (rowid, text) VALUES (?1, ?2)",
        &[int(id), text(subject)],
    )?;
    let owner = customer_id(&email)?;
    let message = add_message(id, Some(owner), false, body, now)?;
    attachments::store(id, message, files, now)?;
    for tag in tags {
        db::run(
            "INSERT OR IGNORE INTO tickets__tags (ticket_id, tag) VALUES (?1, ?2)",
            &[int(id), text(&tag)],
        )?;
    }
    let created = read(id)?;
    // Every ticket action carries the customer's id: a number, which a
    // handler receives even when the rest of the payload is withheld.
    let mut payload = created.clone();
    payload["customer_id"] = json!(owner);
    emit("ticket.created", payload);
    Ok(created)
}

/// `{id}` -> the ticket with its tags, messages and attachment metadata.
pub fn get(args: &Json) -> Result<Json, CommandError> {
    read(id_arg(args)?)
}

fn read(id: i64) -> Result<Json, CommandError> {
    let r = db::run(
        "SELECT t.id, c.email, c.name, t.subject, t.status, t.priority, t.assignee,
                t.created_at, t.updated_at, t.deleted_at
         FROM tickets__tickets t JOIN tickets__customers c ON c.id = t.customer_id WHERE t.id = ?1",
        &[int(id)],
    )?;
    let Some(mut ticket) = db::objects(&r).into_iter().next() else {
        return Err(CommandError::NotFound(format!("no ticket {id}")));
    };
    let tags = db::run(
        "SELECT tag FROM tickets__tags WHERE ticket_id = ?1 ORDER BY tag",
        &[int(id)],
    )?;
    ticket["tags"] = tags.rows.iter().map(|row| db::json(&row[0])).collect();
    let files = attachments::of_ticket(id)?;
    let messages = db::run(
        "SELECT m.id, m.author, (SELECT email FROM tickets__customers WHERE id = m.customer_id) AS email,
                m.internal, m.body, m.created_at
         FROM tickets__messages m WHERE m.ticket_id = ?1 ORDER BY m.id",
        &[int(id)],
    )?;
    let messages: Vec<Json> = db::objects(&messages)
        .into_iter()
        .map(|mut m| {
            m["internal"] = json!(m["internal"] == 1);
            m["attachments"] = files
                .iter()
                .filter(|f| f["message_id"] == m["id"])
                .map(|f| json!({"id": f["id"], "name": f["name"], "type": f["type"], "size": f["size"]}))
                .collect();
            m
        })
        .collect();
    ticket["messages"] = Json::Array(messages);
    Ok(ticket)
}

/// `{email?, status?, tag?, text?, assignee?, trash?, limit?, cursor?}` ->
/// a page of tickets, newest first, and the cursor of the next page.
pub fn list(args: &Json) -> Result<Json, CommandError> {
    let limit = match &args["limit"] {
        Json::Null => 50,
        v => v
            .as_i64()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| CommandError::bad_request(format!("limit must be 1 to {MAX_LIMIT}")))?,
    };
    let cursor = match &args["cursor"] {
        Json::Null => i64::MAX,
        v => v.as_i64().ok_or_else(|| {
            CommandError::bad_request("cursor must be the next_cursor of the previous page")
        })?,
    };
    // The most selective index drives the query in ticket-id order, newest
    // first, so a page stops after `limit` rows however many tickets match:
    // the search index for `text`, the tag index for `tag`, else the
    // tickets themselves. Only the filters given go into the SQL.
    let text_query = match args["text"].as_str() {
        Some(t) => fts_query(t)?,
        None => None,
    };
    let tag = args["tag"].as_str().map(|t| t.trim().to_lowercase());
    // With both, the one with fewer matches drives (counted up to a cap).
    let text_drives = match (&text_query, &tag) {
        (Some(query), Some(tag)) => estimate_matches(query)? <= estimate_tagged(tag)?,
        (Some(_), None) => true,
        _ => false,
    };
    let (driver, key) = if text_drives {
        (
            "tickets__search s CROSS JOIN tickets__tickets t ON t.id = s.rowid",
            "s.rowid",
        )
    } else if tag.is_some() {
        (
            "tickets__tags g CROSS JOIN tickets__tickets t ON t.id = g.ticket_id",
            "g.ticket_id",
        )
    } else {
        ("tickets__tickets t", "t.id")
    };
    let mut sql = format!(
        "SELECT t.id, c.email, c.name, t.subject, t.status, t.priority, t.assignee, t.created_at, t.updated_at,
                t.deleted_at, (SELECT group_concat(tag, ',') FROM tickets__tags x WHERE x.ticket_id = t.id) AS tags
         FROM {driver} JOIN tickets__customers c ON c.id = t.customer_id WHERE {key} < ?1"
    );
    if args["trash"].as_bool().unwrap_or(false) {
        sql.push_str(" AND t.deleted_at IS NOT NULL");
    } else {
        sql.push_str(" AND t.deleted_at IS NULL");
    }
    let mut params = vec![int(cursor)];
    let mut filter = |clause: &str, value: Value| {
        params.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", params.len())));
    };
    match (&text_query, &tag, text_drives) {
        (Some(query), tag, true) => {
            filter(" AND tickets__search MATCH ?", text(query));
            if let Some(tag) = tag {
                filter(
                    " AND EXISTS (SELECT 1 FROM tickets__tags x WHERE x.ticket_id = t.id AND x.tag = ?)",
                    text(tag),
                );
            }
        }
        (query, Some(tag), false) => {
            filter(" AND g.tag = ?", text(tag));
            if let Some(query) = query {
                filter(
                    " AND EXISTS (SELECT 1 FROM tickets__search WHERE rowid = t.id AND tickets__search MATCH ?)",
                    text(query),
                );
            }
        }
        _ => {}
    }
    if let Some(status) = one_of(&args["status"], "status", STATUSES)? {
        filter(" AND t.status = ?", text(status));
    }
    if let Some(email) = args["email"].as_str() {
        filter(
            " AND t.customer_id = (SELECT id FROM tickets__customers WHERE email = ?)",
            text(&email.trim().to_lowercase()),
        );
    }
    if let Some(assignee) = args["assignee"].as_str() {
        filter(" AND t.assignee = ?", text(assignee));
    }
    params.push(int(limit + 1));
    sql.push_str(&format!(" ORDER BY {key} DESC LIMIT ?{}", params.len()));
    let rows = db::run(&sql, &params)?;
    let mut tickets: Vec<Json> = db::objects(&rows)
        .into_iter()
        .map(|mut t| {
            let tags: Vec<&str> = t["tags"]
                .as_str()
                .map(|s| s.split(',').collect())
                .unwrap_or_default();
            t["tags"] = json!(tags);
            t
        })
        .collect();
    let next_cursor = if tickets.len() as i64 > limit {
        tickets.truncate(limit as usize);
        tickets.last().map(|t| t["id"].clone())
    } else {
        None
    };
    Ok(json!({"tickets": tickets, "next_cursor": next_cursor}))
}

/// How many matches to count at most when choosing what drives a list.
const ESTIMATE_CAP: i64 = 5_000;

fn estimate_matches(query: &str) -> Result<i64, CommandError> {
    count(
        "SELECT count(*) FROM (SELECT 1 FROM tickets__search WHERE tickets__search MATCH ?1 LIMIT ?2)",
        query,
    )
}

fn estimate_tagged(tag: &str) -> Result<i64, CommandError> {
    count(
        "SELECT count(*) FROM (SELECT 1 FROM tickets__tags WHERE tag = ?1 LIMIT ?2)",
        tag,
    )
}

fn count(sql: &str, value: &str) -> Result<i64, CommandError> {
    let r = db::run(sql, &[text(value), int(ESTIMATE_CAP)])?;
    Ok(r.rows
        .first()
        .and_then(|row| match row.first() {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        })
        .unwrap_or(0))
}

/// Words of a search, each quoted, so that user text is never FTS syntax.
/// Most words a full-text search takes: SQLite's FTS5 parses a query
/// without checking the deadline, so a long one must never reach it.
const MAX_SEARCH_WORDS: usize = 32;

fn fts_query(text: &str) -> Result<Option<String>, CommandError> {
    let text = limited("text", text)?;
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    if words.len() > MAX_SEARCH_WORDS {
        return Err(CommandError::bad_request(format!(
            "text has {} words; a search takes at most {MAX_SEARCH_WORDS}",
            words.len()
        )));
    }
    Ok((!words.is_empty()).then(|| words.join(" ")))
}

/// `{id, body, from?: "agent" | "customer", attachments?}` -> the ticket.
/// An agent's reply sets an open ticket to pending; a customer's reply
/// reopens it.
pub fn reply(args: &mut Json) -> Result<Json, CommandError> {
    let files = attachments::take(args);
    let t = live_ticket(id_arg(args)?)?;
    let body = required(args, "body")?;
    let from = one_of(&args["from"], "from", &["agent", "customer"])?.unwrap_or("agent");
    let files = attachments::parse(files)?;
    let now = db::now();
    // A customer's reply comes from the ticket's customer, or from another
    // participant named by `email` (the thread is then shared).
    let customer = match (from, args["email"].as_str()) {
        ("customer", Some(_)) => {
            let email = wasmdesk_plugin::args::email(args, "email")?;
            db::run(
                "INSERT INTO tickets__customers (email, created_at) VALUES (?1, ?2) ON CONFLICT (email) DO NOTHING",
                &[text(&email), int(now)],
            )?;
            Some(customer_id(&email)?)
        }
        ("customer", None) => Some(owner_of(t.id)?),
        _ => None,
    };
    let message = add_message(t.id, customer, false, body, now)?;
    attachments::store(t.id, message, files, now)?;
    touch(t.id, now)?;
    let next = match (from, t.status.as_str()) {
        ("agent", "open") => "pending",
        ("customer", "pending" | "resolved" | "closed") => "open",
        (_, status) => status,
    };
    change_status(&t, next, now)?;
    let ticket = read(t.id)?;
    emit(
        "ticket.replied",
        json!({"ticket_id": t.id, "customer_id": t.customer_id, "message_id": message,
               "from": from, "ticket": ticket}),
    );
    Ok(ticket)
}

/// `{id, body}` -> the ticket, with an internal note only agents see.
pub fn note(args: &Json) -> Result<Json, CommandError> {
    let t = live_ticket(id_arg(args)?)?;
    let body = required(args, "body")?;
    let now = db::now();
    add_message(t.id, None, true, body, now)?;
    touch(t.id, now)?;
    read(t.id)
}

/// `{id, assignee}` (a name or e-mail; null unassigns) -> the ticket.
pub fn assign(args: &Json) -> Result<Json, CommandError> {
    let t = live_ticket(id_arg(args)?)?;
    let assignee = match &args["assignee"] {
        Json::Null => null(),
        Json::String(s) if !s.trim().is_empty() => text(limited("assignee", s.trim())?),
        other => {
            return Err(CommandError::bad_request(format!(
                "assignee must be a name or null, not {other}"
            )));
        }
    };
    let now = db::now();
    db::run(
        "UPDATE tickets__tickets SET assignee = ?2, updated_at = ?3 WHERE id = ?1",
        &[int(t.id), assignee, int(now)],
    )?;
    read(t.id)
}

/// `{id, add?: [tags], remove?: [tags]}` -> the ticket.
pub fn tag(args: &Json) -> Result<Json, CommandError> {
    let t = live_ticket(id_arg(args)?)?;
    let add = tags_arg(args, "add")?;
    let remove = tags_arg(args, "remove")?;
    if add.is_empty() && remove.is_empty() {
        return Err(CommandError::bad_request(
            "give tags to add or remove: {\"id\": 1, \"add\": [\"billing\"]}",
        ));
    }
    for tag in &add {
        db::run(
            "INSERT OR IGNORE INTO tickets__tags (ticket_id, tag) VALUES (?1, ?2)",
            &[int(t.id), text(tag)],
        )?;
    }
    for tag in &remove {
        db::run(
            "DELETE FROM tickets__tags WHERE ticket_id = ?1 AND tag = ?2",
            &[int(t.id), text(tag)],
        )?;
    }
    touch(t.id, db::now())?;
    read(t.id)
}

/// `{id, status}` -> the ticket.
pub fn set_status(args: &Json) -> Result<Json, CommandError> {
    let t = live_ticket(id_arg(args)?)?;
    let status = one_of(&args["status"], "status", STATUSES)?
        .ok_or_else(|| CommandError::bad_request("status is required"))?;
    let now = db::now();
    change_status(&t, status, now)?;
    touch(t.id, now)?;
    read(t.id)
}

fn change_status(t: &Ticket, status: &str, now: i64) -> Result<(), CommandError> {
    if t.status == status {
        return Ok(());
    }
    db::run(
        "UPDATE tickets__tickets SET status = ?2, updated_at = ?3 WHERE id = ?1",
        &[int(t.id), text(status), int(now)],
    )?;
    // What a handler needs to tell the customer, so that it need not read
    // the ticket and its customer again.
    let r = db::run(
        "SELECT c.email, t.subject FROM tickets__tickets t
         JOIN tickets__customers c ON c.id = t.customer_id WHERE t.id = ?1",
        &[int(t.id)],
    )?;
    let about = db::objects(&r).into_iter().next().unwrap_or_default();
    emit(
        "ticket.status-changed",
        json!({"ticket_id": t.id, "customer_id": t.customer_id, "from": t.status, "to": status,
               "email": about["email"], "subject": about["subject"]}),
    );
    Ok(())
}

/// `{id}` -> moves the ticket to the trash (purged after `trash_days`).
pub fn delete(args: &Json) -> Result<Json, CommandError> {
    let t = live_ticket(id_arg(args)?)?;
    let now = db::now();
    db::run(
        "UPDATE tickets__tickets SET deleted_at = ?2 WHERE id = ?1",
        &[int(t.id), int(now)],
    )?;
    let days = settings::get("trash_days")?;
    emit(
        "ticket.deleted",
        json!({"ticket_id": t.id, "customer_id": t.customer_id}),
    );
    Ok(json!({"id": t.id, "deleted_at": now, "purge_after": now + days * MS_PER_DAY}))
}

/// `{id}` -> takes the ticket out of the trash.
pub fn restore(args: &Json) -> Result<Json, CommandError> {
    let t = ticket(id_arg(args)?)?;
    if !t.deleted {
        return Err(CommandError::Conflict(format!(
            "ticket {} is not in the trash",
            t.id
        )));
    }
    db::run(
        "UPDATE tickets__tickets SET deleted_at = NULL WHERE id = ?1",
        &[int(t.id)],
    )?;
    read(t.id)
}

/// `{older_than_days?}` -> deletes for good the tickets in the trash for
/// longer than that (default: the `trash_days` setting).
pub fn purge_trash(args: &Json) -> Result<Json, CommandError> {
    let days = match &args["older_than_days"] {
        Json::Null => settings::get("trash_days")?,
        v => v.as_i64().filter(|d| *d >= 0).ok_or_else(|| {
            CommandError::bad_request("older_than_days must be a whole number of days")
        })?,
    };
    let cutoff = db::now() - days * MS_PER_DAY;
    let purged = purge_where(
        "deleted_at IS NOT NULL AND deleted_at <= ?1",
        &[int(cutoff)],
    )?;
    Ok(json!({"purged": purged, "older_than_days": days}))
}

/// Delete tickets matching `condition` (on tickets__tickets) with their
/// messages, attachments, tags and search entries; returns how many.
pub fn purge_where(condition: &str, params: &[Value]) -> Result<u64, CommandError> {
    let doomed = format!("SELECT id FROM tickets__tickets WHERE {condition}");
    db::run(
        &format!("DELETE FROM tickets__search WHERE rowid IN ({doomed})"),
        params,
    )?;
    for table in ["tickets__attachments", "tickets__tags", "tickets__messages"] {
        db::run(
            &format!("DELETE FROM {table} WHERE ticket_id IN ({doomed})"),
            params,
        )?;
    }
    let r = db::run(
        &format!("DELETE FROM tickets__tickets WHERE {condition}"),
        params,
    )?;
    Ok(r.rows_changed)
}
