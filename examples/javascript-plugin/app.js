// A wasmdesk plugin in JavaScript: `js-notes`, notes about customers.
//
// Built with componentize-js (through jco) against the contract in
// ../../wit (world `plugin`): see README.md. It keeps its data in its own
// namespace (`js_notes__notes`), handles `ticket.created`, and exports and
// erases a customer's notes, like the Rust template.
//
// Conventions of componentize-js: each exported interface is an exported
// object; records are objects with camelCase fields; variants are
// `{ tag, val }`; 64-bit integers are BigInt; an `err` result is thrown.

import { execute } from "wasmdesk:plugin/store@1.1.0";
import { nowMs } from "wasmdesk:plugin/clock@1.1.0";

const ID = "js-notes";
const NOTES = "js_notes__notes";

const text = (value) => ({ tag: "text", val: value });

function addNote(email, note) {
  const result = execute(
    `INSERT INTO ${NOTES} (email, text, created_at) VALUES (?1, ?2, ?3)`,
    [text(email.trim().toLowerCase()), text(note), { tag: "integer", val: nowMs() }],
  );
  return Number(result.lastInsertRowid);
}

function notesOf(email) {
  const result = execute(
    `SELECT id, text, created_at FROM ${NOTES} WHERE email = ?1 ORDER BY id`,
    [text(email)],
  );
  return result.rows.map((row) => ({
    id: Number(row[0].val),
    text: row[1].val,
    at: Number(row[2].val),
  }));
}

const badRequest = (message) => ({ tag: "bad-request", val: message });

// A failed store call throws an error whose `payload` is the store error
// (`{ tag: "sql", val: "no such table: ..." }`). An export must fail with
// text (a command: with a command error): an error of another type makes
// the component crash. Wrap every export with one of these two, and every
// failure becomes an error the host reports with its text.
const STORE_ERRORS = new Set(["access-denied", "sql", "limit-exceeded", "invalid-parameter"]);

function storeError(error) {
  const payload = error && error.payload;
  return payload && STORE_ERRORS.has(payload.tag) ? payload : undefined;
}

function describe(error) {
  const store = storeError(error);
  if (store) {
    const detail = typeof store.val === "string" ? store.val : store.val.message;
    return `${store.tag}: ${detail}`;
  }
  return typeof error === "string" ? error : String((error && error.message) || error);
}

// For an export whose error is text (setup, hooks, filters, privacy).
function textErrors(method) {
  return function (...args) {
    try {
      return method.apply(this, args);
    } catch (error) {
      throw describe(error);
    }
  };
}

// For `commands.run`: a store error becomes a `store` command error (a
// denial is reported as `capability_denied`), anything else that is not a
// command error becomes `failed`.
function commandErrors(method) {
  return function (...args) {
    try {
      return method.apply(this, args);
    } catch (error) {
      const store = storeError(error);
      if (store) throw { tag: "store", val: store };
      if (error && typeof error.tag === "string" && "val" in error) throw error;
      throw { tag: "failed", val: describe(error) };
    }
  };
}

export const manifest = {
  get() {
    const command = (name, description) => ({
      name,
      description,
      argumentFilters: [],
      resultFilter: undefined,
    });
    const field = (column, category) => ({
      table: NOTES,
      column,
      category,
      policy: { tag: "delete" },
    });
    return {
      id: ID,
      version: "0.1.0",
      description: "Notes about customers (a plugin in JavaScript).",
      capabilities: [],
      commands: [command("add", "Add a note: {email, text}"), command("list", "Notes: {email}")],
      actions: ["ticket.created"],
      filters: [],
      processing: {
        purpose: "Remembering what customers asked for",
        dataCategories: ["contact details", "notes"],
        dataSubjects: ["customers"],
        retention: "until the customer asks for erasure",
        personalData: [field("email", "contact details"), field("text", "notes")],
        retentionRules: [],
      },
    };
  },
};

export const lifecycle = {
  setup: textErrors(function (_previousVersion) {
    execute(
      `CREATE TABLE IF NOT EXISTS ${NOTES} (id INTEGER PRIMARY KEY, email TEXT NOT NULL, ` +
        "text TEXT NOT NULL, created_at INTEGER NOT NULL)",
      [],
    );
    execute(`CREATE INDEX IF NOT EXISTS ${NOTES}_email ON ${NOTES} (email)`, []);
  }),
};

export const commands = {
  run: commandErrors(function (name, argsJson) {
    let args;
    try {
      args = JSON.parse(argsJson);
    } catch (e) {
      throw badRequest(`arguments are not JSON: ${e}`);
    }
    if (name === "add") {
      const { email, text: note } = args;
      if (typeof email !== "string" || !email.includes("@") || typeof note !== "string") {
        throw badRequest('add needs {"email": "...", "text": "..."}');
      }
      return JSON.stringify({ id: addNote(email, note) });
    }
    if (name === "list") {
      if (typeof args.email !== "string") {
        throw badRequest('list needs {"email": "..."}');
      }
      const notes = notesOf(args.email.toLowerCase()).map(({ id, text }) => ({ id, text }));
      return JSON.stringify({ notes });
    }
    throw badRequest(`unknown command ${name}: try add or list`);
  }),
};

export const hooks = {
  onAction: textErrors(function (event, payload) {
    if (event !== "ticket.created") {
      return;
    }
    const ticket = JSON.parse(payload);
    if (typeof ticket.email === "string") {
      addNote(ticket.email, `opened ticket ${ticket.id}`);
    }
  }),
  applyFilter: textErrors(function (_filter, value) {
    return value;
  }),
};

export const privacy = {
  exportData: textErrors(function (subject, _cursor) {
    const items = notesOf(subject.email).map(({ id, text, at }) => ({
      groupId: "notes",
      groupLabel: "Notes about you",
      itemId: String(id),
      data: [
        ["Email", subject.email],
        ["Note", text],
        ["Written at (ms)", String(at)],
      ],
      files: [],
    }));
    return { items, next: undefined };
  }),
  eraseData: textErrors(function (subject, _cursor, dryRun) {
    const removed = dryRun
      ? notesOf(subject.email).length
      : Number(execute(`DELETE FROM ${NOTES} WHERE email = ?1`, [text(subject.email)]).rowsChanged);
    return { itemsRemoved: BigInt(removed), itemsRetained: [], messages: [], next: undefined };
  }),
  applyRetention: textErrors(function (_rule, _cutoffMs, _dryRun) {
    return { itemsRemoved: 0n, messages: [] };
  }),
};
