//! Test plugin `hog`: allocates memory until the host's cap stops it.

wit_bindgen::generate!({
    inline: r#"
        package test:hog;
        world hog {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest;

struct Hog;

impl manifest::Guest for Hog {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "hog".into(),
            version: "0.1.0".into(),
            description: "Eats memory (test plugin).".into(),
            capabilities: vec![],
            commands: vec![manifest::CommandInfo {
                name: "grow".into(),
                description: "allocate {\"mib\"} MiB".into(),
                argument_filters: vec![],
                result_filter: None,
            }],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl commands::Guest for Hog {
    fn run(_name: String, args: String) -> Result<String, CommandError> {
        let args: serde_json::Value =
            serde_json::from_str(&args).map_err(|e| CommandError::BadRequest(e.to_string()))?;
        let mib = args["mib"].as_u64().unwrap_or(1024) as usize;
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        for _ in 0..mib {
            chunks.push(vec![1u8; 1024 * 1024]);
        }
        Ok(format!(
            "{{\"allocated_mib\":{}}}",
            std::hint::black_box(&chunks).len()
        ))
    }
}

export!(Hog);
