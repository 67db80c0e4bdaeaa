//! Test plugin `swarm` (attack: action fan-out). Each `swarm.ping` it
//! handles emits as many `swarm.ping` actions as the payload asks, so one
//! command would fan out to n + n^2 + n^3 ... handler calls. It counts the
//! calls it got in `swarm__calls`.

use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin, events, store};

struct Swarm;

/// `args` is `{"n": N}`: emit N actions, each asking for N more.
fn emit(args: &str) {
    let n: u32 = args
        .trim_start_matches("{\"n\":")
        .trim_end_matches('}')
        .trim()
        .parse()
        .unwrap_or(0);
    for _ in 0..n {
        events::emit("swarm.ping", args);
    }
}

impl Plugin for Swarm {
    fn manifest() -> PluginManifest {
        PluginManifest::new("swarm", "0.1.0", "Actions that emit actions (test plugin).")
            .command(CommandInfo::new(
                "start",
                "Emit N swarm.ping actions; args: {\"n\": N}",
            ))
            .action("swarm.ping")
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        store::exec(
            "CREATE TABLE IF NOT EXISTS swarm__calls (id INTEGER PRIMARY KEY)",
            &[],
        )?;
        Ok(())
    }

    fn run(_name: &str, args: &str) -> Result<String, CommandError> {
        emit(args);
        Ok("{}".into())
    }

    fn on_action(_event: &str, payload: &str) -> Result<(), String> {
        store::exec("INSERT INTO swarm__calls DEFAULT VALUES", &[])?;
        emit(payload);
        Ok(())
    }
}

wasmdesk_plugin::export!(Swarm, [lifecycle, commands, hooks]);
