"""How the ``flask social-auth`` commands speak: inert lines for people, JSON for scripts, and
one-line failures with exit status 1."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any
from unicodedata import category

import click

from .errors import SocialAuthError

#: What a terminal could act on or a reader misread: controls (ESC starts colour, cursor and
#: title sequences; CR and LF start a forged row), format characters (bidi overrides reorder
#: what follows), private use, surrogates, unassigned code points, Unicode line separators.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def printable(*lines: str) -> str:
    """``lines`` joined by newlines, each such character in them shown as its escape (``\\x1b``,
    ``\\u202e``). Every line for people passes through here: a value is inert, in its row."""
    return "\n".join(
        "".join(ascii(ch)[1:-1] if category(ch) in _UNPRINTABLE else ch for ch in line)
        for line in lines
    )


def emit(data: Any, as_json: bool, *lines: str) -> None:
    """Print ``data`` as JSON for scripts (``json`` escapes every control and non-ASCII
    character), or ``lines`` for people, each ``printable``."""
    click.echo(json.dumps(data, indent=2, sort_keys=True) if as_json else printable(*lines))


class CommandFailed(click.ClickException):
    """A clear one-line failure (exit status 1), as JSON on stdout when ``--json`` was given."""

    def __init__(self, message: str, *, code: str, as_json: bool) -> None:
        super().__init__(message)
        self.code = code
        self.as_json = as_json

    def show(self, file: IO[Any] | None = None) -> None:
        if self.as_json:
            click.echo(json.dumps({"error": {"code": self.code, "message": self.message}}))
        else:
            super().show(file)

    def format_message(self) -> str:
        return printable(self.message)


@contextmanager
def explained(as_json: bool) -> Iterator[None]:
    """Turn the package's errors (unknown id, conflicts) into messages instead of tracebacks."""
    try:
        yield
    except SocialAuthError as exc:
        raise CommandFailed(exc.message, code=exc.code, as_json=as_json) from exc


def confirm(question: Sequence[str], yes: bool, as_json: bool) -> None:
    """Ask on stderr (stdout stays clean for ``--json``); refusing exits with status 1."""
    if yes:
        return
    if not click.confirm(printable(*question), default=False, err=True):
        raise CommandFailed("Nothing changed.", code="aborted", as_json=as_json)
