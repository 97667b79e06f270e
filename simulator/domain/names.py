"""Synthetic Chinese names for generated people and schools.

People: a common surname and a one- or two-character given name drawn from short lists, so the
names look ordinary and belong to nobody in particular (they are never paired with real ID
numbers: those are synthetic too). Schools: the county's name plus a numbered or place-like
part ("城关区第三小学", "秦安县石门镇中心幼儿园", "...村教学点"); the place stems are generic
words, not a gazetteer.
"""

from __future__ import annotations

import random
from typing import ClassVar

SURNAMES: tuple[str, ...] = tuple(
    "王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 于 董 萧 "
    "程 曹 袁 邓 许 傅 沈 曾 彭 吕 苏 卢 蒋 蔡 贾 丁 魏 薛 叶 阎 余 潘 杜 戴 夏 钟 汪 田 任 姜 "
    "范 方 石 姚 谭 廖 邹 熊 金 陆 郝 孔 白 崔 康 毛 邱 秦 江 史 顾 侯 邵 孟 龙 万 段 雷 钱 汤 "
    "尹 黎 易 常 武 乔 贺 赖 龚 文".split())
GIVEN_MALE: tuple[str, ...] = tuple(
    "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 飞 鑫 波 宁 健 亮 俊 峰 建 文 武 晨 阳 "
    "海 宏 志 国 成 东 林 永 春 庆 德 安 学 兴 福 生 龙 祥 荣 振 岩 旭".split())
GIVEN_FEMALE: tuple[str, ...] = tuple(
    "芳 娜 敏 静 丽 艳 娟 霞 燕 玲 桂 红 梅 琳 雪 慧 婷 颖 倩 蓉 萍 洁 琴 云 莉 兰 凤 "
    "佳 欣 月 晶 媛 丹 瑶 璐 薇 宁 秀 英 华 春 玉 珍 文 晓 小 思 悦 雅 楠".split())

TOWN_STEMS: tuple[str, ...] = tuple(
    "城关 东关 西关 南关 北关 新城 新华 新民 红星 东风 和平 团结 胜利 前进 石门 石桥 柳林 "
    "杨柳 桃园 杏园 梨园 枣林 榆树 白杨 青石 黄土 红土 沙河 清水 河湾 川口 峡口 新庄 王家 "
    "李家 马家 刘家 陈家 赵家 金山 银川 龙泉 凤凰 双河 三岔 四合 五星 六合 七里 八里 九龙 "
    "十里 高家 吴家 孙家 郭家 罗家 安乐 永安 长乐 太平 兴隆 丰收 康乐 吉祥 平安 新安 常青".split())
VILLAGE_STEMS: tuple[str, ...] = tuple(
    "上庄 下庄 中庄 前川 后川 东沟 西沟 南坪 北坪 大湾 小湾 高崖 红崖 石岭 柳沟 杨湾 阳坡 "
    "阴坡 新村 旧庄 岔口 河坝 山根 沟门 坪头 塬上 川底 梁家 李坪 王湾 张湾 何家 窑洞 泉头 "
    "水磨 磨湾 堡子 寨子 庙沟 松树 杏树 桦林 槐树 枣园 苜蓿 麦地 草滩 沙坪 龙湾 鹿角".split())
FIELDS: tuple[str, ...] = tuple(
    "理工 交通 财经 医学 师范 农业 石化 资源 工业 文理 外语 商贸 科技 艺术 航空 能源 建筑 "
    "体育 传媒 信息 水利 电力 机电 畜牧 林业 冶金 化工 轻工 地质 邮电 旅游 经贸 中医 护理 "
    "政法 民族 城建 电子 园林 矿业 测绘 物流 音乐 幼儿师范 卫生 生态".split())

NUMERALS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 21 -> 二十一, 105 -> 一百零五 (positive integers below 10000)."""
    if not 0 < n < 10000:
        raise ValueError(f"no Chinese numeral form here for {n}")
    out = ""
    units = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
    zero = False
    for value, unit in units:
        digit = n // value % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        if not (value == 10 and digit == 1 and not out):
            out += NUMERALS[digit]
        out += unit
    return out


def person_name(rng: random.Random, gender: str) -> str:
    """Surname + one or two given characters (indexing by rng.random() is rng.choice without
    its overhead: this runs once per generated teacher)."""
    given = GIVEN_MALE if gender == "male" else GIVEN_FEMALE
    n = len(given)
    surname = SURNAMES[int(rng.random() * len(SURNAMES))]
    first = given[int(rng.random() * n)]
    if rng.random() < 0.3:
        return surname + first
    return surname + first + given[int(rng.random() * n)]


def short_city(city_name: str) -> str:
    """甘南藏族自治州 -> 甘南, 兰州市 -> 兰州, 临夏回族自治州 -> 临夏."""
    for suffix in ("回族自治州", "藏族自治州", "市", "州"):
        if city_name.endswith(suffix):
            return city_name[: -len(suffix)]
    return city_name


class SchoolNamer:
    """Unique, plausible school names within each county (and province-wide for schools named
    without a county prefix). One namer per plan, fed by the plan's seeded generator."""

    _NUMBERED: ClassVar[dict[str, str]] = {
        "kindergarten": "幼儿园", "primary": "小学", "junior": "初级中学", "senior": "中学",
        "special": "特殊教育学校", "vocational": "职业中学"}
    _TOWN: ClassVar[dict[str, str]] = {
        "kindergarten": "中心幼儿园", "primary": "中心小学", "junior": "初级中学",
        "senior": "高级中学", "special": "特殊教育学校", "vocational": "职业教育中心"}
    _VILLAGE: ClassVar[dict[str, str]] = {
        "kindergarten": "村幼儿园", "primary": "小学", "junior": "初级中学"}

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()
        self._numbers: dict[tuple[str, str], int] = {}
        self._town_kind: dict[tuple[str, str], str] = {}

    def claim(self, name: str) -> str:
        """Reserve a given name (the notice's named schools); ValueError if taken."""
        if name in self._used:
            raise ValueError(f"school name {name!r} used twice")
        self._used.add(name)
        return name

    def numbered(self, county: str, stage: str, suffix: str | None = None) -> str:
        """'{county}第N{suffix}' with the next free N (the first special school unnumbered)."""
        suffix = suffix or self._NUMBERED[stage]
        while True:
            n = self._numbers.get((county, suffix), 0) + 1
            self._numbers[(county, suffix)] = n
            name = f"{county}{suffix}" if n == 1 and stage == "special" else \
                f"{county}第{chinese_number(n)}{suffix}"
            if name not in self._used:
                return self.claim(name)

    def county_school(self, county: str, stage: str, *, urban: bool,
                      teaching_point: bool = False) -> str:
        """A county-run school's name: numbered in towns and districts, place-named in the
        countryside; teaching points are always village sites."""
        rng = self._rng
        if teaching_point:
            return self._place(county, "村教学点", village=True) or \
                self.numbered(county, stage, "教学点")
        if stage == "special":
            return self.numbered(county, stage)
        if stage == "vocational":
            first = f"{county}职业中等专业学校"
            if first not in self._used:
                return self.claim(first)
            if rng.random() < 0.5:
                return self.numbered(county, stage)
            return self._place(county, self._TOWN[stage], village=False) or \
                self.numbered(county, stage)
        suffix = self._NUMBERED[stage]
        if (urban or rng.random() < 0.12) and self._numbers.get((county, suffix), 0) < 40:
            return self.numbered(county, stage)
        name = None
        if stage in self._VILLAGE and rng.random() < 0.55:
            name = self._place(county, self._VILLAGE[stage], village=True)
        name = name or self._place(county, self._TOWN[stage], village=False, tries=6)
        if name is None and stage in self._VILLAGE:
            name = self._place(county, self._VILLAGE[stage], village=True)
        return name or self.numbered(county, stage)

    def _place(self, county: str, suffix: str, *, village: bool, tries: int = 30
               ) -> str | None:
        """A free place-like name ('...石门镇中心小学', '...柳林乡上庄村幼儿园'), or None."""
        rng = self._rng
        for _ in range(tries):
            stem = TOWN_STEMS[int(rng.random() * len(TOWN_STEMS))]
            kind = self._town_kind.setdefault((county, stem), "镇" if rng.random() < 0.5
                                              else "乡")
            place = f"{stem}{kind}"
            if village:
                place += VILLAGE_STEMS[int(rng.random() * len(VILLAGE_STEMS))]
            name = f"{county}{place}{suffix}"
            if name not in self._used:
                return self.claim(name)
        return None

    def institution(self, prefix: str, suffixes: tuple[str, ...]) -> str:
        """A province- or city-level institution: '甘肃交通职业技术学院', '天水财经学校'."""
        rng = self._rng
        for _ in range(200):
            name = f"{prefix}{rng.choice(FIELDS)}{rng.choice(suffixes)}"
            if name not in self._used:
                return self.claim(name)
        n = 1
        while f"{prefix}第{chinese_number(n)}{suffixes[0]}" in self._used:
            n += 1
        return self.claim(f"{prefix}第{chinese_number(n)}{suffixes[0]}")
