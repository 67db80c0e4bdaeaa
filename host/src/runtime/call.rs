//! One plugin call: a fresh `Store` with the plugin's limits, instantiate,
//! run one export, and turn whatever went wrong into a [`CallError`].

use std::time::Instant;

use wasmtime::{Store, Trap};

use super::Runtime;
use super::guest::{FailureKind, Guest};
use super::limits::Limits;
use super::plugin::LoadedPlugin;
use super::state::HostState;
use crate::database::{Denial, PluginDb};

/// Who is called, for what, under which limits.
pub struct Call<'a> {
    pub plugin: &'a str,
    /// For messages and the log: `command create`, `manifest`, `setup`, ...
    pub operation: &'a str,
    pub limits: Limits,
    /// When the call must be over; the store's SQL shares it.
    pub deadline: Instant,
    /// The site's secret, for pseudonyms.
    pub site_key: std::sync::Arc<[u8]>,
}

/// How a plugin call failed, in words that name the plugin, the operation
/// and what to do.
#[derive(Debug)]
pub struct CallError {
    pub plugin: String,
    pub operation: String,
    pub kind: CallErrorKind,
}

/// What went wrong in a call; the error code follows from it.
#[derive(Debug)]
pub enum CallErrorKind {
    /// The authorizer refused a statement (the denial names the plugin).
    Denied(Denial),
    /// Past its deadline of `ms` milliseconds.
    Deadline { ms: u32 },
    /// Over its memory cap of `mib` MiB (its wasm memories, or SQLite's
    /// memory for its statements on top of them).
    Memory { mib: u32 },
    /// The plugin trapped.
    Trap { message: String, backtrace: String },
    /// The disk holding the site database is full.
    StorageFull,
    /// Another process held the write lock past the call's deadline (`ms`).
    Busy { ms: u32 },
    /// The plugin reported a failure, or broke the contract.
    Failed { kind: FailureKind, message: String },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (plugin, operation) = (&self.plugin, &self.operation);
        match &self.kind {
            CallErrorKind::Denied(denial) => write!(f, "{denial}; the call was rolled back"),
            CallErrorKind::Deadline { ms } => write!(
                f,
                "plugin \"{plugin}\" ran past its deadline of {ms} ms in {operation} and was stopped; \
                 if it needs longer, raise it with: wasmdesk plugin limits {plugin} --deadline-ms N"
            ),
            CallErrorKind::Memory { mib } => write!(
                f,
                "plugin \"{plugin}\" exceeded its memory cap of {mib} MiB in {operation} and was stopped; \
                 if it needs more, raise it with: wasmdesk plugin limits {plugin} --memory-mib N"
            ),
            CallErrorKind::Trap { message, .. } => write!(
                f,
                "plugin \"{plugin}\" crashed in {operation}: {message} (its backtrace and log: logs/{plugin}.log)"
            ),
            CallErrorKind::StorageFull => write!(
                f,
                "plugin \"{plugin}\" {operation}: the disk holding the site database is full; nothing \
                 the call did was kept: free space, then retry"
            ),
            CallErrorKind::Busy { ms } => write!(
                f,
                "plugin \"{plugin}\" {operation}: another process held the site database's write lock \
                 for longer than the call's deadline ({ms} ms); nothing was written: retry"
            ),
            CallErrorKind::Failed { message, .. } => {
                write!(f, "plugin \"{plugin}\" {operation}: {message}")
            }
        }
    }
}

impl std::error::Error for CallError {}

impl CallError {
    /// `kind`, in `call`.
    pub fn new(call: &Call<'_>, kind: CallErrorKind) -> CallError {
        CallError::named(call.plugin, call.operation, kind)
    }

    /// `kind`, in `operation` of `plugin`.
    pub fn named(plugin: &str, operation: &str, kind: CallErrorKind) -> CallError {
        CallError {
            plugin: plugin.to_string(),
            operation: operation.to_string(),
            kind,
        }
    }

    /// A failure the plugin reported (or a contract it broke), in `call`.
    pub fn failed(call: &Call<'_>, kind: FailureKind, message: impl Into<String>) -> CallError {
        CallError::new(
            call,
            CallErrorKind::Failed {
                kind,
                message: message.into(),
            },
        )
    }
}

impl Runtime {
    /// Instantiate `plugin` in a fresh store and run `f` on the instance.
    /// Returns what `f` returned and the store's state (with the database
    /// connection, if one was given, and the call's log).
    pub fn invoke<R>(
        &self,
        plugin: &LoadedPlugin,
        call: &Call<'_>,
        db: Option<PluginDb>,
        f: impl FnOnce(&mut Guest<'_>) -> wasmtime::Result<R>,
    ) -> (Result<R, CallError>, HostState) {
        let mut store = Store::new(
            &self.engine,
            HostState::new(db, call.limits.memory_bytes(), call.site_key.clone()),
        );
        store.limiter(|state| &mut state.limiter);
        store.data_mut().deadline = Some(call.deadline);
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        store.set_epoch_deadline(crate::engine::deadline_ticks(remaining));
        store.epoch_deadline_trap();
        let result = plugin.pre.instantiate(&mut store).and_then(|instance| {
            f(&mut Guest {
                store: &mut store,
                instance: &instance,
                exports: &plugin.exports,
            })
        });
        let mut state = store.into_data();
        state.collect_stdio();
        let result = result.map_err(|error| classify(call, error, &state));
        // The wasm backtrace of a crash goes to the plugin's log, under
        // the lines the plugin wrote before it, for its author.
        if let Err(CallError {
            kind: CallErrorKind::Trap { backtrace, .. },
            ..
        }) = &result
            && !backtrace.is_empty()
        {
            for line in backtrace.lines() {
                state.log.push("trap", line);
            }
        }
        (result, state)
    }
}

/// After a call returned normally: a denial, a passed deadline (also one
/// a WASI timer was cut short at) or a statement over the memory cap still
/// fails it, whatever the plugin made of the store's error.
pub fn doomed(call: &Call<'_>, state: &HostState) -> Option<CallError> {
    if state.waited_past_deadline {
        return Some(deadline(call));
    }
    let db = state.db.as_ref()?;
    if let Some(denial) = db.denial() {
        return Some(CallError::new(call, CallErrorKind::Denied(denial.clone())));
    }
    if db.disk_full() {
        return Some(storage_full(call));
    }
    if db.busy() {
        return Some(busy(call));
    }
    if db.memory_exceeded() {
        return Some(memory(call));
    }
    if db.deadline_hit() {
        return Some(deadline(call));
    }
    db.fault().map(|fault| store_fault(call, fault))
}

fn storage_full(call: &Call<'_>) -> CallError {
    CallError::new(call, CallErrorKind::StorageFull)
}

fn busy(call: &Call<'_>) -> CallError {
    CallError::new(
        call,
        CallErrorKind::Busy {
            ms: call.limits.deadline_ms,
        },
    )
}

fn store_fault(call: &Call<'_>, fault: &str) -> CallError {
    CallError::failed(call, FailureKind::Fault, fault)
}

fn deadline(call: &Call<'_>) -> CallError {
    CallError::new(
        call,
        CallErrorKind::Deadline {
            ms: call.limits.deadline_ms,
        },
    )
}

/// Over the memory cap: its wasm memories, or SQLite's memory for one of
/// its statements on top of them.
fn memory(call: &Call<'_>) -> CallError {
    CallError::new(
        call,
        CallErrorKind::Memory {
            mib: call.limits.memory_mib,
        },
    )
}

fn classify(call: &Call<'_>, error: wasmtime::Error, state: &HostState) -> CallError {
    if state.limiter.refused.is_some() {
        return memory(call);
    }
    // What the store saw comes first: the trap is often its consequence.
    if let Some(doom) = doomed(call, state) {
        return doom;
    }
    let trap = error.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return deadline(call);
    }
    let backtrace = error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|bt| bt.to_string())
        .unwrap_or_default();
    let mut message = match trap {
        Some(trap) => trap.to_string(),
        None => format!("{:#}", error.root_cause()),
    };
    // A Rust plugin prints "thread ... panicked at FILE:LINE:" and then the
    // panic message to stderr just before it traps.
    let tail = state.log.tail(8);
    if let Some(at) = tail.iter().rposition(|l| l.contains("panicked at")) {
        let clean = |l: &str| l.trim_start_matches("stderr: ").to_string();
        let mut panic = clean(&tail[at]);
        if let Some(next) = tail.get(at + 1) {
            panic = format!("{} {}", panic, clean(next));
        }
        message = format!("{message}: {panic}");
    }
    if let Some(store_error) = &state.last_store_error
        && tail.iter().any(|l| is_wrong_error_type(l))
    {
        return CallError::failed(
            call,
            FailureKind::Fault,
            format!(
                "a store error ({store_error}) was not caught, so the plugin crashed: an export \
                 must fail with text (a command: with a command error). Catch it, or wrap the \
                 export: Python `@wasmdesk.text_errors` / `@wasmdesk.command_errors` \
                 (wasmdesk.py), JavaScript `textErrors(...)` / `commandErrors(...)` \
                 (docs/plugin-guide.md)"
            ),
        );
    }
    CallError::new(call, CallErrorKind::Trap { message, backtrace })
}

/// What componentize-py and componentize-js print when an export fails
/// with an error of another type than its WIT signature says (a store
/// error escaping an export whose error is text), just before they trap.
fn is_wrong_error_type(line: &str) -> bool {
    (line.contains("StoreError_") && line.contains("is not an instance of"))
        || line.contains("expected a string, received [object]")
        || line.contains("invalid variant tag value")
}

#[cfg(test)]
mod tests {
    use super::is_wrong_error_type;

    #[test]
    fn the_toolchains_lines_for_an_error_of_the_wrong_type_are_recognised() {
        // As componentize-py 0.25 and componentize-js print them.
        for line in [
            "stderr: called `Result::unwrap()` on an `Err` value: PyErr { type: <class 'TypeError'>, \
             value: TypeError(\"'StoreError_Sql' object is not an instance of 'str'\"), traceback: None }",
            "stderr: expected a string, received [object]",
            "stderr: invalid variant tag value `\"sql\"` (received `[object Object]`) specified for `CommandError`",
        ] {
            assert!(is_wrong_error_type(line), "{line}");
        }
        assert!(!is_wrong_error_type(
            "stderr: thread panicked at src/lib.rs:3:5"
        ));
    }
}
