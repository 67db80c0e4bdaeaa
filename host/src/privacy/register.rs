//! The register of processing activities (GDPR Art. 30), built from the
//! enabled plugins' manifests and the site's grants.

use serde::Serialize;

use crate::database::Capability;
use crate::database::namespace::Namespace;
use crate::error::Error;
use crate::registry::manifest::{PersonalField, RetentionRule};
use crate::registry::records;
use crate::site::Site;

#[derive(Debug, Serialize)]
pub struct Register {
    pub site: String,
    pub generated_at_ms: i64,
    /// What holds for every plugin, by construction of the host.
    pub safeguards: Vec<&'static str>,
    pub activities: Vec<Activity>,
}

/// One plugin's processing.
#[derive(Debug, Serialize)]
pub struct Activity {
    pub plugin: String,
    pub version: String,
    pub description: String,
    /// None when the plugin declares that it processes no personal data.
    pub purpose: Option<String>,
    pub data_categories: Vec<String>,
    pub data_subjects: Vec<String>,
    pub retention: Option<String>,
    pub retention_rules: Vec<RetentionRule>,
    pub personal_data: Vec<PersonalField>,
    /// Its own tables (namespace).
    pub tables: String,
    /// Tables of other plugins it may read or write.
    pub grants: Vec<Capability>,
}

pub const SAFEGUARDS: &[&str] = &[
    "all data stays in one SQLite file on this machine; plugins have no network, file system, environment or process access",
    "each plugin reaches only its own tables and the tables the site owner granted it, enforced by SQLite's authorizer",
    "every plugin call runs in one transaction with a memory cap and a deadline",
    "deleted content is overwritten, never left in free pages (SQLite secure_delete on every connection)",
    "erasure truncates the WAL and searches for residue: the pages it rewrote and the tables the audit log ties to the person, or the whole file on request",
];

impl Site {
    pub fn register(&mut self) -> Result<Register, Error> {
        let mut activities = Vec::new();
        for record in records::enabled(self.db())? {
            let grants = self.grants(&record.id)?;
            let m = record.manifest;
            let p = m.processing;
            activities.push(Activity {
                plugin: m.id.clone(),
                version: m.version,
                description: m.description,
                purpose: p.as_ref().map(|p| p.purpose.clone()),
                data_categories: p
                    .as_ref()
                    .map(|p| p.data_categories.clone())
                    .unwrap_or_default(),
                data_subjects: p
                    .as_ref()
                    .map(|p| p.data_subjects.clone())
                    .unwrap_or_default(),
                retention: p.as_ref().map(|p| p.retention.clone()),
                retention_rules: p
                    .as_ref()
                    .map(|p| p.retention_rules.clone())
                    .unwrap_or_default(),
                personal_data: p.map(|p| p.personal_data).unwrap_or_default(),
                tables: format!("{}*", Namespace::of(&m.id).prefix()),
                grants,
            });
        }
        Ok(Register {
            site: self.paths().root.display().to_string(),
            generated_at_ms: crate::now_ms(),
            safeguards: SAFEGUARDS.to_vec(),
            activities,
        })
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The register as text (`html` false) or as an HTML page.
pub fn render(register: &Register, html: bool) -> String {
    let mut out = String::new();
    let (h1, h2, p, li, ul_open, ul_close, end) = if html {
        (
            "<h1>{}</h1>\n",
            "<h2>{}</h2>\n",
            "<p>{}</p>\n",
            "<li>{}</li>\n",
            "<ul>\n",
            "</ul>\n",
            "</body></html>\n",
        )
    } else {
        ("{}\n\n", "\n{}\n", "{}\n", "  - {}\n", "", "", "")
    };
    let put = |out: &mut String, template: &str, text: &str| {
        let text = if html { escape(text) } else { text.to_string() };
        out.push_str(&template.replace("{}", &text));
    };
    if html {
        out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Register of processing</title></head><body>\n");
    }
    put(
        &mut out,
        h1,
        &format!(
            "Register of processing activities (GDPR Art. 30): {}",
            register.site
        ),
    );
    put(
        &mut out,
        p,
        &format!(
            "Generated at {} ms since 1970 from the enabled plugins.",
            register.generated_at_ms
        ),
    );
    put(&mut out, h2, "Safeguards for every activity");
    out.push_str(ul_open);
    for s in &register.safeguards {
        put(&mut out, li, s);
    }
    out.push_str(ul_close);
    for a in &register.activities {
        put(
            &mut out,
            h2,
            &format!("{} {}: {}", a.plugin, a.version, a.description),
        );
        out.push_str(ul_open);
        match &a.purpose {
            None => put(&mut out, li, "processes no personal data (as declared)"),
            Some(purpose) => {
                put(&mut out, li, &format!("purpose: {purpose}"));
                put(
                    &mut out,
                    li,
                    &format!("data categories: {}", a.data_categories.join(", ")),
                );
                put(
                    &mut out,
                    li,
                    &format!("data subjects: {}", a.data_subjects.join(", ")),
                );
                put(
                    &mut out,
                    li,
                    &format!("retention: {}", a.retention.clone().unwrap_or_default()),
                );
                for r in &a.retention_rules {
                    put(
                        &mut out,
                        li,
                        &format!(
                            "retention rule {}: {} ({} days)",
                            r.name, r.description, r.days
                        ),
                    );
                }
                for f in &a.personal_data {
                    put(
                        &mut out,
                        li,
                        &format!(
                            "personal data {}.{} ({}): {}",
                            f.table,
                            f.column,
                            f.category,
                            f.policy.on_erasure()
                        ),
                    );
                }
            }
        }
        put(&mut out, li, &format!("own tables: {}", a.tables));
        let grants: Vec<String> = a.grants.iter().map(|g| g.to_string()).collect();
        put(
            &mut out,
            li,
            &format!(
                "granted: {}",
                if grants.is_empty() {
                    "nothing".into()
                } else {
                    grants.join(", ")
                }
            ),
        );
        out.push_str(ul_close);
    }
    out.push_str(end);
    out
}
