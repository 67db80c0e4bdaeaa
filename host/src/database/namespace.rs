//! Table namespaces: which tables a plugin owns, derived from its id.
//! Plugin `crm-sync` owns every table whose name starts with `crm_sync__`.

/// The host's own tables live here; no plugin may use this id.
pub const HOST_PREFIX: &str = "wasmdesk__";

/// The table prefix a plugin owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    prefix: String,
}

impl Namespace {
    /// The namespace of a plugin id. Ids are validated by the registry
    /// (lower-case letters, digits, single dashes), so the mapping `-` -> `_`
    /// plus the `__` separator cannot make two plugins share a prefix.
    pub fn of(plugin_id: &str) -> Namespace {
        Namespace {
            prefix: format!("{}__", plugin_id.replace('-', "_")),
        }
    }

    /// The namespace a schema object's name lies in: everything up to the
    /// first `__`. Plugin ids never contain `__`, so this is the owner's.
    pub fn containing(name: &str) -> Option<Namespace> {
        let end = name.find("__")? + 2;
        (end > 2).then(|| Namespace {
            prefix: name[..end].to_ascii_lowercase(),
        })
    }

    /// `crm_sync__`
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether `name` (a table, index, trigger or view) is inside the
    /// namespace. SQLite names are case-insensitive, and so is this.
    pub fn owns(&self, name: &str) -> bool {
        name.len() > self.prefix.len() && starts_with_ignore_case(name, &self.prefix)
    }
}

/// Whether a table belongs to the host (and so can never be granted).
pub fn is_host_table(name: &str) -> bool {
    Namespace {
        prefix: HOST_PREFIX.to_string(),
    }
    .owns(name)
        || is_sqlite_internal(name)
}

/// SQLite's own tables (`sqlite_schema`, `sqlite_sequence`, `sqlite_stat1`, ...).
pub fn is_sqlite_internal(name: &str) -> bool {
    starts_with_ignore_case(name, "sqlite_")
}

/// Whether `name` starts with the ASCII `prefix`, ignoring ASCII case. Safe
/// for any UTF-8 name: it never slices inside a character.
pub fn starts_with_ignore_case(name: &str, prefix: &str) -> bool {
    name.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashes_become_underscores_and_a_double_underscore_ends_the_prefix() {
        assert_eq!(Namespace::of("crm-sync").prefix(), "crm_sync__");
    }

    #[test]
    fn owns_is_case_insensitive_and_needs_a_name_after_the_prefix() {
        let ns = Namespace::of("tickets");
        assert!(ns.owns("tickets__messages"));
        assert!(ns.owns("TICKETS__Messages"));
        assert!(!ns.owns("tickets__"));
        assert!(!ns.owns("tickets_messages"));
        assert!(!ns.owns("ticketsx__messages"));
    }

    #[test]
    fn a_plugin_does_not_own_a_longer_ids_namespace() {
        // `a` must not own the tables of `a-b` (prefix `a_b__`).
        assert!(!Namespace::of("a").owns("a_b__t"));
        assert!(Namespace::of("a-b").owns("a_b__t"));
    }

    #[test]
    fn host_and_sqlite_tables_are_recognised() {
        assert!(is_host_table("wasmdesk__grants"));
        assert!(is_host_table("sqlite_schema"));
        assert!(is_host_table("SQLITE_MASTER"));
        assert!(!is_host_table("tickets__tickets"));
    }
}
