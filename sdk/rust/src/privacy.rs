//! Export and erasure of a data subject's personal data (GDPR Art. 15, 17,
//! 20): the records [`Plugin::export_data`](crate::Plugin::export_data),
//! [`Plugin::erase_data`](crate::Plugin::erase_data) and
//! [`Plugin::apply_retention`](crate::Plugin::apply_retention) take and
//! return.

pub use crate::bindings::privacy::exports::wasmdesk::plugin::privacy::{
    ErasePage, ExportFile, ExportItem, ExportPage, RetainedItem, RetentionReport, Subject,
};

impl ExportItem {
    /// An item of the group `group_id` (shown as `group_label`) with no
    /// fields yet.
    pub fn new(
        group_id: impl Into<String>,
        group_label: impl Into<String>,
        item_id: impl Into<String>,
    ) -> Self {
        ExportItem {
            group_id: group_id.into(),
            group_label: group_label.into(),
            item_id: item_id.into(),
            data: vec![],
            files: vec![],
        }
    }

    /// Add a field, in display order.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.push((name.into(), value.into()));
        self
    }
}

impl ExportPage {
    /// The last page: these items, and no cursor.
    pub fn last(items: Vec<ExportItem>) -> Self {
        ExportPage { items, next: None }
    }
}

impl ErasePage {
    /// The last page: `items_removed` removed, nothing kept, no messages.
    pub fn last(items_removed: u64) -> Self {
        ErasePage {
            items_removed,
            items_retained: vec![],
            messages: vec![],
            next: None,
        }
    }
}
