//! Test plugin `ledger`: one column per erasure policy and a retention
//! rule. Invoices keep the customer's address (`retain`, reported as
//! retained), comments keep their row with the author replaced
//! (`anonymise`), and comments older than the rule's days are deleted.
//! The command `bug {kind}` breaks one of these on purpose, for the test
//! kit to catch: `delete-anonymised`, `silent-retain`, `retention`.

use wasmdesk_plugin::manifest::{
    CommandInfo, DataPolicy, PluginManifest, Processing, RetentionDuty,
};
use wasmdesk_plugin::privacy::{
    ErasePage, ExportItem, ExportPage, RetainedItem, RetentionReport, Subject,
};
use wasmdesk_plugin::{CommandError, Plugin, StoreError, Value, clock, store};

const REASON: &str = "invoices: commercial code, 10 years";

struct Ledger;

fn fail(e: StoreError) -> String {
    format!("ledger: {e:?}")
}

fn bug(kind: &str) -> bool {
    store::execute("SELECT 1 FROM ledger__bugs WHERE kind = ?1", &[kind.into()])
        .is_ok_and(|r| !r.rows.is_empty())
}

impl Plugin for Ledger {
    fn manifest() -> PluginManifest {
        PluginManifest::new("ledger", "0.1.0", "Invoices and comments (test plugin).")
            .command(CommandInfo::new("invoice", "{email, amount}"))
            .command(CommandInfo::new("comment", "{email, body}"))
            .command(CommandInfo::new("bug", "{kind}"))
            .processing(
                Processing::new("billing")
                    .data_categories(["contact"])
                    .data_subjects(["customers"])
                    .retention("invoices 10 years, comments 1 year")
                    .personal_field(
                        "ledger__invoices",
                        "email",
                        "contact",
                        DataPolicy::Retain(RetentionDuty {
                            reason: REASON.into(),
                            days: 3650,
                        }),
                    )
                    .personal_field(
                        "ledger__comments",
                        "author",
                        "contact",
                        DataPolicy::Anonymise,
                    )
                    .retention_rule("old-comments", "Delete comments older than this", 365),
            )
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        for sql in [
            "CREATE TABLE IF NOT EXISTS ledger__invoices (id INTEGER PRIMARY KEY, email TEXT, amount INTEGER)",
            "CREATE TABLE IF NOT EXISTS ledger__comments (id INTEGER PRIMARY KEY, author TEXT, body TEXT, created_at INTEGER)",
            "CREATE TABLE IF NOT EXISTS ledger__bugs (kind TEXT PRIMARY KEY)",
        ] {
            store::execute(sql, &[]).map_err(fail)?;
        }
        Ok(())
    }

    fn run(name: &str, args: &str) -> Result<String, CommandError> {
        let args: serde_json::Value =
            serde_json::from_str(args).map_err(|e| CommandError::bad_request(e.to_string()))?;
        let arg = |key: &str| -> Result<Value, CommandError> {
            args[key]
                .as_str()
                .map(Value::from)
                .ok_or_else(|| CommandError::bad_request(format!("{key} is required")))
        };
        let r = match name {
            "invoice" => store::execute(
                "INSERT INTO ledger__invoices (email, amount) VALUES (?1, ?2)",
                &[arg("email")?, args["amount"].as_i64().unwrap_or(0).into()],
            ),
            "comment" => store::execute(
                "INSERT INTO ledger__comments (author, body, created_at) VALUES (?1, ?2, ?3)",
                &[arg("email")?, arg("body")?, clock::now_ms().into()],
            ),
            "bug" => store::execute(
                "INSERT OR IGNORE INTO ledger__bugs (kind) VALUES (?1)",
                &[arg("kind")?],
            ),
            other => return Err(CommandError::bad_request(format!("no command {other}"))),
        }?;
        Ok(serde_json::json!({"id": r.last_insert_rowid}).to_string())
    }

    fn export_data(subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        let email: Value = (&subject.email).into();
        let mut items = Vec::new();
        for (group, sql) in [
            (
                "invoices",
                "SELECT id, CAST(amount AS TEXT) FROM ledger__invoices WHERE email = ?1",
            ),
            (
                "comments",
                "SELECT id, body FROM ledger__comments WHERE author = ?1",
            ),
        ] {
            let r = store::execute(sql, std::slice::from_ref(&email)).map_err(fail)?;
            for row in &r.rows {
                if let [Value::Integer(id), Value::Text(value)] = row.as_slice() {
                    items.push(
                        ExportItem::new(group, group, id.to_string())
                            .field("Email", &subject.email)
                            .field("Value", value),
                    );
                }
            }
        }
        Ok(ExportPage::last(items))
    }

    fn erase_data(
        subject: Subject,
        _cursor: Option<String>,
        dry_run: bool,
    ) -> Result<ErasePage, String> {
        let email: Value = subject.email.into();
        let invoices = store::execute(
            "SELECT id FROM ledger__invoices WHERE email = ?1",
            std::slice::from_ref(&email),
        )
        .map_err(fail)?;
        let items_retained = if bug("silent-retain") {
            vec![]
        } else {
            invoices
                .rows
                .iter()
                .filter_map(|row| match row.as_slice() {
                    [Value::Integer(id)] => Some(RetainedItem {
                        item: format!("invoice {id}"),
                        reason: REASON.into(),
                    }),
                    _ => None,
                })
                .collect()
        };
        let mut removed = 0;
        if !dry_run {
            let sql = if bug("delete-anonymised") {
                "DELETE FROM ledger__comments WHERE author = ?1"
            } else {
                "UPDATE ledger__comments SET author = 'anonymous' WHERE author = ?1"
            };
            removed = store::exec(sql, &[email]).map_err(fail)?;
        }
        Ok(ErasePage {
            items_retained,
            ..ErasePage::last(removed)
        })
    }

    fn apply_retention(
        rule: &str,
        cutoff_ms: i64,
        dry_run: bool,
    ) -> Result<RetentionReport, String> {
        if bug("retention") {
            return Err(format!("ledger: rule {rule} broke (as asked)"));
        }
        let cutoff: Value = cutoff_ms.into();
        let removed = if dry_run {
            let r = store::execute(
                "SELECT count(*) FROM ledger__comments WHERE created_at < ?1",
                &[cutoff],
            )
            .map_err(fail)?;
            match r.rows.first().map(|row| row.as_slice()) {
                Some([Value::Integer(n)]) => *n as u64,
                _ => 0,
            }
        } else {
            store::exec(
                "DELETE FROM ledger__comments WHERE created_at < ?1",
                &[cutoff],
            )
            .map_err(fail)?
        };
        Ok(RetentionReport {
            items_removed: removed,
            messages: vec![],
        })
    }
}

wasmdesk_plugin::export!(Ledger, [lifecycle, commands, privacy]);
