//! The connection's deadline, watchdog and heap budget, on real SQLite files.

use std::time::{Duration, Instant};

use super::*;

fn db_in_call(dir: &Path, deadline: Instant) -> PluginDb {
    let mut db = PluginDb::open(&dir.join("site.db"), "probe", vec![]).unwrap();
    db.begin_call(vec![], deadline, 1 << 20, CallAccess::ReadWrite)
        .unwrap();
    db
}

const SLOW: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                    LIMIT 300000) SELECT count(*) FROM c";

#[test]
fn the_plugins_deadline_does_not_interrupt_the_hosts_own_checks() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = db_in_call(dir.path(), Instant::now() - Duration::from_secs(1));
    let counted: i64 = db.host(|c| c.query_row(SLOW, [], |r| r.get(0))).unwrap();
    assert_eq!(counted, 300_000);
    // ... while the plugin's own statements stop at it.
    db.set_deadline(Some(Instant::now() + Duration::from_millis(20)));
    std::thread::sleep(Duration::from_millis(30));
    assert!(db.execute(SLOW, &[]).is_err());
    assert!(db.deadline_hit());
}

/// Counts to a billion: minutes, unless something stops it.
const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                       WHERE x < 1000000000) SELECT count(*) FROM c";

/// Interrupts `db`'s statement after `after` unless dropped first: a
/// test without a working watchdog fails instead of hanging.
fn referee(db: &PluginDb, after: Duration) -> std::sync::mpsc::Sender<()> {
    let (cancel, cancelled) = std::sync::mpsc::channel::<()>();
    let handle = db.conn.get_interrupt_handle();
    std::thread::spawn(move || {
        if cancelled.recv_timeout(after) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            handle.interrupt();
        }
    });
    cancel
}

#[test]
fn the_watchdog_stops_sql_the_progress_handler_never_sees_but_not_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = db_in_call(dir.path(), Instant::now() + Duration::from_millis(100));
    db.remove_progress_handler();
    let referee = referee(&db, Duration::from_secs(10));
    let started = Instant::now();
    let result = db.execute(ENDLESS, &[]);
    let took = started.elapsed();
    assert!(
        matches!(&result, Err(wit::StoreError::LimitExceeded(m)) if m.contains("deadline")),
        "{result:?}"
    );
    assert!(db.deadline_hit());
    assert!(
        took < Duration::from_secs(2),
        "stopped after {took:?}, not by the watchdog"
    );
    // The passed deadline stays set, so the watchdog keeps interrupting,
    // but never a host statement (this one runs for many of its rounds).
    let counted: i64 = db
        .host(|c| {
            c.query_row(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                 WHERE x < 2000000) SELECT count(*) FROM c",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(counted, 2_000_000);
    assert!(!db.finish_call(true).unwrap());
    drop(referee);
    // Dropping the connection stops and joins its watchdog.
    let started = Instant::now();
    drop(db);
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// A plugin statement that builds a 20 MB string in SQLite's heap
/// (10 000 hex strings of 2 000 characters and 9 999 commas).
const HUNGRY: &str = "SELECT length(group_concat(hex(randomblob(1000)))) FROM \
                      (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                      WHERE x < 10000) SELECT x FROM c)";

const MIB: usize = 1024 * 1024;

#[test]
fn sqlite_memory_over_the_plugins_budget_fails_the_call_and_the_next_call_works() {
    // SQLite's heap limit is process-wide and the other tests of this
    // binary run on threads beside this one: run it in a process alone.
    // The test's path without the crate's name, wherever the module moves.
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    let name = format!("{module}::heap_budget_alone");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--ignored", "--test-threads=1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run in a process of its own by \
            sqlite_memory_over_the_plugins_budget_fails_the_call_and_the_next_call_works"]
fn heap_budget_alone() {
    let limits = || unsafe {
        (
            rusqlite::ffi::sqlite3_hard_heap_limit64(-1),
            rusqlite::ffi::sqlite3_soft_heap_limit64(-1),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let mut db = db_in_call(dir.path(), Instant::now() + Duration::from_secs(60));
    db.set_memory_budget(16 * MIB);
    db.execute("CREATE TABLE probe__t (a)", &[]).unwrap();
    let result = db.execute(HUNGRY, &[]);
    assert!(
        matches!(&result, Err(wit::StoreError::LimitExceeded(m)) if m.contains("out of memory")),
        "{result:?}"
    );
    assert!(db.memory_exceeded());
    assert!(!db.deadline_hit() && db.fault().is_none() && db.denial().is_none());
    // The host's statements run under the process-wide limit again.
    assert_eq!(limits(), (db::SQLITE_HEAP_LIMIT, db::SQLITE_HEAP_LIMIT));
    // No further statement runs, and nothing commits.
    assert!(db.execute("INSERT INTO probe__t VALUES (1)", &[]).is_err());
    assert!(!db.finish_call(true).unwrap());
    // The next call works; with room, the same statement runs.
    db.begin_call(
        vec![],
        Instant::now() + Duration::from_secs(60),
        1 << 20,
        CallAccess::ReadWrite,
    )
    .unwrap();
    db.set_memory_budget(64 * MIB);
    db.execute("CREATE TABLE probe__t (a)", &[]).unwrap();
    let result = db.execute(HUNGRY, &[]).unwrap();
    assert!(
        matches!(result.rows.as_slice(), [row] if matches!(row.as_slice(), [Value::Integer(20_009_999)])),
        "{:?}",
        result.rows
    );
    assert!(db.finish_call(true).unwrap());
    assert_eq!(limits(), (db::SQLITE_HEAP_LIMIT, db::SQLITE_HEAP_LIMIT));
    let ok: String = db
        .host(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn a_check_that_fails_dooms_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = db_in_call(dir.path(), Instant::now() + Duration::from_secs(60));
    db.execute("CREATE TABLE probe__t (a)", &[]).unwrap();
    let failed: Result<(), wit::StoreError> =
        db.checked(|_| Err(wit::StoreError::Sql("interrupted".into())));
    assert!(failed.is_err());
    assert!(db.fault().unwrap().contains("interrupted"));
    // No statement runs after it, and nothing commits.
    assert!(db.execute("INSERT INTO probe__t VALUES (1)", &[]).is_err());
    assert!(!db.finish_call(true).unwrap());
    drop(db);
    let conn = rusqlite::Connection::open(dir.path().join("site.db")).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'probe__t'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);
}
