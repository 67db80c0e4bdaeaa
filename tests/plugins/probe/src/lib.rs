//! Test plugin `probe`: runs whatever SQL the test sends, to exercise the
//! capability checks. Owns `probe__items`.

wit_bindgen::generate!({
    inline: r#"
        package test:probe;
        world probe {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::{lifecycle, manifest};
use serde_json::{Value as Json, json};
use wasmdesk::plugin::store;
use wasmdesk::plugin::types::{StoreError, Value};

struct Probe;

impl manifest::Guest for Probe {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "probe".into(),
            version: "0.1.0".into(),
            description: "Runs the SQL it is given (test plugin).".into(),
            capabilities: vec![],
            commands: vec![
                manifest::CommandInfo {
                    name: "exec".into(),
                    description: "Run one statement".into(),
                    argument_filters: vec![],
                    result_filter: None,
                },
                manifest::CommandInfo {
                    name: "batch".into(),
                    description: "Run statements, then panic or fail if asked".into(),
                    argument_filters: vec![],
                    result_filter: None,
                },
                manifest::CommandInfo {
                    name: "today".into(),
                    description: "The host's clock.today (contract 1.1)".into(),
                    argument_filters: vec![],
                    result_filter: None,
                },
            ],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl lifecycle::Guest for Probe {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        store::execute(
            "CREATE TABLE IF NOT EXISTS probe__items (id INTEGER PRIMARY KEY, v TEXT)",
            &[],
        )
        .map(drop)
        .map_err(|e| format!("{e:?}"))
    }
}

impl commands::Guest for Probe {
    fn run(name: String, args: String) -> Result<String, CommandError> {
        let args: Json =
            serde_json::from_str(&args).map_err(|e| CommandError::BadRequest(e.to_string()))?;
        let swallow = args["swallow"].as_bool().unwrap_or(false);
        match name.as_str() {
            "today" => Ok(json!({ "today": wasmdesk::plugin::clock::today() }).to_string()),
            "exec" => {
                let sql = args["sql"]
                    .as_str()
                    .ok_or_else(|| CommandError::BadRequest("sql is required".into()))?;
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
                    Some("fail") => Err(CommandError::Failed(
                        "failing after its writes, as asked".into(),
                    )),
                    _ => Ok(json!({"errors": errors}).to_string()),
                }
            }
            other => Err(CommandError::BadRequest(format!("unknown command {other}"))),
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

fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Integer(i) => json!(i),
        Value::Real(f) => json!(f),
        Value::Text(s) => json!(s),
        Value::Blob(b) => json!(format!("<{} bytes>", b.len())),
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

export!(Probe);
