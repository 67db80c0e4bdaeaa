//! The tickets plugin's duties to data subjects (GDPR Art. 15, 17, 20):
//! export and erase everything stored about one customer, paged by ticket id.

use serde_json::Value as Json;

use crate::commands::purge_where;
use crate::db::{self, int, text};
use crate::exports::wasmdesk::plugin::privacy::{
    ErasePage, ExportFile, ExportItem, ExportPage, RetentionReport, Subject,
};
use crate::wasmdesk::plugin::types::Value;

/// Tickets per page: a page must fit comfortably in one call's deadline.
const PAGE: i64 = 50;

/// What replaces a subject's identifiers in other people's messages.
const ERASED: &str = "[erased]";

fn fail(e: impl std::fmt::Debug) -> String {
    format!("tickets: {e:?}")
}

fn customer(email: &str) -> Result<Option<Json>, String> {
    let r = db::exec(
        "SELECT id, email, name, created_at FROM tickets__customers WHERE email = ?1",
        &[text(&email.to_lowercase())],
    )
    .map_err(fail)?;
    Ok(db::objects(&r).into_iter().next())
}

/// The cursor is the last ticket id handed out; "start" before the first.
fn parse_cursor(cursor: Option<String>) -> i64 {
    cursor.and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn item(
    group_id: &str,
    group_label: &str,
    item_id: String,
    data: Vec<(&str, String)>,
) -> ExportItem {
    ExportItem {
        group_id: group_id.into(),
        group_label: group_label.into(),
        item_id,
        data: data.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        files: vec![],
    }
}

/// Other people's e-mail addresses in `text`, replaced (GDPR Art. 15(4):
/// the subject's export must not hand over someone else's data).
fn redact_others(text: &str, subject_email: &str) -> String {
    let is_address_char = |c: char| c.is_alphanumeric() || ".-_+%".contains(c);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            let mut start = out.len();
            let local: String = out
                .chars()
                .rev()
                .take_while(|c| is_address_char(*c))
                .collect();
            start -= local.len();
            let mut end = i + 1;
            while end < chars.len() && is_address_char(chars[end]) {
                end += 1;
            }
            let domain: String = chars[i + 1..end].iter().collect();
            let domain = domain.trim_end_matches('.');
            let address = format!("{}@{domain}", local.chars().rev().collect::<String>());
            if !local.is_empty()
                && domain.contains('.')
                && !address.eq_ignore_ascii_case(subject_email)
            {
                out.truncate(start);
                out.push_str("[another person]");
                i += 1 + domain.chars().count();
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn show(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn export(subject: Subject, cursor: Option<String>) -> Result<ExportPage, String> {
    let Some(customer) = customer(&subject.email)? else {
        return Ok(ExportPage {
            items: vec![],
            next: None,
        });
    };
    let customer_id = customer["id"].as_i64().unwrap_or(0);
    let after = parse_cursor(cursor.clone());
    let mut items = Vec::new();
    if cursor.is_none() {
        items.push(item(
            "customer",
            "Customer",
            customer_id.to_string(),
            vec![
                ("Email", show(&customer["email"])),
                ("Name", show(&customer["name"])),
                ("Customer since (ms)", show(&customer["created_at"])),
            ],
        ));
    }
    if cursor.is_none() {
        items.extend(shared_messages(customer_id, &subject.email)?);
    }
    let tickets = db::exec(
        "SELECT id, subject, status, priority, created_at, updated_at,
                (SELECT group_concat(tag, ', ') FROM tickets__tags WHERE ticket_id = t.id) AS tags
         FROM tickets__tickets t WHERE customer_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        &[int(customer_id), int(after), int(PAGE)],
    )
    .map_err(fail)?;
    let tickets = db::objects(&tickets);
    for t in &tickets {
        let id = t["id"].as_i64().unwrap_or(0);
        items.push(item(
            "tickets",
            "Support tickets",
            id.to_string(),
            vec![
                (
                    "Subject",
                    redact_others(&show(&t["subject"]), &subject.email),
                ),
                ("Status", show(&t["status"])),
                ("Priority", show(&t["priority"])),
                ("Tags", show(&t["tags"])),
                ("Created (ms)", show(&t["created_at"])),
                ("Updated (ms)", show(&t["updated_at"])),
            ],
        ));
        let messages = db::exec(
            "SELECT id, author, internal, body, created_at, customer_id FROM tickets__messages
             WHERE ticket_id = ?1 ORDER BY id",
            &[int(id)],
        )
        .map_err(fail)?;
        for m in db::objects(&messages) {
            let message_id = m["id"].as_i64().unwrap_or(0);
            let author = m["customer_id"].as_i64();
            let from = match (m["author"].as_str(), m["internal"].as_i64()) {
                (_, Some(1)) => "Internal note",
                (Some("agent"), _) => "Support team",
                _ if author == Some(customer_id) => "You",
                // Another participant's message is their data (Art. 15(4)):
                // the export says one was there, not what it said.
                _ => {
                    items.push(item(
                        "messages",
                        "Messages",
                        message_id.to_string(),
                        vec![
                            ("Ticket", id.to_string()),
                            ("From", "Another participant".into()),
                            ("Date (ms)", show(&m["created_at"])),
                            (
                                "Message",
                                "[written by someone else: not part of your data]".into(),
                            ),
                        ],
                    ));
                    continue;
                }
            };
            let mut message = item(
                "messages",
                "Messages",
                message_id.to_string(),
                vec![
                    ("Ticket", id.to_string()),
                    ("From", from.into()),
                    ("Date (ms)", show(&m["created_at"])),
                    ("Message", redact_others(&show(&m["body"]), &subject.email)),
                ],
            );
            message.files = files_of(message_id)?;
            items.push(message);
        }
    }
    let next = (tickets.len() as i64 == PAGE)
        .then(|| tickets.last().map(|t| t["id"].to_string()))
        .flatten();
    Ok(ExportPage { items, next })
}

fn files_of(message_id: i64) -> Result<Vec<ExportFile>, String> {
    let r = db::exec(
        "SELECT name, mime_type, content FROM tickets__attachments WHERE message_id = ?1 ORDER BY id",
        &[int(message_id)],
    )
    .map_err(fail)?;
    Ok(r.rows
        .iter()
        .filter_map(|row| match row.as_slice() {
            [
                Value::Text(name),
                Value::Text(mime_type),
                Value::Blob(content),
            ] => Some(ExportFile {
                name: name.clone(),
                mime_type: mime_type.clone(),
                content: content.clone(),
            }),
            _ => None,
        })
        .collect())
}

/// The subject's own messages in other people's tickets (only theirs: the
/// rest of a shared thread is other people's data).
fn shared_messages(customer_id: i64, email: &str) -> Result<Vec<ExportItem>, String> {
    let r = db::exec(
        "SELECT m.id, m.ticket_id, m.body, m.created_at FROM tickets__messages m
         JOIN tickets__tickets t ON t.id = m.ticket_id
         WHERE m.customer_id = ?1 AND t.customer_id != ?1 ORDER BY m.id",
        &[int(customer_id)],
    )
    .map_err(fail)?;
    let mut items = Vec::new();
    for m in db::objects(&r) {
        let mut message = item(
            "messages",
            "Messages",
            show(&m["id"]),
            vec![
                (
                    "Ticket",
                    format!("{} (someone else's)", show(&m["ticket_id"])),
                ),
                ("From", "You".into()),
                ("Date (ms)", show(&m["created_at"])),
                ("Message", redact_others(&show(&m["body"]), email)),
            ],
        );
        message.files = files_of(m["id"].as_i64().unwrap_or(0))?;
        items.push(message);
    }
    Ok(items)
}

/// Shared threads are anonymised, not deleted: the subject's messages in
/// other people's tickets lose their author and identifiers, and a ticket
/// of theirs that others took part in passes to the earliest other
/// participant. Returns how many messages and tickets changed.
fn anonymise_shared(customer_id: i64, subject: &Subject) -> Result<u64, String> {
    let mut changed = 0;
    let handed_over = db::exec(
        "UPDATE tickets__tickets SET customer_id = (
             SELECT m.customer_id FROM tickets__messages m
             WHERE m.ticket_id = tickets__tickets.id AND m.customer_id IS NOT NULL AND m.customer_id != ?1
             ORDER BY m.id LIMIT 1)
         WHERE customer_id = ?1 AND EXISTS (
             SELECT 1 FROM tickets__messages m
             WHERE m.ticket_id = tickets__tickets.id AND m.customer_id IS NOT NULL AND m.customer_id != ?1)",
        &[int(customer_id)],
    )
    .map_err(fail)?;
    changed += handed_over.rows_changed;
    if handed_over.rows_changed > 0 {
        // The title was the subject's words: the next participant does not
        // inherit it. (Their messages follow below: the ticket is no longer
        // theirs.)
        let handed = db::exec(
            "SELECT DISTINCT m.ticket_id FROM tickets__messages m
             JOIN tickets__tickets t ON t.id = m.ticket_id
             WHERE m.customer_id = ?1 AND t.customer_id != ?1",
            &[int(customer_id)],
        )
        .map_err(fail)?;
        for row in &handed.rows {
            if let [Value::Integer(ticket)] = row.as_slice() {
                db::exec(
                    "UPDATE tickets__tickets SET subject = ?2 WHERE id = ?1 AND EXISTS (
                         SELECT 1 FROM tickets__messages WHERE ticket_id = ?1 AND customer_id = ?3
                         AND id = (SELECT min(id) FROM tickets__messages WHERE ticket_id = ?1))",
                    &[
                        int(*ticket),
                        text("[title removed: its author had their data erased]"),
                        int(customer_id),
                    ],
                )
                .map_err(fail)?;
            }
        }
    }
    let mine = db::exec(
        // A join, not `ticket_id IN (SELECT ... customer_id != ?1)`: that
        // subquery lists every other customer's ticket, a cost that grew
        // with the site (46 ms at 100 000 tickets) instead of the subject.
        "SELECT m.id, m.ticket_id, m.body FROM tickets__messages m
         JOIN tickets__tickets t ON t.id = m.ticket_id
         WHERE m.customer_id = ?1 AND t.customer_id != ?1",
        &[int(customer_id)],
    )
    .map_err(fail)?;
    let values: Vec<String> = std::iter::once(subject.email.clone())
        .chain(
            subject
                .identifiers
                .iter()
                .map(|(_, v)| v.clone())
                .filter(|v| v.trim().len() >= 3),
        )
        .collect();
    let _ = values;
    for row in &mine.rows {
        if let [Value::Integer(id), Value::Integer(ticket), Value::Text(_)] = row.as_slice() {
            // The whole message, not only the identifiers the site knows:
            // it may carry a phone number or a street nobody listed.
            db::exec(
                "DELETE FROM tickets__attachments WHERE message_id = ?1",
                &[int(*id)],
            )
            .map_err(fail)?;
            db::exec(
                "UPDATE tickets__messages SET customer_id = NULL, body = ?2 WHERE id = ?1",
                &[int(*id), text(REMOVED_MESSAGE)],
            )
            .map_err(fail)?;
            reindex(*ticket)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// What is left of a message its author had erased, in a thread kept for
/// the others in it.
const REMOVED_MESSAGE: &str = "[message removed: its author had their data erased]";

/// Delete the customer's tickets page by page, then anonymise mentions of
/// them in other people's tickets, then delete the customer.
/// Deleted rows vanish, so every page starts from the first remaining
/// ticket: the cursor only tells the host to call again.
pub fn erase(
    subject: Subject,
    _cursor: Option<String>,
    dry_run: bool,
) -> Result<ErasePage, String> {
    let email = subject.email.to_lowercase();
    let Some(customer) = customer(&email)? else {
        let mentions = if dry_run {
            count_mentions(&email)?
        } else {
            anonymise_mentions(&subject)?
        };
        return Ok(ErasePage {
            items_removed: mentions,
            items_retained: vec![],
            messages: if mentions > 0 {
                vec![format!(
                    "{mentions} message(s) by other customers mentioned {email}: anonymised"
                )]
            } else {
                vec![]
            },
            next: None,
        });
    };
    let customer_id = customer["id"].as_i64().unwrap_or(0);
    if dry_run {
        let tickets = db::exec(
            "SELECT count(*) FROM tickets__tickets WHERE customer_id = ?1",
            &[int(customer_id)],
        )
        .map_err(fail)?;
        let n = match tickets.rows.first().map(|r| &r[0]) {
            Some(Value::Integer(n)) => *n as u64,
            _ => 0,
        };
        let mentions = count_mentions(&email)?;
        return Ok(ErasePage {
            items_removed: n + 1 + mentions,
            items_retained: vec![],
            messages: vec![format!(
                "would delete {n} ticket(s) with their messages and attachments and the customer record, \
                 and anonymise {mentions} message(s) by others that mention them"
            )],
            next: None,
        });
    }
    // Idempotent: only the first page finds shared threads to anonymise.
    let shared = anonymise_shared(customer_id, &subject)?;
    let batch = db::exec(
        "SELECT id FROM tickets__tickets WHERE customer_id = ?1 ORDER BY id LIMIT ?2",
        &[int(customer_id), int(PAGE)],
    )
    .map_err(fail)?;
    if !batch.rows.is_empty() {
        let last = match batch.rows.last().map(|r| &r[0]) {
            Some(Value::Integer(id)) => *id,
            _ => 0,
        };
        let removed = purge_where(
            "customer_id = ?1 AND id <= ?2",
            &[int(customer_id), int(last)],
        )
        .map_err(|e| fail(format!("{e:?}")))?;
        return Ok(ErasePage {
            items_removed: removed + shared,
            items_retained: vec![],
            messages: vec![],
            next: Some(last.to_string()),
        });
    }
    let mentions = anonymise_mentions(&subject)?;
    db::exec(
        "DELETE FROM tickets__customers WHERE id = ?1",
        &[int(customer_id)],
    )
    .map_err(fail)?;
    let mut messages = vec!["deleted the customer record and all their tickets".to_string()];
    if shared > 0 {
        messages.push(format!(
            "anonymised {shared} message(s) or ticket(s) in threads shared with other people (kept for them)"
        ));
    }
    if mentions > 0 {
        messages.push(format!(
            "anonymised {mentions} message(s) by other customers that mentioned them"
        ));
    }
    Ok(ErasePage {
        items_removed: 1 + mentions + shared,
        items_retained: vec![],
        messages,
        next: None,
    })
}

/// The subject's identifiers as FTS5 phrases: a message mentioning them is
/// found through the search index, not by scanning every message.
fn mention_queries(subject: &Subject) -> Vec<(String, String)> {
    forms_of(subject)
        .into_iter()
        .filter_map(|value| {
            let words: Vec<String> = value
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect();
            (!words.is_empty()).then(|| (value.clone(), format!("\"{}\"", words.join(" "))))
        })
        .collect()
}

/// Messages (by anyone) that still contain one of the identifiers.
fn mentioning(subject_query: &str, value: &str) -> Result<Vec<(i64, i64, String)>, String> {
    let r = db::exec(
        "SELECT m.id, m.ticket_id, m.body FROM tickets__search s
         JOIN tickets__messages m ON m.ticket_id = s.rowid
         WHERE tickets__search MATCH ?1 AND instr(lower(m.body), lower(?2)) > 0",
        &[text(subject_query), text(value)],
    )
    .map_err(fail)?;
    Ok(r.rows
        .iter()
        .filter_map(|row| match row.as_slice() {
            [
                Value::Integer(id),
                Value::Integer(ticket),
                Value::Text(body),
            ] => Some((*id, *ticket, body.clone())),
            _ => None,
        })
        .collect())
}

fn count_mentions(email: &str) -> Result<u64, String> {
    let subject = Subject {
        email: email.into(),
        identifiers: vec![],
    };
    let mut n = 0;
    for (value, query) in mention_queries(&subject) {
        n += mentioning(&query, &value)?.len() as u64;
    }
    Ok(n)
}

fn anonymise_mentions(subject: &Subject) -> Result<u64, String> {
    let mut changed = 0;
    for (value, query) in mention_queries(subject) {
        for (id, ticket, body) in mentioning(&query, &value)? {
            let mut anonymised = body.clone();
            for form in forms_of(subject) {
                anonymised = replace_case_insensitive(&anonymised, &form, ERASED);
            }
            if anonymised == body {
                continue;
            }
            db::exec(
                "UPDATE tickets__messages SET body = ?2 WHERE id = ?1",
                &[int(id), text(&anonymised)],
            )
            .map_err(fail)?;
            reindex(ticket)?;
            changed += 1;
        }
    }
    changed += anonymise_other_mentions(subject)?;
    Ok(changed)
}

/// Rebuild one ticket's search document from its current texts.
fn reindex(ticket: i64) -> Result<(), String> {
    db::exec(
        "DELETE FROM tickets__search WHERE rowid = ?1",
        &[int(ticket)],
    )
    .map_err(fail)?;
    db::exec(
        "INSERT INTO tickets__search (rowid, text)
         SELECT t.id, t.subject || char(10) || coalesce((SELECT group_concat(body, char(10)) FROM tickets__messages WHERE ticket_id = t.id), '')
         FROM tickets__tickets t WHERE t.id = ?1",
        &[int(ticket)],
    )
    .map_err(fail)?;
    Ok(())
}

/// `haystack` with every occurrence of `needle` replaced, comparing ASCII
/// letters without regard to case (as SQLite's `lower()` does) and every
/// other character exactly. Safe for any text: a Turkish `İ` next to the
/// address does not shift it.
fn replace_case_insensitive(haystack: &str, needle: &str, with: &str) -> String {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return haystack.to_string();
    }
    let mut out = String::with_capacity(haystack.len());
    let mut last = 0;
    let mut at = 0;
    while at + n.len() <= h.len() {
        if h[at..at + n.len()].eq_ignore_ascii_case(n)
            && haystack.is_char_boundary(at)
            && haystack.is_char_boundary(at + n.len())
        {
            out.push_str(&haystack[last..at]);
            out.push_str(with);
            at += n.len();
            last = at;
        } else {
            at += 1;
        }
    }
    out.push_str(&haystack[last..]);
    out
}

/// Every form in which the subject appears in text: the address (also
/// percent-encoded, as in a link) and each identifier of 3 or more
/// characters.
fn forms_of(subject: &Subject) -> Vec<String> {
    let email = subject.email.to_lowercase();
    let mut forms = vec![email.clone(), email.replace('@', "%40")];
    for (_, value) in &subject.identifiers {
        let value = value.trim();
        if value.chars().count() < 3 {
            continue;
        }
        forms.push(value.to_string());
        // Matching folds ASCII letters only: other letters (`Zoë Ünal`) are
        // also tried in their lower and upper case.
        if !value.is_ascii() {
            for variant in [value.to_lowercase(), value.to_uppercase()] {
                if !forms.contains(&variant) {
                    forms.push(variant);
                }
            }
        }
    }
    forms
}

/// Mentions outside message bodies: ticket titles, attachments (their name
/// or their text), and tags (also a tag made from a word of the name).
/// Returns how many changed.
fn anonymise_other_mentions(subject: &Subject) -> Result<u64, String> {
    let mut changed = 0;
    for form in forms_of(subject) {
        let titles = db::exec(
            "SELECT id, subject FROM tickets__tickets WHERE instr(lower(subject), lower(?1)) > 0",
            &[text(&form)],
        )
        .map_err(fail)?;
        for row in &titles.rows {
            if let [Value::Integer(id), Value::Text(title)] = row.as_slice() {
                let cleaned = replace_case_insensitive(title, &form, ERASED);
                if &cleaned != title {
                    db::exec(
                        "UPDATE tickets__tickets SET subject = ?2 WHERE id = ?1",
                        &[int(*id), text(&cleaned)],
                    )
                    .map_err(fail)?;
                    reindex(*id)?;
                    changed += 1;
                }
            }
        }
        // An attachment that names the subject is theirs as much as its
        // sender's: it goes (a vCard, a scan of a letter).
        changed += db::exec(
            "DELETE FROM tickets__attachments WHERE instr(lower(name), lower(?1)) > 0
             OR instr(lower(CAST(content AS TEXT)), lower(?1)) > 0",
            &[text(&form)],
        )
        .map_err(fail)?
        .rows_changed;
        changed += db::exec(
            "DELETE FROM tickets__tags WHERE instr(lower(tag), lower(?1)) > 0",
            &[text(&form)],
        )
        .map_err(fail)?
        .rows_changed;
    }
    for (_, value) in &subject.identifiers {
        for word in value.split(|c: char| !c.is_alphanumeric()) {
            if word.chars().count() >= 4 {
                changed += db::exec(
                    "DELETE FROM tickets__tags WHERE instr(lower(tag), lower(?1)) > 0",
                    &[text(word)],
                )
                .map_err(fail)?
                .rows_changed;
            }
        }
    }
    Ok(changed)
}

/// The manifest's retention rules: `trash` purges tickets deleted before
/// the cutoff.
pub fn retention(rule: &str, cutoff_ms: i64, dry_run: bool) -> Result<RetentionReport, String> {
    match rule {
        "trash" if dry_run => {
            let r = db::exec(
                "SELECT count(*) FROM tickets__tickets WHERE deleted_at IS NOT NULL AND deleted_at <= ?1",
                &[int(cutoff_ms)],
            )
            .map_err(fail)?;
            let n = match r.rows.first().map(|r| &r[0]) {
                Some(Value::Integer(n)) => *n as u64,
                _ => 0,
            };
            Ok(RetentionReport {
                items_removed: n,
                messages: vec![format!("would purge {n} ticket(s) from the trash")],
            })
        }
        "trash" => {
            let n = purge_where(
                "deleted_at IS NOT NULL AND deleted_at <= ?1",
                &[int(cutoff_ms)],
            )
            .map_err(|e| fail(format!("{e:?}")))?;
            Ok(RetentionReport {
                items_removed: n,
                messages: vec![format!("purged {n} ticket(s) from the trash")],
            })
        }
        other => Err(format!(
            "tickets has no retention rule {other:?}; it has: trash"
        )),
    }
}
