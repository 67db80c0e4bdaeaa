//! Write plugins for wasmdesk, the sandboxed helpdesk, in Rust.
//!
//! A plugin is a WebAssembly component built for `wasm32-wasip2` against the
//! contract in this crate's `wit/plugin.wit` (`wasmdesk:plugin@1.1.0`). This
//! crate holds the contract's bindings, so a plugin is its manifest and its
//! own logic:
//!
//! ```no_run
//! use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
//! use wasmdesk_plugin::{CommandError, Email, Plugin, args};
//!
//! struct Greeter;
//!
//! #[derive(serde::Deserialize)]
//! struct Hello {
//!     email: Email,
//! }
//!
//! impl Plugin for Greeter {
//!     fn manifest() -> PluginManifest {
//!         PluginManifest::new("greeter", "0.1.0", "Says hello.")
//!             .command(CommandInfo::new("hello", "Greet someone: {email}"))
//!     }
//!
//!     fn run(command: &str, json: &str) -> Result<String, CommandError> {
//!         match command {
//!             "hello" => {
//!                 let hello: Hello = args::parse(json)?;
//!                 let today = wasmdesk_plugin::clock::today();
//!                 Ok(serde_json::json!({"hello": hello.email.as_str(), "on": today}).to_string())
//!             }
//!             other => Err(CommandError::bad_request(format!("no command {other:?}"))),
//!         }
//!     }
//! }
//!
//! // The manifest is always exported; list the optional interfaces the
//! // plugin implements.
//! wasmdesk_plugin::export!(Greeter, [commands]);
//! # fn main() {}
//! ```
//!
//! What is here:
//! - [`Plugin`]: one trait for every export, each optional method with a
//!   default; [`export!`] exports the manifest and the interfaces you list.
//! - [`args`]: command arguments parsed into your types, with `bad_request`
//!   errors that name the field; [`Email`] for addresses.
//! - [`store`]: the site database (rows as JSON objects or your types,
//!   batches), [`manifest`] builders, [`privacy`] records, and the host's
//!   [`log`], [`clock`], [`events`] and [`identity`].

#![warn(missing_docs)]

// The generated export macros name this crate by its name, as they expand in
// the plugin's crate; inside this crate the same path must work.
extern crate self as wasmdesk_plugin;

pub mod args;
pub mod manifest;
pub mod privacy;
pub mod store;

pub use args::Email;
pub use bindings::base::wasmdesk::plugin::types::{Access, Denial, StoreError, Value};
pub use bindings::base::wasmdesk::plugin::{clock, events, identity, log};
pub use bindings::commands::exports::wasmdesk::plugin::commands::CommandError;

/// The contract version this crate is built against (the package version
/// in `wit/plugin.wit`). A host runs plugins built against its major and
/// any minor up to its own.
pub const CONTRACT_VERSION: &str = "1.1.0";

/// The bindings, one `generate!` per world: `base` (the imports and the
/// manifest) and one world per optional export (wit/exports.wit), so that a
/// plugin exports only what it lists in [`export!`]. The host looks at a
/// component's exports to decide what to call and what to require (a plugin
/// that declares personal data must export `privacy`).
#[doc(hidden)]
pub mod bindings {
    // The contract version is named twice more in this crate: in the
    // `with` key of `commands` below (wit-bindgen refuses a key that matches
    // nothing) and in CONTRACT_VERSION (a test compares it with the WIT).
    pub mod base {
        wit_bindgen::generate!({
            path: "wit",
            world: "wasmdesk:plugin/base",
            pub_export_macro: true,
            export_macro_name: "export_base",
            default_bindings_module: "::wasmdesk_plugin::bindings::base",
            runtime_path: "::wasmdesk_plugin::__private::wit_bindgen::rt",
            generate_all,
        });
    }

    pub mod lifecycle {
        wit_bindgen::generate!({
            path: "wit",
            world: "wasmdesk:plugin/lifecycle-export",
            pub_export_macro: true,
            export_macro_name: "export_lifecycle",
            default_bindings_module: "::wasmdesk_plugin::bindings::lifecycle",
            runtime_path: "::wasmdesk_plugin::__private::wit_bindgen::rt",
        });
    }

    pub mod commands {
        wit_bindgen::generate!({
            path: "wit",
            world: "wasmdesk:plugin/commands-export",
            pub_export_macro: true,
            export_macro_name: "export_commands",
            default_bindings_module: "::wasmdesk_plugin::bindings::commands",
            runtime_path: "::wasmdesk_plugin::__private::wit_bindgen::rt",
            with: {
                "wasmdesk:plugin/types@1.1.0": crate::bindings::base::wasmdesk::plugin::types,
            },
        });
    }

    pub mod hooks {
        wit_bindgen::generate!({
            path: "wit",
            world: "wasmdesk:plugin/hooks-export",
            pub_export_macro: true,
            export_macro_name: "export_hooks",
            default_bindings_module: "::wasmdesk_plugin::bindings::hooks",
            runtime_path: "::wasmdesk_plugin::__private::wit_bindgen::rt",
        });
    }

    pub mod privacy {
        wit_bindgen::generate!({
            path: "wit",
            world: "wasmdesk:plugin/privacy-export",
            pub_export_macro: true,
            export_macro_name: "export_privacy",
            default_bindings_module: "::wasmdesk_plugin::bindings::privacy",
            runtime_path: "::wasmdesk_plugin::__private::wit_bindgen::rt",
        });
    }
}

use manifest::PluginManifest;
use privacy::{ErasePage, ExportPage, RetentionReport, Subject};

/// A plugin: what the host calls. Only [`manifest`](Plugin::manifest) is
/// required; implement the methods of the interfaces you list in
/// [`export!`]. The host calls only exported interfaces, and only with the
/// commands, actions, filters and retention rules the manifest lists, so a
/// default runs only when the manifest and the code disagree.
pub trait Plugin {
    /// Describe the plugin (`manifest.get`). Called without a store
    /// transaction: it must not depend on the database.
    fn manifest() -> PluginManifest;

    /// Create or migrate the plugin's tables (`lifecycle.setup`); runs when
    /// the plugin is enabled and after every approved update, so it must be
    /// safe to run twice. `previous_version` is the version enabled before.
    /// Default: nothing to set up.
    fn setup(previous_version: Option<&str>) -> Result<(), String> {
        let _ = previous_version;
        Ok(())
    }

    /// Run the command `command` with `args`, a JSON document; return a
    /// JSON document (`commands.run`). See [`args`] for parsing.
    fn run(command: &str, args: &str) -> Result<String, CommandError> {
        let _ = args;
        Err(CommandError::bad_request(format!("no command {command:?}")))
    }

    /// React to an action another call emitted (`hooks.on-action`).
    fn on_action(event: &str, payload: &str) -> Result<(), String> {
        let _ = payload;
        Err(format!("`on_action` not implemented (action {event:?})"))
    }

    /// Transform `value` (JSON) in the filter `filter` and return the new
    /// value (`hooks.apply-filter`). Filters may read but not write.
    fn apply_filter(filter: &str, value: String) -> Result<String, String> {
        let _ = value;
        Err(format!(
            "`apply_filter` not implemented (filter {filter:?})"
        ))
    }

    /// Hand over one page of the subject's personal data
    /// (`privacy.export-data`).
    fn export_data(subject: Subject, cursor: Option<String>) -> Result<ExportPage, String> {
        let _ = (subject, cursor);
        Err("`export_data` not implemented".into())
    }

    /// Erase one page of the subject's personal data, or report what would
    /// go on a dry run (`privacy.erase-data`).
    fn erase_data(
        subject: Subject,
        cursor: Option<String>,
        dry_run: bool,
    ) -> Result<ErasePage, String> {
        let _ = (subject, cursor, dry_run);
        Err("`erase_data` not implemented".into())
    }

    /// Apply the retention rule `rule` to data older than `cutoff_ms`
    /// (`privacy.apply-retention`).
    fn apply_retention(
        rule: &str,
        cutoff_ms: i64,
        dry_run: bool,
    ) -> Result<RetentionReport, String> {
        let _ = (cutoff_ms, dry_run);
        Err(format!("`apply_retention` not implemented (rule {rule:?})"))
    }
}

/// Export a [`Plugin`]: the manifest, and each optional interface listed,
/// out of `lifecycle`, `commands`, `hooks` and `privacy`.
///
/// ```ignore
/// wasmdesk_plugin::export!(Tickets, [lifecycle, commands, privacy]);
/// wasmdesk_plugin::export!(Hoarder); // the manifest only
/// ```
///
/// List exactly the interfaces the plugin implements: the host calls what a
/// component exports, and refuses to enable a plugin whose manifest needs an
/// interface it does not export (commands without `commands`, actions or
/// filters without `hooks`, personal data without `privacy`).
#[macro_export]
macro_rules! export {
    ($plugin:ty $(, [$($export:ident),* $(,)?])? $(,)?) => {
        const _: () = {
            type __WasmdeskPlugin = $crate::__private::Adapter<$plugin>;
            $crate::__export_base_impl!(__WasmdeskPlugin with_types_in $crate::bindings::base);
            $($($crate::__export_interface!($export, __WasmdeskPlugin);)*)?
        };
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_interface {
    (lifecycle, $ty:ident) => {
        $crate::__export_lifecycle_export_impl!($ty with_types_in $crate::bindings::lifecycle);
    };
    (commands, $ty:ident) => {
        $crate::__export_commands_export_impl!($ty with_types_in $crate::bindings::commands);
    };
    (hooks, $ty:ident) => {
        $crate::__export_hooks_export_impl!($ty with_types_in $crate::bindings::hooks);
    };
    (privacy, $ty:ident) => {
        $crate::__export_privacy_export_impl!($ty with_types_in $crate::bindings::privacy);
    };
    ($other:ident, $ty:ident) => {
        ::core::compile_error!(::core::concat!(
            "wasmdesk_plugin::export!: no interface `",
            ::core::stringify!($other),
            "`; the optional exports are lifecycle, commands, hooks and privacy"
        ));
    };
}

/// What [`export!`] expands to uses; not part of the API.
#[doc(hidden)]
pub mod __private {
    use core::marker::PhantomData;

    pub use wit_bindgen;

    use crate::Plugin;
    use crate::bindings::commands::exports::wasmdesk::plugin::commands;
    use crate::bindings::hooks::exports::wasmdesk::plugin::hooks;
    use crate::bindings::lifecycle::exports::wasmdesk::plugin::lifecycle;
    use crate::bindings::privacy::exports::wasmdesk::plugin::privacy;
    use crate::privacy::{ErasePage, ExportPage, RetentionReport, Subject};
    use crate::{CommandError, manifest};

    /// Implements the generated `Guest` traits for a [`Plugin`].
    pub struct Adapter<P>(PhantomData<P>);

    impl<P: Plugin> crate::bindings::base::exports::wasmdesk::plugin::manifest::Guest for Adapter<P> {
        fn get() -> manifest::PluginManifest {
            P::manifest()
        }
    }

    impl<P: Plugin> lifecycle::Guest for Adapter<P> {
        fn setup(previous_version: Option<String>) -> Result<(), String> {
            P::setup(previous_version.as_deref())
        }
    }

    impl<P: Plugin> commands::Guest for Adapter<P> {
        fn run(name: String, args: String) -> Result<String, CommandError> {
            P::run(&name, &args)
        }
    }

    impl<P: Plugin> hooks::Guest for Adapter<P> {
        fn on_action(event: String, payload: String) -> Result<(), String> {
            P::on_action(&event, &payload)
        }

        fn apply_filter(filter: String, value: String) -> Result<String, String> {
            P::apply_filter(&filter, value)
        }
    }

    impl<P: Plugin> privacy::Guest for Adapter<P> {
        fn export_data(subject: Subject, cursor: Option<String>) -> Result<ExportPage, String> {
            P::export_data(subject, cursor)
        }

        fn erase_data(
            subject: Subject,
            cursor: Option<String>,
            dry_run: bool,
        ) -> Result<ErasePage, String> {
            P::erase_data(subject, cursor, dry_run)
        }

        fn apply_retention(
            rule: String,
            cutoff_ms: i64,
            dry_run: bool,
        ) -> Result<RetentionReport, String> {
            P::apply_retention(&rule, cutoff_ms, dry_run)
        }
    }
}

impl CommandError {
    /// `bad-request`: the arguments are wrong; say which and how.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// `not-found`: the thing asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// `conflict`: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// `failed`: anything else; the text is shown to the caller.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }
}

/// A failed store call ends the command: `?` on a store call in
/// [`Plugin::run`].
impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// A failed store call as the text of a lifecycle, hook or privacy error
/// (its debug form, such as `StoreError::Sql("no such table: x")`).
impl From<StoreError> for String {
    fn from(error: StoreError) -> Self {
        format!("{error:?}")
    }
}

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;

#[cfg(test)]
mod tests {
    /// The version in [`CONTRACT_VERSION`](super::CONTRACT_VERSION) is the
    /// one the bindings were generated from.
    #[test]
    fn contract_version_matches_the_wit_package() {
        let wit = include_str!("../wit/plugin.wit");
        let package = format!("package wasmdesk:plugin@{};", super::CONTRACT_VERSION);
        assert!(wit.lines().any(|line| line == package), "{package}");
    }
}
