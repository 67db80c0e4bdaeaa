//! Running a plugin: a command with its filters and the actions it emits,
//! and the one way any export runs, inside a transaction on the plugin's
//! connection with its audit entry ([`Site::run_with_db`]).

use std::rc::Rc;
use std::time::Instant;

use serde::Serialize;

use super::{Site, hooks};
use crate::audit::{self, Draft, action};
use crate::database::{CallAccess, DatabaseError, PluginDb};
use crate::error::{Error, ErrorCode};
use crate::registry::{Status, records};
use crate::runtime::FailureKind;
use crate::runtime::call::{self, Call, CallError, CallErrorKind};
use crate::runtime::{Guest, HostState, LoadedPlugin, Outcome};

/// What an export returned through [`Runtime::invoke`](crate::runtime::Runtime::invoke):
/// its value or reported failure, or the call's own error (a trap, the
/// deadline, the memory cap).
type Returned<R> = Result<Result<R, (FailureKind, String)>, CallError>;

/// What the caller of a settled call gets: the export's value and the
/// actions it emitted (none unless it committed), or why it failed.
fn answer<R>(
    call: &Call<'_>,
    outcome: Result<R, CallError>,
    finished: Result<bool, DatabaseError>,
    mut state: HostState,
    call_tables: Vec<String>,
) -> Result<(R, hooks::Emitted), Error> {
    match (outcome, finished) {
        // The host's failure, not the plugin's: a full disk is
        // `storage_full`, a held lock `busy`.
        (Ok(_), Err(e)) if e.sqlite_code().is_some() => Err(Error::Database(e)),
        (Ok(_), Err(e)) => Err(Error::Call(CallError::failed(
            call,
            FailureKind::Fault,
            format!("its changes could not be committed and were rolled back: {e}"),
        ))),
        (Ok(value), Ok(committed)) => {
            let actions = if committed {
                std::mem::take(&mut state.events.actions)
            } else {
                vec![]
            };
            let emitted = hooks::Emitted {
                source: hooks::Source {
                    plugin: Some(call.plugin.to_string()),
                    tables: call_tables,
                },
                actions,
            };
            Ok((value, emitted))
        }
        (Err(e), _) => Err(Error::Call(e)),
    }
}

/// How a plugin call runs, beyond the plugin's own limits.
#[derive(Clone)]
pub(crate) struct CallOptions {
    /// Grants other than those in force (setup runs with the ones about to
    /// be approved).
    grants: Option<Vec<(String, crate::database::Access)>>,
    access: CallAccess,
    /// A deadline the call gets at least, whatever the plugin's limit.
    min_deadline_ms: u32,
}

impl CallOptions {
    /// Commands and action handlers.
    pub(crate) const WRITE: CallOptions = CallOptions {
        grants: None,
        access: CallAccess::ReadWrite,
        min_deadline_ms: 0,
    };
    /// Filters: read-only, never committed.
    pub(crate) const READ_ONLY: CallOptions = CallOptions {
        grants: None,
        access: CallAccess::ReadOnly,
        min_deadline_ms: 0,
    };

    /// `setup` migrates tables once per approval, which can take long on a
    /// big site: ten minutes at least.
    pub(super) fn setup(grants: Vec<(String, crate::database::Access)>) -> CallOptions {
        CallOptions {
            grants: Some(grants),
            access: CallAccess::ReadWrite,
            min_deadline_ms: 600_000,
        }
    }
}

/// What a command returned, and what went wrong after it committed (an
/// action handler that failed): reported, never undoing the command.
#[derive(Debug, Serialize)]
pub struct CallOutput {
    pub result: serde_json::Value,
    pub warnings: Vec<String>,
}

impl Site {
    /// Run `command` of an enabled plugin with JSON `args`, in one
    /// transaction: argument filters first, then the command, then the
    /// actions it emitted (after it committed), then its result filter.
    pub fn call(&mut self, id: &str, command: &str, args: &str) -> Result<CallOutput, Error> {
        let mut args: serde_json::Value = serde_json::from_str(args).map_err(|e| {
            Error::BadRequest(format!(
                "the arguments of {id}.{command} are not valid JSON: {e}"
            ))
        })?;
        // As the bridge: a command takes an object, never `"x"`, `[1]` or
        // `null` read as `{}`.
        if !args.is_object() {
            return Err(Error::BadRequest(format!(
                "the arguments of {id}.{command} must be a JSON object such as {{\"id\": 1}}, not {}",
                crate::text::single_line(&args.to_string().chars().take(80).collect::<String>())
            )));
        }
        let (record, plugin) = self.ready(id)?;
        let Some(info) = record
            .manifest
            .commands
            .iter()
            .find(|c| c.name == command)
            .cloned()
        else {
            let offered: Vec<&str> = record
                .manifest
                .commands
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(Error::UnknownOp(format!(
                "plugin \"{id}\" has no command \"{command}\"; it offers: {}",
                if offered.is_empty() {
                    "none".to_string()
                } else {
                    offered.join(", ")
                }
            )));
        };
        if plugin.exports.commands.is_none() {
            return Err(Error::UnknownOp(format!(
                "plugin \"{id}\" exports no commands"
            )));
        };
        for filter in &info.argument_filters {
            if let Some(value) = args.get(&filter.argument).cloned() {
                args[&filter.argument] = self.apply_filters(&filter.filter, value)?;
            }
        }
        let operation = format!("command {command}");
        let args = serde_json::to_string(&args).expect("a JSON value serializes");
        let (output, emitted) =
            self.run_with_db(id, &plugin, &operation, CallOptions::WRITE, |guest| {
                guest.run_command(command, &args)
            })?;
        let result: serde_json::Value = serde_json::from_str(&output).map_err(|e| {
            Error::Call(CallError::named(
                id,
                &operation,
                CallErrorKind::Failed {
                    kind: FailureKind::Fault,
                    message: format!("returned invalid JSON ({e}); its writes were kept"),
                },
            ))
        })?;
        let warnings = self.fire_emitted(emitted);
        let result = match &info.result_filter {
            Some(filter) => self.apply_filters(filter, result)?,
            None => result,
        };
        Ok(CallOutput { result, warnings })
    }

    /// An enabled plugin whose file is the approved one, loaded.
    pub(crate) fn ready(
        &mut self,
        id: &str,
    ) -> Result<(Rc<records::Record>, Rc<LoadedPlugin>), Error> {
        let record = self.registry.get(&self.db, id)?.record.clone();
        let Some(record) = record.filter(|r| r.enabled) else {
            let entry = self.inspect(id).map_err(|e| match e {
                Error::UnknownPlugin { .. } => Error::UnknownOp(format!("{e}")),
                other => other,
            })?;
            let hint = match entry.status {
                Status::Pending => format!(
                    "review it with: wasmdesk plugin inspect {id}, then: wasmdesk plugin enable {id}"
                ),
                Status::Disabled => format!("enable it with: wasmdesk plugin enable {id}"),
                _ => entry.note.clone().unwrap_or_default(),
            };
            return Err(Error::UnknownOp(format!(
                "plugin \"{id}\" is {}: {hint}",
                entry.status.as_str()
            )));
        };
        let plugin = self.load(id)?;
        if plugin.sha256 != record.sha256 {
            return Err(Error::UnknownOp(format!(
                "plugins/{id}.wasm changed since it was approved, so it is not run: review it with: \
                 wasmdesk plugin inspect {id}, then: wasmdesk plugin enable {id}"
            )));
        }
        Ok((record, plugin))
    }

    /// Run one export of `plugin` inside a transaction on its connection.
    /// `f` returns the export's own result: an error there rolls back.
    /// Returns what `f` returned and the actions the call emitted (none
    /// unless it committed). A read-only call never commits.
    pub(crate) fn run_with_db<R>(
        &mut self,
        id: &str,
        plugin: &LoadedPlugin,
        operation: &str,
        options: CallOptions,
        f: impl Fn(&mut Guest<'_>) -> Outcome<R>,
    ) -> Result<(R, hooks::Emitted), Error> {
        let started = Instant::now();
        // The grants in force, unless the caller runs it with others (setup
        // runs with the grants about to be approved).
        let registered = self.registry.get(&self.db, id)?;
        let grants = options.grants.unwrap_or_else(|| registered.grants.clone());
        let mut limits = registered.limits;
        limits.deadline_ms = limits.deadline_ms.max(options.min_deadline_ms);
        let call = Call {
            site_key: self.site_key.clone(),
            plugin: id,
            operation,
            limits,
            deadline: Instant::now() + limits.deadline(),
        };
        let (result, state) =
            self.invoke_in_transaction(plugin, &call, grants, options.access, started, &f)?;
        self.settle(&call, result, state, options.access, started)
    }

    /// Run `f` on a fresh instance with the plugin's connection in a
    /// transaction; run it again with the write lock from the start if a
    /// write lost its snapshot to another process (nothing of the first
    /// run was kept or recorded).
    fn invoke_in_transaction<R>(
        &mut self,
        plugin: &LoadedPlugin,
        call: &Call<'_>,
        grants: Vec<(String, crate::database::Access)>,
        access: CallAccess,
        started: Instant,
        f: &impl Fn(&mut Guest<'_>) -> Outcome<R>,
    ) -> Result<(Returned<R>, HostState), Error> {
        let id = call.plugin;
        let mut immediate = false;
        loop {
            let mut db = match self.plugin_dbs.remove(id) {
                Some(db) => db,
                None => PluginDb::open(&self.paths.db, id, grants.clone())?,
            };
            db.track_usage = self.audit_calls;
            db.sandbox_checks = self.sandbox_checks;
            db.begin_call(
                grants.clone(),
                call.deadline,
                call.limits.result_cap(),
                access,
            )?;
            db.set_immediate(immediate);
            // A panic in the host while it serves the plugin (a bug the
            // plugin's input reached) fails this call, not the process: the
            // connection goes down with the store, and SQLite rolls its
            // transaction back.
            let invoked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.runtime.invoke(plugin, call, Some(db), f)
            }));
            let (result, mut state) = match invoked {
                Ok(invoked) => invoked,
                Err(panic) => return Err(self.host_panicked(call, started, panic)),
            };
            if !immediate && state.db.as_ref().is_some_and(PluginDb::snapshot_conflict) {
                let mut db = state.db.take().expect("the store kept its connection");
                let _ = db.finish_call(false);
                let _ = db.take_usage();
                self.plugin_dbs.insert(id.to_string(), db);
                immediate = true;
                continue;
            }
            return Ok((result, state));
        }
    }

    /// End a call: its outcome, its audit entry (committed with its writes,
    /// or queued on its own), the commit or rollback, and the actions it
    /// emitted if it committed.
    fn settle<R>(
        &mut self,
        call: &Call<'_>,
        result: Returned<R>,
        mut state: HostState,
        access: CallAccess,
        started: Instant,
    ) -> Result<(R, hooks::Emitted), Error> {
        let (id, operation) = (call.plugin, call.operation);
        // What the store saw dooms the call, whatever the plugin returned.
        let mut outcome = match (call::doomed(call, &state), result) {
            (Some(doom), _) => Err(doom),
            (None, Ok(Ok(value))) => Ok(value),
            (None, Ok(Err((kind, message)))) => Err(CallError::failed(call, kind, message)),
            (None, Err(e)) => Err(e),
        };
        let mut db = state
            .db
            .take()
            .expect("run_with_db gave the store a connection");
        // The audit entry of a call that writes is committed with its
        // writes: no change without its record.
        let (mut draft, wrote) = self.call_draft(id, operation, &outcome, started, &mut db);
        // The tables the call touched decide who may see its actions' payloads.
        let call_tables: Vec<String> = if state.events.actions.is_empty() {
            vec![]
        } else {
            draft.tables.iter().map(|t| t.table.clone()).collect()
        };
        let mut head = None;
        let writes =
            wrote && outcome.is_ok() && access == CallAccess::ReadWrite && self.audit_calls;
        if writes {
            // Entries still pending go first, in the same transaction.
            let pending = self.audit_log.pending();
            let appended = db.in_call_transaction(|c| {
                audit::chain::append_all(c, pending.iter().chain(std::iter::once(&draft)))
            });
            match appended {
                Ok(written) => head = written,
                Err(e) => {
                    outcome = Err(CallError::failed(
                        call,
                        FailureKind::Fault,
                        format!("its audit entry could not be written, so nothing was kept: {e}"),
                    ));
                }
            }
        }
        let finished = db.finish_call(outcome.is_ok() && access == CallAccess::ReadWrite);
        // The entry went in with the call's writes; a call that wrote
        // nothing (a get, a list) has its entry wait like a read's.
        let entry_committed = writes && matches!(finished, Ok(true));
        state.log.append_to(&self.paths.logs, id, operation);
        self.plugin_dbs.insert(id.to_string(), db);
        if entry_committed {
            // Only a head that committed: noting one whose transaction
            // rolled back would make `audit verify` see tampering that
            // never happened.
            self.audit_log.written(head);
        }
        if !entry_committed && self.audit_calls {
            // Read-only, failed or rolled back: recorded on its own. A
            // successful read waits a little to share a transaction with
            // others; a failure (a denial, a crash) is written at once.
            draft.outcome = match (&outcome, &finished) {
                (Ok(_), Ok(_)) => audit::OUTCOME_OK.into(),
                (Ok(_), Err(_)) => ErrorCode::PluginFault.as_str().into(),
                (Err(e), _) => ErrorCode::of_call(e).as_str().into(),
            };
            // A failed call keeps its own error (the caller learns why it
            // failed); its entry stays pending and is tried again.
            if self.audit_log.queue(draft)
                && let (Err(e), Ok(_)) = (self.flush_audit(), &outcome)
            {
                return Err(e);
            }
        }
        answer(call, outcome, finished, state, call_tables)
    }

    /// A call during which the host panicked: recorded as a plugin fault,
    /// with nothing the call did kept.
    pub(super) fn host_panicked(
        &mut self,
        call: &Call<'_>,
        started: Instant,
        panic: Box<dyn std::any::Any + Send>,
    ) -> Error {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        let error = CallError::failed(
            call,
            FailureKind::Fault,
            format!(
                "made the host fail ({}); nothing the call did was kept, and the host \
                 goes on serving: please report this with logs/{}.log",
                crate::text::single_line(&what),
                call.plugin
            ),
        );
        if self.audit_calls {
            let draft = Draft {
                plugin: Some(call.plugin.to_string()),
                operation: Some(call.operation.to_string()),
                outcome: ErrorCode::of_call(&error).as_str().into(),
                duration_us: started.elapsed().as_micros() as i64,
                ..self.act(action::PLUGIN_CALL, serde_json::json!({}))
            };
            self.audit_log.queue(draft);
            if let Err(e) = self.flush_audit() {
                return e;
            }
        }
        Error::Call(error)
    }

    /// The audit entry for a plugin call: what it touched, whose data, how
    /// it ended (never the error text: it may name a person); and whether
    /// it may have changed the database.
    pub(super) fn call_draft<R>(
        &self,
        id: &str,
        operation: &str,
        outcome: &Result<R, CallError>,
        started: Instant,
        db: &mut PluginDb,
    ) -> (Draft, bool) {
        let usage = db.take_usage();
        let mut subjects: Vec<String> = usage
            .emails
            .iter()
            .map(|email| crate::pseudonym::keyed_hash(&self.site_key, email))
            .collect();
        subjects.sort();
        let detail = match db.denial() {
            Some(denial) => serde_json::json!({
                "denied": {"action": denial.action, "target": denial.target}
            }),
            None => serde_json::json!({}),
        };
        let draft = Draft {
            at_ms: crate::now_ms(),
            actor: self.actor.as_str().to_string(),
            action: action::PLUGIN_CALL,
            plugin: Some(id.to_string()),
            operation: Some(operation.to_string()),
            outcome: match outcome {
                Ok(_) => audit::OUTCOME_OK.into(),
                Err(e) => ErrorCode::of_call(e).as_str().into(),
            },
            duration_us: started.elapsed().as_micros() as i64,
            tables: usage.tables.into_values().collect(),
            subjects,
            detail,
        };
        (draft, usage.wrote)
    }
}
