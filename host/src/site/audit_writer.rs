//! The audit entries a site process still owes the log, and the anchor
//! (`audit.head`): entries of successful read-only calls wait a little to
//! share one transaction; every other entry is committed with the change
//! it records ([`Site::audited`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::Site;
use crate::audit::{self, Draft, Head};
use crate::error::Error;

/// How long the entries of successful read-only calls may wait to be
/// written together.
const FLUSH_DELAY: Duration = Duration::from_millis(250);
/// How many such entries are written at most at a time.
const FLUSH_ENTRIES: usize = 64;
/// How often `audit.head` is rewritten at most (a file rename per call
/// would cost more than the entry); also when the site closes.
const ANCHOR_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct AuditWriter {
    /// The site folder, where `audit.head` lives.
    root: PathBuf,
    /// Entries not yet written, oldest first, and since when.
    pending: Vec<Draft>,
    pending_since: Option<Instant>,
    /// The newest head this process wrote that `audit.head` does not hold
    /// yet, and when that file was last written.
    unanchored: Option<Head>,
    anchored_at: Option<Instant>,
    /// The last flush failed and its caller got the error.
    failure_reported: bool,
}

impl AuditWriter {
    pub(crate) fn new(root: PathBuf) -> AuditWriter {
        AuditWriter {
            root,
            pending: Vec::new(),
            pending_since: None,
            unanchored: None,
            anchored_at: None,
            failure_reported: false,
        }
    }

    /// Entries not yet written, oldest first.
    pub(crate) fn pending(&self) -> &[Draft] {
        &self.pending
    }

    /// Queue an entry; true when the queue should be written now (a failed
    /// call's entry is written at once, others within [`FLUSH_DELAY`] or
    /// [`FLUSH_ENTRIES`] at a time).
    pub(crate) fn queue(&mut self, draft: Draft) -> bool {
        let failed = !draft.succeeded();
        self.pending.push(draft);
        let since = *self.pending_since.get_or_insert_with(Instant::now);
        failed || self.pending.len() >= FLUSH_ENTRIES || since.elapsed() >= FLUSH_DELAY
    }

    /// The pending entries went into a transaction that committed, ending
    /// at `head`.
    pub(crate) fn written(&mut self, head: Option<Head>) {
        self.pending.clear();
        self.pending_since = None;
        self.failure_reported = false;
        if let Some(head) = head {
            self.note_head(head);
        }
    }

    /// Remember the newest entry this process appended, for `audit.head`.
    pub(crate) fn note_head(&mut self, head: Head) {
        if self
            .anchored_at
            .is_none_or(|at| at.elapsed() >= ANCHOR_EVERY)
        {
            audit::chain::write_anchor(&self.root, &head, false);
            self.unanchored = None;
            self.anchored_at = Some(Instant::now());
        } else {
            self.unanchored = Some(head);
        }
    }

    /// After a restore the log is the backup's, shorter than the one the
    /// anchor remembers: start the anchor again from `head`.
    pub(crate) fn reset_anchor(&mut self, head: Option<Head>) {
        if let Some(head) = head {
            audit::chain::write_anchor(&self.root, &head, true);
        }
        self.unanchored = None;
        self.anchored_at = Some(Instant::now());
    }

    /// Write the pending entries in a transaction of their own.
    pub(crate) fn flush(&mut self, db: &Connection) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // A COMMIT that fails (a full disk) is rolled back when the
        // transaction drops: nothing stays half-open, no head is noted.
        let written =
            Transaction::new_unchecked(db, TransactionBehavior::Immediate).and_then(|tx| {
                let head = audit::chain::append_all(&tx, &self.pending)?;
                tx.commit()?;
                Ok(head)
            });
        match written {
            Ok(head) => {
                self.written(head);
                Ok(())
            }
            Err(e) => {
                self.failure_reported = true;
                Err(Error::Database(crate::database::DatabaseError::Audit(e)))
            }
        }
    }

    /// When the site closes: write what is pending (unless it is only the
    /// entries of failed calls that could not be written a moment ago,
    /// whose callers already have their error) and the anchor.
    pub(crate) fn close(&mut self, db: &Connection) {
        let only_failures = self.pending.iter().all(|d| !d.succeeded());
        let reported = self.failure_reported;
        if reported && only_failures {
            self.pending.clear();
        }
        if let Err(e) = self.flush(db)
            && !only_failures
            && !reported
        {
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!("wasmdesk: error[internal]: {e}\n"),
            );
        }
        if let Some(head) = self.unanchored.take() {
            audit::chain::write_anchor(&self.root, &head, false);
        }
    }
}

impl Site {
    /// Make `change` and record `draft` in one write transaction, after the
    /// entries still pending: both are committed, or neither.
    pub(crate) fn audited<R>(
        &mut self,
        draft: Draft,
        change: impl FnOnce(&Connection) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.audited_with(|tx| Ok((change(tx)?, draft)))
    }

    /// As [`audited`](Site::audited), for an entry that says what the
    /// change did: `change` returns its value and the entry.
    pub(crate) fn audited_with<R>(
        &mut self,
        change: impl FnOnce(&Connection) -> Result<(R, Draft), Error>,
    ) -> Result<R, Error> {
        let tx = Transaction::new_unchecked(&self.db, TransactionBehavior::Immediate)?;
        let (value, draft) = change(&tx)?;
        let entries = self
            .audit_log
            .pending()
            .iter()
            .chain(std::iter::once(&draft));
        let head = audit::chain::append_all(&tx, entries)?;
        tx.commit()?;
        self.audit_log.written(head);
        Ok(value)
    }
}
