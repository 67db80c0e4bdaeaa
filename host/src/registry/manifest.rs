//! A plugin's manifest as the host keeps it (JSON in the database, shown by
//! `plugin inspect`), converted from the WIT record and validated: every
//! problem is reported at once, in words the site owner can act on.

use serde::{Deserialize, Serialize};

use crate::contract::Exports;
use crate::contract::manifest as wit;
use crate::database::Access;
use crate::database::grants::Capability;
use crate::database::namespace::Namespace;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub version: String,
    pub description: String,
    pub capabilities: Vec<RequestedCapability>,
    pub commands: Vec<CommandInfo>,
    pub actions: Vec<String>,
    pub filters: Vec<FilterInfo>,
    pub processing: Option<Processing>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestedCapability {
    pub table: String,
    pub access: Access,
    pub reason: String,
}

impl RequestedCapability {
    pub fn capability(&self) -> Capability {
        Capability {
            table: self.table.clone(),
            access: self.access,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    pub name: String,
    pub description: String,
    /// (argument, filter): arguments passed through filters before the command runs.
    #[serde(default)]
    pub argument_filters: Vec<ArgumentFilter>,
    /// A filter applied to the result before it is returned.
    #[serde(default)]
    pub result_filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArgumentFilter {
    pub argument: String,
    pub filter: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterInfo {
    pub name: String,
    pub priority: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processing {
    pub purpose: String,
    pub data_categories: Vec<String>,
    pub data_subjects: Vec<String>,
    pub retention: String,
    pub personal_data: Vec<PersonalField>,
    pub retention_rules: Vec<RetentionRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonalField {
    pub table: String,
    pub column: String,
    pub category: String,
    pub policy: DataPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DataPolicy {
    Delete,
    Anonymise,
    Retain { reason: String, days: u32 },
}

impl DataPolicy {
    /// What an erasure does to the column, in the site owner's words: one
    /// wording for `plugin inspect` and the register. The reason is the
    /// plugin's text, unescaped: the caller shows it as it shows any.
    pub fn on_erasure(&self) -> String {
        match self {
            DataPolicy::Delete => "deleted on erasure".to_string(),
            DataPolicy::Anonymise => "anonymised on erasure".to_string(),
            DataPolicy::Retain { reason, days } => format!("retained {days} days: {reason}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionRule {
    pub name: String,
    pub description: String,
    pub days: u32,
}

impl From<wit::PluginManifest> for Manifest {
    fn from(m: wit::PluginManifest) -> Manifest {
        Manifest {
            id: m.id,
            version: m.version,
            description: m.description,
            capabilities: m
                .capabilities
                .into_iter()
                .map(|c| RequestedCapability {
                    table: c.table,
                    access: match c.access {
                        crate::contract::types::Access::Read => Access::Read,
                        crate::contract::types::Access::Write => Access::Write,
                    },
                    reason: c.reason,
                })
                .collect(),
            commands: m
                .commands
                .into_iter()
                .map(|c| CommandInfo {
                    name: c.name,
                    description: c.description,
                    argument_filters: c
                        .argument_filters
                        .into_iter()
                        .map(|f| ArgumentFilter {
                            argument: f.argument,
                            filter: f.filter,
                        })
                        .collect(),
                    result_filter: c.result_filter,
                })
                .collect(),
            actions: m.actions,
            filters: m
                .filters
                .into_iter()
                .map(|f| FilterInfo {
                    name: f.name,
                    priority: f.priority,
                })
                .collect(),
            processing: m.processing.map(|p| Processing {
                purpose: p.purpose,
                data_categories: p.data_categories,
                data_subjects: p.data_subjects,
                retention: p.retention,
                personal_data: p
                    .personal_data
                    .into_iter()
                    .map(|f| PersonalField {
                        table: f.table,
                        column: f.column,
                        category: f.category,
                        policy: match f.policy {
                            wit::DataPolicy::Delete => DataPolicy::Delete,
                            wit::DataPolicy::Anonymise => DataPolicy::Anonymise,
                            wit::DataPolicy::Retain(d) => DataPolicy::Retain {
                                reason: d.reason,
                                days: d.days,
                            },
                        },
                    })
                    .collect(),
                retention_rules: p
                    .retention_rules
                    .into_iter()
                    .map(|r| RetentionRule {
                        name: r.name,
                        description: r.description,
                        days: r.days,
                    })
                    .collect(),
            }),
        }
    }
}

/// The longest texts a manifest may carry, in characters: what an honest
/// plugin needs to explain itself in `plugin inspect`, and no more.
pub const MAX_DESCRIPTION: usize = 500;
pub const MAX_TEXT: usize = 300;
pub const MAX_NAME: usize = 80;

impl Manifest {
    /// Every text the owner reads is plain: no control characters (ESC, BEL,
    /// newlines), no bidirectional overrides or invisible characters, and
    /// of a sensible length. Each problem names the field.
    fn check_texts(&self, problems: &mut Vec<String>) {
        let mut check = |field: String, text: &str, max: usize| {
            if let Some(bad) = text.chars().find(|c| crate::text::is_hazard(*c)) {
                problems.push(format!(
                    "{field} contains the control or invisible character {}: write plain text \
                     on one line",
                    crate::text::single_line(&bad.to_string())
                ));
            }
            let length = text.chars().count();
            if length > max {
                problems.push(format!(
                    "{field} is {length} characters long; at most {max} are shown"
                ));
            }
        };
        check("description".into(), &self.description, MAX_DESCRIPTION);
        for (i, c) in self.capabilities.iter().enumerate() {
            check(format!("capabilities[{i}].table"), &c.table, MAX_NAME);
            check(format!("capabilities[{i}].reason"), &c.reason, MAX_TEXT);
        }
        for c in &self.commands {
            let name = crate::text::single_line(&c.name);
            check(
                format!("command {name} description"),
                &c.description,
                MAX_TEXT,
            );
            for f in &c.argument_filters {
                check(format!("command {name} argument"), &f.argument, MAX_NAME);
            }
        }
        if let Some(p) = &self.processing {
            check("processing.purpose".into(), &p.purpose, MAX_TEXT);
            check("processing.retention".into(), &p.retention, MAX_TEXT);
            for c in p.data_categories.iter().chain(&p.data_subjects) {
                check("processing data category or subject".into(), c, MAX_NAME);
            }
            for f in &p.personal_data {
                check("processing.personal-data table".into(), &f.table, MAX_NAME);
                check(
                    "processing.personal-data column".into(),
                    &f.column,
                    MAX_NAME,
                );
                check(
                    "processing.personal-data category".into(),
                    &f.category,
                    MAX_NAME,
                );
                if let DataPolicy::Retain { reason, .. } = &f.policy {
                    check("processing.personal-data reason".into(), reason, MAX_TEXT);
                }
            }
            for r in &p.retention_rules {
                check("processing.retention-rules name".into(), &r.name, MAX_NAME);
                check(
                    "processing.retention-rules description".into(),
                    &r.description,
                    MAX_TEXT,
                );
            }
        }
    }
}

/// Ids no plugin may take.
/// Ids the host routes or names itself: bridge ops (`site.*`, `privacy.*`,
/// `plugin.*`), SQLite's own names (`sqlite_*` tables, `pragma_*`
/// functions, the `main` and `temp` schemas) and the host's parts. Ids that
/// start with `sqlite` are reserved too (SQLite refuses `sqlite_*` tables).
pub const RESERVED_IDS: &[&str] = &[
    "wasmdesk", "host", "site", "plugin", "plugins", "privacy", "pragma", "sqlite", "audit",
    "bridge", "main", "temp", "wasi",
];

/// Whether the host keeps `id` for itself.
pub fn is_reserved(id: &str) -> bool {
    RESERVED_IDS.contains(&id) || id.starts_with("sqlite")
}

pub use crate::contract::{valid_hook_name, valid_id};

impl Manifest {
    /// Every problem that stops this manifest from being enabled, given the
    /// file it came from and the interfaces the component exports.
    pub fn problems(&self, file_id: &str, exports: &Exports) -> Vec<String> {
        let mut problems = Vec::new();
        if !valid_id(&self.id) {
            problems.push(format!(
                "id {:?} is not valid: use lower-case letters, digits and single dashes, starting with a letter",
                self.id
            ));
        } else if is_reserved(&self.id) {
            problems.push(format!("id {:?} is reserved for the host", self.id));
        }
        if self.id != file_id {
            problems.push(format!(
                "the file is named {file_id}.wasm but the plugin's id is {:?}: rename the file to {}.wasm",
                self.id, self.id
            ));
        }
        if self.version.split('.').count() != 3
            || self.version.split('.').any(|p| p.parse::<u64>().is_err())
        {
            problems.push(format!(
                "version {:?} is not of the form MAJOR.MINOR.PATCH",
                self.version
            ));
        }
        for cap in &self.capabilities {
            let capability = cap.capability();
            if let Err(e) = capability.to_string().parse::<Capability>() {
                problems.push(e);
            } else if let Some(refusal) = capability.refusal(&self.id) {
                problems.push(format!("asks for {refusal}"));
            }
        }
        self.check_texts(&mut problems);
        let mut seen = std::collections::BTreeSet::new();
        for command in &self.commands {
            if !valid_id(&command.name) {
                problems.push(format!(
                    "command name {:?} is not valid: use lower-case letters, digits and dashes",
                    command.name
                ));
            }
            if !seen.insert(&command.name) {
                problems.push(format!("command {:?} is listed twice", command.name));
            }
        }
        if !self.commands.is_empty() && exports.commands.is_none() {
            problems.push("lists commands but does not export wasmdesk:plugin/commands".into());
        }
        let used_filters = self.commands.iter().flat_map(|c| {
            c.argument_filters
                .iter()
                .map(|f| &f.filter)
                .chain(c.result_filter.as_ref())
        });
        for name in self
            .actions
            .iter()
            .chain(self.filters.iter().map(|f| &f.name))
            .chain(used_filters)
        {
            if !valid_hook_name(name) {
                problems.push(format!(
                    "hook name {name:?} is not valid (e.g. ticket.created)"
                ));
            }
        }
        if (!self.actions.is_empty() || !self.filters.is_empty()) && exports.hooks.is_none() {
            problems.push(
                "handles actions or filters but does not export wasmdesk:plugin/hooks".into(),
            );
        }
        if let Some(processing) = &self.processing {
            // What WordPress lacks: a plugin that stores personal data and
            // cannot export and erase it is not enabled at all.
            if !processing.personal_data.is_empty() && exports.privacy.is_none() {
                problems.push(
                    "declares personal data but does not export wasmdesk:plugin/privacy: every plugin \
                     that stores personal data must export and erase it"
                        .into(),
                );
            }
            let ns = Namespace::of(&self.id);
            for field in &processing.personal_data {
                if !ns.owns(&field.table) {
                    problems.push(format!(
                        "declares personal data in {}.{}, outside its namespace ({}*)",
                        field.table,
                        field.column,
                        ns.prefix()
                    ));
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lower_case_words_joined_by_single_dashes() {
        for good in ["tickets", "crm-sync", "a1", "x-2-y"] {
            assert!(valid_id(good), "{good}");
        }
        for bad in [
            "",
            "Tickets",
            "1x",
            "crm_sync",
            "a--b",
            "a-",
            "-a",
            "a.b",
            &"x".repeat(41),
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn every_id_the_host_routes_is_reserved() {
        for id in [
            "privacy", "site", "plugin", "pragma", "sqlite", "sqlite-x", "wasmdesk",
        ] {
            assert!(is_reserved(id), "{id}");
        }
        for id in ["pragma-tools", "privacy-notes", "tickets", "consent"] {
            assert!(!is_reserved(id), "{id}");
        }
    }
}
