"""The journey and the content library: the shipped demo library, Markdown items, validation."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from content import (
    CONTENT_DIR,
    SAMPLE_VARIABLES,
    SPARSE_VARIABLES,
    ContentError,
    ContentItem,
    ContentPack,
    Profile,
    TemplateProblem,
    check_template,
    china_holiday,
    load_content,
    match,
    render,
    render_item,
)

SLOT_IDS = [
    "welcome",
    "team_intro",
    "team_video",
    "onboarding_guide",
    "survey",
    "materials",
    "countdown",
    "day_before",
    "doc_deadline",
    "weekly_news",
    "birthday",
    "spring_festival",
    "mid_autumn",
    "national_day",
    "manager_welcome",
    "checkin",
    "offer_reminder",
    "offer_last_call",
    "decision_day",
    "training_eve",
    "doc_overdue",
]


@pytest.fixture(scope="module")
def pack() -> ContentPack:
    return load_content()


def _best(pack: ContentPack, slot_id: str, profile: Profile) -> str:
    """The id of the most specific item of the slot that fits the profile."""
    scored = [
        (score, item.priority, item.id)
        for item in pack.slot_items(slot_id)
        if (score := match(item.audience, profile)) is not None
    ]
    assert scored, slot_id
    return max(scored)[2]


# --- the shipped journey --------------------------------------------------------------


def test_journey_has_the_default_slots(pack: ContentPack) -> None:
    assert [slot.id for slot in pack.journey] == SLOT_IDS
    table = {slot.id: (slot.anchor, slot.days, slot.transactional) for slot in pack.journey}
    assert table["welcome"] == ("offer", 0, False)
    assert table["team_intro"] == ("offer", 1, False)
    assert table["team_video"] == ("offer", 3, False)
    assert table["manager_welcome"] == ("manager_welcome", 3, False)
    assert table["onboarding_guide"] == ("offer", 7, False)
    assert table["survey"] == ("offer", 14, False)
    assert table["materials"] == ("training", -10, True)
    assert table["countdown"] == ("onboarding", -7, False)
    assert table["day_before"] == ("onboarding", -1, True)
    assert table["doc_deadline"] == ("doc_deadline", -3, True)
    assert table["offer_reminder"] == ("offer", 3, True)
    assert table["offer_last_call"] == ("offer", 7, True)
    assert table["decision_day"] == ("decision_day", 0, True)
    for slot_id in ("offer_reminder", "offer_last_call"):
        assert pack.slot(slot_id).when_offer_unanswered  # type: ignore[union-attr]


def test_special_slots(pack: ContentPack) -> None:
    welcome = pack.slot("manager_welcome")
    deadline = pack.slot("doc_deadline")
    weekly = pack.slot("weekly_news")
    assert welcome is not None and welcome.date_bound
    for promise in ("birthday", "mid_autumn", "national_day", "spring_festival", "countdown"):
        assert pack.slot(promise).date_bound  # type: ignore[union-attr]
    assert deadline is not None and deadline.when_missing_documents
    assert weekly is not None
    assert (weekly.anchor, weekly.weekday, weekly.at, weekly.digest) == (
        "weekly",
        "fri",
        "17:00",
        "weekly_digest",
    )
    birthday = pack.slot("birthday")
    assert birthday is not None and birthday.anchor == "birthday"
    assert pack.slot("nope") is None


def test_slot_times_outside_quiet_hours(pack: ContentPack) -> None:
    for slot in pack.journey:
        hour = int(slot.at[:2])
        assert 9 <= hour < 21, slot.id
        greeting = slot.anchor in ("birthday", "holiday")
        longest = 6 if slot.id == "checkin" else 4  # the check-in may wait out its week
        assert slot.max_delay_days == 0 if greeting else 0 <= slot.max_delay_days <= longest


def test_holiday_slots_resolve_to_2026_dates(pack: ContentPack) -> None:
    dates = {}
    for slot in pack.journey:
        if slot.anchor == "holiday":
            assert slot.holiday is not None
            found = china_holiday(slot.holiday, 2026)
            dates[slot.id] = found.day if found else None
    assert dates == {
        "spring_festival": date(2026, 2, 17),
        "mid_autumn": date(2026, 9, 25),
        "national_day": date(2026, 10, 1),
    }


# --- the shipped library --------------------------------------------------------------


def test_every_slot_has_items_and_a_fallback(pack: ContentPack) -> None:
    for slot_id in SLOT_IDS:
        if slot_id == "manager_welcome":
            continue  # carries the manager's own message, no library item
        items = pack.slot_items(slot_id)
        assert items, slot_id
        if slot_id != "weekly_news":
            assert any(i.audience.everyone and i.expires is None for i in items), slot_id


def test_every_template_renders_in_both_languages(pack: ContentPack) -> None:
    for item in pack.items:
        for lang in ("zh", "en"):
            for variables in (SAMPLE_VARIABLES, SPARSE_VARIABLES):
                title, body = render_item(item, lang, variables)
                assert title and body, (item.id, lang)
                assert "None" not in body and "{{" not in body and "{%" not in body
            for link in item.links:
                assert render(link.label.get(lang), SAMPLE_VARIABLES)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in item.body.zh), item.id
        for text in (item.title.en, item.body.en):  # no Chinese in English text
            words = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", text)
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in words), item.id


def test_bodies_are_chat_sized(pack: ContentPack) -> None:
    for item in pack.items:
        if item.id == "weekly_digest":
            continue
        for lang in ("zh", "en"):
            _, body = render_item(item, lang, SAMPLE_VARIABLES)
            assert 1 <= len(body.splitlines()) <= 6, (item.id, lang)


def test_actions_of_dialog_slots(pack: ContentPack) -> None:
    for slot_id, actions in (
        ("welcome", {"offer", None}),  # welcome_answered: the offer is already answered
        ("survey", {"survey"}),
        ("doc_deadline", {"documents"}),
    ):
        assert {item.action for item in pack.slot_items(slot_id)} == actions


def test_doc_deadline_lists_the_missing_documents(pack: ContentPack) -> None:
    item = pack.item("doc_deadline")
    assert item is not None
    for lang in ("zh", "en"):
        _, body = render_item(item, lang, SAMPLE_VARIABLES)
        assert "· 学历证书" in body and "· 体检报告" in body


def test_team_intro_variants_by_major_and_position(pack: ContentPack) -> None:
    ai = Profile(major="计算机科学与技术", motivation="想做AI方向的工程落地")
    software = Profile(major="软件工程", motivation="喜欢写代码")
    hardware = Profile(major="电子信息工程", position="嵌入式工程师", motivation="对芯片感兴趣")
    marketing = Profile(major="市场营销", position="市场专员", department="市场部")
    manufacturing = Profile(major="机械工程", department="制造部")
    nobody = Profile()
    assert _best(pack, "team_intro", ai) == "team_intro_ai"
    assert _best(pack, "team_intro", software) == "team_intro_software"
    assert _best(pack, "team_intro", hardware) == "team_intro_hardware"
    assert _best(pack, "team_intro", marketing) == "team_intro_marketing"
    assert _best(pack, "team_intro", manufacturing) == "team_intro_manufacturing"
    assert _best(pack, "team_intro", nobody) == "team_intro_general"


def test_onboarding_guide_by_hometown(pack: ContentPack) -> None:
    moving = Profile(hometown="成都", work_city="杭州")
    local = Profile(hometown="杭州市", work_city="杭州")
    unknown = Profile(work_city="杭州")
    assert _best(pack, "onboarding_guide", moving) == "onboarding_guide_relocation"
    assert _best(pack, "onboarding_guide", local) == "onboarding_guide_local"
    assert _best(pack, "onboarding_guide", unknown) == "onboarding_guide"
    relocation = pack.item("onboarding_guide_relocation")
    assert relocation is not None
    _, body = render_item(relocation, "zh", SAMPLE_VARIABLES)
    assert "人才公寓" in body and "1000 元" in body


def test_team_video_by_department(pack: ContentPack) -> None:
    assert _best(pack, "team_video", Profile(department="研发中心")) == "team_video_rnd"
    assert _best(pack, "team_video", Profile(department="市场部")) == "team_video_marketing"
    assert _best(pack, "team_video", Profile(department="制造中心")) == "team_video_manufacturing"
    assert _best(pack, "team_video", Profile(department="财务部")) == "team_video_general"
    for item in pack.slot_items("team_video"):
        assert item.kind == "video" and item.links


def test_news_items(pack: ContentPack) -> None:
    news = pack.slot_items("weekly_news")
    assert len(news) >= 6
    assert all(item.kind == "news" and item.published is not None for item in news)
    months = {item.published.month for item in news if item.published}
    assert {5, 12} <= months and len(months) >= 6
    assert all(item.published and item.published.year == 2026 for item in news)
    assert sum(item.expires is not None for item in news) >= 3
    assert sum(item.audience.everyone for item in news) >= 2
    assert sum(not item.audience.everyone for item in news) >= 4
    open_day = pack.item("news_open_day")
    assert open_day is not None
    assert open_day.available(date(2026, 6, 26)) and not open_day.available(date(2026, 6, 27))
    assert not open_day.available(date(2026, 6, 4))


def test_weekly_digest_wraps_the_news(pack: ContentPack) -> None:
    digest = pack.item("weekly_digest")
    assert digest is not None and digest.trigger is None and digest.audience.everyone
    news = [{"title": "开放日", "summary": "欢迎来园区。", "url": "https://x.example.com/r/abc"}]
    _, body = render_item(digest, "zh", {**SAMPLE_VARIABLES, "news": news})
    assert "**开放日**\n欢迎来园区。 https://x.example.com/r/abc" in body
    _, body = render_item(digest, "en", {**SAMPLE_VARIABLES, "news": news[:1] * 2})
    assert body.count("**开放日**") == 2


def test_resources(pack: ContentPack) -> None:
    resources = [item for item in pack.items if item.resource]
    assert len(resources) >= 6
    for item in resources:
        assert item.trigger is None and item.links and item.published is not None
        for link in item.links:
            assert link.url.startswith("https://xinghe.example.com/")
    kinds = {item.kind for item in resources}
    assert {"guide", "video"} <= kinds
    rnd = [i.id for i in resources if match(i.audience, Profile(department="研发中心")) is not None]
    assert "res_rnd_handbook" in rnd and "res_marketing_handbook" not in rnd


def test_demo_facts_match_the_faq(pack: ContentPack) -> None:
    faq = {entry.id: entry.answer.zh for entry in pack.faq}
    assert "星河路 88 号" in faq["office_address"]
    day_before = pack.item("day_before")
    assert day_before is not None and "星河路 88 号" in day_before.body.zh
    assert "1500 元" in faq["housing"]
    relocation = pack.item("onboarding_guide_relocation")
    assert relocation is not None and "1500 元" in relocation.body.zh
    assert "上限 1000 元" in faq["relocation"] and "上限 1000 元" in relocation.body.zh


# --- templates ------------------------------------------------------------------------


def test_render_none_is_blank_and_dates_format() -> None:
    variables = {**SAMPLE_VARIABLES, "manager": None}
    assert render("主管：{{ manager }}。", variables) == "主管：。"
    assert render("{{ training_date | zh_date }}", SAMPLE_VARIABLES) == "7月20日"
    assert render("{{ training_date | en_date }}", SAMPLE_VARIABLES) == "20 July"


def test_render_tag_lines_leave_no_blank_lines() -> None:
    template = "A\n  {% if x %}\nB{% if x %} b{% endif %}\nC\n{% endif %}\nD"
    assert render(template, {"x": True}) == "A\nB b\nC\nD"
    assert render(template, {"x": False}) == "A\nD"


def test_check_template_problems() -> None:
    check_template("{{ name }}，你好")
    with pytest.raises(TemplateProblem, match="'nmae' is undefined"):
        check_template("{{ nmae }}")
    with pytest.raises(TemplateProblem, match="line 2: unexpected '}'"):
        check_template("你好\n{{ name }")
    with pytest.raises(TemplateProblem, match="unsafe"):
        check_template("{{ name.__class__ }}")
    with pytest.raises(TemplateProblem, match="empty"):
        check_template("{% if manager %}{{ manager }}{% endif %}")  # empty without a manager
    with pytest.raises(TemplateProblem, match="has no attribute"):
        check_template("{% for n in news %}{{ n.link }}{% endfor %}")


# --- invalid content: helpers ---------------------------------------------------------


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A writable copy of the shipped content, in a directory also named "content"."""
    dest = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest


def _error(root: Path) -> str:
    with pytest.raises(ContentError) as info:
        load_content(root)
    return str(info.value)


def _edit_yaml(root: Path, rel: str, mutate: Callable[[Any], None]) -> None:
    path = root / rel
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _slot(data: Any, slot_id: str) -> dict[str, Any]:
    return next(s for s in data["slots"] if s["id"] == slot_id)


def _md(front: dict[str, Any], zh: str = "{{ name }}，你好", en: str = "Hi {{ name }}") -> str:
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    return f"---\n{head}---\n## zh\n{zh}\n\n## en\n{en}\n"


def _item(item_id: str = "extra", **fields: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "kind": "article",
        "trigger": "team_intro",
        "title": {"zh": "标题", "en": "Title"},
        **fields,
    }


def _write_md(root: Path, rel: str, front: dict[str, Any], **bodies: str) -> None:
    path = root / "library" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_md(front, **bodies), encoding="utf-8")


# --- Markdown items -------------------------------------------------------------------


def test_markdown_item_parses(root: Path) -> None:
    text = (
        "---\n"
        "id: extra\n"
        "kind: article\n"
        "trigger: team_intro\n"
        "title: {zh: 标题, en: Title}\n"
        "audience:\n"
        "  majors: [数学]\n"
        "---\n"
        "\n"
        "## zh\n"
        "{{ name }}，第一行\n"
        "### 小标题也可以\n"
        "第三行\n"
        "\n"
        "## EN \n"
        "Hi {{ name }}\n"
    )
    (root / "library" / "extra.md").write_text(text, encoding="utf-8")
    item = load_content(root).item("extra")
    assert item is not None
    assert item.body.zh == "{{ name }}，第一行\n### 小标题也可以\n第三行"
    assert item.body.en == "Hi {{ name }}"
    assert item.audience.majors == ["数学"]
    assert not item.audience.everyone


def test_shipped_markdown_items_loaded(pack: ContentPack) -> None:
    welcome = pack.item("welcome")
    assert isinstance(welcome, ContentItem)
    assert welcome.body.zh.startswith("{{ name }}，你好！")
    assert welcome.body.en.startswith("Hi {{ name }}")
    assert "## en" not in welcome.body.zh


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "id: x\n",
            "content/library/bad.md: line 1: a Markdown item starts with front matter",
            id="no front matter",
        ),
        pytest.param(
            "---\nid: x\n## zh\n你好\n",
            "content/library/bad.md: front matter: no closing '---' line",
            id="front matter not closed",
        ),
        pytest.param(
            "---\n- id: x\n---\n## zh\n你好\n## en\nHi\n",
            "content/library/bad.md: front matter: expected the item's fields",
            id="front matter a list",
        ),
        pytest.param(
            "---\nid: x\ntitle: {zh: 标题\n---\n## zh\n你好\n## en\nHi\n",
            "content/library/bad.md: line 3, column 15: YAML syntax error",
            id="front matter YAML error names the file line",
        ),
        pytest.param(
            "---\nid: x\nbody: {zh: 你好, en: Hi}\n---\n## zh\n你好\n## en\nHi\n",
            "content/library/bad.md: body: write the body below the front matter",
            id="body in front matter",
        ),
        pytest.param(
            "---\nid: x\n---\n## zh\n你好\n",
            "content/library/bad.md: body.en: no '## en' section after the front matter",
            id="missing language",
        ),
        pytest.param(
            "---\nid: x\n---\n## zh\n你好\n## en\nHi\n## zh\n再见\n",
            "content/library/bad.md: body: line 8: a second '## zh'",
            id="language twice",
        ),
        pytest.param(
            "---\nid: x\n---\nHello\n## zh\n你好\n## en\nHi\n",
            "content/library/bad.md: body: line 4: text before the first '## zh' or '## en'",
            id="text before the first heading",
        ),
    ],
)
def test_markdown_format_errors(root: Path, text: str, expected: str) -> None:
    (root / "library" / "bad.md").write_text(text, encoding="utf-8")
    assert expected in _error(root)


def test_markdown_empty_section_names_field(root: Path) -> None:
    _write_md(root, "extra.md", _item(), en="")
    assert "content/library/extra.md: body.en: String should have at least 1 character" in _error(
        root
    )


# --- invalid items --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"trigger": "team_intros"},
            "content/library/extra.md: trigger: unknown journey slot 'team_intros' "
            "(did you mean 'team_intro'?)",
            id="unknown slot",
        ),
        pytest.param(
            {"kind": "podcast"},
            "content/library/extra.md: kind: Input should be 'article', 'video'",
            id="unknown kind",
        ),
        pytest.param(
            {"audience": {"major": ["数学"]}},
            "content/library/extra.md: audience.major: Extra inputs are not permitted",
            id="misspelt audience filter",
        ),
        pytest.param(
            {"audience": {"out_of_town": "maybe"}},
            "content/library/extra.md: audience.out_of_town: Input should be a valid boolean",
            id="bad out_of_town",
        ),
        pytest.param(
            {"published": "2026-09-01", "expires": "2026-08-01"},
            "content/library/extra.md: expires: 2026-08-01 is before published 2026-09-01",
            id="expires before published",
        ),
        pytest.param(
            {"image": "img/missing.png"},
            "content/library/extra.md: image: file 'img/missing.png' not found in content/",
            id="image missing",
        ),
        pytest.param(
            {"image": "/etc/passwd"},
            "content/library/extra.md: image: '/etc/passwd' is neither an http(s) URL nor a path",
            id="image absolute",
        ),
        pytest.param(
            {"image": "../secret.png"},
            "content/library/extra.md: image: '../secret.png' is neither an http(s) URL",
            id="image outside",
        ),
        pytest.param(
            {"links": [{"label": {"zh": "看看", "en": "Look"}, "url": "xinghe.example.com/a"}]},
            "content/library/extra.md: links.0.url: 'xinghe.example.com/a' is not an http(s) URL",
            id="link not a URL",
        ),
        pytest.param(
            {"title": {"zh": "{{ nmae }}", "en": "Title"}},
            "content/library/extra.md: title.zh: template error: 'nmae' is undefined",
            id="title undefined variable",
        ),
        pytest.param(
            {
                "links": [
                    {"label": {"zh": "看看", "en": "{% if %}"}, "url": "https://a.example.com"}
                ]
            },
            "content/library/extra.md: links.0.label.en: template error: line 1: Expected an "
            "expression",
            id="link label syntax error",
        ),
        pytest.param(
            {"action": "call"},
            "content/library/extra.md: action: Input should be 'offer', 'survey'",
            id="unknown action",
        ),
        pytest.param(
            {"trigger": None},
            "content/library/extra.md: trigger: missing: give a journey slot, or set resource",
            id="neither triggered nor a resource",
        ),
        pytest.param(
            {"id": "Extra-Item"},
            "content/library/extra.md: id: String should match pattern",
            id="bad id",
        ),
    ],
)
def test_invalid_item_names_file_and_field(
    root: Path, fields: dict[str, Any], expected: str
) -> None:
    _write_md(root, "extra.md", _item(**fields))
    message = _error(root)
    assert expected in message
    assert message.startswith("content/library/extra.md: ")


def test_body_template_error_names_language_and_line(root: Path) -> None:
    _write_md(root, "extra.md", _item(), en="Hi {{ name }}\n{{ name }")
    assert _error(root) == (
        "content/library/extra.md: body.en: template error: line 2: unexpected '}'"
    )


def test_template_error_in_the_other_branch_is_caught(root: Path) -> None:
    zh = "{% if out_of_town %}\n欢迎\n{% else %}\n{{ hometwon }}\n{% endif %}"
    _write_md(root, "extra.md", _item(), zh=zh)
    assert "body.zh: template error: 'hometwon' is undefined" in _error(root)


def test_images_that_exist_or_are_urls(root: Path) -> None:
    (root / "library" / "img").mkdir()
    (root / "library" / "img" / "team.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    _write_md(root, "a.md", _item("a", image="library/img/team.png"))
    _write_md(root, "b.md", _item("b", image="https://xinghe.example.com/team.png"))
    pack = load_content(root)
    assert [pack.item(i).image for i in ("a", "b")] == [  # type: ignore[union-attr]
        "library/img/team.png",
        "https://xinghe.example.com/team.png",
    ]


def test_duplicate_item_id_across_files(root: Path) -> None:
    _write_md(root, "zz/copy.md", _item("welcome"))
    assert _error(root) == (
        "content/library/zz/copy.md: id: duplicate item id 'welcome' "
        "(also in content/library/journey/welcome.md)"
    )


def test_duplicate_item_id_in_a_list_file_names_the_index(root: Path) -> None:
    _edit_yaml(root, "library/news/news_2026.yaml", lambda d: d[3].update(id=d[0]["id"]))
    assert _error(root) == (
        "content/library/news/news_2026.yaml: 3.id: duplicate item id 'news_offline_voice' "
        "(also in content/library/news/news_2026.yaml)"
    )


def test_list_file_errors_name_the_index(root: Path) -> None:
    _edit_yaml(root, "library/news/news_2026.yaml", lambda d: d[2]["title"].pop("en"))
    assert _error(root) == "content/library/news/news_2026.yaml: 2.title.en: Field required"


def test_single_item_yaml_file(root: Path) -> None:
    _edit_yaml(root, "library/reminders/materials.yaml", lambda d: d.update(kind="memo"))
    assert _error(root).startswith("content/library/reminders/materials.yaml: kind: Input should")


def test_slot_without_item_for_everyone(root: Path) -> None:
    (root / "library" / "reminders" / "doc_deadline.md").unlink()
    assert _error(root) == (
        "content/library: trigger: slot 'doc_deadline' has no item for everyone "
        "(add one with trigger: doc_deadline, no audience filters and no expiry date)"
    )


def test_filtered_or_expiring_items_are_no_fallback(root: Path) -> None:
    path = root / "library" / "reminders" / "day_before.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("trigger: day_before\n", "trigger: day_before\nexpires: 2027-01-01\n")
    )
    assert "slot 'day_before' has no item for everyone" in _error(root)
    path.write_text(
        text.replace("trigger: day_before\n", "trigger: day_before\naudience: {tags: [AI]}\n")
    )
    assert "slot 'day_before' has no item for everyone" in _error(root)


def test_weekly_slot_needs_no_fallback(root: Path) -> None:
    def everyone_filtered(data: Any) -> None:
        for item in data:
            item.setdefault("audience", {"tags": ["news"]})

    _edit_yaml(root, "library/news/news_2026.yaml", everyone_filtered)
    assert load_content(root).slot_items("weekly_news")


def test_problems_in_several_files_are_reported_together(root: Path) -> None:
    _write_md(root, "a.md", _item("a", trigger="nope"))
    _write_md(root, "b.md", _item("b", kind="podcast"))
    lines = _error(root).splitlines()
    assert lines[0].startswith("content/library/a.md: trigger: unknown journey slot 'nope'")
    assert lines[1].startswith("content/library/b.md: kind: ")
    with pytest.raises(ContentError) as info:
        load_content(root)
    assert info.value.file == "content/library/a.md"  # sorted by file


def test_drafts_and_readme_are_skipped(root: Path) -> None:
    (root / "library" / "README.md").write_text("# How to write items\n", encoding="utf-8")
    _write_md(root, "_drafts/idea.md", _item("idea", trigger="not_yet"))
    _write_md(root, "_unfinished.md", _item("unfinished", kind="podcast"))
    (root / "library" / "notes.txt").write_text("not an item", encoding="utf-8")
    pack = load_content(root)
    assert pack.item("idea") is None and pack.item("unfinished") is None


def test_empty_library(root: Path) -> None:
    shutil.rmtree(root / "library")
    assert _error(root) == "content/library: no content items (*.yaml, *.md)"


# --- invalid journey ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda d: _slot(d, "mid_autumn").update(holiday="Mid Autumn"),
            "content/journey.yaml: slots.12.holiday: 'Mid Autumn' is not a China holiday in "
            "the holidays library; one of: ",
            id="unknown holiday",
        ),
        pytest.param(
            lambda d: _slot(d, "national_day").pop("holiday"),
            "content/journey.yaml: slots.13.holiday: anchor holiday needs a holiday name",
            id="holiday anchor without a holiday",
        ),
        pytest.param(
            lambda d: _slot(d, "welcome").update(holiday="National Day"),
            "content/journey.yaml: slots.0.holiday: holiday only applies to anchor holiday, "
            "not 'offer'",
            id="holiday on a date anchor",
        ),
        pytest.param(
            lambda d: _slot(d, "weekly_news").pop("weekday"),
            "content/journey.yaml: slots.9.weekday: anchor weekly needs a weekday",
            id="weekly without weekday",
        ),
        pytest.param(
            lambda d: _slot(d, "birthday").update(weekday="fri"),
            "content/journey.yaml: slots.10.weekday: weekday only applies to anchor weekly, "
            "not 'birthday'",
            id="weekday on birthday",
        ),
        pytest.param(
            lambda d: _slot(d, "weekly_news").update(weekday="friday"),
            "content/journey.yaml: slots.9.weekday: Input should be 'mon'",
            id="bad weekday",
        ),
        pytest.param(
            lambda d: _slot(d, "birthday").update(days=-1),
            "content/journey.yaml: slots.10.days: days only applies to the anchors",
            id="days on birthday",
        ),
        pytest.param(
            lambda d: _slot(d, "survey").update(at="25:00"),
            "content/journey.yaml: slots.4.at: String should match pattern",
            id="bad time",
        ),
        pytest.param(
            lambda d: _slot(d, "survey").update(anchor="hire"),
            "content/journey.yaml: slots.4.anchor: Input should be 'offer'",
            id="unknown anchor",
        ),
        pytest.param(
            lambda d: _slot(d, "countdown").update(id="survey"),
            "content/journey.yaml: slots.6.id: duplicate slot id 'survey' (also at slots.4.id)",
            id="duplicate slot id",
        ),
        pytest.param(
            lambda d: _slot(d, "weekly_news").update(digest="weekly_digst"),
            "content/journey.yaml: slots.9.digest: unknown item 'weekly_digst'",
            id="unknown digest item",
        ),
        pytest.param(
            lambda d: d.update(slots=[]),
            "content/journey.yaml: slots: List should have at least 1 item",
            id="no slots",
        ),
    ],
)
def test_invalid_journey_names_file_and_field(
    root: Path, mutate: Callable[[Any], None], expected: str
) -> None:
    _edit_yaml(root, "journey.yaml", mutate)
    assert expected in _error(root)


def test_renamed_slot_orphans_its_items(root: Path) -> None:
    _edit_yaml(root, "journey.yaml", lambda d: _slot(d, "survey").update(id="feedback"))
    assert _error(root).splitlines() == [
        "content/library: trigger: slot 'feedback' has no item for everyone (add one with "
        "trigger: feedback, no audience filters and no expiry date)",
        "content/library/journey/survey.md: trigger: unknown journey slot 'survey'",
    ]


def test_digest_item_must_not_have_a_trigger(root: Path) -> None:
    path = root / "library" / "news" / "weekly_digest.md"
    text = path.read_text(encoding="utf-8").replace(
        "kind: news\n", "kind: news\ntrigger: weekly_news\n"
    )
    path.write_text(text, encoding="utf-8")
    assert _error(root) == (
        "content/library/news/weekly_digest.md: trigger: the digest of slot 'weekly_news' is "
        "sent every time; it must not have a trigger"
    )


def test_journey_as_a_bare_list(root: Path) -> None:
    path = root / "journey.yaml"
    slots = yaml.safe_load(path.read_text(encoding="utf-8"))["slots"]
    path.write_text(yaml.safe_dump(slots, allow_unicode=True), encoding="utf-8")
    assert _error(root) == (
        "content/journey.yaml: (top level): put the list of slots under a top-level 'slots:' key"
    )


def test_journey_file_missing(root: Path) -> None:
    (root / "journey.yaml").unlink()
    assert _error(root) == "content/journey.yaml: file not found"
