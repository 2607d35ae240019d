"""What callers talk about: terms from transcript text (jieba segmentation), ranked per period,
and the terms rising this week against the week before. Sans-I/O except jieba's dictionary.

A term counts once per call (document frequency), so one talkative caller repeating 退款 does
not outweigh ten callers saying it once. Kept terms: two or more characters (or a Latin word),
not a number, not a stop word (function words, fillers, greetings an agent says to everyone).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jieba

# Function words, fillers and service phrases every call has; they say nothing about the issue.
STOP_WORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "我",
        "你",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "他们",
        "这",
        "那",
        "就",
        "都",
        "也",
        "还",
        "在",
        "有",
        "和",
        "吗",
        "吧",
        "呢",
        "啊",
        "嗯",
        "哦",
        "喂",
        "呃",
        "噢",
        "一个",
        "什么",
        "怎么",
        "那个",
        "这个",
        "没有",
        "就是",
        "然后",
        "可以",
        "不是",
        "好的",
        "知道",
        "一下",
        "现在",
        "这样",
        "那样",
        "因为",
        "所以",
        "但是",
        "如果",
        "已经",
        "还是",
        "可能",
        "应该",
        "需要",
        "帮忙",
        "帮我",
        "我要",
        "一些",
        "一点",
        "时候",
        "今天",
        "刚才",
        "刚刚",
        "麻烦",
        "谢谢",
        "您好",
        "你好",
        "请问",
        "不好意思",
        "对不起",
        "没事",
        "好吧",
        "是的",
        "对的",
        "这边",
        "那边",
        "这里",
        "那里",
        "非常",
        "感谢",
        "您",
        "请",
        "稍等",
        "马上",
        "已经",
        "一直",
        "其实",
        "怎么样",
        "为什么",
        "多少",
        "看看",
        "看一下",
        "问一下",
        "说",
        "想",
        "要",
        "给",
        "让",
        "把",
        "被",
        "又",
        "再",
        "很",
        "太",
        "吗",
        "嘛",
        "呀",
        "哈",
        "啦",
        "呐",
        "哎",
        "唉",
        "诶",
        "喔",
        "行",
        "好",
        "对",
        "不",
        "没",
        "能",
        "会",
        "去",
        "来",
        "到",
        "上",
        "下",
        "里",
        "中",
        "个",
        "只",
        "我的",
        "你的",
        "他的",
        "她的",
        "这么",
        "那么",
        "一样",
        "还有",
        "或者",
        "而且",
        "以后",
        "之前",
        "之后",
        "直接",
        "确实",
        "等",
        "等等",
    ]
)
# Words of the trade that jieba's general dictionary would split apart.
DOMAIN_WORDS = (
    "漏送", "送错", "洒漏", "洒了", "错餐", "少送", "超时", "延误", "退款", "部分退款", "全额退款",
    "补送", "优惠券", "骑手", "商家", "门店", "外卖", "订单号", "催单", "异物", "凉了", "餐损",
    "配送费", "差评", "投诉", "赔偿", "打包", "餐具", "备注", "取消订单",
)  # fmt: skip
# Stored in a 32-character column: longer "words" are noise (URLs, runs of letters) anyway.
_KEEP = re.compile(r"^(?:[\u4e00-\u9fff]{2,32}|[A-Za-z][A-Za-z\-]{2,31})$")

logging.getLogger("jieba").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    """One jieba tokenizer per process, built on first use (the dictionary takes ~1 s)."""
    tk = jieba.Tokenizer()
    tk.initialize()
    for word in DOMAIN_WORDS:
        tk.add_word(word, freq=20000)
    return tk


def terms(text: str) -> list[str]:
    """The kept terms of one text, in order, with repeats."""
    return [w for w in tokenizer().lcut(text, HMM=True) if _KEEP.match(w) and w not in STOP_WORDS]


def call_terms(texts: Iterable[str]) -> set[str]:
    """The distinct terms of one call's utterances."""
    return set(terms(" ".join(texts)))


@dataclass(frozen=True)
class RankedTerm:
    term: str
    calls: int  # calls that contain it
    share: float  # of the period's calls with a transcript


def rank(counts: Counter[str], documents: int, limit: int = 50) -> list[RankedTerm]:
    """Most frequent first; ties by term so the order is stable."""
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [RankedTerm(t, n, n / documents if documents else 0.0) for t, n in top]


@dataclass(frozen=True)
class RisingTerm:
    term: str
    calls: int  # this period
    previous: int  # the period before
    lift: float  # share now / share before, smoothed (a new term's is large, never infinite)
    new: bool  # absent the period before


def rising(
    current: Counter[str],
    previous: Counter[str],
    current_docs: int,
    previous_docs: int,
    *,
    min_calls: int = 3,
    limit: int = 20,
) -> list[RisingTerm]:
    """Terms whose share of calls grew the most: ``(n+1)/(N+1)`` over ``(p+1)/(P+1)``
    (add-one smoothing), kept when mentioned in at least ``min_calls`` calls and at least
    doubled; ranked by lift × log(calls) so a big term rising beats a rare one."""
    out: list[RisingTerm] = []
    for term, n in current.items():
        if n < min_calls:
            continue
        p = previous.get(term, 0)
        lift = ((n + 1) / (current_docs + 1)) / ((p + 1) / (previous_docs + 1))
        if lift >= 2.0:
            out.append(RisingTerm(term, n, p, lift, p == 0))
    out.sort(key=lambda r: (-r.lift * math.log1p(r.calls), r.term))
    return out[:limit]
