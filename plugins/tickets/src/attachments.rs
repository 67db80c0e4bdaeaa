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

/// The `attachments` argument, taken out of `args` to be [parsed](parse).
pub fn take(args: &mut Json) -> Json {
    args.get_mut("attachments")
        .map(Json::take)
        .unwrap_or_default()
}

/// Decode `attachments: [{name, type, content_base64}]` (as [taken](take)
/// from the arguments), checking sizes before anything is written. Each
/// file's base64 text is dropped once decoded: a file near the size limit
/// must fit in the plugin's memory with its bytes and its words.
pub fn parse(mut list: Json) -> Result<Vec<NewAttachment>, CommandError> {
    if list.is_null() {
        return Ok(vec![]);
    }
    let list = list
        .as_array_mut()
        .ok_or_else(|| CommandError::BadRequest("attachments must be a list".into()))?;
    let max = settings::get("max_attachment_bytes")?;
    let mut out = Vec::new();
    for (i, a) in list.iter_mut().enumerate() {
        let field = |a: &Json, f: &str| {
            a[f].as_str()
                .filter(|s| !s.is_empty())
                .map(String::from)
                .ok_or_else(|| {
                    CommandError::BadRequest(format!(
                        "attachments[{i}].{f} is required (a non-empty string)"
                    ))
                })
        };
        let name = field(a, "name")?;
        let mime_type = a["type"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_string();
        let encoded = match a.get_mut("content_base64").map(Json::take) {
            Some(Json::String(s)) if !s.is_empty() => s,
            _ => {
                return Err(CommandError::BadRequest(format!(
                    "attachments[{i}].content_base64 is required (a non-empty string)"
                )));
            }
        };
        let content = BASE64.decode(&encoded).map_err(|e| {
            CommandError::BadRequest(format!(
                "attachments[{i}].content_base64 is not base64: {e}"
            ))
        })?;
        drop(encoded);
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
        // The id SQLite would give, taken first: the words are indexed
        // before the bytes move into the row.
        let r = db::run(
            "SELECT coalesce(max(id), 0) + 1 FROM tickets__attachments",
            &[],
        )?;
        let Some([Value::Integer(id)]) = r.rows.first().map(Vec::as_slice) else {
            return Err(CommandError::Failed("no id for an attachment".into()));
        };
        let id = *id;
        index(id, &a.name, &a.content)?;
        db::run(
            "INSERT INTO tickets__attachments (id, ticket_id, message_id, name, mime_type, size, content, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[int(id), int(ticket_id), int(message_id), text(&a.name), text(&a.mime_type), int(size), Value::Blob(a.content), int(now)],
        )?;
    }
    Ok(())
}

/// Words of an attachment per row of `tickets__attachment_words`: a long
/// file is indexed in parts, so that neither the plugin nor SQLite holds
/// all of its words at once.
const WORDS_PER_ROW: usize = 256 * 1024;

/// Rows of the word index an attachment may have: its rowids are
/// `id * PARTS + part`.
pub const PARTS: i64 = 1 << 20;

/// Index an attachment's name and bytes, read as the host's proof reads
/// them (`SearchableText`), in parts.
fn index(id: i64, name: &str, content: &[u8]) -> Result<(), CommandError> {
    let mut words = SearchableText::new();
    let mut part = 0;
    let mut insert = |text: String| -> Result<(), CommandError> {
        if !text.is_empty() {
            db::run(
                "INSERT INTO tickets__attachment_words (rowid, text) VALUES (?1, ?2)",
                &[int(id * PARTS + part), Value::Text(text)],
            )?;
            part += 1;
        }
        Ok(())
    };
    words.feed(name.as_bytes());
    // Not text: the name and the bytes are read apart.
    words.feed(&[0]);
    for piece in content.chunks(64 * 1024) {
        words.feed(piece);
        if let Some(text) = words.next_part(WORDS_PER_ROW) {
            insert(text)?;
        }
    }
    insert(words.finish())
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
                index(*id, name, content)?;
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
pub fn get(id: i64) -> Result<Json, CommandError> {
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
