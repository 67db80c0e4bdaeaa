//! The host side of the WIT imports a plugin gets: store, log and clock.

use super::state::HostState;
use crate::contract::log::Level;
use crate::contract::store::{QueryResult, Statement};
use crate::contract::types::{StoreError, Value};
use crate::contract::{clock, events, identity, log, store, types};

impl types::Host for HostState {}

impl store::Host for HostState {
    fn execute(&mut self, sql: String, params: Vec<Value>) -> Result<QueryResult, StoreError> {
        match &mut self.db {
            Some(db) => {
                // What SQLite allocates for the statement counts against
                // the plugin's memory cap, beside its wasm memories.
                db.set_memory_budget(self.limiter.available());
                let result = db.execute(&sql, &params);
                if let Err(e) = &result {
                    self.last_store_error = Some(store_message(e));
                }
                result
            }
            None => Err(StoreError::Sql(
                "the store is not open here: the host reads the manifest without a database".into(),
            )),
        }
    }

    fn batch(&mut self, statements: Vec<Statement>) -> Result<Vec<QueryResult>, StoreError> {
        statements
            .into_iter()
            .map(|s| self.execute(s.sql, s.params))
            .collect()
    }
}

/// A store error in one line, as the CLI and the bridge show it:
/// `SQL: no such table: notes__x`.
pub(crate) fn store_message(error: &StoreError) -> String {
    match error {
        StoreError::AccessDenied(d) => d.message.clone(),
        StoreError::Sql(m) => format!("SQL: {m}"),
        StoreError::LimitExceeded(m) => format!("limit: {m}"),
        StoreError::InvalidParameter(m) => format!("parameter: {m}"),
    }
}

impl events::Host for HostState {
    fn emit(&mut self, event: String, payload: String) {
        if let Err(problem) = self.events.push(event, payload) {
            self.log.push("warn", &problem);
        }
    }
}

impl identity::Host for HostState {
    fn pseudonym(&mut self, identifier: String) -> String {
        crate::pseudonym::keyed_hash(&self.site_key, &identifier)
    }
}

impl log::Host for HostState {
    fn write(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        self.log.push(level, &message);
    }
}

impl clock::Host for HostState {
    fn now_ms(&mut self) -> i64 {
        crate::now_ms()
    }

    fn today(&mut self) -> String {
        jiff::tz::Offset::UTC
            .to_datetime(jiff::Timestamp::now())
            .date()
            .to_string()
    }
}
