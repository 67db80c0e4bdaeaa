//! The residue scan: after an erasure, search every text and blob column of
//! every table, and the raw bytes of the database and its WAL, for the
//! subject's identifiers.

use std::io::Read;
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;

use crate::store::StoreError;

/// Rows of one column that still hold an identifier.
#[derive(Debug, Clone, Serialize)]
pub struct Residue {
    pub table: String,
    pub column: String,
    pub rows: u64,
}

/// Tables whose rows are searched: every real table (virtual tables are
/// searched through their shadow tables, which hold their data).
fn tables(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every column of every table that still contains one of `needles`
/// (compared case-insensitively for ASCII), one scan per table.
pub fn scan(conn: &Connection, needles: &[String]) -> Result<Vec<Residue>, StoreError> {
    let needles: Vec<String> = needles
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    let mut found = Vec::new();
    for table in tables(conn)? {
        let columns = columns(conn, &table)?;
        if columns.is_empty() {
            continue;
        }
        let mut sums = Vec::new();
        for column in &columns {
            let hits: Vec<String> = (1..=needles.len())
                .map(|i| format!("instr(lower(CAST({} AS TEXT)), ?{i}) > 0", quote(column)))
                .collect();
            sums.push(format!("coalesce(sum({}), 0)", hits.join(" OR ")));
        }
        let sql = format!("SELECT {} FROM {}", sums.join(", "), quote(&table));
        let counts: Vec<i64> =
            conn.query_row(&sql, rusqlite::params_from_iter(needles.iter()), |row| {
                (0..columns.len()).map(|i| row.get(i)).collect()
            })?;
        for (column, rows) in columns.iter().zip(counts) {
            if rows > 0 {
                found.push(Residue {
                    table: table.clone(),
                    column: column.clone(),
                    rows: rows as u64,
                });
            }
        }
    }
    Ok(found)
}

/// How often `needle` occurs (ASCII case-insensitively) in the file's bytes;
/// 0 for a file that does not exist.
pub fn count_in_file(path: &Path, needle: &str) -> std::io::Result<u64> {
    let needle = needle.to_ascii_lowercase().into_bytes();
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    if needle.is_empty() {
        return Ok(0);
    }
    let overlap = needle.len() - 1;
    let mut buffer = vec![0u8; 8 * 1024 * 1024 + overlap];
    let mut kept = 0;
    let mut count = 0;
    loop {
        let read = file.read(&mut buffer[kept..])?;
        if read == 0 {
            break;
        }
        let filled = kept + read;
        buffer[kept..filled].make_ascii_lowercase();
        count += buffer[..filled]
            .windows(needle.len())
            .filter(|w| *w == needle.as_slice())
            .count() as u64;
        // Keep the tail so a match across two reads is seen once.
        kept = overlap.min(filled);
        // (The kept tail is shorter than the needle, so nothing in it alone
        // was counted.)
        buffer.copy_within(filled - kept..filled, 0);
    }
    Ok(count)
}
