//! Test plugin `hoarder`: declares personal data but exports no eraser; the
//! host must refuse to enable it.

wit_bindgen::generate!({
    inline: r#"
        package test:hoarder;
        world hoarder {
            include wasmdesk:plugin/base@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::manifest::{self, DataPolicy, PersonalField, Processing};

struct Hoarder;

impl manifest::Guest for Hoarder {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "hoarder".into(),
            version: "0.1.0".into(),
            description: "Keeps personal data it cannot erase (test plugin).".into(),
            capabilities: vec![],
            commands: vec![],
            actions: vec![],
            filters: vec![],
            processing: Some(Processing {
                purpose: "testing".into(),
                data_categories: vec!["contact".into()],
                data_subjects: vec!["customers".into()],
                retention: "forever".into(),
                personal_data: vec![PersonalField {
                    table: "hoarder__people".into(),
                    column: "email".into(),
                    category: "contact".into(),
                    policy: DataPolicy::Delete,
                }],
                retention_rules: vec![],
            }),
        }
    }
}

export!(Hoarder);
