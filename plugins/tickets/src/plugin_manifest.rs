//! What the tickets plugin tells the host about itself.

use wasmdesk_plugin::manifest::{
    ArgumentFilter, CommandInfo, DataPolicy, PersonalField, PluginManifest, Processing,
    RetentionRule,
};

/// A command whose `body` argument goes through the `message.body` filter.
fn with_body_filter(mut command: CommandInfo) -> CommandInfo {
    command.argument_filters.push(ArgumentFilter {
        argument: "body".into(),
        filter: "message.body".into(),
    });
    command
}

fn command(name: &str, description: &str) -> CommandInfo {
    CommandInfo {
        name: name.into(),
        description: description.into(),
        argument_filters: vec![],
        result_filter: None,
    }
}

pub fn manifest() -> PluginManifest {
    let field = |table: &str, column: &str, category: &str| PersonalField {
        table: table.into(),
        column: column.into(),
        category: category.into(),
        policy: DataPolicy::Delete,
    };
    let mut list = command(
        "list",
        "Tickets, newest first: {email?, status?, tag?, text?, assignee?, trash?, limit?, cursor?}",
    );
    list.result_filter = Some("ticket.list".into());
    PluginManifest {
        id: "tickets".into(),
        version: "0.2.0".into(),
        // The data contract's version goes where the site owner and the
        // author of a plugin that reads these tables both look.
        description: format!(
            "Support tickets: customers, tickets, threads with internal notes, tags, attachments; \
             data contract {} (docs/tickets.md).",
            crate::schema::DATA_CONTRACT_VERSION
        ),
        capabilities: vec![],
        commands: vec![
            with_body_filter(command(
                "create",
                "Open a ticket: {email, name?, subject, body, priority?, tags?, attachments?}",
            )),
            command("get", "A ticket with its thread: {id}"),
            list,
            with_body_filter(command(
                "reply",
                "Answer in the thread: {id, body, from?: agent|customer, attachments?}",
            )),
            with_body_filter(command(
                "note",
                "Add an internal note only agents see: {id, body}",
            )),
            command(
                "assign",
                "Assign to an agent: {id, assignee} (null unassigns)",
            ),
            command("tag", "Add or remove tags: {id, add?, remove?}"),
            command(
                "set-status",
                "Change the status: {id, status: open|pending|resolved|closed}",
            ),
            command("delete", "Move to the trash: {id}"),
            command("restore", "Take out of the trash: {id}"),
            command(
                "purge-trash",
                "Delete for good what is in the trash longer than {older_than_days?} (default 30)",
            ),
            command(
                "attachment",
                "One attachment with its content (base64): {id}",
            ),
            command(
                "settings",
                "Show or change: {max_attachment_bytes?, trash_days?}",
            ),
        ],
        actions: vec![],
        filters: vec![],
        processing: Some(Processing {
            purpose: "Answering customers' support requests".into(),
            data_categories: vec![
                "contact details".into(),
                "message content".into(),
                "attachments".into(),
            ],
            data_subjects: vec!["customers".into()],
            retention: "until the customer asks for erasure; trashed tickets 30 days".into(),
            personal_data: vec![
                field("tickets__customers", "email", "contact details"),
                field("tickets__customers", "name", "contact details"),
                field("tickets__tickets", "subject", "message content"),
                field("tickets__messages", "body", "message content"),
                field("tickets__attachments", "name", "attachments"),
                field("tickets__attachments", "content", "attachments"),
                field("tickets__search", "text", "message content"),
                field("tickets__attachment_words", "text", "attachments"),
            ],
            retention_rules: vec![RetentionRule {
                name: "trash".into(),
                description: "Delete for good tickets that have been in the trash longer than this"
                    .into(),
                days: 30,
            }],
        }),
    }
}
