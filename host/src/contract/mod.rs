//! The contract between the host and its plugins (`wit/plugin.wit`): the
//! Rust types generated from it, which of its interfaces a component
//! exports, its version, and its naming rules. The bottom of the host: it
//! depends on nothing else here.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasmdesk:plugin/plugin",
});

pub use self::wasmdesk::plugin::{clock, events, identity, log, store, types};
pub use exports::wasmdesk::plugin::{commands, hooks, lifecycle, manifest, privacy};

use wasmtime::component::InstancePre;

/// The contract this host speaks (wit/plugin.wit): plugins built against
/// `CONTRACT_MAJOR`.0 up to `CONTRACT_MAJOR`.`CONTRACT_MINOR` run.
pub const CONTRACT_MAJOR: u64 = 1;
pub const CONTRACT_MINOR: u64 = 1;

/// The prefix of every interface of the contract.
pub const PACKAGE: &str = "wasmdesk:plugin/";

/// The interfaces a plugin may import besides WASI 0.2.
pub const IMPORTS: &str = "wasmdesk:plugin/{store,events,identity,log,clock}";

/// Which of the contract's interfaces a component exports.
pub struct Exports {
    pub manifest: manifest::GuestIndices,
    pub lifecycle: Option<lifecycle::GuestIndices>,
    pub commands: Option<commands::GuestIndices>,
    pub hooks: Option<hooks::GuestIndices>,
    pub privacy: Option<privacy::GuestIndices>,
}

impl Exports {
    /// The exports of a linked component; `None` without the manifest,
    /// which every plugin must export.
    pub fn of<T: 'static>(pre: &InstancePre<T>) -> Option<Exports> {
        Some(Exports {
            manifest: manifest::GuestIndices::new(pre).ok()?,
            lifecycle: lifecycle::GuestIndices::new(pre).ok(),
            commands: commands::GuestIndices::new(pre).ok(),
            hooks: hooks::GuestIndices::new(pre).ok(),
            privacy: privacy::GuestIndices::new(pre).ok(),
        })
    }

    /// Names of the exported interfaces, for `plugin inspect`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = vec!["manifest"];
        for (name, present) in [
            ("lifecycle", self.lifecycle.is_some()),
            ("commands", self.commands.is_some()),
            ("hooks", self.hooks.is_some()),
            ("privacy", self.privacy.is_some()),
        ] {
            if present {
                names.push(name);
            }
        }
        names
    }
}

/// Whether `id` is a valid plugin or command id: lower-case letters,
/// digits and single dashes, starting with a letter, at most 40 characters.
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 40
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--")
}

/// Whether `name` is a valid action or filter name: ids joined by dots,
/// such as `ticket.created` or `message.body`.
pub fn valid_hook_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 80 && name.split('.').all(valid_id)
}
