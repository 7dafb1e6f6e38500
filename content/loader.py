"""Load and validate the content pack (YAML files under one directory).

Layout of the directory::

    checklists.yaml      documents to submit (see content.models.Checklists)
    courses/*.yaml       one course per file, ordered by file name
    faq.yaml             a list of FAQ entries

Any problem raises :class:`ContentError` naming the file and the field, e.g.
``content/courses/safety.yaml: questions.2.answer: 'E' is not one of the options A-C``.
Nothing is cached: the caller keeps the returned :class:`ContentPack`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

from content.models import Checklists, ContentPack, Course, FaqEntry

T = TypeVar("T")

CONTENT_DIR = Path(__file__).resolve().parent
MAX_REPORTED_ERRORS = 10

_CHECKLISTS = TypeAdapter(Checklists)
_COURSE = TypeAdapter(Course)
_FAQ = TypeAdapter(list[FaqEntry])


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
        return super().construct_mapping(node, deep=deep)


def load_content(root: Path | None = None) -> ContentPack:
    """Read and validate every content file under ``root`` (default: this package's directory)."""
    root = CONTENT_DIR if root is None else Path(root)
    if not root.is_dir():
        raise ContentError(f"{root}: content directory not found", file=str(root))

    checklists = _validate(_CHECKLISTS, *_read(root, root / "checklists.yaml"))

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

    return ContentPack(checklists=checklists, courses=courses, faq=faq)


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
    name = _display(root, path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ContentError(f"{name}: file not found", file=name) from None
    except UnicodeDecodeError as exc:
        raise ContentError(f"{name}: not UTF-8 text ({exc.reason})", file=name) from None
    except OSError as exc:
        raise ContentError(f"{name}: cannot read ({exc.strerror})", file=name) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ContentError(f"{name}: {where}YAML syntax error: {problem}", file=name) from None
    except yaml.YAMLError as exc:
        raise ContentError(f"{name}: YAML syntax error: {exc}", file=name) from None
    if data is None:
        raise ContentError(f"{name}: file is empty", file=name)
    return data, name


def _validate(adapter: TypeAdapter[T], data: object, name: str) -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        lines = [f"{name}: {_location(err['loc'])}: {_message(err)}" for err in exc.errors()]
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
