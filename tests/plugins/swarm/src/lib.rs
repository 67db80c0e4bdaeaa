//! Test plugin `swarm` (attack: action fan-out). Each `swarm.ping` it
//! handles emits as many `swarm.ping` actions as the payload asks, so one
//! command would fan out to n + n^2 + n^3 ... handler calls. It counts the
//! calls it got in `swarm__calls`.

wit_bindgen::generate!({
    inline: r#"
        package test:swarm;
        world swarm {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
            export wasmdesk:plugin/hooks@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest::{self, CommandInfo};
use exports::wasmdesk::plugin::{hooks, lifecycle};
use wasmdesk::plugin::{events, store};

struct Swarm;

impl manifest::Guest for Swarm {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "swarm".into(),
            version: "0.1.0".into(),
            description: "Actions that emit actions (test plugin).".into(),
            capabilities: vec![],
            commands: vec![CommandInfo {
                name: "start".into(),
                description: "Emit N swarm.ping actions; args: {\"n\": N}".into(),
                argument_filters: vec![],
                result_filter: None,
            }],
            actions: vec!["swarm.ping".into()],
            filters: vec![],
            processing: None,
        }
    }
}

impl lifecycle::Guest for Swarm {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        store::execute(
            "CREATE TABLE IF NOT EXISTS swarm__calls (id INTEGER PRIMARY KEY)",
            &[],
        )
        .map(drop)
        .map_err(|e| format!("{e:?}"))
    }
}

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

impl commands::Guest for Swarm {
    fn run(_name: String, args: String) -> Result<String, CommandError> {
        emit(&args);
        Ok("{}".into())
    }
}

impl hooks::Guest for Swarm {
    fn on_action(_event: String, payload: String) -> Result<(), String> {
        store::execute("INSERT INTO swarm__calls DEFAULT VALUES", &[])
            .map_err(|e| format!("{e:?}"))?;
        emit(&payload);
        Ok(())
    }

    fn apply_filter(_filter: String, value: String) -> Result<String, String> {
        Ok(value)
    }
}

export!(Swarm);
