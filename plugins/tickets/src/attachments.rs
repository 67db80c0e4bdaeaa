//! Attachment files: metadata listed with messages, content as a blob up to
//! the `max_attachment_bytes` setting, fetched one at a time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value as Json, json};
use wasmdesk_identifiers::SearchableText;
use wasmdesk_plugin::{CommandError, Value};

use crate::db::{self, int, text};
use crate::settings;

/// One attachment from a command's arguments, decoded and checked.
pub struct NewAttachment {
    name: String,
    mime_type: String,
    content: Vec<u8>,
}

/// Decode `attachments: [{name, type, content_base64}]`, checking sizes
/// before anything is written.
pub fn parse(args: &Json) -> Result<Vec<NewAttachment>, CommandError> {
    let Some(list) = args.get("attachments").filter(|a| !a.is_null()) else {
        return Ok(vec![]);
    };
    let list = list
        .as_array()
        .ok_or_else(|| CommandError::BadRequest("attachments must be a list".into()))?;
    let max = settings::get("max_attachment_bytes")?;
    let mut out = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let field = |f: &str| {
            a[f].as_str()
                .filter(|s| !s.is_empty())
                .map(String::from)
                .ok_or_else(|| {
                    CommandError::BadRequest(format!(
                        "attachments[{i}].{f} is required (a non-empty string)"
                    ))
                })
        };
        let name = field("name")?;
        let mime_type = a["type"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_string();
        let content = BASE64.decode(field("content_base64")?).map_err(|e| {
            CommandError::BadRequest(format!(
                "attachments[{i}].content_base64 is not base64: {e}"
            ))
        })?;
        if content.len() as i64 > max {
            return Err(CommandError::BadRequest(format!(
                "attachment {name:?} is {} bytes; the limit is {max} (setting max_attachment_bytes)",
                content.len()
            )));
        }
        out.push(NewAttachment {
            name,
            mime_type,
            content,
        });
    }
    Ok(out)
}

pub fn store(
    ticket_id: i64,
    message_id: i64,
    attachments: Vec<NewAttachment>,
    now: i64,
) -> Result<(), CommandError> {
    for a in attachments {
        let size = a.content.len() as i64;
        let words = words_of(&a.name, &a.content);
        let r = db::run(
            "INSERT INTO tickets__attachments (ticket_id, message_id, name, mime_type, size, content, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[int(ticket_id), int(message_id), text(&a.name), text(&a.mime_type), int(size), Value::Blob(a.content), int(now)],
        )?;
        index(r.last_insert_rowid, &words)?;
    }
    Ok(())
}

/// What `tickets__attachment_words` holds for an attachment: the words of
/// its name and of its bytes, read as the host's proof reads them.
fn words_of(name: &str, content: &[u8]) -> String {
    SearchableText::of(&[name.as_bytes(), content])
}

fn index(id: i64, words: &str) -> Result<(), CommandError> {
    db::run(
        "INSERT INTO tickets__attachment_words (rowid, text) VALUES (?1, ?2)",
        &[int(id), text(words)],
    )?;
    Ok(())
}

/// Attachments read at a time while indexing those stored before the
/// index existed.
const INDEX_PAGE: i64 = 16;

/// Index every attachment: once, when the index is created on a site that
/// already has attachments.
pub fn index_all() -> Result<(), CommandError> {
    let mut after = 0;
    loop {
        let r = db::run(
            "SELECT id, name, content FROM tickets__attachments WHERE id > ?1 ORDER BY id LIMIT ?2",
            &[int(after), int(INDEX_PAGE)],
        )?;
        for row in &r.rows {
            if let [Value::Integer(id), Value::Text(name), content] = row.as_slice() {
                let content = match content {
                    Value::Blob(b) => b.as_slice(),
                    Value::Text(t) => t.as_bytes(),
                    _ => &[],
                };
                index(*id, &words_of(name, content))?;
                after = *id;
            }
        }
        if (r.rows.len() as i64) < INDEX_PAGE {
            return Ok(());
        }
    }
}

/// Metadata of the ticket's attachments, by message id.
pub fn of_ticket(ticket_id: i64) -> Result<Vec<Json>, CommandError> {
    let r = db::run(
        "SELECT id, message_id, name, mime_type AS type, size FROM tickets__attachments WHERE ticket_id = ?1 ORDER BY id",
        &[int(ticket_id)],
    )?;
    Ok(db::objects(&r))
}

/// `{id}` -> one attachment with its content, base64.
pub fn get(args: &Json) -> Result<Json, CommandError> {
    let id = crate::commands::id_arg(args)?;
    let r = db::run(
        "SELECT id, ticket_id, name, mime_type, size, content FROM tickets__attachments WHERE id = ?1",
        &[int(id)],
    )?;
    let Some(row) = r.rows.first() else {
        return Err(CommandError::NotFound(format!("no attachment {id}")));
    };
    let content = match &row[5] {
        Value::Blob(b) => BASE64.encode(b),
        _ => String::new(),
    };
    Ok(json!({
        "id": id, "ticket_id": db::json(&row[1]), "name": db::json(&row[2]), "type": db::json(&row[3]),
        "size": db::json(&row[4]), "content_base64": content,
    }))
}
