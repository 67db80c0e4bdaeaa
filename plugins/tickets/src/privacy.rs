//! The tickets plugin's duties to data subjects (GDPR Art. 15, 17, 20):
//! export and erase everything stored about one customer, paged by ticket id.

use serde_json::Value as Json;
use wasmdesk_identifiers::{ByteSearch, Person};
use wasmdesk_plugin::Value;
use wasmdesk_plugin::privacy::{
    ErasePage, ExportFile, ExportItem, ExportPage, RetentionReport, Subject,
};

use crate::commands::purge_where;
use crate::db::{self, int, text};

/// Tickets per page: a page must fit comfortably in one call's deadline.
const PAGE: i64 = 50;

/// What replaces a subject's identifiers in other people's messages.
const ERASED: &str = "[erased]";

fn fail(e: impl std::fmt::Debug) -> String {
    format!("tickets: {e:?}")
}

/// The subject's customer records: one per spelling of their mailbox
/// (`zelda+shop@example.org` is the same person as `zelda@example.org`),
/// the one with the address as given first.
fn customers(subject: &Subject) -> Result<Vec<Json>, String> {
    let email = subject.email.to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Ok(vec![]);
    };
    let dots_ignored = matches!(domain, "gmail.com" | "googlemail.com");
    let base = local.split('+').next().unwrap_or(local);
    let canonical: String = if dots_ignored {
        base.chars().filter(|c| *c != '.').collect()
    } else {
        base.to_string()
    };
    let Some(first) = canonical.chars().next() else {
        return Ok(vec![]);
    };
    let after = char::from_u32(first as u32 + 1).unwrap_or(char::MAX);
    // Only the rows that are this mailbox are read (the audit log counts
    // every customer a call reads): SQLite computes each candidate's
    // canonical local part, among the addresses that begin with the same
    // letter (a range of the unique index on email).
    let r = db::exec(
        "SELECT id, email, name, created_at FROM (
             SELECT id, email, name, created_at,
                    substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 1 AND instr(email, '@')
                                      THEN instr(email, '+') ELSE instr(email, '@') END) - 1) AS local
             FROM tickets__customers WHERE email >= ?3 AND email < ?4)
         WHERE substr(email, instr(email, '@') + 1) = ?2
           AND (CASE WHEN ?5 THEN replace(local, '.', '') ELSE local END) = ?1
         ORDER BY email != ?6, id",
        &[
            text(&canonical),
            text(domain),
            text(&first.to_string()),
            text(&after.to_string()),
            int(i64::from(dots_ignored)),
            text(&email),
        ],
    )
    .map_err(fail)?;
    let person = Person::new(Some(&email), []);
    Ok(db::objects(&r)
        .into_iter()
        .filter(|c| c["email"].as_str().is_some_and(|e| person.mentioned_in(e)))
        .collect())
}

/// `column IN (ids)`, for a list of customer ids.
fn one_of(column: &str, ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{column} IN ({})", ids.join(", "))
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
    let customers = customers(&subject)?;
    if customers.is_empty() {
        return Ok(ExportPage {
            items: vec![],
            next: None,
        });
    }
    let ids: Vec<i64> = customers.iter().filter_map(|c| c["id"].as_i64()).collect();
    let after = parse_cursor(cursor.clone());
    let mut items = Vec::new();
    if cursor.is_none() {
        for customer in &customers {
            items.push(item(
                "customer",
                "Customer",
                show(&customer["id"]),
                vec![
                    ("Email", show(&customer["email"])),
                    ("Name", show(&customer["name"])),
                    ("Customer since (ms)", show(&customer["created_at"])),
                ],
            ));
        }
        for id in &ids {
            items.extend(shared_messages(*id, &subject.email)?);
        }
        items.extend(mentions(&subject, &ids)?);
    }
    let tickets = db::exec(
        &format!(
            "SELECT id, subject, status, priority, created_at, updated_at,
                (SELECT group_concat(tag, ', ') FROM tickets__tags WHERE ticket_id = t.id) AS tags
         FROM tickets__tickets t WHERE {} AND id > ?1 ORDER BY id LIMIT ?2",
            one_of("customer_id", &ids)
        ),
        &[int(after), int(PAGE)],
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
                _ if author.is_some_and(|a| ids.contains(&a)) => "You",
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
fn anonymise_shared(customer_id: i64) -> Result<u64, String> {
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
    let customers = customers(&subject)?;
    let Some(customer) = customers.first() else {
        let mentions = if dry_run {
            count_mentions(&subject)?
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
    if dry_run {
        let ids: Vec<i64> = customers.iter().filter_map(|c| c["id"].as_i64()).collect();
        let tickets = db::exec(
            &format!(
                "SELECT count(*) FROM tickets__tickets WHERE {}",
                one_of("customer_id", &ids)
            ),
            &[],
        )
        .map_err(fail)?;
        let n = match tickets.rows.first().map(|r| &r[0]) {
            Some(Value::Integer(n)) => *n as u64,
            _ => 0,
        };
        let mentions = count_mentions(&subject)?;
        let records = ids.len() as u64;
        return Ok(ErasePage {
            items_removed: n + records + mentions,
            items_retained: vec![],
            messages: vec![format!(
                "would delete {n} ticket(s) with their messages and attachments and {records} customer record(s), \
                 and anonymise {mentions} message(s) by others that mention them"
            )],
            next: None,
        });
    }
    let customer_id = customer["id"].as_i64().unwrap_or(0);
    // Idempotent: only the first page finds shared threads to anonymise.
    let shared = anonymise_shared(customer_id)?;
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
    db::exec(
        "DELETE FROM tickets__customers WHERE id = ?1",
        &[int(customer_id)],
    )
    .map_err(fail)?;
    if customers.len() > 1 {
        // Another spelling of the same mailbox has its own record: the
        // next page erases it.
        return Ok(ErasePage {
            items_removed: 1 + shared,
            items_retained: vec![],
            messages: vec![],
            next: Some(format!("customer {customer_id} done")),
        });
    }
    let mentions = anonymise_mentions(&subject)?;
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

/// The subject as erasure and the host's proof recognise them (one rule,
/// [`wasmdesk_identifiers`]): the address in every spelling of the same
/// mailbox, names in any case, with or without accents.
fn person(subject: &Subject) -> Person {
    Person::new(
        Some(&subject.email),
        subject.identifiers.iter().map(|(_, v)| v.as_str()),
    )
}

/// The words of `value` as FTS5 sees them, as a quoted phrase.
fn phrase(value: &str) -> Option<String> {
    let words: Vec<&str> = value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    (!words.is_empty()).then(|| format!("\"{}\"", words.join(" ")))
}

/// How an index holds its text, and so how names are asked for.
#[derive(Clone, Copy, PartialEq)]
enum Indexed {
    /// As written: FTS5's tokenizer folds both the text and the query.
    AsWritten,
    /// [Folded](wasmdesk_identifiers::fold()) before it was indexed: the
    /// query is folded the same way.
    Folded,
}

/// FTS5 queries that together find every ticket whose text may mention
/// the subject. The index folds case and accents as [`person`] does; the
/// address is looked for by its local part (without a `+tag`) near its
/// domain, also as `%40domain`, and at Gmail (which ignores dots) by any
/// prefix of its dotless form near the domain; a name or other identifier
/// by its words, the last one also as a prefix. Each hit is checked with
/// [`person`] before anything changes. What FTS5 cannot find (an
/// identifier glued after other letters, `xzoe angstrom`) the proof still
/// finds and reports.
fn mention_queries(subject: &Subject, indexed: Indexed) -> Vec<String> {
    let mut queries = Vec::new();
    let email = subject.email.to_lowercase();
    if let Some((local, domain)) = email.rsplit_once('@') {
        let local = local.split('+').next().unwrap_or(local);
        let dots_ignored = matches!(domain, "gmail.com" | "googlemail.com");
        match (
            phrase(local),
            phrase(domain),
            phrase(&format!("40{domain}")),
        ) {
            (Some(local), Some(domain), Some(escaped)) if !dots_ignored => {
                queries.push(format!("NEAR({local} {domain}, 3)"));
                queries.push(format!("NEAR({local} {escaped}, 3)"));
            }
            (_, Some(domain), Some(escaped)) => {
                // Gmail ignores dots, so the local part may be any number
                // of words: its first word is a prefix of the dotless form.
                let canonical: String = local.chars().filter(|c| *c != '.').collect();
                for target in [domain, escaped] {
                    if canonical.chars().all(|c| c.is_ascii_alphanumeric()) {
                        let near: Vec<String> = (1..=canonical.len())
                            .map(|k| format!("NEAR(\"{}\" {target}, 64)", &canonical[..k]))
                            .collect();
                        queries.push(near.join(" OR "));
                    } else {
                        queries.push(target);
                    }
                }
            }
            _ => {}
        }
    }
    for (_, value) in &subject.identifiers {
        if value.trim().chars().count() >= wasmdesk_identifiers::MIN_NAME_CHARS {
            let phrase = match indexed {
                Indexed::AsWritten => phrase(value),
                Indexed::Folded => phrase(&wasmdesk_identifiers::fold(value).text),
            };
            // Its last word also as the start of a longer one, as the
            // proof finds it (`Ångströms`).
            queries.extend(phrase.map(|p| format!("{p} *")));
        }
    }
    queries
}

/// The ids (`id`, an expression of the rowid) of the rows of `index` (an
/// FTS5 table) whose text matches one of the subject's
/// [queries](mention_queries).
fn matching(
    index: &str,
    id: &str,
    subject: &Subject,
    indexed: Indexed,
) -> Result<Vec<i64>, String> {
    let mut ids = std::collections::BTreeSet::new();
    for query in mention_queries(subject, indexed) {
        let r = db::exec(
            &format!("SELECT {id} FROM {index} WHERE {index} MATCH ?1"),
            &[text(&query)],
        )
        .map_err(fail)?;
        ids.extend(r.rows.iter().filter_map(|row| match row.as_slice() {
            [Value::Integer(id)] => Some(*id),
            _ => None,
        }));
    }
    Ok(ids.into_iter().collect())
}

/// Tickets whose search text matches one of the queries.
fn candidate_tickets(subject: &Subject) -> Result<Vec<i64>, String> {
    matching("tickets__search", "rowid", subject, Indexed::AsWritten)
}

/// Messages (by anyone) on the given tickets that mention the subject.
/// Each body is read on its own: a ticket may hold many long messages.
fn mentioning(person: &Person, tickets: &[i64]) -> Result<Vec<(i64, i64, String)>, String> {
    let mut found = Vec::new();
    for ticket in tickets {
        let ids = db::exec(
            "SELECT id FROM tickets__messages WHERE ticket_id = ?1 ORDER BY id",
            &[int(*ticket)],
        )
        .map_err(fail)?;
        for row in &ids.rows {
            let [Value::Integer(id)] = row.as_slice() else {
                continue;
            };
            let r = db::exec(
                "SELECT body FROM tickets__messages WHERE id = ?1",
                &[int(*id)],
            )
            .map_err(fail)?;
            if let Some([Value::Text(body)]) = r.rows.first().map(Vec::as_slice)
                && person.mentioned_in(body)
            {
                found.push((*id, *ticket, body.clone()));
            }
        }
    }
    Ok(found)
}

fn count_mentions(subject: &Subject) -> Result<u64, String> {
    let tickets = candidate_tickets(subject)?;
    Ok(mentioning(&person(subject), &tickets)?.len() as u64)
}

/// What others wrote about the subject, for their export: where and when,
/// by whom (a role, never a name), and which of the subject's identifiers
/// it holds; not the text, which is the writer's and may name others
/// (Art. 15(4)).
fn mentions(subject: &Subject, own: &[i64]) -> Result<Vec<ExportItem>, String> {
    let person = person(subject);
    let tickets = candidate_tickets(subject)?;
    let mut items = Vec::new();
    for (id, ticket, body) in mentioning(&person, &tickets)? {
        let r = db::exec(
            "SELECT m.author, m.internal, m.customer_id, m.created_at, t.customer_id
             FROM tickets__messages m JOIN tickets__tickets t ON t.id = m.ticket_id WHERE m.id = ?1",
            &[int(id)],
        )
        .map_err(fail)?;
        let Some(row) = r.rows.first() else { continue };
        let author = match &row[2] {
            Value::Integer(a) => Some(*a),
            _ => None,
        };
        if author.is_some_and(|a| own.contains(&a)) {
            // Their own message: exported whole with their tickets.
            continue;
        }
        let by = match (&row[0], &row[1]) {
            (_, Value::Integer(1)) => "Support team (internal note)",
            (Value::Text(a), _) if a == "agent" => "Support team",
            _ => "Another customer",
        };
        let which = which_identifiers(subject, &body);
        let on_own_ticket = matches!(&row[4], Value::Integer(t) if own.contains(t));
        items.push(item(
            "mentions",
            "Mentions of you in messages by others",
            id.to_string(),
            vec![
                (
                    "Ticket",
                    if on_own_ticket {
                        ticket.to_string()
                    } else {
                        format!("{ticket} (someone else's)")
                    },
                ),
                ("Written by", by.into()),
                ("Date (ms)", show(&db::json(&row[3]))),
                ("Mentions", which.join(", ")),
                (
                    "Message",
                    "[written by someone else: not part of your data]".into(),
                ),
            ],
        ));
    }
    Ok(items)
}

/// Which of the subject's identifiers `text` holds, by kind.
fn which_identifiers(subject: &Subject, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    if Person::new(Some(&subject.email), []).mentioned_in(text) {
        found.push("your e-mail address".to_string());
    }
    for (kind, value) in &subject.identifiers {
        if Person::new(None, [value.as_str()]).mentioned_in(text) {
            found.push(format!("your {kind}"));
        }
    }
    found
}

fn anonymise_mentions(subject: &Subject) -> Result<u64, String> {
    let person = person(subject);
    let tickets = candidate_tickets(subject)?;
    let mut changed = 0;
    for (id, _, body) in mentioning(&person, &tickets)? {
        db::exec(
            "UPDATE tickets__messages SET body = ?2 WHERE id = ?1",
            &[int(id), text(&person.redact(&body, ERASED))],
        )
        .map_err(fail)?;
        changed += 1;
    }
    changed += anonymise_other_mentions(subject, &person, &tickets)?;
    for ticket in &tickets {
        reindex(*ticket)?;
    }
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

/// Bytes of an attachment read at a time: an attachment may be larger than
/// one result may carry into the plugin.
const ATTACHMENT_SLICE: i64 = 4 * 1024 * 1024;

/// Delete every attachment whose name or bytes hold the subject, by the
/// same rule as the host's proof ([`ByteSearch`]: also inside base64 or
/// quoted-printable). The attachments' word index names the candidates
/// (those where the subject's address or a name appears as words); each is
/// then read whole before it goes.
fn erase_attachments_naming(subject: &Subject, person: &Person) -> Result<u64, String> {
    let mut search = ByteSearch::new(person);
    let mut removed = 0;
    let parts = crate::attachments::PARTS;
    let candidates = matching(
        "tickets__attachment_words",
        &format!("rowid / {parts}"),
        subject,
        Indexed::Folded,
    )?;
    for id in candidates {
        let r = db::exec(
            "SELECT name, length(content) FROM tickets__attachments WHERE id = ?1",
            &[int(id)],
        )
        .map_err(fail)?;
        let Some([Value::Text(name), length]) = r.rows.first().map(Vec::as_slice) else {
            continue;
        };
        let length = match length {
            Value::Integer(n) => *n,
            _ => 0,
        };
        let mut offset = 1;
        while offset <= length {
            let slice = db::exec(
                "SELECT substr(content, ?2, ?3) FROM tickets__attachments WHERE id = ?1",
                &[int(id), int(offset), int(ATTACHMENT_SLICE)],
            )
            .map_err(fail)?;
            match slice.rows.first().map(Vec::as_slice) {
                Some([Value::Blob(b)]) => search.feed(b),
                Some([Value::Text(t)]) => search.feed(t.as_bytes()),
                _ => {}
            }
            offset += ATTACHMENT_SLICE;
        }
        if search.finish() > 0 || person.mentioned_in(name) {
            removed += db::exec("DELETE FROM tickets__attachments WHERE id = ?1", &[int(id)])
                .map_err(fail)?
                .rows_changed;
        }
    }
    Ok(removed)
}

/// Mentions outside message bodies: ticket titles, attachments (their name
/// or their text), and tags (also a tag made from a word of the name).
/// Returns how many changed.
fn anonymise_other_mentions(
    subject: &Subject,
    person: &Person,
    tickets: &[i64],
) -> Result<u64, String> {
    let mut changed = 0;
    for ticket in tickets {
        let r = db::exec(
            "SELECT subject FROM tickets__tickets WHERE id = ?1",
            &[int(*ticket)],
        )
        .map_err(fail)?;
        if let Some([Value::Text(title)]) = r.rows.first().map(Vec::as_slice)
            && person.mentioned_in(title)
        {
            db::exec(
                "UPDATE tickets__tickets SET subject = ?2 WHERE id = ?1",
                &[int(*ticket), text(&person.redact(title, ERASED))],
            )
            .map_err(fail)?;
            changed += 1;
        }
    }
    // An attachment that names the subject is theirs as much as its
    // sender's: it goes (a vCard, a scan of a letter). A tag made from a
    // word of their name goes too.
    let words: Vec<String> = subject
        .identifiers
        .iter()
        .flat_map(|(_, v)| {
            v.split(|c: char| !c.is_alphanumeric())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|w| w.chars().count() >= 4)
        .map(|w| wasmdesk_identifiers::fold(&w).text)
        .collect();
    changed += erase_attachments_naming(subject, person)?;
    // Each tag once, by the tag index (a site has far fewer tags than
    // tagged tickets).
    let tags = db::exec(
        "WITH RECURSIVE tickets__each_tag(tag) AS (
             SELECT min(tag) FROM tickets__tags
             UNION ALL
             SELECT (SELECT min(tag) FROM tickets__tags WHERE tag > e.tag)
             FROM tickets__each_tag e WHERE e.tag IS NOT NULL
         )
         SELECT tag FROM tickets__each_tag WHERE tag IS NOT NULL",
        &[],
    )
    .map_err(fail)?;
    for row in &tags.rows {
        if let [Value::Text(tag)] = row.as_slice() {
            let folded = wasmdesk_identifiers::fold(tag).text;
            if person.mentioned_in(tag) || words.iter().any(|w| folded.contains(w.as_str())) {
                changed += db::exec("DELETE FROM tickets__tags WHERE tag = ?1", &[text(tag)])
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
