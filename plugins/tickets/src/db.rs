//! The store helpers the tickets plugin's modules share: the SDK's, under
//! the names they use here.

use wasmdesk_plugin::store::{self, QueryResult};
use wasmdesk_plugin::{CommandError, Value};

pub use wasmdesk_plugin::store::{execute as exec, int, null, objects, text, to_json as json};

/// Run a statement inside a command: a store error ends the command.
pub fn run(sql: &str, params: &[Value]) -> Result<QueryResult, CommandError> {
    Ok(store::execute(sql, params)?)
}

pub fn now() -> i64 {
    wasmdesk_plugin::clock::now_ms()
}
