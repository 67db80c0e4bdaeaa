//! What a plugin tells the host about itself (`manifest.get`): the records
//! of the contract, and builders for them.
//!
//! ```
//! use wasmdesk_plugin::Access;
//! use wasmdesk_plugin::manifest::{CommandInfo, DataPolicy, PluginManifest, Processing};
//!
//! let manifest = PluginManifest::new("crm", "0.1.0", "Customer notes.")
//!     .capability("tickets__tickets", Access::Read, "shows a customer's tickets next to the notes")
//!     .command(CommandInfo::new("add", "Add a note: {email, text}").argument_filter("text", "message.body"))
//!     .action("ticket.created")
//!     .processing(
//!         Processing::new("Remembering what customers asked for")
//!             .data_categories(["contact details", "notes"])
//!             .data_subjects(["customers"])
//!             .retention("until the customer asks for erasure")
//!             .personal_field("crm__notes", "email", "contact details", DataPolicy::Delete),
//!     );
//! assert_eq!(manifest.commands[0].argument_filters[0].filter, "message.body");
//! ```

use crate::Access;
pub use crate::bindings::base::exports::wasmdesk::plugin::manifest::{
    ArgumentFilter, Capability, CommandInfo, DataPolicy, FilterInfo, PersonalField, PluginManifest,
    Processing, RetentionDuty, RetentionRule,
};

impl PluginManifest {
    /// A manifest with the plugin's id (which must equal its file name),
    /// version (semver) and description, asking for nothing and processing
    /// no personal data.
    pub fn new(
        id: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        PluginManifest {
            id: id.into(),
            version: version.into(),
            description: description.into(),
            capabilities: vec![],
            commands: vec![],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }

    /// Ask for a table outside the plugin's namespace, with the reason the
    /// site owner reads at approval.
    pub fn capability(
        mut self,
        table: impl Into<String>,
        access: Access,
        reason: impl Into<String>,
    ) -> Self {
        self.capabilities.push(Capability {
            table: table.into(),
            access,
            reason: reason.into(),
        });
        self
    }

    /// Add a command (export `commands`).
    pub fn command(mut self, command: CommandInfo) -> Self {
        self.commands.push(command);
        self
    }

    /// Handle an action, such as `ticket.created` (export `hooks`).
    pub fn action(mut self, event: impl Into<String>) -> Self {
        self.actions.push(event.into());
        self
    }

    /// Apply a filter, such as `message.body`, at `priority` (lower runs
    /// first; 10 is the usual) (export `hooks`).
    pub fn filter(mut self, name: impl Into<String>, priority: i32) -> Self {
        self.filters.push(FilterInfo {
            name: name.into(),
            priority,
        });
        self
    }

    /// Declare what the plugin does with personal data (export `privacy`
    /// when it lists personal fields).
    pub fn processing(mut self, processing: Processing) -> Self {
        self.processing = Some(processing);
        self
    }
}

impl CommandInfo {
    /// A command with its name (lower-case letters, digits and dashes) and
    /// a one-line description.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        CommandInfo {
            name: name.into(),
            description: description.into(),
            argument_filters: vec![],
            result_filter: None,
        }
    }

    /// Pass the argument `argument` through the filter `filter` before the
    /// command runs.
    pub fn argument_filter(
        mut self,
        argument: impl Into<String>,
        filter: impl Into<String>,
    ) -> Self {
        self.argument_filters.push(ArgumentFilter {
            argument: argument.into(),
            filter: filter.into(),
        });
        self
    }

    /// Pass the command's result through the filter `filter`.
    pub fn result_filter(mut self, filter: impl Into<String>) -> Self {
        self.result_filter = Some(filter.into());
        self
    }
}

impl Processing {
    /// A record of processing for `purpose`, with nothing listed yet.
    pub fn new(purpose: impl Into<String>) -> Self {
        Processing {
            purpose: purpose.into(),
            data_categories: vec![],
            data_subjects: vec![],
            retention: String::new(),
            personal_data: vec![],
            retention_rules: vec![],
        }
    }

    /// Add categories of personal data, such as "contact details".
    pub fn data_categories<S: Into<String>>(
        mut self,
        categories: impl IntoIterator<Item = S>,
    ) -> Self {
        self.data_categories
            .extend(categories.into_iter().map(Into::into));
        self
    }

    /// Add categories of data subjects, such as "customers".
    pub fn data_subjects<S: Into<String>>(mut self, subjects: impl IntoIterator<Item = S>) -> Self {
        self.data_subjects
            .extend(subjects.into_iter().map(Into::into));
        self
    }

    /// How long data is kept, in words.
    pub fn retention(mut self, retention: impl Into<String>) -> Self {
        self.retention = retention.into();
        self
    }

    /// Declare a column of one of the plugin's tables that holds personal
    /// data, and what erasure does to it.
    pub fn personal_field(
        mut self,
        table: impl Into<String>,
        column: impl Into<String>,
        category: impl Into<String>,
        policy: DataPolicy,
    ) -> Self {
        self.personal_data.push(PersonalField {
            table: table.into(),
            column: column.into(),
            category: category.into(),
            policy,
        });
        self
    }

    /// Add a retention rule the host can run (`privacy.apply-retention`).
    pub fn retention_rule(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        days: u32,
    ) -> Self {
        self.retention_rules.push(RetentionRule {
            name: name.into(),
            description: description.into(),
            days,
        });
        self
    }
}
