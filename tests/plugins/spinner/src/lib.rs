//! Test plugin `spinner`: never finishes, in wasm (`loop`) or in SQL
//! (`slow-sql`, a runaway recursive query), or for a minute on a WASI timer
//! (`sleep`), after writing a row.

use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::store::{self, Statement};
use wasmdesk_plugin::{CommandError, Plugin};

struct Spinner;

impl Plugin for Spinner {
    fn manifest() -> PluginManifest {
        let command = |name: &str| CommandInfo::new(name, "never returns");
        PluginManifest::new("spinner", "0.1.0", "Spins forever (test plugin).")
            .command(command("loop"))
            .command(command("slow-sql"))
            .command(command("sleep"))
            .command(command("ping"))
    }

    fn run(name: &str, _args: &str) -> Result<String, CommandError> {
        let write = || {
            store::batch(&[
                Statement::new("CREATE TABLE IF NOT EXISTS spinner__marks (n INTEGER)", []),
                Statement::new("INSERT INTO spinner__marks VALUES (1)", []),
            ])
        };
        match name {
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
                )?;
                Ok("{}".into())
            }
            "sleep" => {
                // Waiting on a WASI timer runs no wasm: only the timer's cap
                // at the deadline stops it.
                write()?;
                std::thread::sleep(std::time::Duration::from_secs(60));
                Ok("{}".into())
            }
            "ping" => Ok("{\"pong\":true}".into()),
            other => Err(CommandError::bad_request(format!(
                "unknown command {other}"
            ))),
        }
    }
}

wasmdesk_plugin::export!(Spinner, [commands]);
