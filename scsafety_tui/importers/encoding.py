"""Decode a source file whatever Chinese-dataset encoding it uses, and say which one was used.

Order matters: a strict UTF-8 decode first (it almost never succeeds by accident), then GB18030 (a superset
of GBK and GB2312, which older Chinese releases use), and charset-normalizer only as a last resort,
because guessing is what goes wrong on short files.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from scsafety_tui.errors import InputError
from scsafety_tui.importers.base import SourceFile


def decode_bytes(data: bytes, where: str) -> tuple[str, str]:
    """(text, encoding name) for raw bytes; InputError when nothing fits."""
    if data.startswith(b"PK\x03\x04"):
        raise InputError(f"{where}: looks like a ZIP or XLSX file; export it as CSV or JSON first")
    for bom, codec, name in ((codecs.BOM_UTF8, "utf-8", "utf-8 with BOM"),
                             (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16 with BOM"),
                             (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16 with BOM")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), name
            except UnicodeDecodeError as e:
                raise InputError(f"{where}: starts with a {name} mark but is not {codec} "
                                 f"(byte {e.start + len(bom)})") from None
    if b"\x00" in data:
        raise InputError(f"{where}: looks like a binary file (NUL bytes), not text")
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{where}: cannot tell its text encoding; re-save it as UTF-8")
    return str(best), f"{best.encoding} (guessed)"


def read_source(path: Path) -> SourceFile:
    """Read and decode one file; CRLF and lone CR become LF so readers see one kind of line end."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    text, encoding = decode_bytes(data, str(path))
    return SourceFile(path, text.replace("\r\n", "\n").replace("\r", "\n"), encoding)
