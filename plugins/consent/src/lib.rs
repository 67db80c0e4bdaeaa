//! The `consent` plugin: consent given and withdrawn, recorded as proof
//! (GDPR Art. 7(1)): who, for which purpose, the text shown (its hash and
//! version), given or withdrawn, when, through which channel.

wit_bindgen::generate!({
    inline: r#"
        package wasmdesk-plugins:consent;
        world consent {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
            export wasmdesk:plugin/privacy@1.1.0;
        }
    "#,
    path: "../../wit",
    generate_all,
});

mod records;

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::lifecycle;
use exports::wasmdesk::plugin::manifest::{
    self, CommandInfo, DataPolicy, PersonalField, Processing, RetentionDuty,
};
use exports::wasmdesk::plugin::privacy::{self, ErasePage, ExportPage, RetentionReport, Subject};

struct Consent;

fn command(name: &str, description: &str) -> CommandInfo {
    CommandInfo {
        name: name.into(),
        description: description.into(),
        argument_filters: vec![],
        result_filter: None,
    }
}

impl manifest::Guest for Consent {
    fn get() -> manifest::PluginManifest {
        let field = |column: &str, category: &str, policy| PersonalField {
            table: "consent__events".into(),
            column: column.into(),
            category: category.into(),
            policy,
        };
        manifest::PluginManifest {
            id: "consent".into(),
            version: "0.1.0".into(),
            description: "Records consent given and withdrawn, with the text shown, as proof.".into(),
            capabilities: vec![],
            commands: vec![
                command("record", "Consent given or refused: {email, purpose, given, text? | text_hash?, version, channel}"),
                command("withdraw", "Consent withdrawn: {email, purpose, channel}"),
                command("status", "Current consent per purpose: {email}"),
                command("list", "Every event: {email?, purpose?}"),
            ],
            actions: vec![],
            filters: vec![],
            processing: Some(Processing {
                purpose: "Proving that consent was given, and honouring its withdrawal (Art. 7)".into(),
                data_categories: vec!["contact details".into(), "consent records".into()],
                data_subjects: vec!["customers".into(), "newsletter subscribers".into()],
                retention: "while consent is relied on; on erasure, withdrawals are kept under a pseudonym as proof".into(),
                personal_data: vec![
                    field("email", "contact details", DataPolicy::Anonymise),
                    field(
                        "subject",
                        "pseudonym",
                        DataPolicy::Retain(RetentionDuty {
                            reason: "proof that processing stopped after consent was withdrawn (Art. 5(2), 7(3))".into(),
                            days: 3650,
                        }),
                    ),
                ],
                retention_rules: vec![],
            }),
        }
    }
}

impl lifecycle::Guest for Consent {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        records::setup()
    }
}

impl commands::Guest for Consent {
    fn run(name: String, args: String) -> Result<String, CommandError> {
        let args: serde_json::Value = serde_json::from_str(&args)
            .map_err(|e| CommandError::BadRequest(format!("arguments are not JSON: {e}")))?;
        let result = match name.as_str() {
            "record" => records::record(&args, None)?,
            "withdraw" => records::record(&args, Some(false))?,
            "status" => records::status(&args)?,
            "list" => records::list(&args)?,
            other => {
                return Err(CommandError::BadRequest(format!(
                    "consent has no command {other:?}"
                )));
            }
        };
        Ok(result.to_string())
    }
}

impl privacy::Guest for Consent {
    fn export_data(subject: Subject, cursor: Option<String>) -> Result<ExportPage, String> {
        records::export(&subject.email, cursor)
    }

    fn erase_data(
        subject: Subject,
        _cursor: Option<String>,
        dry_run: bool,
    ) -> Result<ErasePage, String> {
        records::erase(&subject.email, dry_run)
    }

    fn apply_retention(
        rule: String,
        _cutoff_ms: i64,
        _dry_run: bool,
    ) -> Result<RetentionReport, String> {
        Err(format!("consent has no retention rule {rule:?}"))
    }
}

export!(Consent);
