//! A fresh site in a temp dir, driven through the real binary.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

pub struct TestSite {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

/// What one `wasmdesk` run returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON (for `--json` runs and `call`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// The JSON error a `--json` run printed on stderr.
    pub fn error(&self) -> Value {
        let v: Value = serde_json::from_str(&self.stderr)
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {self:?}"));
        v["error"].clone()
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "wasmdesk failed: {self:?}");
        self
    }
}

/// Path of a built guest by plugin id.
pub fn artifact(id: &str) -> &'static str {
    test_artifacts::ALL
        .iter()
        .find(|(name, _)| *name == id)
        .map(|(_, path)| *path)
        .unwrap_or_else(|| panic!("no guest named {id}"))
}

impl TestSite {
    /// A new, initialised site.
    pub fn new() -> TestSite {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("site");
        let site = TestSite { _dir: dir, root };
        site.run(&["init"]).ok();
        site
    }

    /// A site with these plugins copied in and enabled.
    pub fn with(plugins: &[&str]) -> TestSite {
        let site = TestSite::new();
        for id in plugins {
            site.install(id);
            site.run(&["plugin", "enable", id, "--yes"]).ok();
        }
        site
    }

    /// Copy a built guest into plugins/ as ID.wasm (pending).
    pub fn install(&self, id: &str) {
        self.install_as(id, id);
    }

    pub fn install_as(&self, id: &str, file_id: &str) {
        std::fs::copy(artifact(id), self.plugin_path(file_id)).expect("copy plugin");
    }

    pub fn plugin_path(&self, id: &str) -> PathBuf {
        self.root.join("plugins").join(format!("{id}.wasm"))
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join("site.db")
    }

    /// Run `wasmdesk --site ROOT ARGS...`.
    pub fn run(&self, args: &[&str]) -> Run {
        run_in(&self.root, args)
    }

    /// `wasmdesk call PLUGIN.COMMAND JSON`.
    pub fn call(&self, op: &str, args: Value) -> Run {
        self.run(&["call", op, &args.to_string()])
    }

    /// `wasmdesk --json call ...`, expected to fail: its error object.
    #[track_caller]
    pub fn call_err(&self, op: &str, args: Value) -> (i32, Value) {
        let run = self.run(&["--json", "call", op, &args.to_string()]);
        assert_ne!(run.code, 0, "expected {op} to fail: {run:?}");
        (run.code, run.error())
    }

    /// Run SQL through the probe plugin.
    pub fn probe(&self, sql: &str) -> Run {
        self.call("probe.exec", serde_json::json!({ "sql": sql }))
    }

    /// Open the site database directly, as an auditor would.
    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db_path()).expect("open site.db")
    }

    /// Rows of `table` in the site database (0 when it does not exist).
    pub fn count(&self, table: &str) -> i64 {
        let conn = self.sqlite();
        let exists: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        if !exists {
            return 0;
        }
        conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
            r.get(0)
        })
        .unwrap()
    }

    /// Feed `lines` to one `wasmdesk bridge` process and return its
    /// responses. Lines are written from a thread, so a long input cannot
    /// stall on a full output pipe.
    pub fn bridge(&self, lines: Vec<String>) -> Vec<Value> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasmdesk"))
            .arg("--site")
            .arg(&self.root)
            .arg("bridge")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the bridge");
        let mut stdin = child.stdin.take().expect("piped stdin");
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            for line in lines {
                writeln!(stdin, "{line}").expect("write a request");
            }
        });
        let output = child.wait_with_output().expect("the bridge ends");
        writer.join().expect("the writer finishes");
        assert!(
            output.status.success(),
            "bridge exited with {:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("UTF-8 responses")
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("response {l:?} is not JSON: {e}"))
            })
            .collect()
    }

    /// One request through a fresh bridge process: its response.
    pub fn bridge_one(&self, request: Value) -> Value {
        self.bridge(vec![request.to_string()]).remove(0)
    }

    /// The audit log's `plugin.call` entries of `plugin`, oldest first.
    pub fn plugin_calls(&self, plugin: &str) -> Vec<Value> {
        let all = [
            "--json",
            "audit",
            "log",
            "--limit",
            "0",
            "--plugin",
            plugin,
            "--action",
            "plugin.call",
        ];
        self.run(&all).ok().json()["entries"]
            .as_array()
            .expect("entries")
            .clone()
    }

    /// Start `wasmdesk --site ROOT ARGS` without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_wasmdesk"))
            .arg("--site")
            .arg(&self.root)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wasmdesk")
    }

    pub fn table_exists(&self, table: &str) -> bool {
        self.sqlite()
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap()
    }
}

pub fn run_in(site: &Path, args: &[&str]) -> Run {
    let site_args = [OsStr::new("--site"), site.as_os_str()];
    wasmdesk(
        site_args.into_iter().chain(args.iter().map(OsStr::new)),
        None,
    )
}

/// `wasmdesk ARGS` in the folder `cwd`, for the commands that need no site.
pub fn run_in_folder(cwd: &Path, args: &[&str]) -> Run {
    wasmdesk(args.iter().map(OsStr::new), Some(cwd))
}

/// `wasmdesk --site ROOT ARGS` with extra environment variables.
pub fn wasmdesk_with_env(site: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let site_args = [OsStr::new("--site"), site.as_os_str()];
    wasmdesk_env(
        site_args.into_iter().chain(args.iter().map(OsStr::new)),
        None,
        env,
    )
}

fn wasmdesk<'a>(args: impl IntoIterator<Item = &'a OsStr>, cwd: Option<&Path>) -> Run {
    wasmdesk_env(args, cwd, &[])
}

fn wasmdesk_env<'a>(
    args: impl IntoIterator<Item = &'a OsStr>,
    cwd: Option<&Path>,
    env: &[(&str, &str)],
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmdesk"));
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    command.envs(env.iter().copied());
    let output = command
        .args(args)
        .env_remove("WASMDESK_SITE")
        .stdin(Stdio::null())
        .output()
        .expect("run wasmdesk");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A plugin project made by `wasmdesk plugin new ID --lang LANG` in a
/// folder outside the workspace, built once per test run by its own
/// `build.sh` with the toolchain `cargo xtask test` installs (passed in
/// `tool_env`, else found where it installs it): the wasm's path. `py-notes` and `js-notes` are the
/// Python and JavaScript examples, file for file.
fn new_project_built(id: &str, lang: &str, tool_env: &str, installed: &str) -> PathBuf {
    // `build.sh` takes the tool from COMPONENTIZE_PY or COMPONENTIZE_JS.
    let script_env = tool_env.trim_start_matches("WASMDESK_");
    let tool = std::env::var_os(tool_env)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join(installed));
    assert!(
        tool.is_file(),
        "{} not found: run the tests with `cargo xtask test`, which installs it",
        tool.display()
    );
    let parent = tempfile::Builder::new()
        .prefix("wasmdesk-new-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let made = run_in_folder(&parent, &["plugin", "new", id, "--lang", lang]);
    assert_eq!(made.code, 0, "{made:?}");
    let project = parent.join(id);
    let built = Command::new(project.join("build.sh"))
        .env(script_env, &tool)
        .output()
        .expect("run build.sh");
    assert!(
        built.status.success(),
        "build.sh failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    project.join(format!("{}.wasm", id.replace('-', "_")))
}

/// The Python example (`py-notes`), from `plugin new --lang python`.
pub fn python_example() -> &'static Path {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        new_project_built(
            "py-notes",
            "python",
            "WASMDESK_COMPONENTIZE_PY",
            "../py-venv/bin/componentize-py",
        )
    })
}

/// The JavaScript example (`js-notes`), from `plugin new --lang javascript`.
pub fn javascript_example() -> &'static Path {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        new_project_built(
            "js-notes",
            "javascript",
            "WASMDESK_COMPONENTIZE_JS",
            "../js-tools/node_modules/.bin/componentize-js",
        )
    })
}
