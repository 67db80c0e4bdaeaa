//! The native floors the privacy rows of `cargo xtask bench` compare
//! against: the least work an export or a restore could do, with no
//! plugin, no sandbox and no audit log.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

/// What [`export`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub tickets: usize,
    pub messages: usize,
    pub files: usize,
}

/// `export.json` as wasmdesk writes it (host/src/privacy/archive.rs).
#[derive(Serialize)]
struct Export<'a> {
    format: &'static str,
    version: u32,
    generated_at_ms: i64,
    subject: &'a str,
    plugins: [Plugin; 1],
}

#[derive(Serialize)]
struct Plugin {
    id: &'static str,
    version: &'static str,
    groups: [Group; 3],
}

#[derive(Serialize)]
struct Group {
    id: &'static str,
    label: &'static str,
    items: Vec<Item>,
}

#[derive(Serialize)]
struct Item {
    id: String,
    data: Vec<Field>,
    files: Vec<String>,
}

#[derive(Serialize)]
struct Field {
    name: &'static str,
    value: String,
}

fn field(name: &'static str, value: impl ToString) -> Field {
    Field {
        name,
        value: value.to_string(),
    }
}

/// Export `email`'s customer record, tickets (with their tags), every
/// message of those tickets and the messages' attachments from the tickets
/// plugin's tables in `db`, as `export.json` (the shape wasmdesk writes)
/// and `files/...` in a deflated zip at `out`: one query per table, no
/// plugin, no `index.html`, no search for mentions by others, no redaction
/// of other people's addresses, no audit entry.
pub fn export(db: &Path, email: &str, out: &Path) -> Result<Exported> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let (customer, name, since): (i64, Option<String>, i64) = conn
        .query_row(
            "SELECT id, name, created_at FROM tickets__customers WHERE email = ?1",
            [email],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .with_context(|| format!("no customer {email}"))?;
    let customers = vec![Item {
        id: customer.to_string(),
        data: vec![
            field("Email", email),
            field("Name", name.unwrap_or_default()),
            field("Customer since (ms)", since),
        ],
        files: vec![],
    }];

    let mut tickets = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, subject, status, priority, created_at, updated_at,
            (SELECT group_concat(tag, ', ') FROM tickets__tags WHERE ticket_id = t.id)
         FROM tickets__tickets t WHERE customer_id = ?1 ORDER BY id",
    )?;
    let mut rows = stmt.query([customer])?;
    while let Some(r) = rows.next()? {
        tickets.push(Item {
            id: r.get::<_, i64>(0)?.to_string(),
            data: vec![
                field("Subject", r.get::<_, String>(1)?),
                field("Status", r.get::<_, String>(2)?),
                field("Priority", r.get::<_, String>(3)?),
                field("Tags", r.get::<_, Option<String>>(6)?.unwrap_or_default()),
                field("Created (ms)", r.get::<_, i64>(4)?),
                field("Updated (ms)", r.get::<_, i64>(5)?),
            ],
            files: vec![],
        });
    }

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut attachments = conn.prepare(
        "SELECT a.message_id, a.name, a.content FROM tickets__attachments a
         JOIN tickets__tickets t ON t.id = a.ticket_id WHERE t.customer_id = ?1 ORDER BY a.id",
    )?;
    let mut by_message: std::collections::HashMap<i64, Vec<String>> = Default::default();
    let mut rows = attachments.query([customer])?;
    while let Some(r) = rows.next()? {
        let message: i64 = r.get(0)?;
        let path = format!(
            "files/tickets/messages/{message}/{}",
            r.get::<_, String>(1)?
        );
        by_message.entry(message).or_default().push(path.clone());
        files.push((path, r.get(2)?));
    }
    let mut messages = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT m.id, m.ticket_id, m.author, m.internal, m.body, m.created_at FROM tickets__messages m
         JOIN tickets__tickets t ON t.id = m.ticket_id WHERE t.customer_id = ?1 ORDER BY m.ticket_id, m.id",
    )?;
    let mut rows = stmt.query([customer])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let from = match (r.get::<_, String>(2)?.as_str(), r.get::<_, i64>(3)?) {
            (_, 1) => "Internal note",
            ("agent", _) => "Support team",
            _ => "You",
        };
        messages.push(Item {
            id: id.to_string(),
            data: vec![
                field("Ticket", r.get::<_, i64>(1)?),
                field("From", from),
                field("Date (ms)", r.get::<_, i64>(5)?),
                field("Message", r.get::<_, String>(4)?),
            ],
            files: by_message.remove(&id).unwrap_or_default(),
        });
    }
    let counts = Exported {
        tickets: tickets.len(),
        messages: messages.len(),
        files: files.len(),
    };
    let export = Export {
        format: "wasmdesk-export",
        version: 1,
        generated_at_ms: 0,
        subject: email,
        plugins: [Plugin {
            id: "tickets",
            version: "",
            groups: [
                Group {
                    id: "customer",
                    label: "Customer",
                    items: customers,
                },
                Group {
                    id: "tickets",
                    label: "Support tickets",
                    items: tickets,
                },
                Group {
                    id: "messages",
                    label: "Messages",
                    items: messages,
                },
            ],
        }],
    };

    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(out)?));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("export.json", options)?;
    zip.write_all(serde_json::to_string_pretty(&export)?.as_bytes())?;
    for (path, content) in &files {
        zip.start_file(path.as_str(), options)?;
        zip.write_all(content)?;
    }
    zip.finish()?.flush()?;
    Ok(counts)
}

/// The floor of any restore: copy `backup` over `db` (with no WAL left
/// beside it) and have SQLite check the whole file.
pub fn restore(backup: &Path, db: &Path) -> Result<()> {
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    std::fs::copy(backup, db)?;
    let conn = Connection::open(db)?;
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        bail!("{}: integrity_check says {verdict}", db.display());
    }
    Ok(())
}
