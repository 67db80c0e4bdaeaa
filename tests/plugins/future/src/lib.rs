//! Test plugin `future`: built against wasmdesk:plugin@2.0.0, a major the
//! host does not speak; it must be rejected with the versions named.

wit_bindgen::generate!({ world: "next", path: "wit" });

use exports::wasmdesk::plugin::manifest;

struct Future;

impl manifest::Guest for Future {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "future".into(),
            version: "1.0.0".into(),
        }
    }
}

export!(Future);
