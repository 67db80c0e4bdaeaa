//! The crate's error type and the one place where error kinds map onto
//! stable codes: bridge/JSON codes and CLI exit statuses.

use std::path::PathBuf;

use crate::database::DatabaseError;
use crate::runtime::{CallError, CallErrorKind, FailureKind};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no wasmdesk site at {}: create one with: wasmdesk --site {} init", .0.display(), .0.display())]
    NoSite(PathBuf),
    #[error("no plugin \"{id}\" in this site: copy {id}.wasm into {}, then run: wasmdesk plugin list", dir.display())]
    UnknownPlugin { id: String, dir: PathBuf },
    #[error("{0}")]
    UnknownOp(String),
    #[error("plugin \"{id}\" is rejected: {reason}")]
    Rejected { id: String, reason: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Tampered(String),
    /// `wasmdesk plugin test` found a defect in the plugin.
    #[error("{0}")]
    TestFailed(String),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Database(DatabaseError::Sqlite(e))
    }
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NoSite(_) | Error::UnknownPlugin { .. } | Error::NotFound(_) => {
                ErrorCode::NotFound
            }
            Error::UnknownOp(_) => ErrorCode::UnknownOp,
            Error::Rejected { .. } | Error::Conflict(_) => ErrorCode::Conflict,
            Error::BadRequest(_) => ErrorCode::BadRequest,
            Error::Tampered(_) => ErrorCode::Tampered,
            Error::TestFailed(_) => ErrorCode::TestFailed,
            Error::Call(call) => ErrorCode::of_call(call),
            Error::Database(database) => match database.sqlite_code() {
                Some(rusqlite::ErrorCode::DiskFull) => ErrorCode::StorageFull,
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    ErrorCode::Busy
                }
                _ => ErrorCode::Internal,
            },
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                ErrorCode::StorageFull
            }
            Error::Io { .. } => ErrorCode::Internal,
        }
    }
}

/// Stable, documented error codes (docs/cli.md). Never renumber or rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    UnknownOp,
    CapabilityDenied,
    PluginFault,
    DeadlineExceeded,
    NotFound,
    Conflict,
    /// `audit verify` found the log edited, cut or reordered.
    Tampered,
    /// `plugin test` found a defect in the plugin.
    TestFailed,
    Internal,
    /// The disk holding the site is full: nothing was written; free space.
    StorageFull,
    /// Another process held the site database's write lock for longer than
    /// the call could wait: nothing was written; retry.
    Busy,
}

impl ErrorCode {
    /// The code a failed plugin call gets.
    pub fn of_call(call: &CallError) -> ErrorCode {
        match &call.kind {
            CallErrorKind::Denied(_) => ErrorCode::CapabilityDenied,
            CallErrorKind::Deadline { .. } => ErrorCode::DeadlineExceeded,
            CallErrorKind::Busy { .. } => ErrorCode::Busy,
            CallErrorKind::StorageFull => ErrorCode::StorageFull,
            CallErrorKind::Memory { .. } | CallErrorKind::Trap { .. } => ErrorCode::PluginFault,
            CallErrorKind::Failed { kind, .. } => match kind {
                FailureKind::BadRequest => ErrorCode::BadRequest,
                FailureKind::NotFound => ErrorCode::NotFound,
                FailureKind::Conflict => ErrorCode::Conflict,
                FailureKind::Fault => ErrorCode::PluginFault,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownOp => "unknown_op",
            ErrorCode::CapabilityDenied => "capability_denied",
            ErrorCode::PluginFault => "plugin_fault",
            ErrorCode::DeadlineExceeded => "deadline_exceeded",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Tampered => "tampered",
            ErrorCode::TestFailed => "test_failed",
            ErrorCode::Internal => "internal",
            ErrorCode::StorageFull => "storage_full",
            ErrorCode::Busy => "busy",
        }
    }

    /// The CLI's exit status for this kind of failure.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorCode::Internal => 1,
            ErrorCode::BadRequest => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::UnknownOp => 4,
            ErrorCode::CapabilityDenied => 5,
            ErrorCode::PluginFault => 6,
            ErrorCode::DeadlineExceeded => 7,
            ErrorCode::Conflict => 8,
            ErrorCode::Tampered => 9,
            ErrorCode::TestFailed => 10,
            ErrorCode::StorageFull => 11,
            ErrorCode::Busy => 12,
        }
    }
}
