//! The `consent` plugin: consent given and withdrawn, recorded as proof
//! (GDPR Art. 7(1)): who, for which purpose, the text shown (its hash and
//! version), given or withdrawn, when, through which channel.

mod records;

use wasmdesk_plugin::manifest::{
    CommandInfo, DataPolicy, PluginManifest, Processing, RetentionDuty,
};
use wasmdesk_plugin::privacy::{ErasePage, ExportPage, RetentionReport, Subject};
use wasmdesk_plugin::{CommandError, Plugin, args};

struct Consent;

impl Plugin for Consent {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "consent",
            "0.1.0",
            "Records consent given and withdrawn, with the text shown, as proof.",
        )
        .command(CommandInfo::new(
            "record",
            "Consent given or refused: {email, purpose, given, text? | text_hash?, version, channel}",
        ))
        .command(CommandInfo::new("withdraw", "Consent withdrawn: {email, purpose, channel}"))
        .command(CommandInfo::new("status", "Current consent per purpose: {email}"))
        .command(CommandInfo::new("list", "Every event: {email?, purpose?}"))
        .processing(
            Processing::new("Proving that consent was given, and honouring its withdrawal (Art. 7)")
                .data_categories(["contact details", "consent records"])
                .data_subjects(["customers", "newsletter subscribers"])
                .retention(
                    "while consent is relied on; on erasure, withdrawals are kept under a pseudonym as proof",
                )
                .personal_field("consent__events", "email", "contact details", DataPolicy::Anonymise)
                .personal_field(
                    "consent__events",
                    "subject",
                    "pseudonym",
                    DataPolicy::Retain(RetentionDuty {
                        reason: "proof that processing stopped after consent was withdrawn (Art. 5(2), 7(3))"
                            .into(),
                        days: 3650,
                    }),
                ),
        )
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        records::setup()
    }

    fn run(name: &str, args: &str) -> Result<String, CommandError> {
        let args = args::json(args)?;
        let result = match name {
            "record" => records::record(&args, None)?,
            "withdraw" => records::record(&args, Some(false))?,
            "status" => records::status(&args)?,
            "list" => records::list(&args)?,
            other => {
                return Err(CommandError::bad_request(format!(
                    "consent has no command {other:?}"
                )));
            }
        };
        Ok(result.to_string())
    }

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
        rule: &str,
        _cutoff_ms: i64,
        _dry_run: bool,
    ) -> Result<RetentionReport, String> {
        Err(format!("consent has no retention rule {rule:?}"))
    }
}

wasmdesk_plugin::export!(Consent, [lifecycle, commands, privacy]);
