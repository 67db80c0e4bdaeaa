//! Site-owner settings of the tickets plugin, kept in `tickets__settings`.

use serde_json::{Value as Json, json};
use wasmdesk_plugin::CommandError;

use crate::db::{self, int, text};

/// (key, default, largest allowed)
const SETTINGS: &[(&str, i64, i64)] = &[
    ("max_attachment_bytes", 10 * 1024 * 1024, 32 * 1024 * 1024),
    ("trash_days", 30, 3650),
];

pub fn get(key: &str) -> Result<i64, CommandError> {
    let default = SETTINGS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, d, _)| *d)
        .unwrap_or(0);
    let r = db::run(
        "SELECT value FROM tickets__settings WHERE key = ?1",
        &[text(key)],
    )?;
    Ok(db::objects(&r)
        .first()
        .and_then(|o| o["value"].as_i64())
        .unwrap_or(default))
}

/// `{max_attachment_bytes?, trash_days?}` -> the settings after the change.
pub fn command(args: &Json) -> Result<Json, CommandError> {
    for (key, _, max) in SETTINGS {
        match &args[*key] {
            Json::Null => {}
            value => {
                let n = value
                    .as_i64()
                    .filter(|n| (1..=*max).contains(n))
                    .ok_or_else(|| {
                        CommandError::BadRequest(format!(
                            "{key} must be an integer from 1 to {max}, not {value}"
                        ))
                    })?;
                db::run(
                    "INSERT INTO tickets__settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[text(key), int(n)],
                )?;
            }
        }
    }
    let mut out = serde_json::Map::new();
    for (key, _, _) in SETTINGS {
        out.insert(key.to_string(), json!(get(key)?));
    }
    Ok(Json::Object(out))
}
