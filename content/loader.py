"""Load and validate the content pack (YAML files under one directory).

Layout of the directory::

    checklists.yaml      documents to submit (see content.models.Checklists)
    courses/*.yaml       one course per file, ordered by file name
    faq.yaml             a list of FAQ entries
    journey.yaml         ``slots:``, the moments the bot may push an item
    library/**           content items: *.yaml (one item or a list) and *.md (front
                         matter + ``## zh`` / ``## en`` sections); names starting
                         with "_" or "." and README.md are skipped

Any problem raises :class:`ContentError` naming the file and the field, e.g.
``content/courses/safety.yaml: questions.2.answer: 'E' is not one of the options A-C``.
Library problems are collected and reported together (at most ten lines).
Nothing is cached: the caller keeps the returned :class:`ContentPack`.
See docs/content.md for the editor's view.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

from content.models import (
    Checklists,
    ContentItem,
    ContentPack,
    Course,
    FaqEntry,
    Journey,
    JourneySlot,
)
from content.render import TemplateProblem, check_template

T = TypeVar("T")

CONTENT_DIR = Path(__file__).resolve().parent
MAX_REPORTED_ERRORS = 10

_CHECKLISTS = TypeAdapter(Checklists)
_COURSE = TypeAdapter(Course)
_FAQ = TypeAdapter(list[FaqEntry])
_JOURNEY = TypeAdapter(Journey)
_ITEM = TypeAdapter(ContentItem)

LIBRARY_SUFFIXES = (".yaml", ".yml", ".md")
_LANG_HEADING = re.compile(r"^##\s*(zh|en)\s*$", re.IGNORECASE)


class ContentError(Exception):
    """The content pack has a file that cannot be used; the message says where and why."""

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key repeated in one mapping (plain safe_load keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in keys
            except TypeError:  # unhashable key; the base class reports it
                break
            if repeated:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            keys.add(key)
        return yaml.constructor.SafeConstructor.construct_mapping(self, node, deep=deep)


class _FastUniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same with libyaml's parser (several times faster); errors are re-read by the above."""

    construct_mapping = _UniqueKeyLoader.construct_mapping


def load_content(root: Path | None = None) -> ContentPack:
    """Read and validate every content file under ``root`` (default: this package's directory)."""
    root = CONTENT_DIR if root is None else Path(root)
    if not root.is_dir():
        raise ContentError(f"{root}: content directory not found", file=str(root))

    checklists = _validate(_CHECKLISTS, *_read(root, root / "checklists.yaml"))
    courses = _load_courses(root)
    faq = _load_faq(root)
    journey = _load_journey(root)
    items = _load_library(root, journey)
    return ContentPack(
        checklists=checklists, courses=courses, faq=faq, journey=journey, items=items
    )


def _load_courses(root: Path) -> list[Course]:
    course_dir = root / "courses"
    course_files = sorted(
        p
        for p in (course_dir.iterdir() if course_dir.is_dir() else [])
        if p.suffix in (".yaml", ".yml") and not p.name.startswith((".", "_")) and p.is_file()
    )
    if not course_files:
        name = _display(root, course_dir)
        raise ContentError(f"{name}: no course files (*.yaml)", file=name)
    courses: list[Course] = []
    first_file: dict[str, str] = {}
    for path in course_files:
        data, name = _read(root, path)
        course = _validate(_COURSE, data, name)
        if course.id in first_file:
            raise ContentError(
                f"{name}: id: duplicate course id {course.id!r} (also in {first_file[course.id]})",
                file=name,
            )
        first_file[course.id] = name
        courses.append(course)
    return courses


def _load_faq(root: Path) -> list[FaqEntry]:
    data, name = _read(root, root / "faq.yaml")
    faq = _validate(_FAQ, data, name)
    first_index: dict[str, int] = {}
    for index, entry in enumerate(faq):
        if entry.id in first_index:
            raise ContentError(
                f"{name}: {index}.id: duplicate FAQ id {entry.id!r} "
                f"(also at {first_index[entry.id]}.id)",
                file=name,
            )
        first_index[entry.id] = index
        for lang in ("zh", "en"):  # answers may use the candidate's dates and names
            try:
                check_template(getattr(entry.answer, lang))
            except TemplateProblem as exc:
                raise ContentError(
                    f"{name}: {index}.answer.{lang}: template error: {exc}", file=name
                ) from exc
    return faq


def _load_journey(root: Path) -> list[JourneySlot]:
    data, name = _read(root, root / "journey.yaml")
    slots = _validate(_JOURNEY, data, name).slots
    first_index: dict[str, int] = {}
    for index, slot in enumerate(slots):
        if slot.id in first_index:
            raise ContentError(
                f"{name}: slots.{index}.id: duplicate slot id {slot.id!r} "
                f"(also at slots.{first_index[slot.id]}.id)",
                file=name,
            )
        first_index[slot.id] = index
    return slots


# ---- the library ------------------------------------------------------------------------


class _Problems:
    """Problems found in the library, reported together (sorted by file) as one ContentError."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []  # (file, line)

    def add(self, file: str, where: str, message: str) -> None:
        self.found.append((file, f"{file}: {where}: {message}"))

    def extend(self, error: ContentError) -> None:
        file = error.file or ""
        self.found.extend((file, line) for line in str(error).splitlines())

    def raise_any(self) -> None:
        if not self.found:
            return
        found = sorted(self.found, key=lambda pair: pair[0])  # stable: a file's order is kept
        lines = [line for _, line in found]
        if len(lines) > MAX_REPORTED_ERRORS:
            more = len(lines) - MAX_REPORTED_ERRORS
            lines = [*lines[:MAX_REPORTED_ERRORS], f"... and {more} more"]
        raise ContentError("\n".join(lines), file=found[0][0] or None)


class _Placed:
    """An item and where it came from: file display name and the index prefix in a list file."""

    def __init__(self, item: ContentItem, file: str, prefix: str) -> None:
        self.item, self.file, self.prefix = item, file, prefix

    def add(self, problems: _Problems, field: str, message: str) -> None:
        problems.add(self.file, f"{self.prefix}{field}", message)


def _library_files(root: Path) -> list[Path]:
    library = root / "library"
    if not library.is_dir():
        return []
    return sorted(
        path
        for path in library.rglob("*")
        if path.is_file()
        and path.suffix.lower() in LIBRARY_SUFFIXES
        and path.name.lower() != "readme.md"
        and not any(part.startswith((".", "_")) for part in path.relative_to(library).parts)
    )


def _load_library(root: Path, journey: list[JourneySlot]) -> list[ContentItem]:
    problems = _Problems()
    placed: list[_Placed] = []
    for path in _library_files(root):
        try:
            placed.extend(_read_items(root, path))
        except ContentError as exc:
            problems.extend(exc)
    all_parsed = not problems.found
    if not placed and all_parsed:
        name = _display(root, root / "library")
        raise ContentError(f"{name}: no content items (*.yaml, *.md)", file=name)

    digests = {slot.digest: slot.id for slot in journey if slot.digest is not None}
    slot_ids = [slot.id for slot in journey]
    first_file: dict[str, str] = {}
    for entry in placed:
        item_id = entry.item.id
        if item_id in first_file:
            entry.add(
                problems, "id", f"duplicate item id {item_id!r} (also in {first_file[item_id]})"
            )
        else:
            first_file[item_id] = entry.file
        _check_templates(entry, problems)
        _check_image(root, entry, problems)
        _check_trigger(entry, slot_ids, digests, problems)
    if all_parsed:  # with a file unreadable, these would report false gaps
        _check_coverage(root, journey, placed, problems)
    problems.raise_any()
    return [entry.item for entry in placed]


def _read_items(root: Path, path: Path) -> list[_Placed]:
    if path.suffix.lower() == ".md":
        front, name = _read_markdown(root, path)
        return [_Placed(_validate(_ITEM, front, name), name, "")]
    data, name = _read(root, path)
    if isinstance(data, list):
        lines: list[str] = []
        items: list[_Placed] = []
        for index, element in enumerate(data):
            try:
                items.append(
                    _Placed(_validate(_ITEM, element, name, f"{index}."), name, f"{index}.")
                )
            except ContentError as exc:
                lines.extend(str(exc).splitlines())
        if lines:
            raise ContentError("\n".join(lines), file=name)
        return items
    return [_Placed(_validate(_ITEM, data, name), name, "")]


def _read_markdown(root: Path, path: Path) -> tuple[dict[str, Any], str]:
    """Front matter between ``---`` lines (the item's fields), then ``## zh`` / ``## en`` bodies."""
    text, name = _read_text(root, path)
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ContentError(
            f"{name}: line 1: a Markdown item starts with front matter: a '---' line, "
            "the item's fields in YAML, and another '---' line",
            file=name,
        )
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise ContentError(f"{name}: front matter: no closing '---' line", file=name)
    front = _parse_yaml("\n".join(lines[1:end]), name, first_line=2)
    if not isinstance(front, dict):
        raise ContentError(
            f"{name}: front matter: expected the item's fields (id: ..., kind: ...)", file=name
        )
    if "body" in front:
        raise ContentError(
            f"{name}: body: write the body below the front matter under '## zh' and '## en' "
            "headings, not in the front matter",
            file=name,
        )
    front["body"] = _split_languages(lines, end + 1, name)
    return front, name


def _split_languages(lines: list[str], start: int, name: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(lines[start:], start=start + 1):
        heading = _LANG_HEADING.match(line.strip())
        if heading:
            lang = heading.group(1).lower()
            if lang in sections:
                raise ContentError(f"{name}: body: line {number}: a second '## {lang}'", file=name)
            current = sections[lang] = []
        elif current is not None:
            current.append(line)
        elif line.strip():
            raise ContentError(
                f"{name}: body: line {number}: text before the first '## zh' or '## en' heading",
                file=name,
            )
    missing = [lang for lang in ("zh", "en") if lang not in sections]
    if missing:
        raise ContentError(
            f"{name}: body.{missing[0]}: no '## {missing[0]}' section after the front matter",
            file=name,
        )
    return {lang: "\n".join(body).strip() for lang, body in sections.items()}


def _check_templates(entry: _Placed, problems: _Problems) -> None:
    item = entry.item
    templates = [("title", item.title), ("body", item.body)]
    templates += [(f"links.{i}.label", link.label) for i, link in enumerate(item.links)]
    for field, text in templates:
        for lang in ("zh", "en"):
            try:
                check_template(getattr(text, lang))
            except TemplateProblem as exc:
                entry.add(problems, f"{field}.{lang}", f"template error: {exc}")


def _check_image(root: Path, entry: _Placed, problems: _Problems) -> None:
    image = entry.item.image
    if image is None or image.startswith(("https://", "http://")):
        return
    if not (root / image).is_file():
        entry.add(problems, "image", f"file {image!r} not found in {_display(root, root)}/")


def _check_trigger(
    entry: _Placed, slot_ids: list[str], digests: dict[str, str], problems: _Problems
) -> None:
    """The trigger names a slot; a slot's digest has none (it is sent every time)."""
    item = entry.item
    if item.id in digests:
        slot_id = digests[item.id]
        if item.trigger is not None:
            entry.add(
                problems,
                "trigger",
                f"the digest of slot {slot_id!r} is sent every time; it must not have a trigger",
            )
        if not item.audience.everyone:
            entry.add(problems, "audience", f"the digest of slot {slot_id!r} is for everyone")
    elif item.trigger is None and not item.resource:
        entry.add(
            problems,
            "trigger",
            "missing: give a journey slot, or set resource: true to list it in /resources",
        )
    elif item.trigger is not None and item.trigger not in slot_ids:
        close = difflib.get_close_matches(item.trigger, slot_ids, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        entry.add(problems, "trigger", f"unknown journey slot {item.trigger!r}{hint}")


def _check_coverage(
    root: Path, journey: list[JourneySlot], placed: list[_Placed], problems: _Problems
) -> None:
    """Digests name items; every slot but weekly and digest ones has an item for everyone."""
    ids = {entry.item.id for entry in placed}
    journey_file = _display(root, root / "journey.yaml")
    for index, slot in enumerate(journey):
        if slot.digest is not None and slot.digest not in ids:
            problems.add(journey_file, f"slots.{index}.digest", f"unknown item {slot.digest!r}")
    library = _display(root, root / "library")
    for slot in journey:
        if slot.anchor in ("weekly", "manager_welcome") or slot.digest is not None:
            continue  # optional news, or the manager's own message
        if not any(
            e.item.trigger == slot.id and e.item.audience.everyone and e.item.expires is None
            for e in placed
        ):
            problems.add(
                library,
                "trigger",
                f"slot {slot.id!r} has no item for everyone (add one with trigger: {slot.id}, "
                "no audience filters and no expiry date)",
            )


# ---- files ------------------------------------------------------------------------------


def _display(root: Path, path: Path) -> str:
    """``path`` as shown in messages: relative to the content directory's parent."""
    base = root.resolve()
    try:
        rel = path.resolve().relative_to(base)
    except ValueError:
        return str(path)
    return (Path(base.name) / rel).as_posix()


def _read(root: Path, path: Path) -> tuple[object, str]:
    """Parse one YAML file; returns the data and the file's display name."""
    text, name = _read_text(root, path)
    data = _parse_yaml(text, name)
    if data is None:
        raise ContentError(f"{name}: file is empty", file=name)
    return data, name


def _read_text(root: Path, path: Path) -> tuple[str, str]:
    name = _display(root, path)
    try:
        return path.read_text(encoding="utf-8-sig"), name
    except FileNotFoundError:
        raise ContentError(f"{name}: file not found", file=name) from None
    except UnicodeDecodeError as exc:
        raise ContentError(f"{name}: not UTF-8 text ({exc.reason})", file=name) from None
    except OSError as exc:
        raise ContentError(f"{name}: cannot read ({exc.strerror})", file=name) from None


def _parse_yaml(text: str, name: str, first_line: int = 1) -> object:
    """YAML from ``text``; ``first_line`` is the file line it starts on (for messages)."""
    try:
        return yaml.load(text, Loader=_FastUniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError:
        pass  # the pure-Python parser words errors better, and the same everywhere
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + first_line}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ContentError(f"{name}: {where}YAML syntax error: {problem}", file=name) from None
    except yaml.YAMLError as exc:
        raise ContentError(f"{name}: YAML syntax error: {exc}", file=name) from None


def _validate(adapter: TypeAdapter[T], data: object, name: str, prefix: str = "") -> T:
    """``data`` as the adapter's type; errors name the file and ``prefix`` + the field."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        lines = [
            f"{name}: {prefix}{_location(err['loc'])}: {_message(err)}" for err in exc.errors()
        ]
        if len(lines) > MAX_REPORTED_ERRORS:
            more = len(lines) - MAX_REPORTED_ERRORS
            lines = [*lines[:MAX_REPORTED_ERRORS], f"{name}: ... and {more} more"]
        raise ContentError("\n".join(lines), file=name) from None


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc if part != "[key]"]
    return ".".join(parts) if parts else "(top level)"


def _message(err: Any) -> str:
    msg = str(err["msg"])
    prefix = "Value error, "
    if msg.startswith(prefix):
        return msg[len(prefix) :]
    if err["type"] in ("string_type", "int_type", "float_type", "dict_type", "list_type"):
        got = repr(err["input"])
        if len(got) > 60:
            got = got[:57] + "..."
        msg = f"{msg}, got {got}"
        if isinstance(err["input"], bool):
            msg += " (YAML reads unquoted yes/no/on/off/true/false as booleans; quote it)"
    return msg
