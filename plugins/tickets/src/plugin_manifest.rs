//! What the tickets plugin tells the host about itself.

use crate::exports::wasmdesk::plugin::manifest::{
    CommandInfo, DataPolicy, PersonalField, PluginManifest, Processing, RetentionRule,
};

pub fn manifest() -> PluginManifest {
    let command = |name: &str, description: &str| CommandInfo {
        name: name.into(),
        description: description.into(),
    };
    let field = |table: &str, column: &str, category: &str, policy| PersonalField {
        table: table.into(),
        column: column.into(),
        category: category.into(),
        policy,
    };
    PluginManifest {
        id: "tickets".into(),
        version: "0.1.0".into(),
        description: "Support tickets: customers, tickets and their message threads.".into(),
        capabilities: vec![],
        commands: vec![
            command(
                "create",
                "Open a ticket: {email, name?, subject, body, priority?, tags?}",
            ),
            command("get", "A ticket with its messages: {id}"),
            command(
                "list",
                "Tickets, newest first: {email?, status?, limit?, cursor?}",
            ),
        ],
        actions: vec![],
        filters: vec![],
        processing: Some(Processing {
            purpose: "Answering customers' support requests".into(),
            data_categories: vec!["contact details".into(), "message content".into()],
            data_subjects: vec!["customers".into()],
            retention: "until the customer asks for erasure".into(),
            personal_data: vec![
                field(
                    "tickets__customers",
                    "email",
                    "contact details",
                    DataPolicy::Delete,
                ),
                field(
                    "tickets__customers",
                    "name",
                    "contact details",
                    DataPolicy::Delete,
                ),
                field(
                    "tickets__tickets",
                    "subject",
                    "message content",
                    DataPolicy::Delete,
                ),
                field(
                    "tickets__messages",
                    "body",
                    "message content",
                    DataPolicy::Delete,
                ),
            ],
            retention_rules: vec![RetentionRule {
                name: "closed-tickets".into(),
                description: "Delete tickets closed longer ago than this".into(),
                days: 730,
            }],
        }),
    }
}
