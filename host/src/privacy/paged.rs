//! Export and erasure one page at a time, for callers that page themselves
//! (WordPress's privacy tools call an exporter and an eraser page by page).
//! The cursor is opaque to callers: the plugin and that plugin's cursor.

use serde::{Deserialize, Serialize};

use super::{ERASE_OPERATION, Retained, Scope, Subject};
use crate::error::Error;
use crate::site::{CallOptions, Site};

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    plugin: String,
    cursor: Option<String>,
}

/// One exported item. `group_id` and `item_id` are the plugin's own, as in
/// the archive's `export.json` (`plugins[].groups[].id`); `plugin` says
/// whose, since two plugins may use the same group id.
#[derive(Debug, Serialize)]
pub struct ExportItemView {
    pub plugin: String,
    pub group_id: String,
    pub group_label: String,
    pub item_id: String,
    pub data: Vec<NameValue>,
}

#[derive(Debug, Serialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct ExportPageView {
    pub items: Vec<ExportItemView>,
    /// Pass it back for the next page; none when the export is done.
    pub next: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ErasePageView {
    pub items_removed: u64,
    pub items_retained: Vec<Retained>,
    pub messages: Vec<String>,
    pub next: Option<String>,
}

fn decode(cursor: Option<&str>) -> Result<Option<Cursor>, Error> {
    cursor
        .map(|c| {
            serde_json::from_str(c)
                .map_err(|_| Error::BadRequest("cursor is not one this site handed out".into()))
        })
        .transpose()
}

/// Where a paged request stands: the plugin to call, its own cursor, and
/// every plugin with a privacy export, in order.
type Position = (String, Option<String>, Vec<String>);

impl Site {
    /// Where a paged request stands, or none when every plugin is done.
    fn position(&mut self, cursor: Option<&str>) -> Result<Option<Position>, Error> {
        let plugins: Vec<String> = self
            .privacy_plugins()?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        Ok(match decode(cursor)? {
            None => plugins.first().cloned().map(|id| (id, None, plugins)),
            Some(c) => Some((c.plugin, c.cursor, plugins)),
        })
    }

    fn next_cursor(plugins: &[String], plugin: &str, next: Option<String>) -> Option<String> {
        let position = match next {
            Some(cursor) => Some(Cursor {
                plugin: plugin.to_string(),
                cursor: Some(cursor),
            }),
            None => plugins
                .iter()
                .skip_while(|p| p.as_str() != plugin)
                .nth(1)
                .map(|p| Cursor {
                    plugin: p.clone(),
                    cursor: None,
                }),
        };
        position.map(|c| serde_json::to_string(&c).expect("a cursor serializes"))
    }

    /// One page of the export of `subject`.
    pub fn export_page(
        &mut self,
        subject: &Subject,
        cursor: Option<&str>,
    ) -> Result<ExportPageView, Error> {
        let Some((id, plugin_cursor, plugins)) = self.position(cursor)? else {
            return Ok(ExportPageView {
                items: vec![],
                next: None,
            });
        };
        let (_, plugin) = self.ready(&id)?;
        if plugin.exports.privacy.is_none() {
            return Err(Error::BadRequest(
                "cursor names a plugin without privacy".into(),
            ));
        }
        let wit_subject = subject.wit();
        let (page, _) = self.run_with_db(
            &id,
            &plugin,
            "privacy export",
            CallOptions::READ_ONLY,
            |guest| guest.export_data(&wit_subject, plugin_cursor.as_deref()),
        )?;
        let items = page
            .items
            .into_iter()
            .map(|item| {
                let mut data: Vec<NameValue> = item
                    .data
                    .into_iter()
                    .map(|(name, value)| NameValue { name, value })
                    .collect();
                data.extend(item.files.iter().map(|f| NameValue {
                    name: "File".into(),
                    value: format!("{} ({}, {} bytes)", f.name, f.mime_type, f.content.len()),
                }));
                ExportItemView {
                    plugin: id.clone(),
                    group_id: item.group_id,
                    group_label: item.group_label,
                    item_id: item.item_id,
                    data,
                }
            })
            .collect();
        let next = Self::next_cursor(&plugins, &id, page.next);
        if next.is_none() {
            // The last page: the export has been handed over.
            let draft = self
                .act(
                    crate::audit::action::EXPORT_DOWNLOAD,
                    serde_json::json!({"paged": true}),
                )
                .subject(self.subject_hash(&subject.email)?);
            self.audit(draft)?;
        }
        Ok(ExportPageView { items, next })
    }

    /// One page of the erasure of `subject`. After the last page the WAL is
    /// checkpointed, the erasure journaled, and the residue scan's findings
    /// added to the messages.
    pub fn erase_page(
        &mut self,
        subject: &Subject,
        cursor: Option<&str>,
    ) -> Result<ErasePageView, Error> {
        let Some((id, plugin_cursor, plugins)) = self.position(cursor)? else {
            return Ok(ErasePageView {
                items_removed: 0,
                items_retained: vec![],
                messages: vec![],
                next: None,
            });
        };
        let (_, plugin) = self.ready(&id)?;
        if plugin.exports.privacy.is_none() {
            return Err(Error::BadRequest(
                "cursor names a plugin without privacy".into(),
            ));
        }
        let wit_subject = subject.wit();
        let (page, _) =
            self.run_with_db(&id, &plugin, ERASE_OPERATION, CallOptions::WRITE, |guest| {
                guest.erase_data(&wit_subject, plugin_cursor.as_deref(), false)
            })?;
        let next = Self::next_cursor(&plugins, &id, page.next);
        let mut messages = page.messages;
        if next.is_none() {
            // The last page: the same proof as `wasmdesk privacy erase`. Its
            // tables come from the audit log, so they cover every page; its
            // raw-byte search sees only this last pass's pages (the earlier
            // pages' deletions were overwritten as they happened).
            let proof = self.erase_subject(subject, false, Scope::Full)?;
            if !proof.clean {
                messages.push(proof.summary);
            }
        }
        Ok(ErasePageView {
            items_removed: page.items_removed,
            items_retained: page
                .items_retained
                .into_iter()
                .map(|r| Retained {
                    item: r.item,
                    reason: r.reason,
                })
                .collect(),
            messages,
            next,
        })
    }
}
