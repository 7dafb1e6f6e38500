"""The shipped content pack, the loader's validation, and the held-out FAQ set."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from content import (
    CONTENT_DIR,
    ChecklistItem,
    Checklists,
    ContentError,
    ContentPack,
    Text,
    load_content,
)

HELDOUT = Path(__file__).with_name("faq_heldout_v2.yaml")
DEFAULT_IDS = [
    "id_front",
    "id_back",
    "graduation_cert",
    "degree_cert",
    "health_report",
    "id_photo",
    "bank_card",
]


@pytest.fixture(scope="module")
def pack() -> ContentPack:
    return load_content()


# --- the shipped pack ---------------------------------------------------------------


def test_shipped_pack_loads_from_package_dir(pack: ContentPack) -> None:
    assert load_content(CONTENT_DIR) == pack


def test_counts(pack: ContentPack) -> None:
    assert [c.id for c in pack.courses] == ["culture", "safety", "systems"]  # by file name
    for course in pack.courses:
        assert 3 <= len(course.questions) <= 5
        assert course.points > 0
        assert 0 < course.pass_ratio <= 1
    assert len(pack.faq) >= 24
    assert [item.id for item in pack.checklists.default] == DEFAULT_IDS


def test_journey_and_library_loaded(pack: ContentPack) -> None:
    assert len(pack.journey) == 21
    assert len(pack.items) >= 40
    assert len({item.id for item in pack.items}) == len(pack.items)
    triggers = {item.trigger for item in pack.items} - {None}
    assert triggers == {slot.id for slot in pack.journey} - {"manager_welcome"}
    welcome = pack.item("welcome")
    assert welcome is not None and welcome.trigger == "welcome"
    assert [i.id for i in pack.slot_items("survey")] == ["survey"]
    assert pack.item("nope") is None


def test_course_lookup(pack: ContentPack) -> None:
    safety = pack.course("safety")
    assert safety is not None and safety.id == "safety"
    assert pack.course("nope") is None


def test_course_material_and_links(pack: ContentPack) -> None:
    for course in pack.courses:
        for lang in ("zh", "en"):
            assert 150 <= len(course.material.get(lang)) <= 400, (course.id, lang)
        assert course.link is not None
        host = urlparse(course.link).hostname or ""
        assert host == "example.com" or host.endswith(".example.com")


def test_questions_are_well_formed(pack: ContentPack) -> None:
    letters_used: set[str] = set()
    for course in pack.courses:
        for question in course.questions:
            assert 2 <= len(question.options) <= 4
            assert question.answer == "ABCD"[question.answer_index]
            assert question.answer_index < len(question.options)
            letters_used.add(question.answer)
            for lang in ("zh", "en"):  # no two options read the same
                texts = [option.get(lang) for option in question.options]
                assert len(set(texts)) == len(texts)
    assert len(letters_used) >= 3  # the right answer is not always in the same place


def test_passing_score(pack: ContentPack) -> None:
    culture = pack.course("culture")
    safety = pack.course("safety")
    assert culture is not None and safety is not None
    assert (len(culture.questions), culture.pass_ratio, culture.passing_score) == (4, 0.75, 3)
    assert (len(safety.questions), safety.pass_ratio, safety.passing_score) == (5, 0.8, 4)


def test_faq_entries(pack: ContentPack) -> None:
    ids = [entry.id for entry in pack.faq]
    assert len(ids) == len(set(ids))
    for entry in pack.faq:
        for lang in ("zh", "en"):
            assert 2 <= len(entry.questions[lang]) <= 12, (entry.id, lang)
            assert entry.answer.get(lang)
    for must in ("housing", "day_one", "training", "social_insurance", "probation", "payday"):
        assert must in ids


def test_text_get_falls_back_to_zh() -> None:
    text = Text(zh="你好", en="Hello")
    assert text.get("zh") == "你好"
    assert text.get("en") == "Hello"
    assert text.get("en-US") == "Hello"
    assert text.get("fr") == "你好"
    assert text.get("") == "你好"


def test_items_for_merges_extras(pack: ContentPack) -> None:
    checklists = pack.checklists
    assert [i.id for i in checklists.items_for(None, None)] == DEFAULT_IDS
    assert [i.id for i in checklists.items_for("没有这个部门", "没有这个岗位")] == DEFAULT_IDS
    assert [i.id for i in checklists.items_for("研发中心", None)] == [*DEFAULT_IDS, "transcript"]
    assert [i.id for i in checklists.items_for("研发中心", "财务管培生")] == [
        *DEFAULT_IDS,
        "transcript",
        "no_crime_cert",
    ]
    assert [i.id for i in checklists.items_for(None, "销售管培生")] == [
        *DEFAULT_IDS,
        "driver_license",
    ]
    # the default list itself is not modified by merging
    assert [i.id for i in checklists.default] == DEFAULT_IDS


def test_items_for_drops_duplicate_ids() -> None:
    def item(item_id: str) -> ChecklistItem:
        return ChecklistItem(id=item_id, title=Text(zh="甲", en="A"), hint=Text(zh="乙", en="B"))

    checklists = Checklists(
        default=[item("id_front")],
        by_department={"研发中心": [item("transcript")]},
        by_position={"算法工程师": [item("transcript"), item("papers")]},
    )
    merged = checklists.items_for(" 研发中心 ", "算法工程师")
    assert [i.id for i in merged] == ["id_front", "transcript", "papers"]


# --- invalid files --------------------------------------------------------------------


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A writable copy of the shipped pack, in a directory also named "content"."""
    dest = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest


Mutation = Callable[[Any], None]


def _edit(root: Path, rel: str, mutate: Mutation) -> None:
    path = root / rel
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _error(root: Path) -> str:
    with pytest.raises(ContentError) as info:
        load_content(root)
    return str(info.value)


def _set(path: str, value: object) -> Mutation:
    """A mutation setting data[a][b]... = value for path "a.b..." (ints index lists)."""

    def mutate(data: Any) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        for key in parents:
            data = data[key]
        data[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: Any) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        for key in parents:
            data = data[key]
        del data[last]

    return mutate


def _option(letter: str) -> dict[str, str]:
    return {"zh": f"选项{letter}", "en": f"Option {letter}"}


def _six_questions(data: Any) -> None:
    data["questions"] = data["questions"] * 2


def _two_questions(data: Any) -> None:
    data["questions"] = data["questions"][:2]


def _one_option(data: Any) -> None:
    data["questions"][0]["options"] = data["questions"][0]["options"][:1]
    data["questions"][0]["answer"] = "A"


def _five_options(data: Any) -> None:
    data["questions"][0]["options"] = [_option(c) for c in "ABCDE"]


def _duplicate_faq_id(data: Any) -> None:
    data[5]["id"] = data[0]["id"]


def _duplicate_default_item(data: Any) -> None:
    data["default"][3]["id"] = "id_front"


def _duplicate_department_item(data: Any) -> None:
    items = data["by_department"]["研发中心"]
    items.append(dict(items[0]))


def _extra_repeats_default(data: Any) -> None:
    data["by_position"]["销售管培生"].append(dict(data["default"][0]))


INVALID_CASES: list[tuple[str, str, Mutation, str]] = [
    # (case, file, mutation, expected message fragment)
    (
        "answer out of range",
        "courses/safety.yaml",
        _set("questions.2.answer", "E"),
        "content/courses/safety.yaml: questions.2.answer: 'E' is not one of the options A-C",
    ),
    (
        "answer not a letter",
        "courses/culture.yaml",
        _set("questions.0.answer", "AB"),
        "content/courses/culture.yaml: questions.0.answer: 'AB' is not one of the options A-D",
    ),
    (
        "missing field",
        "courses/safety.yaml",
        _delete("questions.1.explanation"),
        "content/courses/safety.yaml: questions.1.explanation: Field required",
    ),
    (
        "missing language",
        "courses/systems.yaml",
        _delete("title.en"),
        "content/courses/systems.yaml: title.en: Field required",
    ),
    (
        "empty text",
        "courses/culture.yaml",
        _set("summary.zh", ""),
        "content/courses/culture.yaml: summary.zh: String should have at least 1 character",
    ),
    (
        "blank text",
        "faq.yaml",
        _set("0.answer.en", "   "),
        "content/faq.yaml: 0.answer.en: String should have at least 1 character",
    ),
    (
        "bad course id",
        "courses/safety.yaml",
        _set("id", "Safety-101"),
        "content/courses/safety.yaml: id: String should match pattern",
    ),
    (
        "bad faq id",
        "faq.yaml",
        _set("2.id", "day one"),
        "content/faq.yaml: 2.id: String should match pattern",
    ),
    (
        "checklist id too long",
        "checklists.yaml",
        _set("default.0.id", "x" * 25),
        "content/checklists.yaml: default.0.id: String should match pattern",
    ),
    (
        "too few questions",
        "courses/culture.yaml",
        _two_questions,
        "content/courses/culture.yaml: questions: List should have at least 3 items",
    ),
    (
        "too many questions",
        "courses/culture.yaml",
        _six_questions,
        "content/courses/culture.yaml: questions: List should have at most 5 items",
    ),
    (
        "too few options",
        "courses/systems.yaml",
        _one_option,
        "content/courses/systems.yaml: questions.0.options: List should have at least 2 items",
    ),
    (
        "too many options",
        "courses/systems.yaml",
        _five_options,
        "content/courses/systems.yaml: questions.0.options: List should have at most 4 items",
    ),
    (
        "points not positive",
        "courses/safety.yaml",
        _set("points", 0),
        "content/courses/safety.yaml: points: Input should be greater than 0",
    ),
    (
        "pass ratio above 1",
        "courses/safety.yaml",
        _set("pass_ratio", 1.5),
        "content/courses/safety.yaml: pass_ratio: Input should be less than or equal to 1",
    ),
    (
        "link not a URL",
        "courses/safety.yaml",
        _set("link", "example.com/safety"),
        "content/courses/safety.yaml: link: 'example.com/safety' is not an http(s) URL",
    ),
    (
        "misspelt field",
        "courses/safety.yaml",
        _set("questions.0.anwser", "A"),
        "content/courses/safety.yaml: questions.0.anwser: Extra inputs are not permitted",
    ),
    (
        "YAML boolean where text belongs",
        "courses/safety.yaml",
        _set("questions.0.options.0.en", True),
        "content/courses/safety.yaml: questions.0.options.0.en: Input should be a valid string",
    ),
    (
        "duplicate faq id",
        "faq.yaml",
        _duplicate_faq_id,
        "content/faq.yaml: 5.id: duplicate FAQ id 'housing' (also at 0.id)",
    ),
    (
        "faq missing a language",
        "faq.yaml",
        _delete("1.questions.en"),
        "content/faq.yaml: 1.questions: missing language en",
    ),
    (
        "faq unknown language",
        "faq.yaml",
        _set("1.questions.fr", ["Quand ?"]),
        "content/faq.yaml: 1.questions.fr: Input should be 'zh' or 'en'",
    ),
    (
        "faq empty phrasing list",
        "faq.yaml",
        _set("1.questions.zh", []),
        "content/faq.yaml: 1.questions.zh: List should have at least 1 item",
    ),
    (
        "duplicate default item",
        "checklists.yaml",
        _duplicate_default_item,
        "content/checklists.yaml: default: duplicate id 'id_front' (items 0 and 3)",
    ),
    (
        "duplicate department item",
        "checklists.yaml",
        _duplicate_department_item,
        "content/checklists.yaml: by_department.研发中心: duplicate id 'transcript'",
    ),
    (
        "extra repeats a default item",
        "checklists.yaml",
        _extra_repeats_default,
        "content/checklists.yaml: by_position: 销售管培生: 'id_front' is already in the default",
    ),
    (
        "empty default checklist",
        "checklists.yaml",
        _set("default", []),
        "content/checklists.yaml: default: List should have at least 1 item",
    ),
]


@pytest.mark.parametrize(
    ("rel", "mutate", "expected"),
    [pytest.param(rel, mutate, expected, id=case) for case, rel, mutate, expected in INVALID_CASES],
)
def test_invalid_file_names_file_and_field(
    root: Path, rel: str, mutate: Mutation, expected: str
) -> None:
    _edit(root, rel, mutate)
    message = _error(root)
    assert expected in message
    assert message.startswith(f"content/{rel}: ")


def test_error_carries_file(root: Path) -> None:
    _edit(root, "courses/safety.yaml", _set("questions.2.answer", "E"))
    with pytest.raises(ContentError) as info:
        load_content(root)
    assert info.value.file == "content/courses/safety.yaml"


def test_yaml_syntax_error_names_file_and_line(root: Path) -> None:
    path = root / "courses" / "culture.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = lines.index("points: 10")
    lines[broken] = "points: 10: 20"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _error(root)
    assert message.startswith(f"content/courses/culture.yaml: line {broken + 1}, column ")
    assert "YAML syntax error: mapping values are not allowed here" in message


def test_yaml_duplicate_key_is_an_error(root: Path) -> None:
    path = root / "courses" / "culture.yaml"
    text = path.read_text(encoding="utf-8").replace("points: 10\n", "points: 10\npoints: 20\n")
    path.write_text(text, encoding="utf-8")
    message = _error(root)
    assert message.startswith("content/courses/culture.yaml: line ")
    assert "duplicate key 'points'" in message


def test_yaml_errors_in_library_files(root: Path) -> None:
    path = root / "library" / "greetings" / "holidays.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  kind: greeting\n", "  kind: greeting\n  kind: news\n", 1))
    bad_md = root / "library" / "bad.md"
    bad_md.write_text("---\nid: x\n  kind: y\n---\n## zh\n你好\n## en\nHi\n", encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_content(root)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("content/library/bad.md: line 3, column 7: YAML syntax error")
    assert lines[1].startswith("content/library/greetings/holidays.yaml: line ")
    assert "duplicate key 'kind'" in lines[1]
    assert info.value.file == "content/library/bad.md"


def test_library_error_carries_file(root: Path) -> None:
    path = root / "library" / "journey" / "survey.md"
    path.write_text(path.read_text(encoding="utf-8").replace("action: survey", "action: poll"))
    with pytest.raises(ContentError) as info:
        load_content(root)
    assert info.value.file == "content/library/journey/survey.md"
    assert str(info.value).startswith("content/library/journey/survey.md: action: Input should")


def test_duplicate_course_id_across_files(root: Path) -> None:
    _edit(root, "courses/systems.yaml", _set("id", "safety"))
    assert _error(root) == (
        "content/courses/systems.yaml: id: duplicate course id 'safety' "
        "(also in content/courses/safety.yaml)"
    )


def test_wrong_top_level_type(root: Path) -> None:
    (root / "faq.yaml").write_text("housing: yes\n", encoding="utf-8")
    assert _error(root).startswith("content/faq.yaml: (top level): Input should be a valid list")


def test_missing_file(root: Path) -> None:
    (root / "faq.yaml").unlink()
    assert _error(root) == "content/faq.yaml: file not found"


def test_empty_file(root: Path) -> None:
    (root / "checklists.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert _error(root) == "content/checklists.yaml: file is empty"


def test_no_courses(root: Path) -> None:
    for path in (root / "courses").glob("*.yaml"):
        path.unlink()
    assert _error(root) == "content/courses: no course files (*.yaml)"


def test_courses_sorted_by_file_name(root: Path) -> None:
    (root / "courses" / "culture.yaml").rename(root / "courses" / "z_culture.yaml")
    pack = load_content(root)
    assert [c.id for c in pack.courses] == ["safety", "systems", "culture"]


def test_lowercase_answer_is_accepted(root: Path) -> None:
    _edit(root, "courses/safety.yaml", _set("questions.2.answer", "b"))
    safety = load_content(root).course("safety")
    assert safety is not None
    assert safety.questions[2].answer == "B"
    assert safety.questions[2].answer_index == 1


# --- held-out FAQ evaluation set --------------------------------------------------------


def _heldout() -> list[dict[str, Any]]:
    data = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_heldout_parses_and_expects_real_ids(pack: ContentPack) -> None:
    entries = _heldout()
    faq_ids = {entry.id for entry in pack.faq}
    for entry in entries:
        assert set(entry) == {"q", "expect"}, entry
        assert isinstance(entry["q"], str) and entry["q"].strip()
        assert entry["expect"] is None or entry["expect"] in faq_ids, entry
    assert len(entries) >= 40
    assert sum(_is_chinese(e["q"]) for e in entries) >= 22
    assert sum(not _is_chinese(e["q"]) for e in entries) >= 18
    assert sum(e["expect"] is None for e in entries) >= 6
    covered = {e["expect"] for e in entries} - {None}
    assert len(covered) >= 0.8 * len(faq_ids)
