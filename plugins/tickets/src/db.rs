//! Small helpers over the host's `store` import.

use crate::exports::wasmdesk::plugin::commands::CommandError;
use crate::wasmdesk::plugin::store::{self, QueryResult};
use crate::wasmdesk::plugin::types::{StoreError, Value};

pub fn exec(sql: &str, params: &[Value]) -> Result<QueryResult, StoreError> {
    store::execute(sql, params)
}

/// Run a statement inside a command: a store error ends the command.
pub fn run(sql: &str, params: &[Value]) -> Result<QueryResult, CommandError> {
    store::execute(sql, params).map_err(CommandError::Store)
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

pub fn null() -> Value {
    Value::Null
}

pub fn int(i: i64) -> Value {
    Value::Integer(i)
}

pub fn now() -> i64 {
    crate::wasmdesk::plugin::clock::now_ms()
}

/// A row value as JSON.
pub fn json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => (*i).into(),
        Value::Real(f) => (*f).into(),
        Value::Text(s) => s.clone().into(),
        Value::Blob(b) => b.len().into(),
    }
}

/// Rows as JSON objects keyed by column name.
pub fn objects(result: &QueryResult) -> Vec<serde_json::Value> {
    result
        .rows
        .iter()
        .map(|row| {
            let fields = result
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.clone(), json(v)));
            serde_json::Value::Object(fields.collect())
        })
        .collect()
}
