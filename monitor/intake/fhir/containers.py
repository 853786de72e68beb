"""Reading the shapes FHIR JSON arrives in, without holding a large file's object tree in memory.

- NDJSON (Bulk Data export, one resource per line): read line by line.
- One JSON document (a Bundle of any type, a bare resource, a JSON array of resources): decoded
  incrementally from a 256 KiB text window; the entries of a Bundle and the items of an array are
  decoded and yielded one at a time, so memory follows the largest entry, not the file.
- gzip-compressed files of either shape are read transparently.

Numbers are decoded as `Decimal` (a T-score of −1.05 stays −1.05). A problem with one line or one
entry is an `Item` with `error` set; a problem with the whole file (not JSON, truncated JSON, not
UTF-8, empty) raises `FatalFileError` with a message that names the line and column.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

CHUNK = 1 << 18  # characters read at a time from a JSON document
SNIFF = 1 << 16  # bytes looked at to tell NDJSON from a JSON document
MAX_BUNDLE_DEPTH = 4
_WS = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'["{}\[\]]')
_STRING_STOP = re.compile(r'\\.|"', re.S)
_RESOURCE_TYPE = re.compile(rb'"resourceType"\s*:\s*"[A-Za-z]+"')


class FatalFileError(Exception):
    """The whole file is refused; the message is shown as is."""


@dataclass(frozen=True, slots=True)
class TooLarge:
    """An array item or Bundle entry over [fhir] max_resource_mb, skipped without decoding."""

    line: int
    size: int
    limit: int

    def message(self) -> str:
        return f"line {self.line}: {_too_large(self.size, self.limit)}"


@dataclass(slots=True)
class Item:
    """One resource (or one unreadable line or entry) of a file."""

    line: int | None  # NDJSON line number
    locator: str | None  # position inside a JSON document: "entry[3]", "[12]"
    resource: Any = None
    full_url: str | None = None
    error: str | None = None


def _decimal_constant(name: str) -> Decimal:
    # NaN / Infinity are not JSON; keep them as non-finite Decimals so the mapping rejects the value.
    return Decimal(name)


DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_decimal_constant)


def loads(text: str) -> Any:
    return DECODER.decode(text)


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if _is_gzip(path) else path.open("rb")


def _open_text(path: Path) -> TextIO:
    return io.TextIOWrapper(_open_bytes(path), encoding="utf-8-sig")


def sniff(path: Path) -> bytes:
    """The first bytes of the (decompressed) file, BOM and leading whitespace removed."""
    with _open_bytes(path) as fh:
        head = fh.read(SNIFF)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip()


def looks_like_json_resource(head: bytes) -> bool:
    return head[:1] in (b"{", b"[") and _RESOURCE_TYPE.search(head) is not None


def iter_items(path: Path, *, max_resource_chars: int) -> Iterator[Item]:
    """Every resource of a file, Bundles expanded (nested ones too). Raises FatalFileError."""
    try:
        head = sniff(path)
    except FileNotFoundError:
        raise FatalFileError("file not found") from None
    except IsADirectoryError:
        raise FatalFileError("a directory with no .json or .ndjson file in it") from None
    except (OSError, EOFError) as exc:
        raise FatalFileError(f"cannot be read: {exc}") from None
    if not head:
        raise FatalFileError("the file is empty")
    if head[:1] not in (b"{", b"["):
        first = head.split(b"\n", 1)[0]
        if b"\t" in first:
            raise FatalFileError("not FHIR JSON: this is tab-separated text (use the CSV import for tables)")
        if b"," in first:
            raise FatalFileError("not FHIR JSON: this looks like CSV text (use the CSV import for tables)")
        raise FatalFileError("not FHIR JSON: a FHIR file starts with '{' (a resource or Bundle) or '[' (an array)")
    try:
        if _is_ndjson(path, head):
            yield from _iter_ndjson(path, max_resource_chars)
        else:
            yield from _iter_document(path, max_resource_chars)
    except UnicodeDecodeError as exc:
        raise FatalFileError(f"not UTF-8 text ({exc.reason}); FHIR JSON must be saved as UTF-8") from None
    except (OSError, EOFError) as exc:  # e.g. a truncated gzip stream
        raise FatalFileError(f"cannot be read: {exc}") from None


def _is_ndjson(path: Path, head: bytes) -> bool:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".ndjson", ".jsonl")):
        return True
    if head[:1] != b"{":
        return False
    first, sep, rest = head.partition(b"\n")
    if not sep or not rest.strip():
        return False
    try:
        value = json.loads(first)
    except ValueError:
        return False
    return isinstance(value, dict)


# --------------------------------------------------------------------------- NDJSON


def _iter_ndjson(path: Path, limit: int) -> Iterator[Item]:
    with _open_text(path) as fh:
        n = 0
        while True:
            line = fh.readline(limit + 1)
            if not line:
                return
            n += 1
            if len(line) > limit and not line.endswith("\n"):
                size = len(line)
                while line and not line.endswith("\n"):  # step over the rest of the line
                    line = fh.readline(CHUNK)
                    size += len(line)
                yield Item(n, None, error=_too_large(size, limit))
                continue
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            try:
                value = loads(line)
            except json.JSONDecodeError as exc:
                yield Item(n, None, error=f"not valid JSON at column {exc.colno}: {exc.msg}")
                continue
            except RecursionError:
                yield Item(n, None, error="not readable JSON: nested too deeply")
                continue
            yield from expand(value, line=n, locator=None, full_url=None)


def _too_large(size: int, limit: int) -> str:
    return (
        f"a single resource of {size / 1e6:.1f} MB is over the limit of {limit / 1e6:.0f} MB"
        " ([fhir] max_resource_mb); refused"
    )


def expand(
    value: Any, *, line: int | None, locator: str | None, full_url: str | None, depth: int = 0
) -> Iterator[Item]:
    """A resource, or the entries of a Bundle (recursively), as Items."""
    if isinstance(value, TooLarge):
        yield Item(line, locator, error=value.message())
        return
    if isinstance(value, dict) and value.get("resourceType") == "Bundle" and depth < MAX_BUNDLE_DEPTH:
        entries = value.get("entry") or []
        if not isinstance(entries, list):
            yield Item(line, locator, error="Bundle.entry is not a list")
            return
        for i, entry in enumerate(entries):
            loc = f"{locator}.entry[{i}]" if locator else f"entry[{i}]"
            yield from _entry_items(entry, line=line, locator=loc, depth=depth)
        return
    yield Item(line, locator, value, full_url)


def _entry_items(entry: Any, *, line: int | None, locator: str, depth: int) -> Iterator[Item]:
    if isinstance(entry, TooLarge):
        yield Item(line, locator, error=entry.message())
        return
    if not isinstance(entry, dict):
        yield Item(line, locator, error="a Bundle entry is not a JSON object")
        return
    request = entry.get("request")
    if isinstance(request, dict) and str(request.get("method", "")).upper() == "DELETE":
        return  # a deletion carries no resource to import
    resource = entry.get("resource")
    if resource is None:
        return  # response-only entries (transaction-response, batch-response, history)
    full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
    yield from expand(resource, line=line, locator=locator, full_url=full_url, depth=depth + 1)


# --------------------------------------------------------------------------- one JSON document, streamed


class _Stream:
    """A window over a text file that JSON values are decoded from one at a time."""

    def __init__(self, fh: TextIO, limit: int):
        self.fh = fh
        self.limit = limit
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line0 = 1  # line of buf[0]
        self.col0 = 0  # characters before buf[0] on its line

    def _more(self, grow: bool = False) -> bool:
        if self.eof:
            return False
        done = self.buf[: self.pos]
        newlines = done.count("\n")
        if newlines:
            self.line0 += newlines
            self.col0 = len(done) - done.rfind("\n") - 1
        else:
            self.col0 += len(done)
        self.buf = self.buf[self.pos :]
        self.pos = 0
        data = self.fh.read(max(CHUNK, len(self.buf)) if grow else CHUNK)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def where(self, pos: int) -> tuple[int, int]:
        before = self.buf[:pos]
        newlines = before.count("\n")
        if newlines:
            return self.line0 + newlines, pos - before.rfind("\n")
        return self.line0, self.col0 + pos + 1

    def fail(self, what: str, pos: int | None = None) -> FatalFileError:
        line, col = self.where(self.pos if pos is None else pos)
        return FatalFileError(f"not valid JSON at line {line} column {col}: {what}")

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            got = self.peek()
            raise self.fail(f"expecting '{char}'" + (f", found '{got}'" if got else ", found the end of the file"))
        self.pos += 1

    def value(self, *, skip_large: bool = False) -> Any:
        """The next JSON value; a value over the size limit is skipped (TooLarge) or refuses the file."""
        if not self.peek():
            raise self.fail("the file ends too early (truncated?)")
        while True:
            try:
                obj, end = DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof:
                    ends = exc.pos >= len(self.buf.rstrip()) or exc.msg.startswith("Unterminated string")
                    raise self.fail(exc.msg + ("; the file ends there (truncated?)" if ends else ""), exc.pos) from None
                if len(self.buf) - self.pos > self.limit:
                    line, _ = self.where(self.pos)
                    if skip_large:
                        return TooLarge(line, self._skip(), self.limit)
                    raise FatalFileError(f"line {line}: {_too_large(len(self.buf) - self.pos, self.limit)}") from None
                self._more(grow=True)
                continue
            except RecursionError:
                raise self.fail("nested too deeply") from None
            if end == len(self.buf) and not self.eof:
                self._more(grow=True)  # a number may go on in the next block
                continue
            self.pos = end
            return obj

    def _skip(self) -> int:
        """Step over one JSON value without decoding it; its size in characters."""
        size, depth, in_string = 0, 0, False
        while True:
            i = self.pos
            while True:
                m = (_STRING_STOP if in_string else _STRUCTURE).search(self.buf, i)
                if m is None:
                    break
                i = m.end()
                ch = m.group()[-1]
                if in_string:
                    if ch == '"':
                        in_string = False
                elif ch == '"':
                    in_string = True
                elif ch in "{[":
                    depth += 1
                else:
                    depth -= 1
                if depth == 0 and not in_string:
                    size += i - self.pos
                    self.pos = i
                    return size
            size += len(self.buf) - self.pos
            self.pos = len(self.buf)
            if not self._more():
                raise self.fail("the file ends too early (truncated?)")


def _iter_document(path: Path, limit: int) -> Iterator[Item]:
    with _open_text(path) as fh:
        s = _Stream(fh, limit)
        first = s.peek()
        if first == "[":
            s.pos += 1
            for i, value in enumerate(_array(s)):
                yield from expand(value, line=None, locator=f"[{i}]", full_url=None)
        else:
            yield from _object(s)
        if s.peek():
            raise s.fail("extra data after the end of the JSON document")


def _array(s: _Stream) -> Iterator[Any]:
    if s.peek() == "]":
        s.pos += 1
        return
    while True:
        yield s.value(skip_large=True)
        c = s.peek()
        if c == ",":
            s.pos += 1
        elif c == "]":
            s.pos += 1
            return
        else:
            raise s.fail("expecting ',' or ']'" if c else "the file ends too early (truncated?)")


def _object(s: _Stream) -> Iterator[Item]:
    """The top-level object: a Bundle's entries are streamed, anything else is decoded whole."""
    s.expect("{")
    top: dict[str, Any] = {}
    streamed = False
    if s.peek() == "}":
        s.pos += 1
    else:
        while True:
            if s.peek() != '"':
                raise s.fail("expecting a property name in double quotes")
            key = s.value()
            s.expect(":")
            if key == "entry" and top.get("resourceType") == "Bundle" and s.peek() == "[":
                s.pos += 1
                streamed = True
                for i, entry in enumerate(_array(s)):
                    yield from _entry_items(entry, line=None, locator=f"entry[{i}]", depth=0)
            else:
                top[key] = s.value()
            c = s.peek()
            if c == ",":
                s.pos += 1
            elif c == "}":
                s.pos += 1
                break
            else:
                raise s.fail("expecting ',' or '}'" if c else "the file ends too early (truncated?)")
    if not streamed:
        yield from expand(top, line=None, locator=None, full_url=None)
