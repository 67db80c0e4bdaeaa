//! What a plugin is told when its statement fails: a denial, the
//! deadline, the memory cap, or SQLite's own message, and what dooms the
//! call.

use rusqlite::ErrorCode;

use super::PluginDb;
use crate::contract::types as wit;
use crate::database::policy::{Access, Denial};

impl PluginDb {
    /// Once the call's transaction is lost or the store failed under it
    /// (a full disk, a lock held past the deadline, a lost snapshot), no
    /// further statement runs: it would run in autocommit and stay, or wait
    /// for nothing. A plain denial lets the plugin go on (the call is rolled
    /// back all the same).
    pub(super) fn doomed_error(&self) -> Option<wit::StoreError> {
        let call = &self.call;
        let message = if call.disk_full {
            "the disk holding the site database is full; the call failed"
        } else if call.memory_exceeded {
            return Some(memory_error());
        } else if call.busy {
            "another process holds the site database's write lock; the call failed"
        } else if call.snapshot_conflict {
            "another process wrote meanwhile; the host runs the call again"
        } else if call.transaction_lost || call.fault.is_some() {
            return Some(match (&call.denial, &call.fault) {
                (Some(denial), _) => wit::StoreError::AccessDenied(wit::Denial {
                    action: denial.action.clone(),
                    target: denial.target.clone(),
                    message: denial.message.clone(),
                }),
                (None, Some(fault)) => wit::StoreError::Sql(fault.clone()),
                (None, None) => deadline_error(),
            });
        } else {
            return None;
        };
        Some(wit::StoreError::Sql(message.into()))
    }

    pub(super) fn prepare_error(
        &mut self,
        error: rusqlite::Error,
        denial: Option<Denial>,
    ) -> wit::StoreError {
        if let Some(denial) = denial {
            return self.deny(denial);
        }
        // A missing table the plugin could not see anyway is reported exactly
        // like an existing one it may not read: denials reveal nothing.
        let message = sqlite_message(&error);
        if let Some(name) = message.strip_prefix("no such table: ") {
            let table = name.rsplit('.').next().unwrap_or(name);
            let policy = self.policy();
            if !policy.allows(table, Access::Read)
                && let Err(denial) =
                    policy.check(crate::database::policy::Request::Read { table }, None)
            {
                return self.deny(denial);
            }
        }
        self.step_error(error)
    }

    pub(super) fn step_error(&mut self, error: rusqlite::Error) -> wit::StoreError {
        self.call.last_failure = error.sqlite_error_code();
        if let rusqlite::Error::SqliteFailure(e, _) = &error
            && matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        {
            if self.call.immediate || self.call.statements == 0 {
                // Waited for the write lock as long as the deadline allows
                // (a first statement waits, like BEGIN IMMEDIATE).
                self.call.busy = true;
            } else {
                // A deferred transaction that read cannot wait for the
                // write lock (SQLite refuses at once, or its snapshot is
                // stale): the host runs the call again, IMMEDIATE.
                self.call.snapshot_conflict = true;
            }
        }
        if self.call.last_failure == Some(ErrorCode::DiskFull) {
            // The host's condition: the call fails as `storage_full`,
            // whatever the plugin makes of the error.
            self.call.disk_full = true;
        }
        // Re-preparing an expired statement runs the authorizer again.
        let denial = self.auth.lock().denial.take();
        if let Some(denial) = denial {
            return self.deny(denial);
        }
        // Past the deadline, any failure is the deadline's: the watchdog's
        // interrupt may land inside SQLite's own nested work (the schema
        // re-parse of an ALTER TABLE RENAME), which reports it as a plain
        // error ("error in table X: interrupted").
        if self.deadline_passed() {
            self.call.deadline_hit = true;
            return deadline_error();
        }
        match error.sqlite_error_code() {
            Some(ErrorCode::OperationInterrupted) => {
                self.call.deadline_hit = true;
                deadline_error()
            }
            Some(ErrorCode::OutOfMemory) if self.call.memory_exceeded => memory_error(),
            Some(ErrorCode::TooBig) => wit::StoreError::LimitExceeded(format!(
                "{}: a string or blob is larger than the host allows",
                sqlite_message(&error)
            )),
            _ => match error {
                rusqlite::Error::InvalidParameterName(_)
                | rusqlite::Error::InvalidParameterCount(..)
                | rusqlite::Error::ToSqlConversionFailure(_) => {
                    wit::StoreError::InvalidParameter(error.to_string())
                }
                other => wit::StoreError::Sql(sqlite_message(&other)),
            },
        }
    }

    pub(super) fn deny(&mut self, denial: Denial) -> wit::StoreError {
        self.call.denial.get_or_insert_with(|| denial.clone());
        wit::StoreError::AccessDenied(wit::Denial {
            action: denial.action,
            target: denial.target,
            message: denial.message,
        })
    }
}

pub(super) fn memory_error() -> wit::StoreError {
    wit::StoreError::LimitExceeded(
        "out of memory: the statement needed more memory than the plugin's memory cap leaves \
         it; the call failed"
            .into(),
    )
}

pub(super) fn deadline_error() -> wit::StoreError {
    wit::StoreError::LimitExceeded(
        "the call ran past its deadline; the statement was interrupted".into(),
    )
}

/// SQLite's own message, without rusqlite's decoration.
pub(super) fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(message)) => {
            if e.code == ErrorCode::AuthorizationForStatementDenied {
                "not authorized".to_string()
            } else {
                message.clone()
            }
        }
        other => other.to_string(),
    }
}
