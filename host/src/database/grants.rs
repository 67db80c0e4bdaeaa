//! The grants the site owner approved: which plugin may read or write which
//! table outside its namespace.

use std::fmt;
use std::str::FromStr;

use rusqlite::{Connection, params};

use super::DatabaseError;
use super::namespace::{self, Namespace};
use super::policy::Access;

/// `read:TABLE` or `write:TABLE`, as typed on the command line.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Capability {
    pub table: String,
    pub access: Access,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.access, self.table)
    }
}

impl FromStr for Capability {
    type Err = String;

    fn from_str(s: &str) -> Result<Capability, String> {
        let (access, table) = s.split_once(':').ok_or_else(|| {
            format!("capability {s:?} is not of the form read:TABLE or write:TABLE")
        })?;
        let access = Access::parse(access).ok_or_else(|| {
            format!("capability {s:?}: access must be read or write, not {access:?}")
        })?;
        let valid = !table.is_empty()
            && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !table.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(format!(
                "capability {s:?}: {table:?} is not a table name (letters, digits, underscores)"
            ));
        }
        Ok(Capability {
            table: table.to_string(),
            access,
        })
    }
}

impl Capability {
    /// Why this capability can never be granted to `plugin`, if so.
    pub fn refusal(&self, plugin: &str) -> Option<String> {
        if namespace::is_host_table(&self.table) {
            Some(format!(
                "{self}: table {} belongs to the host and cannot be granted",
                self.table
            ))
        } else if Namespace::of(plugin).owns(&self.table) {
            Some(format!(
                "{self}: table {} is already in {plugin}'s own namespace",
                self.table
            ))
        } else if Namespace::containing(&self.table).is_none() {
            Some(format!(
                "{self}: {} is in no plugin's namespace (tables are named PLUGIN__NAME)",
                self.table
            ))
        } else {
            None
        }
    }
}

/// The plugin's grants, sorted by table.
pub fn list(conn: &Connection, plugin: &str) -> Result<Vec<(String, Access)>, DatabaseError> {
    let mut stmt = conn.prepare_cached(
        "SELECT tbl, access FROM wasmdesk__grants WHERE plugin = ?1 ORDER BY lower(tbl)",
    )?;
    let rows = stmt.query_map([plugin], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut grants = Vec::new();
    for row in rows {
        let (table, access) = row?;
        let access = Access::parse(&access).unwrap_or(Access::Read);
        grants.push((table, access));
    }
    Ok(grants)
}

/// Grant `cap` to `plugin`, replacing any grant on the same table.
pub fn grant(
    conn: &Connection,
    plugin: &str,
    cap: &Capability,
    now_ms: i64,
) -> Result<(), DatabaseError> {
    conn.execute(
        "INSERT INTO wasmdesk__grants (plugin, tbl, access, granted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (plugin, tbl) DO UPDATE SET access = excluded.access, granted_at = excluded.granted_at",
        params![plugin, cap.table, cap.access.as_str(), now_ms],
    )?;
    Ok(())
}

/// Take back `cap`: revoking write leaves read; revoking read removes the
/// grant. Returns whether anything changed.
pub fn revoke(conn: &Connection, plugin: &str, cap: &Capability) -> Result<bool, DatabaseError> {
    let changed = match cap.access {
        Access::Write => conn.execute(
            "UPDATE wasmdesk__grants SET access = 'read' WHERE plugin = ?1 AND tbl = ?2 AND access = 'write'",
            params![plugin, cap.table],
        )?,
        Access::Read => conn.execute(
            "DELETE FROM wasmdesk__grants WHERE plugin = ?1 AND tbl = ?2",
            params![plugin, cap.table],
        )?,
    };
    Ok(changed > 0)
}

/// Remove every grant of `plugin`.
pub fn revoke_all(conn: &Connection, plugin: &str) -> Result<(), DatabaseError> {
    conn.execute("DELETE FROM wasmdesk__grants WHERE plugin = ?1", [plugin])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_parse_and_print_the_same() {
        let cap: Capability = "write:tickets__messages".parse().unwrap();
        assert_eq!(cap.to_string(), "write:tickets__messages");
    }

    #[test]
    fn bad_capabilities_say_what_is_wrong() {
        assert!(
            "tickets__x"
                .parse::<Capability>()
                .unwrap_err()
                .contains("read:TABLE")
        );
        assert!(
            "delete:x__y"
                .parse::<Capability>()
                .unwrap_err()
                .contains("read or write")
        );
        assert!(
            "read:x; drop"
                .parse::<Capability>()
                .unwrap_err()
                .contains("not a table name")
        );
    }

    #[test]
    fn host_own_and_unowned_tables_are_refused() {
        let cap = |s: &str| s.parse::<Capability>().unwrap();
        assert!(cap("read:wasmdesk__grants").refusal("x").is_some());
        assert!(cap("read:x__t").refusal("x").is_some());
        assert!(cap("read:plain").refusal("x").is_some());
        assert!(cap("read:tickets__tickets").refusal("x").is_none());
    }
}
