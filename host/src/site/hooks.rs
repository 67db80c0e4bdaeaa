//! WordPress-style hooks: filters run (read-only) before a command and on
//! its result; actions a command emitted fire after it committed.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::rc::Rc;

use serde_json::Value;

use super::{CallOptions, Site};
use crate::database::{Access, Policy};
use crate::error::Error;
use crate::registry::records;
use crate::runtime::log::CallLog;
use crate::runtime::{Action, CallError, CallErrorKind, FailureKind};

/// How deep actions may emit further actions before they are dropped, by
/// default; `WASMDESK_MAX_ACTION_DEPTH` sets it.
const MAX_ACTION_DEPTH: u32 = 4;

/// How many action handlers one top-level call may run in all, by default;
/// `WASMDESK_MAX_ACTION_CALLS` sets it. Each plugin call may emit 100
/// actions, so without a total a few plugins emitting to each other would
/// run millions of handlers.
const MAX_ACTION_CALLS: u32 = 256;

/// The fan-out limits in force: the defaults, or the site owner's values
/// from the environment (a positive whole number each).
pub(crate) fn action_limits() -> (u32, u32) {
    let read = |name: &str, default: u32| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    (
        read("WASMDESK_MAX_ACTION_DEPTH", MAX_ACTION_DEPTH),
        read("WASMDESK_MAX_ACTION_CALLS", MAX_ACTION_CALLS),
    )
}

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
                Error::Call(CallError::named(
                    &id,
                    &operation,
                    CallErrorKind::Failed {
                        kind: FailureKind::Fault,
                        message,
                    },
                ))
            };
            let (_, plugin) = self
                .ready(&id)
                .map_err(|e| fail(format!("cannot run: {e}")))?;
            if plugin.exports.hooks.is_none() {
                return Err(fail("exports no hooks".into()));
            }
            let input = value.to_string();
            let (output, _) =
                self.run_with_db(&id, &plugin, &operation, CallOptions::READ_ONLY, |guest| {
                    guest.apply_filter(name, &input)
                })?;
            value = serde_json::from_str(&output)
                .map_err(|e| fail(format!("returned invalid JSON: {e}")))?;
        }
        Ok(value)
    }

    /// Fire actions to every enabled plugin that handles them, each handler
    /// in its own transaction. Returns one warning per failed handler; the
    /// failure is also written to that plugin's log.
    pub fn fire(&mut self, actions: Vec<Action>) -> Vec<String> {
        self.fire_emitted(Emitted {
            source: Source::default(),
            actions,
        })
    }

    /// Fire what a committed plugin call emitted.
    pub(crate) fn fire_emitted(&mut self, emitted: Emitted) -> Vec<String> {
        let (max_depth, max_calls) = action_limits();
        let mut warnings = Vec::new();
        let mut calls = 0u32;
        // One depth warning per plugin and action, not one per handler call.
        let mut too_deep: std::collections::HashSet<(String, String)> = Default::default();
        let mut queue: VecDeque<(String, String, u32, Rc<Source>)> = VecDeque::new();
        let enqueue = |queue: &mut VecDeque<_>, emitted: Emitted, depth: u32| {
            let source = Rc::new(emitted.source);
            for action in emitted.actions {
                queue.push_back((action.name, action.payload, depth, Rc::clone(&source)));
            }
        };
        enqueue(&mut queue, emitted, 0);
        while let Some((event, payload, depth, source)) = queue.pop_front() {
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
                if calls >= max_calls {
                    // Everything still queued is dropped with this one.
                    let warning = calls_stopped(max_calls, &id, &event, &source, queue.len());
                    log_line(self, &id, &event, "warn", &warning);
                    warnings.push(warning);
                    return warnings;
                }
                calls += 1;
                let delivered = match self.may_see(&id, &source) {
                    Ok(true) => Cow::Borrowed(payload.as_str()),
                    Ok(false) => Cow::Owned(ids_only(&payload)),
                    Err(e) => {
                        warnings.push(format!("action {event}: {e}"));
                        continue;
                    }
                };
                match self.run_action(&id, &event, &delivered) {
                    Ok(emitted) if depth < max_depth => {
                        enqueue(&mut queue, emitted, depth + 1);
                    }
                    Ok(emitted) => {
                        let emitted = emitted.actions;
                        if let Some(Action { name: next, .. }) = emitted.first()
                            && too_deep.insert((id.clone(), event.clone()))
                        {
                            let warning = format!(
                                "plugin \"{id}\" handling {event} emitted {next} (and {} more) \
                                 {max_depth} levels deep; they were dropped: actions that emit \
                                 actions form a loop (raise the limit with \
                                 WASMDESK_MAX_ACTION_DEPTH)",
                                emitted.len() - 1
                            );
                            log_line(self, &id, &event, "warn", &warning);
                            warnings.push(warning);
                        }
                    }
                    Err(e) => {
                        let warning = format!("action {event}: {e}");
                        log_line(self, &id, &event, "error", &warning);
                        warnings.push(warning);
                    }
                }
            }
        }
        warnings
    }

    /// Whether handler `id` may see a payload from `source`: the host's own
    /// and its own actions, or when it may read every table the emitting
    /// call touched (by its namespace or a grant).
    fn may_see(&mut self, id: &str, source: &Source) -> Result<bool, Error> {
        let Some(emitter) = &source.plugin else {
            return Ok(true);
        };
        if emitter == id {
            return Ok(true);
        }
        let grants = self.registry.get(&self.db, id)?.grants.clone();
        let policy = Policy::new(id, grants);
        Ok(source
            .tables
            .iter()
            .all(|table| policy.allows(table, Access::Read)))
    }

    /// Run one action handler; returns the actions it emitted in turn.
    fn run_action(&mut self, id: &str, event: &str, payload: &str) -> Result<Emitted, Error> {
        let (_, plugin) = self.ready(id)?;
        if plugin.exports.hooks.is_none() {
            return Err(Error::UnknownOp(format!(
                "plugin \"{id}\" exports no hooks"
            )));
        }
        let operation = format!("action {event}");
        let ((), emitted) =
            self.run_with_db(id, &plugin, &operation, CallOptions::WRITE, |guest| {
                guest.on_action(event, payload)
            })?;
        Ok(emitted)
    }
}

/// The warning when a request's handler calls reach their limit.
fn calls_stopped(max_calls: u32, id: &str, event: &str, source: &Source, queued: usize) -> String {
    let from = match &source.plugin {
        Some(p) => format!("\"{p}\""),
        None => "the host".to_string(),
    };
    format!(
        "actions stopped after {max_calls} handler calls in one request: \
         plugin \"{id}\" handling {event} (emitted by {from}) and {queued} more \
         queued action(s) were dropped; plugins that emit actions to each \
         other form a loop (raise the limit with WASMDESK_MAX_ACTION_CALLS)"
    )
}

/// Put a line about an action into the plugin's log.
fn log_line(site: &Site, id: &str, event: &str, level: &'static str, message: &str) {
    let mut log = CallLog::default();
    log.push(level, message);
    log.append_to(&site.paths.logs, id, &format!("action {event}"));
}

/// Actions a committed call emitted, with where they came from.
pub(crate) struct Emitted {
    pub source: Source,
    pub actions: Vec<Action>,
}

/// Where actions came from: who may see their payloads follows from it.
#[derive(Default)]
pub(crate) struct Source {
    /// The emitting plugin; `None` for the host's own actions.
    pub plugin: Option<String>,
    /// The tables the emitting call touched.
    pub tables: Vec<String>,
}

/// A payload for a handler that may not read what the emitting call read:
/// only its top-level numbers, booleans and nulls (ids, counts, flags), and
/// the names of the fields withheld, so the handler can read them through
/// its own grants.
pub(crate) fn ids_only(payload: &str) -> String {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(payload) else {
        return serde_json::json!({"withheld": ["*"]}).to_string();
    };
    let mut kept = serde_json::Map::new();
    let mut withheld = Vec::new();
    for (key, value) in fields {
        match value {
            Value::Number(_) | Value::Bool(_) | Value::Null => {
                kept.insert(key, value);
            }
            _ => withheld.push(Value::String(key)),
        }
    }
    kept.insert("withheld".into(), Value::Array(withheld));
    Value::Object(kept).to_string()
}
