//! Test plugin `newer`: built against wasmdesk:plugin@1.2.0, a minor newer
//! than the host's; it may need what the host lacks, so it is rejected with
//! the versions named.

wit_bindgen::generate!({ world: "next", path: "wit" });

use exports::wasmdesk::plugin::manifest;

struct Newer;

impl manifest::Guest for Newer {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "newer".into(),
            version: "1.0.0".into(),
        }
    }
}

export!(Newer);
