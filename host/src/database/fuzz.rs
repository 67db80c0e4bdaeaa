//! Property tests (run by `cargo xtask test`): no name or SQL a plugin can
//! send makes the authorizer, the policy or the namespace checks panic, and
//! none of it leaves the call's transaction ended behind the host's back.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::namespace::{self, Namespace};
use super::plugin_db::{CallAccess, PluginDb};
use super::policy::{Access, Object, Policy, Request, SchemaOp};
use crate::contract::types::Value;

/// Names as a plugin can write them: any UTF-8, with the prefixes the
/// checks look at mixed in so that their byte offsets fall inside
/// multi-byte characters.
fn name() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "",
        "sqlite_",
        "sqlite",
        "sqlite_autoindex_",
        "sqlite_autoinde",
        "pragma_",
        "pragma",
        "probe__",
        "probe_",
        "notes__",
        "wasmdesk__",
        "__",
        "é",
        "probé__",
    ]);
    (prefix, any::<String>(), "[a-zé_\u{1F600}\u{202e}]{0,6}")
        .prop_map(|(p, s, t)| format!("{p}{t}{s}"))
}

proptest! {
    #[test]
    fn policy_and_namespace_checks_never_panic(table in name(), other in name()) {
        let policy = Policy::new("probe", [("notes__notes".to_string(), Access::Read)]);
        for request in [
            Request::Read { table: &table },
            Request::Write { table: &table },
            Request::Schema { op: SchemaOp::Create, object: Object::Index, name: &table, on_table: Some(&other) },
            Request::Schema { op: SchemaOp::Alter, object: Object::Table, name: &table, on_table: None },
            Request::VirtualTable { op: SchemaOp::Create, name: &table, module: &other },
            Request::Pragma { name: &table, arg: Some(&other) },
            Request::Function { name: &table },
        ] {
            let _ = policy.check(request, None);
            let _ = policy.check(request, Some(&other));
        }
        let _ = Namespace::containing(&table);
        let _ = namespace::is_sqlite_internal(&table);
        let _ = namespace::is_host_table(&table);
        let _ = super::policy::is_auto_index(&table);
        let mut found = Default::default();
        crate::emails::collect(&format!("{table}@{other}.com {other}"), &mut found);
    }
}

/// A plugin connection to a fresh site database, in a call.
fn plugin_db(dir: &std::path::Path) -> PluginDb {
    let path = dir.join("site.db");
    {
        let conn = super::db::open_connection(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS notes__notes (id INTEGER PRIMARY KEY, text TEXT);",
        )
        .unwrap();
    }
    let grants = vec![("notes__notes".to_string(), Access::Read)];
    let mut db = PluginDb::open(&path, "probe", grants.clone()).unwrap();
    db.begin_call(
        grants,
        Instant::now() + Duration::from_secs(60),
        1 << 20,
        CallAccess::ReadWrite,
    )
    .unwrap();
    db
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn plugin_sql_with_any_names_gets_an_answer_not_a_panic(
        table in name(),
        other in name(),
        raw in any::<String>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = plugin_db(dir.path());
        let quoted = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
        let (t, o) = (quoted(&table), quoted(&other));
        for sql in [
            format!("SELECT * FROM {t}"),
            format!("CREATE TABLE {t} (a REFERENCES {o} (id))"),
            format!("CREATE INDEX {t} ON probe__x (a)"),
            format!("CREATE TABLE probe__x AS SELECT * FROM {t}"),
            format!("INSERT INTO {t} SELECT * FROM {o}"),
            format!("ALTER TABLE probe__x RENAME TO {t}"),
            format!("CREATE VIEW {t} AS SELECT * FROM {o}"),
            format!("PRAGMA {table}({o})"),
            format!("SELECT {table}({o})"),
            raw.clone(),
        ] {
            let _ = db.execute(&sql, &[Value::Text(other.clone())]);
        }
        // Whatever committed stayed inside the plugin's namespace.
        let _ = db.finish_call(true);
        drop(db);
        let conn = super::db::open_connection(&dir.path().join("site.db")).unwrap();
        let mut stmt = conn.prepare("SELECT name FROM sqlite_schema").unwrap();
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for name in names {
            prop_assert!(
                Namespace::of("probe").owns(&name)
                    || name == "notes__notes"
                    || namespace::is_sqlite_internal(&name),
                "{name} was left outside the namespace"
            );
        }
    }
}
