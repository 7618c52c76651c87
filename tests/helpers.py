"""Tiny data made in the tests: sentiment-like rows whose label a model can learn."""

from __future__ import annotations

import random

import pandas as pd

POSITIVE = ["很好", "不错", "满意", "喜欢", "推荐", "干净", "舒服", "值得"]
NEGATIVE = ["很差", "失望", "糟糕", "难用", "后悔", "脏乱", "吵闹", "退货"]
TOPICS = {"hotel": ["酒店", "房间", "前台"], "book": ["这本书", "作者", "内容"]}


def sentiment_frame(n: int = 80, seed: int = 0, domains: bool = False) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        domain = list(TOPICS)[(i // 2) % len(TOPICS)]
        words = POSITIVE if label == "positive" else NEGATIVE
        text = f"{rng.choice(TOPICS[domain])}{rng.choice(words)}，{rng.choice(words)}{i}"
        rows.append({"text": text, "label": label, **({"domain": domain} if domains else {})})
    return pd.DataFrame(rows)


def write_tiny_dataset(path, n: int = 80, domains: bool = False, seed: int = 0):
    """A Dataset folder written straight through the contract (no prepare stage)."""
    from nlpfactory.data.dataset import DatasetInfo, write_dataset

    frame = sentiment_frame(n, seed, domains)
    cut1, cut2 = int(n * 0.7), int(n * 0.85)
    info = DatasetInfo(task="classification", labels=["negative", "positive"],
                       domains=sorted(TOPICS) if domains else [], source={"made_in": "tests"})
    write_dataset(path, {"train": frame[:cut1], "dev": frame[cut1:cut2], "test": frame[cut2:]}, info)
    return path


# Sequence labeling
NER_PEOPLE = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊"]
NER_PLACES = ["北京", "上海", "广州", "深圳", "杭州", "南京"]
NER_FRAMES = ["{p}在{l}工作。", "{p}去了{l}。", "昨天{p}到{l}开会。"]


def ner_conll(path, n, seed=0):
    """A CoNLL file (BMES) of `n` sentences: a name and a place in fixed frames."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        person, place, frame = rng.choice(NER_PEOPLE), rng.choice(NER_PLACES), rng.choice(NER_FRAMES)
        text = frame.format(p=person, l=place)
        tags = ["O"] * len(text)
        for word, kind in ((person, "PER"), (place, "LOC")):
            start = text.index(word)
            tags[start:start + len(word)] = [f"B-{kind}"] + [f"M-{kind}"] * (len(word) - 2) + [f"E-{kind}"]
        lines += [f"{c} {t}" for c, t in zip(text, tags)] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def sparse_ner_dataset(path, n: int = 400, seed: int = 0, domains: tuple[str, ...] = ()):
    """A tagging Dataset where entities are rare, as in news text: each sentence is about 40
    characters of filler with one name or place in it (about 6% of the tags are not O), so a
    tagger that answers O everywhere is 94% right and scores entity F1 0. With `domains`, rows
    take them in turn (a domain column), each domain with its own filler characters."""
    from nlpfactory.data.dataset import DatasetInfo, write_dataset

    rng = random.Random(seed)
    entities = set("".join(NER_PEOPLE + NER_PLACES))
    fillers = [[chr(c) for c in range(0x4E00 + 400 * k, 0x4E00 + 400 * (k + 1)) if chr(c) not in entities]
               for k in range(max(len(domains), 1))]
    rows = []
    for i in range(n):
        filler = fillers[i % len(fillers)]
        kind, word = rng.choice([("PER", w) for w in NER_PEOPLE] + [("LOC", w) for w in NER_PLACES])
        before, after = rng.randint(5, 35), rng.randint(5, 35)
        text = "".join(rng.choices(filler, k=before)) + word + "".join(rng.choices(filler, k=after))
        tags = ["O"] * before + [f"B-{kind}"] + [f"I-{kind}"] * (len(word) - 1) + ["O"] * after
        rows.append({"text": text, "tags": tags} | ({"domain": domains[i % len(domains)]} if domains else {}))
    frame = pd.DataFrame(rows)
    cut1, cut2 = int(n * 0.7), int(n * 0.85)
    info = DatasetInfo(task="sequence_labeling", labels=["O", "B-LOC", "I-LOC", "B-PER", "I-PER"],
                       domains=list(domains), source={"made_in": "tests"})
    write_dataset(path, {"train": frame[:cut1], "dev": frame[cut1:cut2], "test": frame[cut2:]}, info)
    return path


def write_corpus(folder, n=120):
    """A pretraining corpus folder as `nlpfactory data corpus` writes it, of n short texts."""
    import json

    from nlpfactory.data.pretrain_corpus import CORPUS_FILE, INFO_FILE

    words = [w for group in (POSITIVE, NEGATIVE, *TOPICS.values()) for w in group]
    texts = [f"{words[i % len(words)]}的{words[(3 * i) % len(words)]}，{words[(7 * i) % len(words)]}了" for i in range(n)]
    folder.mkdir(parents=True)
    pd.DataFrame({"text": texts, "source": "test"}).to_parquet(folder / CORPUS_FILE, index=False)
    (folder / INFO_FILE).write_text(json.dumps({"key": "test", "sequences": n, "characters": 0,
                                                "sources": {"test": {}}}), encoding="utf-8")
    return folder
