//! Test plugin `hoarder`: declares personal data but exports no eraser; the
//! host must refuse to enable it.

use wasmdesk_plugin::Plugin;
use wasmdesk_plugin::manifest::{DataPolicy, PluginManifest, Processing};

struct Hoarder;

impl Plugin for Hoarder {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "hoarder",
            "0.1.0",
            "Keeps personal data it cannot erase (test plugin).",
        )
        .processing(
            Processing::new("testing")
                .data_categories(["contact"])
                .data_subjects(["customers"])
                .retention("forever")
                .personal_field("hoarder__people", "email", "contact", DataPolicy::Delete),
        )
    }
}

// The manifest only: no `privacy`, which is the point.
wasmdesk_plugin::export!(Hoarder);
