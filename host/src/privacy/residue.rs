//! The residue scan: after an erasure, search every value of every column,
//! the raw bytes of the database and its WAL, and every other file of the
//! site for the subject, with one rule ([`ByteSearch`]): either everything
//! (the default) or only what the erasure touched and the tables the audit
//! log ties to the subject (`--quick`: the cost then follows the subject).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde::Serialize;
use wasmdesk_identifiers::{ByteSearch, Person};

use crate::database::DatabaseError;

/// Rows of one column that still hold an identifier.
#[derive(Debug, Clone, Serialize)]
pub struct Residue {
    pub table: String,
    pub column: String,
    pub rows: u64,
}

/// Tables whose rows are searched: every real table (virtual tables are
/// searched through their shadow tables, which hold their data).
fn tables(conn: &Connection) -> Result<Vec<String>, DatabaseError> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<String>, DatabaseError> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every column of every table (or, given `only`, of those tables and
/// their shadow tables) that still holds the person in one of its values,
/// read as bytes whatever its type; with the names of the tables searched.
pub fn scan(
    conn: &Connection,
    person: &Person,
    only: Option<&BTreeSet<String>>,
) -> Result<(Vec<Residue>, Vec<String>), DatabaseError> {
    let mut found = Vec::new();
    let wanted = |table: &str| {
        let table = table.to_ascii_lowercase();
        only.is_none_or(|only| {
            only.iter().any(|name| {
                let name = name.to_ascii_lowercase();
                table == name || table.starts_with(&format!("{name}_"))
            })
        })
    };
    let mut search = ByteSearch::new(person);
    let mut searched = Vec::new();
    for table in tables(conn)?.into_iter().filter(|t| wanted(t)) {
        searched.push(table.clone());
        let columns = columns(conn, &table)?;
        if columns.is_empty() {
            continue;
        }
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), quote(&table));
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut counts = vec![0u64; columns.len()];
        while let Some(row) = rows.next()? {
            for (i, count) in counts.iter_mut().enumerate() {
                let bytes = match row.get_ref(i)? {
                    ValueRef::Text(b) | ValueRef::Blob(b) => b,
                    _ => continue,
                };
                if search.count(bytes) > 0 {
                    *count += 1;
                }
            }
        }
        for (column, rows) in columns.iter().zip(counts) {
            if rows > 0 {
                found.push(Residue {
                    table: table.clone(),
                    column: column.clone(),
                    rows,
                });
            }
        }
    }
    Ok((found, searched))
}

/// How often the person appears in the file's bytes; 0 for a file that
/// does not exist.
pub fn count_in_file(path: &Path, person: &Person) -> std::io::Result<u64> {
    let Some(mut file) = open_if_exists(path)? else {
        return Ok(0);
    };
    let mut search = ByteSearch::new(person);
    let mut buffer = vec![0u8; 8 * 1024 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        search.feed(&buffer[..read]);
    }
    Ok(search.finish())
}

/// A file under the site folder that holds the subject.
#[derive(Debug, Clone, Serialize)]
pub struct FileResidue {
    /// Relative to the site folder.
    pub path: String,
    pub occurrences: u64,
}

/// Every file under `root` (not following links), except `skip`, whose
/// bytes hold the person: exports, logs, backups, anything a plugin or a
/// person left there.
pub fn scan_files(
    root: &Path,
    skip: &[PathBuf],
    person: &Person,
) -> std::io::Result<Vec<FileResidue>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(path);
                continue;
            }
            if !kind.is_file() || skip.contains(&path) {
                continue;
            }
            let occurrences = count_in_file(&path, person)?;
            if occurrences > 0 {
                found.push(FileResidue {
                    path: path
                        .strip_prefix(root)
                        .unwrap_or(&path)
                        .display()
                        .to_string(),
                    occurrences,
                });
            }
        }
    }
    Ok(found)
}

fn open_if_exists(path: &Path) -> std::io::Result<Option<File>> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Size of the WAL header and of each frame's header (sqlite.org/fileformat.html).
const WAL_HEADER: u64 = 32;
const FRAME_HEADER: u64 = 24;

/// The database pages written to the WAL since tracking began. SQLite only
/// reuses WAL frames at the start of a later write transaction, so reading
/// the new frames after each transaction misses none; a WAL restarted in
/// between is recognised by its new salt and read from its first frame.
#[derive(Debug)]
pub struct WalPages {
    wal: PathBuf,
    /// The WAL header's salts when last read; frames carrying other salts
    /// are left over from before a restart and are not part of the log.
    salt: Option<[u8; 8]>,
    next_frame: u64,
    page_size: u32,
    pages: BTreeSet<u32>,
}

impl WalPages {
    /// Track the WAL of `db` from its current end: pages already there are
    /// not counted.
    pub fn from_end(db: &Path) -> std::io::Result<WalPages> {
        let mut tracker = WalPages {
            wal: db.with_extension("db-wal"),
            salt: None,
            next_frame: 0,
            page_size: 0,
            pages: BTreeSet::new(),
        };
        tracker.observe()?;
        tracker.pages.clear();
        Ok(tracker)
    }

    /// Read the frames written since the last call.
    pub fn observe(&mut self) -> std::io::Result<()> {
        let Some(mut file) = open_if_exists(&self.wal)? else {
            return Ok(());
        };
        let len = file.metadata()?.len();
        let mut header = [0u8; WAL_HEADER as usize];
        if len < WAL_HEADER {
            return Ok(());
        }
        file.read_exact(&mut header)?;
        let salt: [u8; 8] = header[16..24].try_into().expect("8 bytes");
        if self.salt != Some(salt) {
            self.salt = Some(salt);
            self.next_frame = 0;
        }
        self.page_size = u32::from_be_bytes(header[8..12].try_into().expect("4 bytes"));
        let frame_size = FRAME_HEADER + u64::from(self.page_size);
        let mut frame = [0u8; FRAME_HEADER as usize];
        loop {
            let offset = WAL_HEADER + self.next_frame * frame_size;
            if offset + frame_size > len {
                return Ok(());
            }
            file.seek(SeekFrom::Start(offset))?;
            file.read_exact(&mut frame)?;
            if frame[8..16] != salt {
                return Ok(());
            }
            self.pages
                .insert(u32::from_be_bytes(frame[0..4].try_into().expect("4 bytes")));
            self.next_frame += 1;
        }
    }

    pub fn pages(&self) -> &BTreeSet<u32> {
        &self.pages
    }

    /// The database's page size as the WAL states it (0 before any frame).
    pub fn page_size(&self) -> u32 {
        self.page_size
    }
}

/// How often the person appears in the given pages of the database file,
/// as they are on disk now, each page searched on its own.
pub fn count_in_pages(
    db: &Path,
    page_size: u32,
    pages: &BTreeSet<u32>,
    person: &Person,
) -> std::io::Result<u64> {
    let (Some(mut file), false) = (open_if_exists(db)?, person.is_empty() || page_size == 0) else {
        return Ok(0);
    };
    let mut search = ByteSearch::new(person);
    let len = file.metadata()?.len();
    let mut page = vec![0u8; page_size as usize];
    let mut count = 0;
    for &number in pages {
        let offset = u64::from(number.saturating_sub(1)) * u64::from(page_size);
        if offset + u64::from(page_size) > len {
            // A page past the end: the file shrank since (nothing to read).
            continue;
        }
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut page)?;
        count += search.count(&page);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_and_a_name_are_counted_once_each_also_across_two_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        // The address straddles the end of the first 8 MiB read.
        let mut bytes = vec![b'.'; 8 * 1024 * 1024 - 3];
        bytes.extend_from_slice(b"ADA@example.com Ada Lovelace");
        bytes.extend_from_slice(&[b'.'; 100]);
        std::fs::write(&path, bytes).unwrap();
        let ada = Person::new(Some("ada@example.com"), ["ada lovelace"]);
        assert_eq!(count_in_file(&path, &ada).unwrap(), 2);
    }

    fn open(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "secure_delete", "ON").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch(
            "CREATE TABLE a (v TEXT); CREATE TABLE b (v TEXT);
             INSERT INTO a VALUES ('ada@example.com'), ('keep');
             INSERT INTO b VALUES ('ada@example.com');
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
        conn
    }

    fn root_page(conn: &Connection, table: &str) -> u32 {
        conn.query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn truncate(conn: &Connection) {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }

    #[test]
    fn the_pages_a_transaction_rewrote_are_searched_as_they_are_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("site.db");
        let conn = open(&db);
        let mut rewritten = WalPages::from_end(&db).unwrap();
        conn.execute("DELETE FROM a WHERE v LIKE 'ada%'", [])
            .unwrap();
        rewritten.observe().unwrap();
        assert!(rewritten.pages().contains(&root_page(&conn, "a")));
        assert!(!rewritten.pages().contains(&root_page(&conn, "b")));
        truncate(&conn);
        let size = rewritten.page_size();
        assert_eq!(size, 4096);
        let count = |pages: &WalPages| {
            count_in_pages(
                &db,
                pages.page_size(),
                pages.pages(),
                &Person::new(Some("ADA@example.com"), []),
            )
            .unwrap()
        };
        assert_eq!(count(&rewritten), 0, "the deleted row was overwritten");
        assert_eq!(
            count_in_file(&db, &Person::new(Some("ada@example.com"), [])).unwrap(),
            1,
            "table b, which the transaction did not touch, still holds it"
        );

        // A rewritten page that still holds the address is caught.
        let mut rewritten = WalPages::from_end(&db).unwrap();
        conn.execute("UPDATE b SET v = v || ' (kept)'", []).unwrap();
        rewritten.observe().unwrap();
        truncate(&conn);
        assert_eq!(count(&rewritten), 1);
    }

    #[test]
    fn a_wal_restarted_between_transactions_is_read_from_its_first_frame() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("site.db");
        let conn = open(&db);
        conn.execute("INSERT INTO a VALUES ('one')", []).unwrap();
        // Frames written before tracking began are not counted.
        let mut rewritten = WalPages::from_end(&db).unwrap();
        assert!(rewritten.pages().is_empty());
        conn.execute("INSERT INTO a VALUES ('two')", []).unwrap();
        rewritten.observe().unwrap();
        assert!(rewritten.pages().contains(&root_page(&conn, "a")));
        // A complete checkpoint lets the next writer restart the WAL from
        // its first frame with new salts (the file keeps its old frames).
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .unwrap();
        let before = std::fs::metadata(db.with_extension("db-wal"))
            .unwrap()
            .len();
        conn.execute("INSERT INTO b VALUES ('three')", []).unwrap();
        assert_eq!(
            std::fs::metadata(db.with_extension("db-wal"))
                .unwrap()
                .len(),
            before,
            "the WAL was reused in place"
        );
        rewritten.observe().unwrap();
        assert!(rewritten.pages().contains(&root_page(&conn, "b")));
        assert!(
            rewritten.pages().contains(&root_page(&conn, "a")),
            "pages seen before the restart are kept"
        );
    }
}
