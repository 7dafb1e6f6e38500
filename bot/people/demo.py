"""The demo cohort seeded on the first ``make run``: staff, and candidates at different stages."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.people.importer import ImportReport, import_candidates
from storage import people
from storage.models import Role

DEMO_STAFF = (
    ("王芳", Role.HR, "人力资源部"),
    ("刘洋", Role.HR, "人力资源部"),
    ("李强", Role.MANAGER, "研发中心"),
    ("陈静", Role.ADMIN, "人力资源部"),
)


@dataclass(frozen=True)
class DemoCandidate:
    name: str
    phone: str
    school: str
    major: str
    degree: str
    position: str
    department: str
    hr: str
    manager: str
    offer_days_ago: int
    training_in: int
    onboarding_in: int
    hometown: str
    work_city: str
    motivation: str
    tags: str
    language: str = "zh"
    offer_status: str = ""


DEMO_CANDIDATES = (
    DemoCandidate(
        "张三",
        "13800138001",
        "浙江大学",
        "计算机科学与技术",
        "硕士",
        "后端开发工程师",
        "研发中心",
        "王芳",
        "李强",
        20,
        12,
        20,
        "杭州",
        "杭州",
        "想做AI方向的工程落地",
        "校招,AI",
    ),
    DemoCandidate(
        "李四",
        "13800138002",
        "华中科技大学",
        "机械工程",
        "本科",
        "工艺工程师",
        "制造中心",
        "王芳",
        "",
        35,
        30,
        40,
        "武汉",
        "杭州",
        "希望在制造一线积累经验",
        "校招,异地",
    ),
    DemoCandidate(
        "赵六",
        "13800138003",
        "西安电子科技大学",
        "电子信息工程",
        "硕士",
        "嵌入式工程师",
        "研发中心",
        "王芳",
        "李强",
        50,
        5,
        10,
        "西安",
        "杭州",
        "对芯片和硬件感兴趣",
        "校招",
        offer_status="accepted",
    ),
    DemoCandidate(
        "Emily Chen",
        "13800138004",
        "上海财经大学",
        "市场营销",
        "本科",
        "市场专员",
        "市场部",
        "刘洋",
        "",
        3,
        45,
        60,
        "上海",
        "杭州",
        "喜欢做品牌和用户增长",
        "校招",
        language="en",
        offer_status="pending_approval",
    ),
)


def demo_csv(today: date) -> bytes:
    """The demo candidates as an import file, dated relative to ``today``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "姓名",
            "手机",
            "学校",
            "专业",
            "学历",
            "岗位",
            "部门",
            "HR",
            "经理",
            "offer日期",
            "培训日期",
            "入职日期",
            "材料截止日期",
            "籍贯",
            "工作城市",
            "求职动机",
            "标签",
            "语言",
            "offer状态",
        ]
    )
    for c in DEMO_CANDIDATES:
        writer.writerow(
            [
                c.name,
                c.phone,
                c.school,
                c.major,
                c.degree,
                c.position,
                c.department,
                c.hr,
                c.manager,
                today - timedelta(days=c.offer_days_ago),
                today + timedelta(days=c.training_in),
                today + timedelta(days=c.onboarding_in),
                today + timedelta(days=c.training_in - 3),
                c.hometown,
                c.work_city,
                c.motivation,
                c.tags,
                c.language,
                c.offer_status,
            ]
        )
    return out.getvalue().encode()


async def is_empty(*, session: AsyncSession) -> bool:
    return not await people.list_staff(session=session) and not await people.list_candidates(
        session=session
    )


async def seed_demo(
    *, session: AsyncSession, now: datetime, today: date, ttl_days: int, console: bool
) -> ImportReport:
    """Add the demo staff and candidates; with ``console``, staff get console identities."""
    for name, role, department in DEMO_STAFF:
        staff = await people.add_staff(
            session=session, name=name, role=role.value, department=department, now=now
        )
        if console:
            identity = await people.touch_identity(
                session=session,
                platform="console",
                user_id=name,
                chat_id=name,
                display_name=name,
                now=now,
            )
            await people.bind_identity(session=session, identity=identity, staff_id=staff.id)
    return await import_candidates(
        session=session, data=demo_csv(today), now=now, ttl_days=ttl_days
    )
