//! A plugin instance during one call, with one typed method per export of
//! the contract: callers never load an export themselves, and an export
//! the component lacks is an error here, not an `expect` elsewhere.

use wasmtime::Store;
use wasmtime::component::Instance;

use super::state::HostState;
use crate::contract::commands::CommandError;
use crate::contract::privacy::{ErasePage, ExportPage, RetentionReport, Subject};
use crate::contract::{Exports, manifest};

/// What a plugin said went wrong, mapped onto the host's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    BadRequest,
    NotFound,
    Conflict,
    /// The plugin failed on its own account, or broke the contract.
    Fault,
}

/// What an export returned: its value, or the failure it reported (a kind
/// and a message for the caller). The outer error is a trap or a host
/// failure.
pub type Outcome<T> = wasmtime::Result<Result<T, (FailureKind, String)>>;

/// One instance of a plugin, in the store of the call that made it.
pub struct Guest<'a> {
    pub(super) store: &'a mut Store<HostState>,
    pub(super) instance: &'a Instance,
    pub(super) exports: &'a Exports,
}

/// The error for an export the component does not have: callers check
/// [`Exports`] first, so this is a host bug, reported as the plugin's fault.
fn missing(interface: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!(
        "the plugin exports no {interface} interface (the host called it anyway)"
    ))
}

/// A failure the plugin reported as text: its own fault.
fn fault<T>(result: Result<T, String>) -> Result<T, (FailureKind, String)> {
    result.map_err(|message| (FailureKind::Fault, message))
}

impl Guest<'_> {
    /// `manifest.get`.
    pub fn manifest(&mut self) -> wasmtime::Result<manifest::PluginManifest> {
        self.exports
            .manifest
            .load(&mut *self.store, self.instance)?
            .call_get(&mut *self.store)
    }

    /// `lifecycle.setup`, with the version that was approved before.
    pub fn setup(&mut self, previous_version: Option<&str>) -> Outcome<()> {
        let lifecycle = self
            .exports
            .lifecycle
            .as_ref()
            .ok_or_else(|| missing("lifecycle"))?;
        let result = lifecycle
            .load(&mut *self.store, self.instance)?
            .call_setup(&mut *self.store, previous_version)?;
        Ok(fault(result))
    }

    /// `commands.run`.
    pub fn run_command(&mut self, command: &str, args: &str) -> Outcome<String> {
        let commands = self
            .exports
            .commands
            .as_ref()
            .ok_or_else(|| missing("commands"))?;
        let result = commands.load(&mut *self.store, self.instance)?.call_run(
            &mut *self.store,
            command,
            args,
        )?;
        Ok(result.map_err(command_failure))
    }

    /// `hooks.apply-filter`.
    pub fn apply_filter(&mut self, name: &str, input: &str) -> Outcome<String> {
        let hooks = self
            .exports
            .hooks
            .as_ref()
            .ok_or_else(|| missing("hooks"))?;
        let result = hooks
            .load(&mut *self.store, self.instance)?
            .call_apply_filter(&mut *self.store, name, input)?;
        Ok(fault(result))
    }

    /// `hooks.on-action`.
    pub fn on_action(&mut self, event: &str, payload: &str) -> Outcome<()> {
        let hooks = self
            .exports
            .hooks
            .as_ref()
            .ok_or_else(|| missing("hooks"))?;
        let result = hooks
            .load(&mut *self.store, self.instance)?
            .call_on_action(&mut *self.store, event, payload)?;
        Ok(fault(result))
    }

    /// `privacy.export-data`: one page.
    pub fn export_data(&mut self, subject: &Subject, cursor: Option<&str>) -> Outcome<ExportPage> {
        let privacy = self
            .exports
            .privacy
            .as_ref()
            .ok_or_else(|| missing("privacy"))?;
        let result = privacy
            .load(&mut *self.store, self.instance)?
            .call_export_data(&mut *self.store, subject, cursor)?;
        Ok(fault(result))
    }

    /// `privacy.erase-data`: one page.
    pub fn erase_data(
        &mut self,
        subject: &Subject,
        cursor: Option<&str>,
        dry_run: bool,
    ) -> Outcome<ErasePage> {
        let privacy = self
            .exports
            .privacy
            .as_ref()
            .ok_or_else(|| missing("privacy"))?;
        let result = privacy
            .load(&mut *self.store, self.instance)?
            .call_erase_data(&mut *self.store, subject, cursor, dry_run)?;
        Ok(fault(result))
    }

    /// `privacy.apply-retention`.
    pub fn apply_retention(
        &mut self,
        rule: &str,
        cutoff_ms: i64,
        dry_run: bool,
    ) -> Outcome<RetentionReport> {
        let privacy = self
            .exports
            .privacy
            .as_ref()
            .ok_or_else(|| missing("privacy"))?;
        let result = privacy
            .load(&mut *self.store, self.instance)?
            .call_apply_retention(&mut *self.store, rule, cutoff_ms, dry_run)?;
        Ok(fault(result))
    }
}

/// A command's error as the host reports it: its kind decides the error
/// code the caller sees.
fn command_failure(error: CommandError) -> (FailureKind, String) {
    match error {
        CommandError::BadRequest(m) => (FailureKind::BadRequest, m),
        CommandError::NotFound(m) => (FailureKind::NotFound, m),
        CommandError::Conflict(m) => (FailureKind::Conflict, m),
        CommandError::Failed(m) => (FailureKind::Fault, m),
        CommandError::Store(e) => (
            FailureKind::Fault,
            format!("store error: {}", super::imports::store_message(&e)),
        ),
    }
}
