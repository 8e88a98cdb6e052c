"""Names, addresses and phone numbers that read as real (Faker zh_CN plus Beijing lists).

Person names come from pools drawn once from a seeded Faker: calling Faker for each of
millions of residents would dominate the run, and a pool keeps Faker's surname weights.
Everything else is drawn from a ``random.Random`` seeded by the unit's code, so a unit
always gets the same content whatever else is built around it.
"""

import random
import re
from dataclasses import dataclass

from faker import Faker

# GB/T 2260 codes of Beijing's 16 districts.
BEIJING_DISTRICTS = [
    ("110101", "东城区"), ("110102", "西城区"), ("110105", "朝阳区"), ("110106", "丰台区"),
    ("110107", "石景山区"), ("110108", "海淀区"), ("110109", "门头沟区"), ("110111", "房山区"),
    ("110112", "通州区"), ("110113", "顺义区"), ("110114", "昌平区"), ("110115", "大兴区"),
    ("110116", "怀柔区"), ("110117", "平谷区"), ("110118", "密云区"), ("110119", "延庆区"),
]

# Real 街道 of the central districts; further streets get Faker place names.
REAL_STREETS = {
    "110101": "东华门 景山 交道口 安定门 北新桥 东四 朝阳门 建国门 东直门 和平里 前门 崇文门外 东花市 龙潭 体育馆路 天坛 永定门外",
    "110102": "西长安街 新街口 月坛 展览路 德胜 金融街 什刹海 大栅栏 天桥 椿树 陶然亭 广安门内 牛街 白纸坊 广安门外",
    "110105": "建外 朝外 呼家楼 三里屯 左家庄 香河园 和平街 安贞 亚运村 小关 酒仙桥 麦子店 团结湖 六里屯 八里庄 双井 劲松 潘家园 垡头 望京",
    "110106": "右安门 太平桥 西罗园 大红门 南苑 东高地 东铁匠营 六里桥 丰台 新村 长辛店 云岗 方庄 宛平城",
    "110107": "八宝山 老山 八角 古城 苹果园 金顶街 广宁 五里坨 鲁谷",
    "110108": "万寿路 永定路 羊坊店 甘家口 八里庄 紫竹院 北下关 北太平庄 学院路 中关村 海淀 青龙桥 清华园 燕园 香山 清河 花园路 西三旗 马连洼 田村路 上地 万柳 东升 曙光",
    "110112": "中仓 新华 北苑 玉桥 通运 杨庄 潞源 文景 九棵树 临河里 永顺 梨园",
}

PLACE_WORDS = (
    "和平 安华 青年湖 幸福 光明 金台 团结 望京 双井 劲松 方庄 万寿 玉泉 紫竹 百子湾 芳古 翠微 "
    "甘家口 永安 景泰 花家地 惠新 安慧 育新 枫林 康乐 长青 新源 华严 安苑 柳荫 榆树 银杏 "
    "丽泽 恩济 曙光 蓝靛厂 世纪城 六铺炕 车公庄 马甸 北沙滩 左安 蒲黄榆 木樨园 东铁 鸿业"
).split()
DEVELOPERS = "万科 保利 龙湖 首开 金隅 远洋 华润 城建 住总 天恒 中海 招商".split()
COMPOUND_SUFFIXES = ["小区"] * 5 + ["家园", "花园", "嘉园", "北里", "南里", "西里", "东里", "新村", "公寓"]
DIRECTIONS = ["", "", "东", "西", "南", "北", "一", "二", "三"]
ROADS = (
    "和平里东街 安定门外大街 朝阳路 建国路 学院路 中关村大街 广安门内大街 丰台北路 西直门外大街 "
    "东四环中路 北三环东路 知春路 亮马桥路 望京西路 劲松路 左安门内大街 复兴路 阜成路 "
    "万寿路 花园路 惠新东街 安立路 双井路 方庄路 东直门南大街 南礼士路 三里河路 白石桥路"
).split()

MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199"
).split()

RESIDENT_UNITS = [
    "北京市第{n}中学", "{district}第{n}小学", "{district}社区卫生服务中心", "中国工商银行{street}支行",
    "中国建设银行{street}支行", "国家电网{district}供电公司营业厅", "{street}派出所", "{district}图书馆分馆",
    "北京市{district}第{n}幼儿园", "中国邮政{street}营业所",
]
SOCIAL_ORGANIZATIONS = [
    "{community}社会工作服务站", "{community}志愿服务队", "{community}养老服务驿站",
    "{community}文体协会", "{community}邻里互助会", "{community}法律援助工作站",
]

_CN_DIGITS = "零一二三四五六七八九"
# Faker's brands are mostly IT firms ("华远软件"): keep the plain ones for property companies.
_NOT_PROPERTY = re.compile(r"软件|电子|电脑|计算机|信息|科技|数字|网络|公司|国际|开发区|[A-Za-z0-9]")


def _plain_brand(prefix: str) -> bool:
    return 2 <= len(prefix) <= 4 and not _NOT_PROPERTY.search(prefix)


def chinese_number(n: int) -> str:
    """1 → 一, 12 → 十二, 40 → 四十; numbers above 99 stay in digits."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    text = ("" if tens == 1 else _CN_DIGITS[tens]) + "十" if tens else ""
    return text + (_CN_DIGITS[ones] if ones else "")


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def landline(rng: random.Random) -> str:
    return f"010-{rng.choice('68')}{rng.randrange(10**7):07d}"


def unique_pick(rng: random.Random, make, taken: set[str], tries: int = 50) -> str:
    """A name from ``make(rng)`` not in ``taken``; numbered when the words run out."""
    for _ in range(tries):
        name = make(rng)
        if name not in taken:
            break
    else:
        base, n = make(rng), 2
        while f"{base}{n}" in taken:
            n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


@dataclass(frozen=True)
class NamePools:
    surnames: tuple[str, ...]
    male_given: tuple[str, ...]
    female_given: tuple[str, ...]
    companies: tuple[str, ...]
    places: tuple[str, ...]
    roads: tuple[str, ...]

    @classmethod
    def from_faker(cls, fake: Faker, size: int = 3000) -> "NamePools":
        return cls(
            surnames=tuple(fake.last_name() for _ in range(size)),
            male_given=tuple(fake.first_name_male() for _ in range(size)),
            female_given=tuple(fake.first_name_female() for _ in range(size)),
            companies=tuple(dict.fromkeys(c for c in (fake.company_prefix() for _ in range(400)) if _plain_brand(c))),
            places=tuple(dict.fromkeys(fake.district() for _ in range(400))),
            # Faker's one-character roads ("蔡街") do not read as Beijing.
            roads=tuple(dict.fromkeys(r for r in (fake.street_name() for _ in range(300)) if len(r) >= 3)),
        )

    def person(self, rng: random.Random, *, gender: str, surname: str | None = None) -> str:
        given = self.male_given if gender == "M" else self.female_given
        return (surname or rng.choice(self.surnames)) + rng.choice(given)

    def street_name(self, rng: random.Random, district_code: str, index: int) -> str:
        real = REAL_STREETS.get(district_code, "").split()
        if index <= len(real):
            return f"{real[index - 1]}街道"
        return f"{rng.choice(self.places)}街道"

    def community_name(self, rng: random.Random) -> str:
        return f"{rng.choice(PLACE_WORDS)}{rng.choice(DIRECTIONS)}社区"

    def compound_name(self, rng: random.Random) -> str:
        word = rng.choice(DEVELOPERS) if rng.random() < 0.25 else rng.choice(PLACE_WORDS)
        return word + rng.choice(COMPOUND_SUFFIXES)

    def road(self, rng: random.Random) -> str:
        return rng.choice(ROADS) if rng.random() < 0.6 or not self.roads else rng.choice(self.roads)

    def property_company(self, rng: random.Random) -> str:
        return f"北京{rng.choice(self.companies)}物业管理有限公司"
