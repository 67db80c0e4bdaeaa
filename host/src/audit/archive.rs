//! `wasmdesk audit export`: a zip for an auditor with every entry as stored
//! (`audit.jsonl`), the verification at the time of export, a README with
//! the hash recipe, and `SHA256SUMS` over all of them.

use std::io::Write;
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::chain::hex;
use super::query;
use super::verification::Verification;

/// What `audit export` wrote.
#[derive(Debug, Serialize)]
pub struct ExportReport {
    pub out: String,
    pub entries: u64,
    pub verified: bool,
    /// SHA-256 of the archive file itself: note it down, or send it to the
    /// auditor separately.
    pub sha256: String,
}

const README: &str = "wasmdesk audit log export

audit.jsonl        one entry per line, oldest first, exactly as stored
verification.json  what `wasmdesk audit verify` found when this was exported
SHA256SUMS         SHA-256 of the two files above (sha256sum -c SHA256SUMS)

Each entry's hash is SHA-256 over the compact JSON array
  [seq, at, actor, action, plugin, operation, outcome, duration_us,
   rows_read, rows_written, tables, subjects, detail, prev]
where tables and detail are the JSON texts as stored (strings), subjects is
the sorted list of subject hashes, and prev is the previous entry's hash
(64 zeros before the first entry). After pruning, the first entry's prev is
the last_pruned_hash of the audit.prune checkpoint entry that removed the
entries before it. Subjects are HMAC-SHA256 of the lower-cased e-mail
address under a secret that never leaves the site: ask the site owner to
match an address (wasmdesk audit log --subject EMAIL).
";

/// One entry as stored, for `audit.jsonl`.
#[derive(Serialize)]
struct Line<'a> {
    seq: i64,
    at: i64,
    actor: &'a str,
    action: &'a str,
    plugin: Option<&'a str>,
    operation: Option<&'a str>,
    outcome: &'a str,
    duration_us: i64,
    rows_read: i64,
    rows_written: i64,
    tables: &'a str,
    subjects: &'a [String],
    detail: &'a str,
    prev: &'a str,
    hash: &'a str,
}

/// Write the archive to `out` (through a temporary file: a failure leaves
/// nothing half-written).
pub fn write(
    conn: &Connection,
    verification: &Verification,
    out: &Path,
) -> Result<ExportReport, String> {
    let verified = verification.ok;
    let mut jsonl = Vec::new();
    let mut entries = 0u64;
    query::for_each_entry(conn, |stored| {
        let e = &stored.entry;
        let line = Line {
            seq: e.seq,
            at: e.at_ms,
            actor: &e.actor,
            action: &e.action,
            plugin: e.plugin.as_deref(),
            operation: e.operation.as_deref(),
            outcome: &e.outcome,
            duration_us: e.duration_us,
            rows_read: e.rows_read,
            rows_written: e.rows_written,
            tables: &stored.tables_json,
            subjects: &e.subjects,
            detail: &stored.detail_json,
            prev: &e.prev,
            hash: &e.hash,
        };
        serde_json::to_writer(&mut jsonl, &line).expect("a line serializes");
        jsonl.push(b'\n');
        entries += 1;
        Ok(())
    })
    .map_err(|e| format!("cannot read the audit log: {e}"))?;
    let verification = serde_json::to_vec_pretty(verification).expect("a verification serializes");
    let sums = format!(
        "{}  audit.jsonl\n{}  verification.json\n",
        hex(&Sha256::digest(&jsonl)),
        hex(&Sha256::digest(&verification))
    );
    let io = |e: std::io::Error| format!("cannot write {}: {e}", out.display());
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    {
        let mut zip = zip::ZipWriter::new(tmp.reopen().map_err(io)?);
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in [
            ("README.txt", README.as_bytes()),
            ("audit.jsonl", &jsonl),
            ("verification.json", &verification),
            ("SHA256SUMS", sums.as_bytes()),
        ] {
            zip.start_file(name, options)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            zip.write_all(content).map_err(io)?;
        }
        zip.finish()
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    }
    tmp.persist(out).map_err(|e| io(e.error))?;
    let bytes = std::fs::read(out).map_err(io)?;
    Ok(ExportReport {
        out: out.display().to_string(),
        entries,
        verified,
        sha256: hex(&Sha256::digest(&bytes)),
    })
}
