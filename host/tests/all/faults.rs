//! What an operator's bad day does to a site: a full disk. Nothing is
//! half-written, nothing is printed that was not recorded, the error code
//! is the host's, and the audit log does not cry tampering afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::support::{artifact, run_in};

/// A small tmpfs, unmounted when dropped (before its folder goes).
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(megabytes: u32) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !status.status.success() {
            return Err(String::from_utf8_lossy(&status.stderr).trim().to_string());
        }
        Ok(Tmpfs {
            path: dir.path().to_path_buf(),
            _dir: dir,
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Fill the file system under `dir` to the last byte.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.write_all(&[0u8; 512]);
    while file.write_all(&[0u8; 1]).is_ok() {}
    path
}

#[test]
fn a_full_disk_fails_calls_as_storage_full_and_leaves_nothing_half_written() {
    let fs = match Tmpfs::mount(64) {
        Ok(fs) => fs,
        Err(reason) => {
            eprintln!("skipped: cannot mount a tmpfs for a full disk here ({reason})");
            return;
        }
    };
    let root = fs.path.join("site");
    run_in(&root, &["init"]).ok();
    std::fs::copy(artifact("tickets"), root.join("plugins/tickets.wasm")).unwrap();
    run_in(&root, &["plugin", "enable", "tickets", "--yes"]).ok();
    let create = json!({"email": "a@example.com", "subject": "S", "body": "B"}).to_string();
    run_in(&root, &["call", "tickets.create", &create]).ok();
    let filler = fill(&fs.path);

    let big =
        json!({"email": "b@example.com", "subject": "S", "body": "x".repeat(100_000)}).to_string();
    let run = run_in(&root, &["--json", "call", "tickets.create", &big]);
    assert_eq!(run.code, 11, "{run:?}");
    assert_eq!(run.error()["code"], "storage_full");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "printed once: {}",
        run.stderr
    );

    // A read whose audit entry cannot be written prints nothing.
    let run = run_in(&root, &["--json", "call", "tickets.get", r#"{"id": 1}"#]);
    assert_ne!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "", "the ticket is withheld");
    assert_eq!(run.error()["code"], "storage_full", "{run:?}");
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "printed once: {}",
        run.stderr
    );

    std::fs::remove_file(filler).unwrap();
    let conn = rusqlite::Connection::open(root.join("site.db")).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let tickets: i64 = conn
        .query_row("SELECT count(*) FROM tickets__tickets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tickets, 1, "the failed create left nothing");
    drop(conn);
    let verify = run_in(&root, &["--json", "audit", "verify"]);
    assert_eq!(verify.code, 0, "no tampering happened: {verify:?}");
    run_in(&root, &["call", "tickets.create", &create]).ok();
}
