//! The site database: statements run inside the current call's
//! transaction, on the plugin's own tables and those the site owner granted.
//!
//! [`execute`] and [`batch`] are the host's functions; the rest reads their
//! results as JSON objects or as your own types.
//!
//! ```no_run
//! use wasmdesk_plugin::store::{self, Statement};
//! use wasmdesk_plugin::{CommandError, Value};
//!
//! #[derive(serde::Deserialize)]
//! struct Note {
//!     id: i64,
//!     text: String,
//! }
//!
//! fn notes(email: &str) -> Result<Vec<Note>, CommandError> {
//!     Ok(store::query_as(
//!         "SELECT id, text FROM notes__notes WHERE email = ?1 ORDER BY id",
//!         &[email.into()],
//!     )?)
//! }
//!
//! fn setup() -> Result<(), String> {
//!     store::exec_all(&[
//!         "CREATE TABLE IF NOT EXISTS notes__notes (id INTEGER PRIMARY KEY, email TEXT, text TEXT)",
//!         "CREATE INDEX IF NOT EXISTS notes__notes_email ON notes__notes (email)",
//!     ])?;
//!     Ok(())
//! }
//! ```

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

pub use crate::bindings::base::wasmdesk::plugin::store::{QueryResult, Statement, batch, execute};
use crate::{CommandError, StoreError, Value};

/// Run one statement; returns how many rows it inserted, updated or
/// deleted.
pub fn exec(sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    Ok(execute(sql, params)?.rows_changed)
}

/// Run statements without parameters in order, in one host call (a schema,
/// say); stops at the first error.
pub fn exec_all<S: AsRef<str>>(statements: &[S]) -> Result<(), StoreError> {
    let statements: Vec<Statement> = statements
        .iter()
        .map(|sql| Statement::new(sql.as_ref(), []))
        .collect();
    batch(&statements).map(drop)
}

/// Run a query; its rows as JSON objects keyed by column name (see
/// [`objects`]).
pub fn query(sql: &str, params: &[Value]) -> Result<Vec<Json>, StoreError> {
    Ok(objects(&execute(sql, params)?))
}

/// Run a query; its rows as `T`, each read from the row as a JSON object
/// keyed by column name (see [`objects`]), so `T`'s fields are the
/// columns: `Option` for one that may be NULL, `#[serde(rename)]` or an
/// `AS` in the SQL when the names differ.
pub fn query_as<T: DeserializeOwned>(sql: &str, params: &[Value]) -> Result<Vec<T>, QueryError> {
    query(sql, params)?
        .into_iter()
        .enumerate()
        .map(|(row, object)| {
            serde_json::from_value(object).map_err(|e| QueryError::Row {
                row,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Rows as JSON objects keyed by column name, values as [`to_json`] turns
/// them.
pub fn objects(result: &QueryResult) -> Vec<Json> {
    result
        .rows
        .iter()
        .map(|row| {
            let fields = result
                .columns
                .iter()
                .zip(row)
                .map(|(column, value)| (column.clone(), to_json(value)));
            Json::Object(fields.collect())
        })
        .collect()
}

/// One SQL value as JSON: NULL as null, numbers and text as themselves, a
/// blob as its length in bytes (read blobs from [`QueryResult::rows`]).
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Integer(i) => (*i).into(),
        Value::Real(f) => (*f).into(),
        Value::Text(s) => s.clone().into(),
        Value::Blob(b) => b.len().into(),
    }
}

/// A text value.
pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// An integer value.
pub fn int(i: i64) -> Value {
    Value::Integer(i)
}

/// NULL.
pub fn null() -> Value {
    Value::Null
}

impl Statement {
    /// A statement of a [`batch`]: SQL with `?`/`?NNN` placeholders and the
    /// values bound to them.
    pub fn new(sql: impl Into<String>, params: impl Into<Vec<Value>>) -> Self {
        Statement {
            sql: sql.into(),
            params: params.into(),
        }
    }
}

impl QueryResult {
    /// The first column of the first row, if there is one: the answer of
    /// `SELECT count(*) ...` and the like.
    pub fn scalar(&self) -> Option<&Value> {
        self.rows.first().and_then(|row| row.first())
    }
}

impl Value {
    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Text(s.clone())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Integer(i.into())
    }
}

impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Integer(i.into())
    }
}

/// `true` as 1, `false` as 0 (SQLite has no booleans).
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Integer(b.into())
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Real(f)
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Blob(b)
    }
}

/// `None` as NULL.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// Why [`query_as`] failed.
#[derive(Debug, Clone)]
pub enum QueryError {
    /// The statement failed.
    Store(StoreError),
    /// A row (counted from 0) does not fit the type asked for.
    Row {
        /// Which row.
        row: usize,
        /// serde's reason, such as "missing field `email`".
        message: String,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Store(e) => write!(f, "{e:?}"),
            QueryError::Row { row, message } => write!(f, "row {row} of the result: {message}"),
        }
    }
}

impl std::error::Error for QueryError {}

impl From<StoreError> for QueryError {
    fn from(error: StoreError) -> Self {
        QueryError::Store(error)
    }
}

/// A store error stays a store error (so a denial is reported as one); a
/// row that does not fit is a `failed` command.
impl From<QueryError> for CommandError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Store(e) => CommandError::Store(e),
            row => CommandError::Failed(row.to_string()),
        }
    }
}

/// The error's text, for lifecycle, hook and privacy functions.
impl From<QueryError> for String {
    fn from(error: QueryError) -> Self {
        error.to_string()
    }
}
