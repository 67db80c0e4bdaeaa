//! WordPress-style hooks: filters run (read-only) before a command and on
//! its result; actions a command emitted fire after it committed.

use std::collections::VecDeque;

use serde_json::Value;

use super::{CallOptions, Site};
use crate::error::Error;
use crate::registry::records;
use crate::runtime::log::CallLog;
use crate::runtime::{CallError, FailureKind};

/// How deep actions may emit further actions before they are dropped.
const MAX_ACTION_DEPTH: u32 = 4;

impl Site {
    /// Pass `value` through every enabled plugin that applies filter `name`,
    /// lowest priority first (ties by plugin id). A filter that cannot run,
    /// fails or returns something that is not JSON fails the whole chain:
    /// a filter may be what keeps card numbers out of the database.
    pub fn apply_filters(&mut self, name: &str, mut value: Value) -> Result<Value, Error> {
        let mut handlers: Vec<(i32, String)> = records::enabled(&self.db)?
            .into_iter()
            .filter_map(|r| {
                r.manifest
                    .filters
                    .iter()
                    .find(|f| f.name == name)
                    .map(|f| (f.priority, r.id.clone()))
            })
            .collect();
        handlers.sort();
        for (_, id) in handlers {
            let operation = format!("filter {name}");
            let fail = |message: String| {
                Error::Call(CallError::Failed {
                    plugin: id.clone(),
                    operation: operation.clone(),
                    kind: FailureKind::Fault,
                    message,
                })
            };
            let (_, plugin) = self
                .ready(&id)
                .map_err(|e| fail(format!("cannot run: {e}")))?;
            let Some(hooks) = plugin.exports.hooks.as_ref() else {
                return Err(fail("exports no hooks".into()));
            };
            let input = value.to_string();
            let (output, _) = self.run_with_db(
                &id,
                &plugin,
                &operation,
                CallOptions::READ_ONLY,
                |store, instance| {
                    let result = hooks.load(&mut *store, instance)?.call_apply_filter(
                        &mut *store,
                        name,
                        &input,
                    )?;
                    Ok(result.map_err(|message| (FailureKind::Fault, message)))
                },
            )?;
            value = serde_json::from_str(&output)
                .map_err(|e| fail(format!("returned invalid JSON: {e}")))?;
        }
        Ok(value)
    }

    /// Fire actions to every enabled plugin that handles them, each handler
    /// in its own transaction. Returns one warning per failed handler; the
    /// failure is also written to that plugin's log.
    pub fn fire(&mut self, events: Vec<(String, String)>) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut queue: VecDeque<(String, String, u32)> =
            events.into_iter().map(|(e, p)| (e, p, 0)).collect();
        while let Some((event, payload, depth)) = queue.pop_front() {
            let handlers: Vec<String> = match records::enabled(&self.db) {
                Ok(records) => records
                    .into_iter()
                    .filter(|r| r.manifest.actions.contains(&event))
                    .map(|r| r.id)
                    .collect(),
                Err(e) => {
                    warnings.push(format!("action {event} was not fired: {e}"));
                    continue;
                }
            };
            for id in handlers {
                match self.run_action(&id, &event, &payload) {
                    Ok(emitted) if depth < MAX_ACTION_DEPTH => {
                        queue.extend(emitted.into_iter().map(|(e, p)| (e, p, depth + 1)));
                    }
                    Ok(emitted) => {
                        if !emitted.is_empty() {
                            warnings.push(format!(
                                "plugin \"{id}\" emitted actions {MAX_ACTION_DEPTH} levels deep; they were dropped"
                            ));
                        }
                    }
                    Err(e) => {
                        let warning = format!("action {event}: {e}");
                        let mut log = CallLog::default();
                        log.push("error", &warning);
                        log.append_to(&self.paths.logs, &id, &format!("action {event}"));
                        warnings.push(warning);
                    }
                }
            }
        }
        warnings
    }

    /// Run one action handler; returns the actions it emitted in turn.
    fn run_action(
        &mut self,
        id: &str,
        event: &str,
        payload: &str,
    ) -> Result<Vec<(String, String)>, Error> {
        let (_, plugin) = self.ready(id)?;
        let Some(hooks) = plugin.exports.hooks.as_ref() else {
            return Err(Error::UnknownOp(format!(
                "plugin \"{id}\" exports no hooks"
            )));
        };
        let operation = format!("action {event}");
        let ((), emitted) = self.run_with_db(
            id,
            &plugin,
            &operation,
            CallOptions::WRITE,
            |store, instance| {
                let result = hooks.load(&mut *store, instance)?.call_on_action(
                    &mut *store,
                    event,
                    payload,
                )?;
                Ok(result.map_err(|message| (FailureKind::Fault, message)))
            },
        )?;
        Ok(emitted)
    }
}
