//! Test plugin `spinner`: never finishes, in wasm (`loop`) or in SQL
//! (`slow-sql`, a runaway recursive query), after writing a row.

wit_bindgen::generate!({
    inline: r#"
        package test:spinner;
        world spinner {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest;
use wasmdesk::plugin::store;

struct Spinner;

impl manifest::Guest for Spinner {
    fn get() -> manifest::PluginManifest {
        let command = |name: &str| manifest::CommandInfo {
            name: name.into(),
            description: "never returns".into(),
            argument_filters: vec![],
            result_filter: None,
        };
        manifest::PluginManifest {
            id: "spinner".into(),
            version: "0.1.0".into(),
            description: "Spins forever (test plugin).".into(),
            capabilities: vec![],
            commands: vec![command("loop"), command("slow-sql"), command("ping")],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl commands::Guest for Spinner {
    fn run(name: String, _args: String) -> Result<String, CommandError> {
        let write = || {
            store::batch(&[
                store::Statement {
                    sql: "CREATE TABLE IF NOT EXISTS spinner__marks (n INTEGER)".into(),
                    params: vec![],
                },
                store::Statement {
                    sql: "INSERT INTO spinner__marks VALUES (1)".into(),
                    params: vec![],
                },
            ])
            .map_err(CommandError::Store)
        };
        match name.as_str() {
            "loop" => {
                write()?;
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "slow-sql" => {
                write()?;
                store::execute(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                    &[],
                )
                .map_err(CommandError::Store)?;
                Ok("{}".into())
            }
            "ping" => Ok("{\"pong\":true}".into()),
            other => Err(CommandError::BadRequest(format!("unknown command {other}"))),
        }
    }
}

export!(Spinner);
