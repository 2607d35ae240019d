"""Demo order data: a plausible Beijing food-delivery world, fast enough for a million orders.

``generate_orders`` fills the order tables with random data: merchants (chains and corner
shops), their stores, riders, customers and orders whose timelines run from ``placed`` to
``delivered`` (or a cancellation, a refund). Most orders are old and finished; a few per cent
were placed in the last 90 minutes, so the live anomalies a caller phones about exist: kitchens
running late, riders who have not moved for a quarter of an hour.

Faker is slow, so it only fills small pools (names, street names); everything else is drawn
from ``random.Random(seed)`` and written with Core bulk inserts, ids assigned here after the
current maximum, so seeding twice adds data.

``tingyin.screenpop.scenarios`` plants the few fixed cases with known numbers that tests and
the demo rely on. The random generator never hands out those numbers: it avoids the
138000000xx, 171000000xx and 0106234567x blocks and 13900000000.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from tingyin.store import Database
from tingyin.store.models import (
    Customer,
    Merchant,
    NumberBinding,
    Order,
    OrderEvent,
    OrderItem,
    Rider,
    Store,
)
from tingyin.store.models.orders import ORDER_CHANNELS, ORDER_STATUSES

SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH = 5000  # orders per bulk insert, with their items and events
COMMIT_EVERY = 10  # batches per transaction: each commit rewrites the touched index pages
SQLITE_CACHE_KIB = 256 * 1024  # so those pages stay in memory between commits
HISTORY_DAYS = 30
LIVE_WINDOW_S = 90 * 60
LIVE_SHARE = 0.03  # of the orders, placed in the last 90 minutes
DETAIL_WINDOW_S = 3 * 3600  # rider pings every 2.5 minutes for orders this recent
RESERVED_PREFIXES = ("138000000", "171000000", "0106234567")  # planted scenarios' blocks
RESERVED = frozenset({"13900000000"})  # Scenarios.unknown_number: nothing, ever
ACTIVE = frozenset({"placed", "accepted", "ready", "picked_up"})
STATUSES = frozenset(ORDER_STATUSES)
MOBILE_PREFIXES = tuple(
    f"1{n}"
    for n in (*range(30, 40), 50, 51, 52, 53, *range(55, 60), *range(80, 90), 91, 93, 95, 98, 99)
)
CHANNEL_WEIGHTS = (55, 30, 7, 6, 2)  # meituan, eleme, miniprogram, douyin, phone
# Orders by local hour: breakfast, the lunch peak, the dinner peak, late-night snacks.
HOUR_WEIGHTS = (2, 1, 1, 0, 0, 0, 1, 4, 6, 4, 6, 22, 26, 12, 4, 3, 5, 15, 24, 16, 8, 6, 5, 3)

# Menus by kind of kitchen: "kind chain/chain/…:" then "dish price_in_fen [spec/spec/…]; …".
# 辣, 份, 冰, 糖 stand for the usual spec sets.
SPECS = {
    "辣": ("微辣", "中辣", "特辣", "不辣"),
    "份": ("大份", "小份", ""),
    "冰": ("去冰", "少冰", "正常冰", "热"),
    "糖": ("少糖", "半糖", "全糖", "不另外加糖"),
}
MENU_TEXT = """
快餐 老乡鸡/南城香: 农家一碗香 2380; 梅菜扣肉 2680; 宫保鸡丁盖饭 2580 辣;
  鱼香肉丝盖饭 2380 辣; 番茄炒蛋盖饭 1980 份; 土豆牛肉盖饭 2880 份; 肥西老母鸡汤 1580; 米饭 200
麻辣烫 杨国福麻辣烫/张亮麻辣烫: 麻辣烫 2600 微辣/中辣/麻辣/番茄汤底/骨汤不辣;
  麻辣拌 2800 辣; 肥牛卷 900; 午餐肉 500; 鱼豆腐 400; 加方便面 300; 冰红茶 400
小吃 沙县小吃: 拌面 800 加辣/不要葱/; 扁肉 900; 蒸饺 1000; 鸡腿饭 1800; 乌鸡汤炖罐 1600;
  卤蛋 200
面馆 马子禄牛肉面/和府捞面: 兰州牛肉拉面 2200 细面/二细/毛细/宽面; 油泼面 1800 辣;
  老北京炸酱面 2200; 重庆小面 1600 辣; 加牛肉 800; 加煎蛋 300; 凉拌黄瓜 900
饺子 袁记云饺/喜家德虾仁水饺: 猪肉白菜水饺（20个） 2200; 三鲜水饺（20个） 2800;
  虾仁水饺（15个） 3200; 鲜肉小馄饨 1500 加辣/不要香菜/; 酸辣汤 1200; 拍黄瓜 1000
奶茶 蜜雪冰城/喜茶: 珍珠奶茶 1500 冰; 杨枝甘露 1800 糖; 柠檬水 800 冰; 多肉葡萄 1900 冰;
  芝芝莓莓 2100 糖; 甜筒 500
咖啡 瑞幸咖啡/库迪咖啡: 生椰拿铁 1900 冰/热/少甜; 美式咖啡 1500 冰/热; 酱香拿铁 1900 冰/热;
  厚乳拿铁 2000 冰/热/少甜
川菜 眉州东坡: 水煮鱼 6800 辣; 麻婆豆腐 1800 辣; 回锅肉 3800; 宫保鸡丁 3200 辣;
  鱼香肉丝 2900; 干煸四季豆 2600; 米饭 200
烧烤 : 羊肉串（10串） 3000 微辣/中辣/不辣; 烤鸡翅 1200 辣; 烤韭菜 600; 烤馒头片 400;
  烤茄子 1500; 冰啤酒 800
早餐 庆丰包子铺/永和大王: 猪肉大葱包子（3个） 900; 小笼包 1500; 油条 300; 豆浆 400 甜/无糖;
  炒肝 1200; 豆腐脑 600 咸/甜
炸鸡 华莱士: 香辣鸡腿堡 1900; 劲脆鸡腿堡 1900; 炸鸡块（5块） 1500; 薯条 900 份; 可乐 600 冰
粥 嘉和一品: 皮蛋瘦肉粥 1200; 小米粥 600; 鲜虾烧卖 1500; 肉龙 800; 卤肉饭 2200 份
黄焖鸡 杨铭宇黄焖鸡米饭: 黄焖鸡米饭 2200 微辣/中辣/不辣/大份; 黄焖排骨米饭 2800 辣;
  加土豆 300; 加香菇 300
"""
INDEPENDENT = {  # corner shops; {s} is a surname
    "快餐": ("{s}记家常菜", "老{s}家快餐"),
    "麻辣烫": ("{s}姐麻辣烫",),
    "小吃": ("{s}记小吃",),
    "面馆": ("{s}记牛肉面", "老{s}家油泼面"),
    "饺子": ("{s}家饺子馆",),
    "奶茶": ("{s}记茶铺",),
    "咖啡": ("{s}先生咖啡",),
    "川菜": ("{s}记川菜馆", "蜀香{s}家菜"),
    "烧烤": ("老{s}烧烤", "{s}记烤串"),
    "早餐": ("{s}家包子铺",),
    "炸鸡": ("{s}记炸鸡",),
    "粥": ("{s}记粥铺",),
    "黄焖鸡": ("{s}记黄焖鸡",),
}
# Beijing: district, neighbourhood, its centre, buildings there.
AREA_TEXT = """
朝阳区 望京 39.996 116.470 望京SOHO/方恒国际/望京花园/南湖西园
朝阳区 三里屯 39.933 116.455 三里屯SOHO/幸福村/工体北路小区
朝阳区 国贸 39.909 116.460 国贸三期/建外SOHO/光华里
朝阳区 酒仙桥 39.968 116.490 电子城小区/驼房营南里/将台家园
朝阳区 双井 39.894 116.462 富力城/九龙花园/广渠门外小区
海淀区 中关村 39.983 116.316 中关村大厦/海淀黄庄小区/科育小区
海淀区 五道口 39.992 116.338 华清嘉园/东升园/五道口购物中心
海淀区 西二旗 40.053 116.306 辉煌国际/智学苑/领秀慧谷
东城区 东直门 39.941 116.434 东环广场/东直门外小区/新中街小区
西城区 金融街 39.915 116.358 丰盛胡同小区/金融街购物中心/月坛北小区
丰台区 丽泽 39.866 116.312 丽泽SOHO/金唐小区/西局欣园
通州区 通州北苑 39.900 116.650 万达广场/北苑家园/新华联家园
昌平区 回龙观 40.070 116.330 龙泽苑/回龙观新村/流星花园
昌平区 天通苑 40.070 116.420 天通苑东一区/天通苑北二区/天通苑西三区
"""
# Customers' remarks with their weights; most orders have none.
REMARKS = {
    "微辣、餐具多拿两副": 8,
    "不要香菜": 10,
    "不要葱姜蒜": 4,
    "放门口，不要敲门": 8,
    "到了打电话，别按门铃，孩子在睡觉": 3,
    "花生过敏，请不要放花生": 1,
    "少放盐少放油": 4,
    "不需要餐具": 10,
    "放前台就行": 5,
    "米饭多一点，谢谢": 3,
    "汤要单独打包，别洒了": 3,
    "麻烦快一点，赶时间": 3,
}
CANCEL_NOTES = {
    "customer": ("用户取消：不想要了", "用户取消：地址填错了", "用户取消：点重复了"),
    "merchant": ("商家取消：商品已售罄", "商家取消：店内太忙，无法接单", "商家取消：即将打烊"),
    "rider": ("骑手取消：电动车故障，无法配送", "骑手取消：身体不适", "骑手取消：距离太远"),
    "system": ("超时未接单，系统自动取消",),
}
REFUND_REASONS = (
    "汤洒了，袋子里全是汤",
    "少送了一份米饭",
    "送错了，不是我点的",
    "饭菜是凉的",
    "菜里有头发",
    "超时太久，要求退款",
    "包装破损",
    "口味太咸，吃不了",
)

Dish = tuple[str, int, tuple[str, ...]]  # name, price in fen, specs to pick one from
Area = tuple[str, str, float, float, tuple[str, ...]]


def _menus(source: str) -> tuple[dict[str, tuple[Dish, ...]], tuple[tuple[str, str], ...]]:
    menus: dict[str, tuple[Dish, ...]] = {}
    chains: list[tuple[str, str]] = []
    for block in source.replace("\n  ", " ").strip().splitlines():
        head, _, dishes = block.partition(": ")
        category, _, names = head.partition(" ")
        chains += [(name, category) for name in names.split("/") if name]
        parsed: list[Dish] = []
        for dish in dishes.split("; "):
            name, price, *spec = dish.split()
            specs = SPECS.get(spec[0], tuple(spec[0].split("/"))) if spec else ()
            parsed.append((name, int(price), specs))
        menus[category] = tuple(parsed)
    return menus, tuple(chains)


MENUS, CHAINS = _menus(MENU_TEXT)
AREAS: tuple[Area, ...] = tuple(
    (d, a, float(lat), float(lng), tuple(b.split("/")))
    for d, a, lat, lng, b in (line.split() for line in AREA_TEXT.strip().splitlines())
)
_REMARKS = tuple(REMARKS)
_REMARK_CUM = list(accumulate(REMARKS.values()))


@dataclass(frozen=True)
class SeedSummary:
    """What one ``generate_orders`` run added, and how long it took."""

    orders: int = 0
    items: int = 0
    events: int = 0
    bindings: int = 0
    customers: int = 0
    merchants: int = 0
    stores: int = 0
    riders: int = 0
    seconds: float = 0.0

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


@dataclass
class _World:
    """The pools orders are drawn from, as plain tuples for speed."""

    numbers: set[str]  # lookup keys in use, so no number is handed out twice
    customers: list[tuple[int, float, tuple[tuple[str, float, float], ...]]] = field(
        default_factory=list
    )  # id, registered (epoch s), addresses with lat/lng
    customer_cum: list[float] = field(default_factory=list)
    old_customers: list[int] = field(default_factory=list)  # registered before the history
    stores: list[tuple[int, str, float, float, float]] = field(
        default_factory=list
    )  # id, category, lat, lng, price factor
    store_cum: list[float] = field(default_factory=list)
    riders: list[int] = field(default_factory=list)


def generate_orders(
    db: Database,
    orders: int,
    *,
    now: datetime,
    seed: int = 0,
    progress: bool = True,
    tz: ZoneInfo = SHANGHAI,
) -> SeedSummary:
    """Add ``orders`` random orders and the merchants, stores, riders and customers behind them.

    Placement times cover the 30 days before ``now`` (local time ``tz``, with lunch and dinner
    peaks); a few per cent fall in the last 90 minutes, some of those still in progress.
    """
    if orders < 0:
        raise ValueError("orders must be >= 0")
    started = time.perf_counter()
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    ids = _next_ids(db)
    world, counts = _build_world(db, rng, fake, orders, now.timestamp(), ids)
    placements = _placements(rng, orders, now, tz)
    starts = range(0, orders, BATCH)
    with _progress(progress, orders) as advance:
        for first in range(0, len(starts), COMMIT_EVERY):
            with db.session() as session, _big_cache(session):
                for start in starts[first : first + COMMIT_EVERY]:
                    rows = _Rows(ids, tz)
                    _batch(rng, world, placements[start : start + BATCH], rows, now.timestamp())
                    for model, batch in rows.tables():
                        if batch:
                            session.execute(insert(_table(model)), batch)
                    for key, value in rows.counts().items():
                        counts[key] = counts.get(key, 0) + value
                    advance(len(rows.orders))
    _sync_sequences(db)
    return SeedSummary(**counts, seconds=time.perf_counter() - started)


# --- the world: merchants, stores, riders, customers ------------------------------------------


def _next_ids(db: Database) -> dict[str, int]:
    models = (Customer, Merchant, Store, Rider, Order, OrderItem, OrderEvent, NumberBinding)
    with db.session() as session:
        return {m.__tablename__: (session.scalar(select(func.max(m.id))) or 0) + 1 for m in models}


def _build_world(
    db: Database, rng: random.Random, fake: Faker, orders: int, now: float, ids: dict[str, int]
) -> tuple[_World, dict[str, int]]:
    with db.session() as session:
        numbers = {
            n
            for column in (Customer.phone, Rider.phone, Store.phone, NumberBinding.virtual_number)
            for n in session.scalars(select(column).distinct())
            if n
        }
    world, r = _World(numbers), rng.random
    names = sorted({fake.name() for _ in range(3000)})
    surnames = sorted({fake.last_name() for _ in range(300)})
    streets = sorted({fake.street_name() for _ in range(300)})
    merchants: dict[str, dict[str, Any]] = {}
    stores: list[dict[str, Any]] = []
    store_names: set[str] = set()
    for i in range(max(24, orders // 400)):
        chain = i < len(CHAINS) or r() < 0.6
        if chain:
            name, category = CHAINS[i] if i < len(CHAINS) else rng.choice(CHAINS)
        else:
            category = rng.choice(list(INDEPENDENT))
            name = rng.choice(INDEPENDENT[category]).format(s=rng.choice(surnames))
        if name not in merchants:
            phone = _number(rng, numbers, "400" if chain else "mobile")
            merchants[name] = {
                "id": ids["merchants"] + len(merchants),
                "name": name,
                "phone": phone,
            }
        district, area, lat, lng, buildings = rng.choice(AREAS)
        store_name = next(
            f"{name}（{area}{n}店）"
            for n in ("", *"二三四五六七八九", *map(str, range(10, 10_000)))
            if f"{name}（{area}{n}店）" not in store_names
        )
        store_names.add(store_name)
        address = (
            f"北京市{district}{rng.choice(streets)}{rng.randint(1, 199)}号{rng.choice(buildings)}"
            f"{rng.choice(('1层', '2层', 'B1层', '底商'))}{rng.randint(1, 30):02d}号"
        )
        store_id = ids["stores"] + len(stores)
        stores.append(
            {
                "id": store_id,
                "merchant_id": merchants[name]["id"],
                "name": store_name,
                "address": address,
                "phone": _number(rng, numbers, "landline" if chain or r() < 0.5 else "mobile"),
            }
        )
        lat, lng = lat + rng.gauss(0, 0.006), lng + rng.gauss(0, 0.006)
        world.stores.append((store_id, category, lat, lng, rng.uniform(0.85, 1.25)))
        world.store_cum.append(rng.paretovariate(1.2))
    riders = []
    for i in range(max(10, orders // 150)):
        rider_id, team = ids["riders"] + i, f"{rng.choice(AREAS)[1]}{rng.choice('一二三')}站"
        rider = {"id": rider_id, "name": rng.choice(names), "team": team}
        riders.append({**rider, "phone": _number(rng, numbers, "mobile")})
        world.riders.append(rider_id)
    customers = [
        _customer(rng, world, ids["customers"] + i, names, now) for i in range(max(60, orders // 6))
    ]
    world.customer_cum = list(accumulate(world.customer_cum))
    world.store_cum = list(accumulate(world.store_cum))
    with db.session() as session:
        session.execute(insert(_table(Merchant)), list(merchants.values()))
        session.execute(insert(_table(Store)), stores)
        session.execute(insert(_table(Rider)), riders)
        for start in range(0, len(customers), 10_000):
            session.execute(insert(_table(Customer)), customers[start : start + 10_000])
    counts = {"customers": len(customers), "merchants": len(merchants)}
    return world, {**counts, "stores": len(stores), "riders": len(riders)}


def _customer(
    rng: random.Random, world: _World, customer_id: int, names: list[str], now: float
) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.05:  # new this week
        registered = now - rng.uniform(0, 7) * 86400
    elif roll < 0.15:
        registered = now - rng.uniform(7, 60) * 86400
    else:
        registered = now - rng.uniform(60, 6 * 365) * 86400
    if registered < now - (HISTORY_DAYS + 1) * 86400:
        world.old_customers.append(len(world.customers))
    homes = tuple(_home(rng) for _ in range(1 if rng.random() < 0.7 else 2))
    world.customers.append((customer_id, registered, homes))
    world.customer_cum.append(min(rng.paretovariate(1.5), 40.0))  # a few order a lot
    roll = rng.random()
    return {
        "id": customer_id,
        "phone": _number(rng, world.numbers, "mobile"),
        "name": rng.choice(names),
        "vip": rng.random() < 0.08,
        "complaints_90d": rng.randint(4, 9) if roll < 0.03 else rng.randint(1, 3) * (roll < 0.1),
        "registered_at": datetime.fromtimestamp(registered, UTC),
    }


def _home(rng: random.Random) -> tuple[str, float, float]:
    district, area, lat, lng, buildings = rng.choice(AREAS)
    if rng.random() < 0.6:
        floor, room = rng.randint(1, 28), rng.randint(1, 4)
        where = f"{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{floor}{room:02d}"
    else:
        where = f"{rng.choice('ABCD')}座{rng.randint(2, 30)}层{rng.randint(1, 30):02d}室"
    lat, lng = round(lat + rng.gauss(0, 0.008), 6), round(lng + rng.gauss(0, 0.008), 6)
    return f"北京市{district}{area}{rng.choice(buildings)}{where}", lat, lng


def _number(rng: random.Random, taken: set[str], kind: str) -> str:
    """A lookup key (E.164) nobody has yet, outside the planted scenarios' blocks."""
    while True:
        if kind == "landline":  # Beijing: 010 and 8 digits
            raw = f"010{rng.choice('568')}{rng.randint(1, 9)}{rng.randrange(10**6):06d}"
        elif kind == "virtual":  # privacy numbers
            raw = f"{rng.choice(('170', '171'))}{rng.randrange(10**8):08d}"
        elif kind == "400":
            raw = f"400{rng.randint(1, 9)}{rng.randrange(10**6):06d}"
        else:
            raw = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
        key = "+86" + raw.removeprefix("0")
        if raw not in RESERVED and not raw.startswith(RESERVED_PREFIXES) and key not in taken:
            taken.add(key)
            return key


# --- orders -----------------------------------------------------------------------------------


def _placements(rng: random.Random, count: int, now: datetime, tz: ZoneInfo) -> list[float]:
    """Placement times (epoch seconds), oldest first."""
    now_ts = now.timestamp()
    today = now.astimezone(tz).date()
    midnights = [
        datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()
        for d in (today - timedelta(days=n) for n in range(HISTORY_DAYS + 1))
    ]
    earliest, latest = now_ts - HISTORY_DAYS * 86400, now_ts - LIVE_WINDOW_S
    hour_cum = list(accumulate(HOUR_WEIGHTS))
    live = round(count * LIVE_SHARE) if count >= 20 else 0
    out = [now_ts - rng.random() * LIVE_WINDOW_S for _ in range(live)]
    while len(out) < count:
        for hour in rng.choices(range(24), cum_weights=hour_cum, k=count - len(out)):
            t = rng.choice(midnights) + (hour + rng.random()) * 3600
            if earliest <= t < latest:
                out.append(t)
    out.sort()
    return out


class _Rows:
    """One batch's rows, ids assigned from the running counters in ``ids``."""

    def __init__(self, ids: dict[str, int], tz: ZoneInfo) -> None:
        self.ids = ids
        self.tz = tz
        self.days: dict[int, str] = {}  # quarter hour since the epoch -> local yymmdd
        self.orders: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.bindings: list[dict[str, Any]] = []

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table] - 1

    def event(self, order_id: int, at: float, kind: str, actor: str, note: str, data: Any) -> None:
        when = datetime.fromtimestamp(at, UTC)
        self.ids["order_events"] += 1
        row = {"id": self.ids["order_events"] - 1, "order_id": order_id, "at": when, "kind": kind}
        self.events.append({**row, "actor": actor, "note": note, "data": data})

    def order_no(self, placed: float, order_id: int) -> str:
        """yymmdd (local) and the id: 16 digits, unique as ids are."""
        slot = int(placed // 900)  # zone offsets are whole quarter hours
        if slot not in self.days:
            self.days[slot] = f"{datetime.fromtimestamp(placed, self.tz):%y%m%d}"
        return f"{self.days[slot]}{order_id:010d}"

    def tables(self) -> list[tuple[type[Any], list[dict[str, Any]]]]:
        return [
            (Order, self.orders),
            (OrderItem, self.items),
            (OrderEvent, self.events),
            (NumberBinding, self.bindings),
        ]

    def counts(self) -> dict[str, int]:
        return {
            "orders": len(self.orders),
            "items": len(self.items),
            "events": len(self.events),
            "bindings": len(self.bindings),
        }


Step = tuple[float, str, str, str]  # at, kind, actor, note


def _batch(
    rng: random.Random, world: _World, placements: list[float], rows: _Rows, now: float
) -> None:
    """The orders placed at ``placements``, into ``rows``; per-order draws made in bulk."""
    n = len(placements)
    customers = rng.choices(range(len(world.customers)), cum_weights=world.customer_cum, k=n)
    stores = rng.choices(world.stores, cum_weights=world.store_cum, k=n)
    channels = rng.choices(ORDER_CHANNELS, weights=CHANNEL_WEIGHTS, k=n)
    remarks = rng.choices(_REMARKS, cum_weights=_REMARK_CUM, k=n)
    promised = rng.choices(range(30 * 60, 51 * 60, 60), k=n)
    for draw in zip(placements, customers, stores, channels, remarks, promised, strict=True):
        _order(rng, world, rows, now, *draw)


def _order(
    rng: random.Random,
    world: _World,
    rows: _Rows,
    now: float,
    placed: float,
    index: int,
    store: tuple[int, str, float, float, float],
    channel: str,
    remark: str,
    promise_s: int,
) -> None:
    r, uniform = rng.random, rng.uniform
    if world.customers[index][1] > placed and world.old_customers:
        index = rng.choice(world.old_customers)  # not registered yet then
    customer_id, _registered, homes = world.customers[index]
    address, c_lat, c_lng = homes[0] if len(homes) == 1 else rng.choice(homes)
    store_id, category, s_lat, s_lng, factor = store
    order_id = rows.next_id("orders")
    amount = rng.choice((0, 0, 250, 300, 350, 500))  # delivery fee
    menu = MENUS[category]
    for name, price, specs in rng.sample(menu, min(len(menu), rng.choice((1, 1, 2, 2, 2, 3, 4)))):
        quantity = 1 if r() < 0.8 else rng.choice((2, 2, 3))
        unit = round(price * factor / 10) * 10
        amount += quantity * unit
        item = {"id": rows.next_id("order_items"), "order_id": order_id, "name": name}
        spec = rng.choice(specs) if specs else ""
        rows.items.append({**item, "quantity": quantity, "unit_price_fen": unit, "spec": spec})

    steps, ride = _timeline(rng, placed, now, amount)
    status, delivered_at, rider_id = "placed", None, None
    for at, kind, actor, note in steps:
        if at > now:
            break
        if kind in STATUSES:
            status = kind
        if kind == "accepted":
            rider_id = rng.choice(world.riders)
        elif kind == "delivered":
            delivered_at = datetime.fromtimestamp(at, UTC)
        rows.event(order_id, at, kind, actor, note, {})
    if ride:
        pickup, delivered, stuck = ride
        span = delivered - pickup
        if placed > now - DETAIL_WINDOW_S:  # a ping every 2.5 minutes
            times = [pickup + 60 + 150 * k for k in range(int((span - 60) / 150) + 1)]
        else:  # older tracks are thinned out to one point
            times = [uniform(pickup, delivered)]
        # A stuck rider's position stays the same for 15-20 minutes.
        stop = pickup + uniform(120, 480) if stuck else delivered + 1
        moves = stop + uniform(900, 1200)
        for t in times:
            if t > now:
                break
            at, jitter = (stop, 0.0) if stop <= t <= moves else (t, 0.0003)
            f = (at - pickup) / span
            lat = round(s_lat + (c_lat - s_lat) * f + uniform(-jitter, jitter), 6)
            lng = round(s_lng + (c_lng - s_lng) * f + uniform(-jitter, jitter), 6)
            rows.event(order_id, t, "rider_position", "rider", "", {"lat": lat, "lng": lng})
    placed_at = datetime.fromtimestamp(placed, UTC)
    rows.orders.append(
        {
            "id": order_id,
            "order_no": rows.order_no(placed, order_id),
            "channel": channel,
            "customer_id": customer_id,
            "store_id": store_id,
            "rider_id": rider_id,
            "status": status,
            "amount_fen": amount,
            "delivery_address": address,
            "remarks": remark if r() < 0.45 else "",
            "placed_at": placed_at,
            "promised_at": datetime.fromtimestamp(placed + promise_s, UTC),
            "delivered_at": delivered_at,
        }
    )
    if status in ACTIVE and r() < 0.3:
        party = "rider" if rider_id is not None and r() < 0.3 else "customer"
        virtual = _number(rng, world.numbers, "virtual")
        binding = {"id": rows.next_id("number_bindings"), "order_id": order_id, "party": party}
        until = placed_at + timedelta(hours=3)
        rows.bindings.append(
            {**binding, "virtual_number": virtual, "valid_from": placed_at, "valid_until": until}
        )


def _timeline(
    rng: random.Random, placed: float, now: float, amount: int
) -> tuple[list[Step], tuple[float, float, bool] | None]:
    """The whole life of an order (the caller keeps what happened by ``now``).

    Returns the steps in time order, and (picked up, delivered, stuck) when a rider rode.
    """
    r, uniform = rng.random, rng.uniform
    steps: list[Step] = [(placed, "placed", "customer", "")]
    accepted = placed + (uniform(20, 150) if r() > 0.04 else uniform(480, 1200))
    fate = r()
    if fate < 0.038:  # cancelled: by the customer, the merchant, the rider or the system
        by = ("customer", "merchant", "rider", "system")[
            (fate >= 0.012) + (fate >= 0.022) + (fate >= 0.034)
        ]
        if by == "rider" or (by == "merchant" and r() < 0.5):
            steps.append((accepted, "accepted", "merchant", ""))
            at = accepted + uniform(120, 1200)
        else:
            at = placed + (900 if by == "system" else uniform(60, 600))
        steps.append((at, "cancelled", by, rng.choice(CANCEL_NOTES[by])))
        return steps, None
    ready = accepted + (uniform(300, 780) if r() > 0.05 else uniform(1800, 3000))  # slow kitchen
    pickup = ready + (uniform(60, 300) if r() > 0.04 else uniform(720, 1500))  # no rider came
    stuck = r() < 0.04
    delivered = pickup + (uniform(300, 960) if not stuck else uniform(1500, 2700))
    steps += [
        (accepted, "accepted", "merchant", ""),
        (ready, "ready", "merchant", ""),
        (pickup, "picked_up", "rider", ""),
        (delivered, "delivered", "rider", ""),
    ]
    if r() < 0.04:
        asked = delivered + uniform(300, 7200)
        steps.append((asked, "refund_requested", "customer", rng.choice(REFUND_REASONS)))
        if r() < 0.5:
            note = f"已退款 ¥{amount / 100:.2f}"
            steps.append((asked + uniform(600, 14400), "refunded", "platform", note))
    return steps, (pickup, delivered, stuck)


# --- plumbing ---------------------------------------------------------------------------------


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@contextmanager
def _big_cache(session: Session) -> Iterator[None]:
    """SQLite: a larger page cache on this connection while seeding, then the old size again."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = session.scalar(text("PRAGMA cache_size"))
    session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size = {int(before or -2000)}"))


def _sync_sequences(db: Database) -> None:
    """PostgreSQL: move the id sequences past the ids assigned here, for later ORM inserts."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.session() as session:
        for model in (
            Customer,
            Merchant,
            Store,
            Rider,
            Order,
            OrderItem,
            OrderEvent,
            NumberBinding,
        ):
            name = model.__tablename__
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                )
            )


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda _n: None
        return
    from rich import progress as rp

    columns = (rp.TextColumn("{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn())
    with rp.Progress(*columns, rp.TimeElapsedColumn(), rp.TimeRemainingColumn()) as bar:
        task = bar.add_task("seeding orders", total=total)
        yield lambda n: bar.advance(task, n)
