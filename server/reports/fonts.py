"""The report's fonts: DejaVu Sans (regular and bold, from matplotlib's package data) for the
text, and a CJK-capable fallback font for the characters DejaVu lacks (such as 東京 in
"Zoë Łukasiewicz – 東京"), embedded as subsets by fpdf2.

The fallback is the first of :data:`FALLBACK_FONTS` found on the host (``fonts-droid-fallback``
on Debian, installed by ``make test``; ``fonts-wqy-microhei`` or ``fonts-noto-cjk`` also do), or
the file that ``GRIDLIGHT_REPORTS_FALLBACK_FONT`` names. It is registered with fpdf2 for just the
characters a report needs from it, so that a report in Latin script never reads it.

fpdf2 reads all of a font's tables and subsets it again for every document: about 0.4 s a
report for DejaVu's 6,000 glyphs and 2 s for a 50,000-glyph CJK font. So each report embeds
small font files cut once (:func:`font_subset`, cached under the temporary directory by font and
characters, so that the same ones serve every report needing them): DejaVu cut to
:data:`BASE_RANGES` (the report's own text) and the characters of the report's figures (names,
channels, recommendations), the fallback to the characters DejaVu lacks. A character that no font has prints as U+FFFD (�),
and a warning names it: the report is still made.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "FALLBACK_ENV",
    "FALLBACK_FONTS",
    "REPLACEMENT",
    "FontPlan",
    "dejavu_files",
    "fallback_file",
    "font_subset",
    "plan_fonts",
    "strings_of",
]

log = logging.getLogger(__name__)

#: Environment variable naming a fallback font file (TTF/OTF; TTC collections: their first).
FALLBACK_ENV = "GRIDLIGHT_REPORTS_FALLBACK_FONT"
#: Where Debian's CJK-capable font packages put a TrueType file fpdf2 can embed.
FALLBACK_FONTS = (
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
)
REPLACEMENT = "\ufffd"
#: The characters every report may print (its own text: Latin, punctuation, symbols).
BASE_RANGES = (
    (0x0020, 0x024F),  # Basic Latin to Latin Extended-B
    (0x0370, 0x04FF),  # Greek, Cyrillic (names in them share the one cached cut)
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese)
    (0x2000, 0x206F),  # General Punctuation (– — ’ “ ” • …)
    (0x20A0, 0x20CF),  # currency signs
    (0x2100, 0x214F),  # letterlike symbols
    (0x2190, 0x22FF),  # arrows, mathematical operators (− ≥ ×)
    (0x25A0, 0x25FF),  # geometric shapes
    (0xFFFD, 0xFFFD),  # the replacement character
)


@cache
def dejavu_files() -> dict[str, Path]:
    """DejaVu Sans regular (``""``) and bold (``"B"``) from matplotlib's package data (found
    without importing matplotlib: nothing of it is needed but the files)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("matplotlib is not installed: it ships the reports' DejaVu fonts")
    folder = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
    return {"": folder / "DejaVuSans.ttf", "B": folder / "DejaVuSans-Bold.ttf"}


def fallback_file() -> Path | None:
    """The fallback font file: ``GRIDLIGHT_REPORTS_FALLBACK_FONT``, else the first of
    :data:`FALLBACK_FONTS` present; ``None`` when there is none."""
    named = os.environ.get(FALLBACK_ENV)
    candidates = [named] if named is not None else list(FALLBACK_FONTS)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "gridlight-report-fonts"


def font_subset(path: Path, codepoints: Iterable[int]) -> Path:
    """A TrueType file with just ``codepoints`` of the font at ``path`` (its first face), made
    once and kept under the temporary directory (written aside and renamed into place, so that
    processes making it at once do not see half a file)."""
    wanted = sorted(set(codepoints))
    stat = path.stat()
    key = hashlib.sha256(
        f"{path}:{stat.st_size}:{stat.st_mtime_ns}:{','.join(map(str, wanted))}".encode()
    ).hexdigest()[:24]
    target = _cache_dir() / f"{path.stem}-{key}.ttf"
    if target.is_file():
        return target
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.layout_features = []
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: nothing a PDF needs
    with TTFont(path, fontNumber=0, lazy=True) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=wanted)
        subsetter.subset(font)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                font.save(out)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target


@cache
def _codepoints(path: Path) -> frozenset[int]:
    """The characters a font file has glyphs for (its best character map; read once)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap() or ())


def _dejavu_codepoints() -> frozenset[int]:
    files = dejavu_files()
    return _codepoints(files[""]) & _codepoints(files["B"])


@dataclass(frozen=True)
class FontPlan:
    """Which font prints what: ``dejavu`` (files cut from DejaVu Sans) what DejaVu has;
    ``fallback`` (a file) the characters of ``fallback_range``; ``missing`` no font has (they
    print as U+FFFD)."""

    dejavu: dict[str, Path]  # style ("", "B") → font file
    fallback: Path | None
    fallback_range: frozenset[int]
    covered: frozenset[int]
    missing: frozenset[int]

    def printable(self, text: str) -> str:
        """``text`` with every character no font has replaced by U+FFFD."""
        if not self.missing or self.missing.isdisjoint(map(ord, text)):
            return text
        return "".join(REPLACEMENT if ord(ch) in self.missing else ch for ch in text)


def plan_fonts(texts: Iterable[str], fallback: Path | None | bool = True) -> FontPlan:
    """The fonts that print ``texts`` (``fallback``: a font file, ``None``/``False`` for none,
    ``True`` for :func:`fallback_file`). Logs a warning naming the characters no font has."""
    wanted = {ord(ch) for text in texts for ch in text if ch.isprintable()}
    dejavu = _dejavu_codepoints()
    need = frozenset(wanted - dejavu)
    path = fallback_file() if fallback is True else (fallback or None)
    in_fallback: frozenset[int] = frozenset()
    if need and path is not None:
        try:
            in_fallback = need & _codepoints(path)
        except Exception as err:  # noqa: BLE001 - an unreadable font file: report without it
            log.warning("reports: cannot read the fallback font %s: %s", path, err)
            path = None
    missing = need - in_fallback
    if missing:
        shown = "".join(sorted(chr(c) for c in missing))
        where = (
            f"in DejaVu Sans or {path.name}"
            if path is not None
            else f"in DejaVu Sans, and no fallback font is installed ({FALLBACK_ENV} or "
            "Debian's fonts-droid-fallback)"
        )
        log.warning(
            "reports: no glyph for %r (U+%s) %s: printed as U+FFFD",
            shown,
            " U+".join(f"{c:04X}" for c in sorted(missing)),
            where,
        )
    base = {c for lo, hi in BASE_RANGES for c in range(lo, hi + 1)}
    keep = frozenset((base | wanted) & dejavu)
    files = dejavu_files()
    cut = dict(files)
    try:
        cut = {style: font_subset(file, keep) for style, file in files.items()}
    except Exception as err:  # noqa: BLE001 - fpdf2 can still read the whole font
        log.warning("reports: cannot cut a subset of DejaVu Sans (%s): using the whole font", err)
    if in_fallback and path is not None:
        try:
            path = font_subset(path, in_fallback)
        except Exception as err:  # noqa: BLE001 - fpdf2 can still read the whole font
            log.warning("reports: cannot cut a subset of %s (%s): using the whole font", path, err)
    return FontPlan(
        dejavu=cut,
        fallback=path if in_fallback else None,
        fallback_range=in_fallback,
        covered=keep | in_fallback,
        missing=missing,
    )


def strings_of(value: object) -> Iterator[str]:
    """Every string in ``value`` (dataclass fields, mappings, sequences), recursively."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_of(key)
            yield from strings_of(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from strings_of(item)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:  # type: ignore[attr-defined]
            yield from strings_of(getattr(value, name))
