//! The capability check, request by request: what each grant allows and
//! what is never allowed.

use super::*;

fn reports() -> Policy {
    Policy::new("reports", [("tickets__tickets".to_string(), Access::Read)])
}

#[test]
fn an_id_that_starts_like_a_pragma_owns_its_namespace() {
    let p = Policy::new("pragma-tools", []);
    assert_eq!(
        p.check(
            Request::Read {
                table: "pragma_tools__t"
            },
            None
        ),
        Ok(())
    );
    assert_eq!(
        p.check(
            Request::Write {
                table: "PRAGMA_TOOLS__t"
            },
            None
        ),
        Ok(())
    );
    assert!(
        p.check(
            Request::Read {
                table: "pragma_table_list"
            },
            None
        )
        .is_err()
    );
    assert!(
        p.check(
            Request::Read {
                table: "pragma_tools_x"
            },
            None
        )
        .is_err()
    );
}

#[test]
fn own_namespace_is_read_write_without_grants() {
    let p = reports();
    assert!(
        p.check(
            Request::Read {
                table: "reports__cache"
            },
            None
        )
        .is_ok()
    );
    assert!(
        p.check(
            Request::Write {
                table: "reports__cache"
            },
            None
        )
        .is_ok()
    );
}

#[test]
fn a_read_grant_reads_but_does_not_write() {
    let p = reports();
    assert!(
        p.check(
            Request::Read {
                table: "tickets__tickets"
            },
            None
        )
        .is_ok()
    );
    let denial = p
        .check(
            Request::Write {
                table: "tickets__tickets",
            },
            None,
        )
        .unwrap_err();
    assert_eq!(denial.action, "write");
    assert_eq!(
        denial.message,
        "plugin \"reports\" may not write table tickets__tickets: grant it with: \
         wasmdesk plugin grant reports write:tickets__tickets"
    );
}

#[test]
fn write_implies_read_and_duplicate_grants_keep_the_stronger() {
    let p = Policy::new(
        "x",
        [
            ("t__a".to_string(), Access::Write),
            ("T__A".to_string(), Access::Read),
        ],
    );
    assert!(p.allows("t__a", Access::Read));
    assert!(p.allows("t__a", Access::Write));
}

#[test]
fn ungranted_and_missing_tables_get_the_same_denial() {
    let p = reports();
    let a = p
        .check(
            Request::Read {
                table: "crm__contacts",
            },
            None,
        )
        .unwrap_err();
    assert!(
        a.message
            .contains("grant it with: wasmdesk plugin grant reports read:crm__contacts")
    );
}

#[test]
fn host_tables_cannot_be_granted() {
    // Even a grant row written behind the registry's back opens nothing.
    let p = Policy::new("x", [("wasmdesk__grants".to_string(), Access::Write)]);
    let d = p
        .check(
            Request::Read {
                table: "wasmdesk__grants",
            },
            None,
        )
        .unwrap_err();
    assert!(d.message.contains("belongs to the host"));
    let d = p
        .check(
            Request::Read {
                table: "sqlite_schema",
            },
            None,
        )
        .unwrap_err();
    assert!(d.message.contains("SQLite's internal tables"));
}

#[test]
fn schema_changes_only_inside_the_namespace() {
    let p = reports();
    let create = |name, on| Request::Schema {
        op: SchemaOp::Create,
        object: Object::Index,
        name,
        on_table: on,
    };
    assert!(
        p.check(create("reports__i", Some("reports__t")), None)
            .is_ok()
    );
    assert!(
        p.check(create("reports__i", Some("tickets__tickets")), None)
            .is_err()
    );
    assert!(
        p.check(create("tickets__i", Some("reports__t")), None)
            .is_err()
    );
    assert!(
        p.check(
            create("sqlite_autoindex_reports__t_1", Some("reports__t")),
            None
        )
        .is_ok()
    );
    assert!(
        p.check(
            create("sqlite_autoindex_tickets__t_1", Some("tickets__t")),
            None
        )
        .is_err()
    );
    let drop = Request::Schema {
        op: SchemaOp::Drop,
        object: Object::Table,
        name: "tickets__tickets",
        on_table: None,
    };
    let d = p.check(drop, None).unwrap_err();
    assert_eq!(d.action, "drop");
    assert!(d.message.contains("own namespace (reports__*)"));
}

#[test]
fn views_and_triggers_never_widen_access() {
    let p = Policy::new("b", [("a__t".to_string(), Access::Read)]);
    // b reads a__t through its own view b__v: a__t is not in b's namespace.
    assert!(
        p.check(Request::Read { table: "a__t" }, Some("b__v"))
            .is_err()
    );
    // b reads a__t through a's view a__v: a__t is a's, and b holds a read grant.
    assert!(
        p.check(Request::Read { table: "a__t" }, Some("a__v"))
            .is_ok()
    );
    // a's view reaching c's table is refused even for a caller granted c's table.
    let q = Policy::new("b", [("c__t".to_string(), Access::Read)]);
    assert!(
        q.check(Request::Read { table: "c__t" }, Some("a__v"))
            .is_err()
    );
}

#[test]
fn dangerous_statements_are_always_denied() {
    let p = Policy::new("x", []);
    assert!(p.check(Request::Attach, None).is_err());
    assert!(p.check(Request::Transaction, None).is_err());
    assert!(
        p.check(
            Request::Function {
                name: "load_extension"
            },
            None
        )
        .is_err()
    );
    assert!(p.check(Request::Function { name: "lower" }, None).is_ok());
    assert!(
        p.check(
            Request::Pragma {
                name: "journal_mode",
                arg: Some("delete")
            },
            None
        )
        .is_err()
    );
    assert!(
        p.check(
            Request::Pragma {
                name: "table_info",
                arg: Some("x__t")
            },
            None
        )
        .is_ok()
    );
    assert!(
        p.check(
            Request::Pragma {
                name: "table_info",
                arg: Some("y__t")
            },
            None
        )
        .is_err()
    );
    assert!(p.check(Request::TempObject { name: "x__t" }, None).is_err());
    assert!(p.check(Request::Savepoint, None).is_ok());
}
