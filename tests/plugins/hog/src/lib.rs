//! Test plugin `hog`: allocates memory until the host's cap stops it.

use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin, args};

struct Hog;

impl Plugin for Hog {
    fn manifest() -> PluginManifest {
        PluginManifest::new("hog", "0.1.0", "Eats memory (test plugin).")
            .command(CommandInfo::new("grow", "allocate {\"mib\"} MiB"))
    }

    fn run(_name: &str, args: &str) -> Result<String, CommandError> {
        let args = args::json(args)?;
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

wasmdesk_plugin::export!(Hog, [commands]);
