"""Helpers for a wasmdesk plugin in Python.

A store call that fails raises `Err(types.StoreError_...)`. An export
method's error must be a string (setup, hooks, filters, privacy) or a
`CommandError` (commands): an `Err` carrying anything else makes
componentize-py trap ("'StoreError_Sql' object is not an instance of
'str'"), and the host can then only report a crash. Decorate every export
method with one of these two, and every failure becomes an error the host
reports with its text:

    class Hooks(exports.Hooks):
        @wasmdesk.text_errors
        def on_action(self, event, payload): ...

    class Commands(exports.Commands):
        @wasmdesk.command_errors
        def run(self, name, args): ...

To handle a store error yourself, catch `Err` and look at `e.value`:

    try:
        store.execute(...)
    except Err as e:
        if wasmdesk.is_store_error(e): ...
"""

import functools

from componentize_py_types import Err
from wit_world.exports import commands


def is_store_error(error: Err) -> bool:
    """Whether `error` is a failed store call (its value a `StoreError_*`)."""
    return type(error.value).__name__.startswith("StoreError_")


def describe(value) -> str:
    """A store error, command error or anything else, as one line of text:
    `sql: no such table: notes__x`."""
    if isinstance(value, str):
        return value
    name = type(value).__name__
    if "_" in name and hasattr(value, "value"):
        kind = name.split("_", 1)[1].lower().replace("_", "-")
        inner = value.value
        if hasattr(inner, "__dict__") and not isinstance(inner, str):
            inner = ", ".join(f"{k}: {v}" for k, v in vars(inner).items())
        return f"{kind}: {inner}"
    return f"{name}: {value}"


def text_errors(method):
    """For an export whose error is a string: every failure is raised as
    `Err(text)`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Err as e:
            if isinstance(e.value, str):
                raise
            raise Err(describe(e.value)) from None
        except Exception as e:  # a bug in the plugin: say what, not crash
            raise Err(f"{type(e).__name__}: {e}") from None

    return wrapper


def command_errors(method):
    """For `Commands.run`: a store error is raised as
    `CommandError_Store` (the host reports a denial as `capability_denied`),
    anything else that is not a `CommandError` as `CommandError_Failed`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Err as e:
            if is_store_error(e):
                raise Err(commands.CommandError_Store(e.value)) from None
            if type(e.value).__name__.startswith("CommandError_"):
                raise
            raise Err(commands.CommandError_Failed(describe(e.value))) from None
        except Exception as e:
            raise Err(commands.CommandError_Failed(f"{type(e).__name__}: {e}")) from None

    return wrapper
