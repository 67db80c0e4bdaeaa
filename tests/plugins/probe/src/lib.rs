//! Test plugin `probe`: runs whatever SQL the test sends, to exercise the
//! capability checks. Owns `probe__items`.

use serde_json::{Value as Json, json};
use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin, StoreError, Value, args, clock, store};

struct Probe;

impl Plugin for Probe {
    fn manifest() -> PluginManifest {
        PluginManifest::new("probe", "0.1.0", "Runs the SQL it is given (test plugin).")
            .command(CommandInfo::new("exec", "Run one statement"))
            .command(CommandInfo::new(
                "batch",
                "Run statements, then panic or fail if asked",
            ))
            .command(CommandInfo::new(
                "today",
                "The host's clock.today (contract 1.1)",
            ))
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        store::exec(
            "CREATE TABLE IF NOT EXISTS probe__items (id INTEGER PRIMARY KEY, v TEXT)",
            &[],
        )?;
        Ok(())
    }

    fn run(name: &str, args: &str) -> Result<String, CommandError> {
        let args = args::json(args)?;
        let swallow = args["swallow"].as_bool().unwrap_or(false);
        match name {
            "today" => Ok(json!({ "today": clock::today() }).to_string()),
            "exec" => {
                let sql = args["sql"]
                    .as_str()
                    .ok_or_else(|| CommandError::bad_request("sql is required"))?;
                let params: Vec<Value> = args["params"]
                    .as_array()
                    .map(|a| a.iter().map(to_value).collect())
                    .unwrap_or_default();
                match store::execute(sql, &params) {
                    Ok(result) => Ok(json!({
                        "columns": result.columns,
                        "rows": result.rows.iter().map(|r| r.iter().map(to_json).collect::<Vec<_>>()).collect::<Vec<_>>(),
                        "changed": result.rows_changed,
                    })
                    .to_string()),
                    Err(e) if swallow => Ok(json!({"error": describe(&e)}).to_string()),
                    Err(e) => Err(CommandError::Store(e)),
                }
            }
            "batch" => {
                let mut errors = Vec::new();
                for sql in args["statements"].as_array().into_iter().flatten() {
                    if let Err(e) = store::execute(sql.as_str().unwrap_or(""), &[]) {
                        if !swallow {
                            return Err(CommandError::Store(e));
                        }
                        errors.push(describe(&e));
                    }
                }
                match args["then"].as_str() {
                    Some("panic") => panic!("probe: panicking after its writes, as asked"),
                    Some("fail") => Err(CommandError::failed("failing after its writes, as asked")),
                    _ => Ok(json!({"errors": errors}).to_string()),
                }
            }
            other => Err(CommandError::bad_request(format!(
                "unknown command {other}"
            ))),
        }
    }
}

fn to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Integer(*b as i64),
        Json::Number(n) => n
            .as_i64()
            .map(Value::Integer)
            .unwrap_or_else(|| Value::Real(n.as_f64().unwrap_or(0.0))),
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

/// As `store::to_json`, but a blob shows as `<N bytes>`, not a number.
fn to_json(v: &Value) -> Json {
    match v {
        Value::Blob(b) => json!(format!("<{} bytes>", b.len())),
        other => store::to_json(other),
    }
}

fn describe(e: &StoreError) -> Json {
    match e {
        StoreError::AccessDenied(d) => {
            json!({"kind": "access-denied", "action": d.action, "target": d.target, "message": d.message})
        }
        StoreError::Sql(m) => json!({"kind": "sql", "message": m}),
        StoreError::LimitExceeded(m) => json!({"kind": "limit-exceeded", "message": m}),
        StoreError::InvalidParameter(m) => json!({"kind": "invalid-parameter", "message": m}),
    }
}

wasmdesk_plugin::export!(Probe, [lifecycle, commands]);
