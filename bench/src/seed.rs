//! Realistic helpdesk data for benchmarks: customers, tickets, threads with
//! replies and internal notes, tags, assignees, statuses and attachments,
//! the same for a given ticket number every time.
//!
//! Two ways to write it, which must give the same rows: through the real
//! tickets plugin ([`commands`], slow: every call is a sandboxed call with
//! its audit entry) and straight into the plugin's tables with the SQL the
//! plugin runs ([`write_sql`], fast enough for a million tickets). The
//! test in `tests/seed.rs` checks that they agree.

use base64::Engine as _;
use rusqlite::{Connection, params};
use serde_json::{Value, json};
use wasmdesk_identifiers::SearchableText;

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Linus", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Niklaus",
];
const PRODUCTS: &[&str] = &[
    "order",
    "invoice",
    "subscription",
    "parcel",
    "refund",
    "account",
    "password",
    "voucher",
];
const PROBLEMS: &[&str] = &[
    "has not arrived",
    "is wrong",
    "was charged twice",
    "cannot be found",
    "does not work",
    "arrived damaged",
    "needs to be changed",
];
const TAGS: &[&str] = &[
    "billing", "orders", "shipping", "login", "refund", "bug", "feature", "account", "returns",
    "vip",
];
const AGENTS: &[&str] = &[
    "agent-ana",
    "agent-ben",
    "agent-cho",
    "agent-dev",
    "agent-eli",
];
const AGENT_LINES: &[&str] = &[
    "Thank you, we are looking into it.",
    "Could you send us a photo, please?",
    "We have issued a replacement.",
    "The refund is on its way.",
    "Please try again now.",
];
const CUSTOMER_LINES: &[&str] = &[
    "Any news?",
    "Here is the photo you asked for.",
    "It still does not work.",
    "Thanks, that solved it.",
];

/// The customer who owns 20 tickets on a site of any size: benchmarks
/// export and erase them, to see whether the cost follows the subject's
/// data or the site's.
pub const SUBJECT: &str = "subject@example.com";
const SUBJECT_TICKETS: i64 = 20;

/// The customer who owns 5 000 tickets on a site of 100 000 tickets or
/// more (and one ticket in 20 on a smaller one, never more than 5% of the
/// site): benchmarks export them, to see what a subject with a long history
/// costs. At a domain no other seeded customer uses: the tickets plugin
/// reads every customer record of the subject's domain on every page of an
/// export (to find other spellings of the mailbox), and the audit log
/// records each of them, a cost that follows the domain's customers, not
/// the subject's tickets (the [`SUBJECT`] rows, at example.com, show it).
pub const HEAVY: &str = "heavy@example.org";
/// How many tickets [`HEAVY`] owns on a site of `total` tickets.
pub fn heavy_tickets(total: i64) -> i64 {
    (total / 20).min(5_000)
}

/// One step after the ticket is opened.
#[derive(Debug, Clone)]
pub enum Step {
    /// A reply in the thread, by the agent or by the ticket's customer.
    Reply { from_customer: bool, body: String },
    /// An internal note.
    Note { body: String },
}

/// Everything about one seeded ticket.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub subject: String,
    pub body: String,
    pub priority: &'static str,
    pub tags: Vec<&'static str>,
    /// (name, MIME type, content)
    pub attachment: Option<(String, &'static str, Vec<u8>)>,
    pub steps: Vec<Step>,
    pub assignee: Option<&'static str>,
    /// Set at the end with `set-status` (resolved or closed), if any.
    pub final_status: Option<&'static str>,
    /// When it was opened (ms since the epoch); steps follow an hour apart.
    pub created_at: i64,
}

/// Ticket `id` of a site seeded with `total` tickets (one customer for
/// every four tickets, opened over two years before `now_ms`).
pub fn ticket(id: i64, total: i64, now_ms: i64) -> Ticket {
    let mut rng = fastrand::Rng::with_seed((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let customers = (total / 4).max(1);
    let customer = rng.i64(0..customers);
    let first = FIRST_NAMES[customer as usize % FIRST_NAMES.len()];
    let product = rng.choice(PRODUCTS).expect("not empty");
    let problem = rng.choice(PROBLEMS).expect("not empty");
    let order = rng.u32(10_000..99_999);
    let priority = match rng.u8(0..100) {
        0..70 => "normal",
        70..80 => "low",
        80..95 => "high",
        _ => "urgent",
    };
    let mut tags: Vec<&'static str> = (0..rng.usize(0..3))
        .map(|_| *rng.choice(TAGS).expect("not empty"))
        .collect();
    tags.sort();
    tags.dedup();
    let attachment = (rng.u8(0..100) < 2).then(|| {
        let size = rng.usize(1_000..4_000);
        let content: Vec<u8> = (0..size).map(|_| rng.u8(..)).collect();
        (format!("photo-{order}.jpg"), "image/jpeg", content)
    });
    let mut steps = Vec::new();
    if rng.u8(0..100) < 70 {
        let line = rng.choice(AGENT_LINES).expect("not empty");
        steps.push(Step::Reply {
            from_customer: false,
            body: format!("Hello {first}, about your {product} {order}: {line}"),
        });
        if rng.u8(0..100) < 40 {
            let line = rng.choice(CUSTOMER_LINES).expect("not empty");
            steps.push(Step::Reply {
                from_customer: true,
                body: format!("{line} ({product} {order})"),
            });
        }
    }
    if rng.u8(0..100) < 10 {
        steps.push(Step::Note {
            body: format!("Checked {product} {order} in the back office."),
        });
    }
    let assignee = (rng.u8(0..100) < 60).then(|| *rng.choice(AGENTS).expect("not empty"));
    let final_status = match rng.u8(0..100) {
        0..30 => Some("closed"),
        30..45 => Some("resolved"),
        _ => None,
    };
    let two_years_ms = 2 * 365 * 24 * 3_600_000_i64;
    let created_at = now_ms - two_years_ms + two_years_ms / total.max(1) * (id - 1);
    Ticket {
        id,
        email: match owner(id, total) {
            Owner::Subject => SUBJECT.to_string(),
            Owner::Heavy => HEAVY.to_string(),
            Owner::Customer => format!("customer{customer}@example.com"),
        },
        name: match owner(id, total) {
            Owner::Subject => "Sam Subject".to_string(),
            Owner::Heavy => "Hana Heavy".to_string(),
            Owner::Customer => format!("{first} Customer{customer}"),
        },
        subject: format!("My {product} {order} {problem}"),
        body: format!("Hello, my {product} {order} {problem}. Please help me, {first}."),
        priority,
        tags,
        attachment,
        steps,
        assignee,
        final_status,
        created_at,
    }
}

/// Whether ticket `id` is one of [`SUBJECT`]'s, spread evenly over the site.
fn subjects_ticket(id: i64, total: i64) -> bool {
    let every = (total / SUBJECT_TICKETS).max(1);
    id % every == 1 % every && (id - 1) / every < SUBJECT_TICKETS
}

/// Whether ticket `id` is one of [`HEAVY`]'s: every `total / 5000`th
/// ticket (every 20th below 100 000 tickets), halfway between two of
/// [`SUBJECT`]'s, so the two never meet on a site of 100 000 tickets or
/// more (on a smaller one the subject keeps a ticket both would own).
fn heavys_ticket(id: i64, total: i64) -> bool {
    let count = heavy_tickets(total);
    if count == 0 {
        return false;
    }
    let every = total / count;
    id % every == every / 2 && id / every < count
}

/// Who owns a ticket: the customer drawn at random, or one of the two
/// customers benchmarks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Customer,
    Subject,
    Heavy,
}

/// The owner of ticket `id` on a `total`-ticket site.
pub fn owner(id: i64, total: i64) -> Owner {
    if subjects_ticket(id, total) {
        Owner::Subject
    } else if heavys_ticket(id, total) {
        Owner::Heavy
    } else {
        Owner::Customer
    }
}

impl Ticket {
    /// The status the plugin's status flow ends in: an agent's reply to an
    /// open ticket makes it pending, a customer's reply reopens it.
    pub fn status(&self) -> &'static str {
        let mut status = "open";
        for step in &self.steps {
            if let Step::Reply { from_customer, .. } = step {
                status = match (from_customer, status) {
                    (false, "open") => "pending",
                    (true, "pending" | "resolved" | "closed") => "open",
                    (_, s) => s,
                };
            }
        }
        self.final_status.unwrap_or(status)
    }

    /// The plugin commands that create this ticket, as (command, args).
    pub fn commands(&self) -> Vec<(&'static str, Value)> {
        let mut create = json!({
            "email": self.email, "name": self.name, "subject": self.subject,
            "body": self.body, "priority": self.priority, "tags": self.tags,
        });
        if let Some((name, mime, content)) = &self.attachment {
            create["attachments"] = json!([{
                "name": name, "type": mime,
                "content_base64": base64::engine::general_purpose::STANDARD.encode(content),
            }]);
        }
        let mut commands = vec![("create", create)];
        for step in &self.steps {
            commands.push(match step {
                Step::Reply {
                    from_customer,
                    body,
                } => (
                    "reply",
                    json!({"id": self.id, "body": body,
                           "from": if *from_customer { "customer" } else { "agent" }}),
                ),
                Step::Note { body } => ("note", json!({"id": self.id, "body": body})),
            });
        }
        if let Some(agent) = self.assignee {
            commands.push(("assign", json!({"id": self.id, "assignee": agent})));
        }
        if let Some(status) = self.final_status {
            commands.push(("set-status", json!({"id": self.id, "status": status})));
        }
        commands
    }
}

/// Write tickets `from..=to` of a `total`-ticket site straight into the
/// tickets plugin's tables (which its `setup` created), with the SQL the
/// plugin runs, in one transaction.
pub fn write_sql(
    conn: &Connection,
    from: i64,
    to: i64,
    total: i64,
    now_ms: i64,
) -> rusqlite::Result<()> {
    write_tickets(conn, from..=to, total, now_ms)
}

/// Write [`SUBJECT`]'s tickets again (after an erasure, for the next run).
pub fn write_subject(conn: &Connection, total: i64, now_ms: i64) -> rusqlite::Result<()> {
    write_tickets(
        conn,
        (1..=total).filter(|&id| subjects_ticket(id, total)),
        total,
        now_ms,
    )
}

fn write_tickets(
    conn: &Connection,
    ids: impl Iterator<Item = i64>,
    total: i64,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    {
        let mut customer = tx.prepare_cached(
            "INSERT INTO tickets__customers (email, name, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (email) DO UPDATE SET name = coalesce(excluded.name, name)",
        )?;
        let mut customer_id =
            tx.prepare_cached("SELECT id FROM tickets__customers WHERE email = ?1")?;
        let mut insert_ticket = tx.prepare_cached(
            "INSERT INTO tickets__tickets (id, customer_id, subject, status, priority, assignee, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut search =
            tx.prepare_cached("INSERT INTO tickets__search (rowid, text) VALUES (?1, ?2)")?;
        let mut message = tx.prepare_cached(
            "INSERT INTO tickets__messages (ticket_id, author, internal, body, created_at, customer_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut attachment = tx.prepare_cached(
            "INSERT INTO tickets__attachments (ticket_id, message_id, name, mime_type, size, content, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut attachment_words = tx.prepare_cached(
            "INSERT INTO tickets__attachment_words (rowid, text) VALUES (?1, ?2)",
        )?;
        let mut tag = tx.prepare_cached(
            "INSERT OR IGNORE INTO tickets__tags (ticket_id, tag) VALUES (?1, ?2)",
        )?;
        for id in ids {
            let t = ticket(id, total, now_ms);
            let hour = 3_600_000;
            let updated_at = t.created_at + hour * t.steps.len() as i64;
            customer.execute(params![t.email, t.name, t.created_at])?;
            let owner: i64 = customer_id.query_row([&t.email], |r| r.get(0))?;
            insert_ticket.execute(params![
                id,
                owner,
                t.subject,
                t.status(),
                t.priority,
                t.assignee,
                t.created_at,
                updated_at
            ])?;
            message.execute(params![id, "customer", 0, t.body, t.created_at, owner])?;
            let first_message = tx.last_insert_rowid();
            let mut text = format!("{}\n{}", t.subject, t.body);
            for (n, step) in t.steps.iter().enumerate() {
                let at = t.created_at + hour * (n as i64 + 1);
                let (author, internal, body, by) = match step {
                    Step::Reply {
                        from_customer: true,
                        body,
                    } => ("customer", 0, body, Some(owner)),
                    Step::Reply { body, .. } => ("agent", 0, body, None),
                    Step::Note { body } => ("agent", 1, body, None),
                };
                message.execute(params![id, author, internal, body, at, by])?;
                text.push('\n');
                text.push_str(body);
            }
            search.execute(params![id, text])?;
            if let Some((name, mime, content)) = &t.attachment {
                attachment.execute(params![
                    id,
                    first_message,
                    name,
                    mime,
                    content.len() as i64,
                    content,
                    t.created_at
                ])?;
                // As the tickets plugin indexes an attachment it stores
                // (short files: one part, rowid id * 2^20).
                let words = SearchableText::of(&[name.as_bytes(), content]);
                attachment_words.execute(params![tx.last_insert_rowid() << 20, words])?;
            }
            for name in &t.tags {
                tag.execute(params![id, name])?;
            }
        }
    }
    tx.commit()
}
