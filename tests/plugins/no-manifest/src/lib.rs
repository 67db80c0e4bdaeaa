//! Test plugin `no-manifest`: exports commands but no manifest; it must be
//! rejected with a reason.

wit_bindgen::generate!({
    inline: r#"
        package test:no-manifest;
        world no-manifest {
            import wasmdesk:plugin/store@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};

struct NoManifest;

impl commands::Guest for NoManifest {
    fn run(_name: String, _args: String) -> Result<String, CommandError> {
        Ok("{}".into())
    }
}

export!(NoManifest);
