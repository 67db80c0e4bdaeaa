"""A wasmdesk plugin in Python: `py-notes`, notes about customers.

Built with componentize-py against the contract in ../../wit (world
`plugin`): see README.md. It keeps its data in its own namespace
(`py_notes__notes`), handles `ticket.created`, and exports and erases a
customer's notes, like the Rust template.
"""

import json

import wasmdesk
from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import commands, manifest, privacy
from wit_world.imports import clock, store, types

ID = "py-notes"
NOTES = "py_notes__notes"


def text(value: str) -> types.Value:
    return types.Value_Text(value)


def add_note(email: str, note: str) -> int:
    result = store.execute(
        f"INSERT INTO {NOTES} (email, text, created_at) VALUES (?1, ?2, ?3)",
        [text(email.strip().lower()), text(note), types.Value_Integer(clock.now_ms())],
    )
    return result.last_insert_rowid


def notes_of(email: str) -> list:
    result = store.execute(
        f"SELECT id, text, created_at FROM {NOTES} WHERE email = ?1 ORDER BY id",
        [text(email)],
    )
    return [(row[0].value, row[1].value, row[2].value) for row in result.rows]


class Manifest(exports.Manifest):
    def get(self) -> manifest.PluginManifest:
        def command(name: str, description: str) -> manifest.CommandInfo:
            return manifest.CommandInfo(name, description, [], None)

        def field(column: str, category: str) -> manifest.PersonalField:
            return manifest.PersonalField(NOTES, column, category, manifest.DataPolicy_Delete())

        return manifest.PluginManifest(
            id=ID,
            version="0.1.0",
            description="Notes about customers (a plugin in Python).",
            capabilities=[],
            commands=[command("add", "Add a note: {email, text}"), command("list", "Notes: {email}")],
            actions=["ticket.created"],
            filters=[],
            processing=manifest.Processing(
                purpose="Remembering what customers asked for",
                data_categories=["contact details", "notes"],
                data_subjects=["customers"],
                retention="until the customer asks for erasure",
                personal_data=[field("email", "contact details"), field("text", "notes")],
                retention_rules=[],
            ),
        )


class Lifecycle(exports.Lifecycle):
    @wasmdesk.text_errors
    def setup(self, previous_version) -> None:
        store.execute(
            f"CREATE TABLE IF NOT EXISTS {NOTES} (id INTEGER PRIMARY KEY, email TEXT NOT NULL, "
            "text TEXT NOT NULL, created_at INTEGER NOT NULL)",
            [],
        )
        store.execute(f"CREATE INDEX IF NOT EXISTS {NOTES}_email ON {NOTES} (email)", [])


class Commands(exports.Commands):
    @wasmdesk.command_errors
    def run(self, name: str, args: str) -> str:
        try:
            args = json.loads(args)
        except ValueError as e:
            raise Err(commands.CommandError_BadRequest(f"arguments are not JSON: {e}"))
        if name == "add":
            email, note = args.get("email"), args.get("text")
            if not isinstance(email, str) or "@" not in email or not isinstance(note, str):
                raise Err(commands.CommandError_BadRequest('add needs {"email": "...", "text": "..."}'))
            return json.dumps({"id": add_note(email, note)})
        if name == "list":
            email = args.get("email")
            if not isinstance(email, str):
                raise Err(commands.CommandError_BadRequest('list needs {"email": "..."}'))
            notes = [{"id": i, "text": t} for (i, t, _) in notes_of(email.lower())]
            return json.dumps({"notes": notes})
        raise Err(commands.CommandError_BadRequest(f"unknown command {name}: try add or list"))


class Hooks(exports.Hooks):
    @wasmdesk.text_errors
    def on_action(self, event: str, payload: str) -> None:
        if event != "ticket.created":
            return
        ticket = json.loads(payload)
        if isinstance(ticket.get("email"), str):
            add_note(ticket["email"], f"opened ticket {ticket.get('id')}")

    @wasmdesk.text_errors
    def apply_filter(self, filter: str, value: str) -> str:
        return value


class Privacy(exports.Privacy):
    @wasmdesk.text_errors
    def export_data(self, subject: privacy.Subject, cursor) -> privacy.ExportPage:
        items = [
            privacy.ExportItem(
                group_id="notes",
                group_label="Notes about you",
                item_id=str(i),
                data=[("Email", subject.email), ("Note", t), ("Written at (ms)", str(at))],
                files=[],
            )
            for (i, t, at) in notes_of(subject.email)
        ]
        return privacy.ExportPage(items, None)

    @wasmdesk.text_errors
    def erase_data(self, subject: privacy.Subject, cursor, dry_run: bool) -> privacy.ErasePage:
        if dry_run:
            removed = len(notes_of(subject.email))
        else:
            removed = store.execute(
                f"DELETE FROM {NOTES} WHERE email = ?1", [text(subject.email)]
            ).rows_changed
        return privacy.ErasePage(removed, [], [], None)

    @wasmdesk.text_errors
    def apply_retention(self, rule: str, cutoff_ms: int, dry_run: bool) -> privacy.RetentionReport:
        return privacy.RetentionReport(0, [])
