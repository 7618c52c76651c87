"""Token KD on sentences without tags (a transfer set): the student learns the teacher's tags
there, and the gold loss reads only tagged sentences."""

import pytest
import torch
from helpers import NER_FRAMES, NER_PEOPLE, NER_PLACES, ner_conll

from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.distill.config import DistillConfig
from nlpfactory.distill.run import distill
from nlpfactory.distill.transfer import transfer_sentences
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.models.card import read_card
from nlpfactory.ner.align import IGNORE
from nlpfactory.ner.kd import UNTAGGED, token_kd_loss, untagged_rows
from nlpfactory.ner.train import tag_rows


def _soft(student, teacher, where, t=2.0):
    p = torch.softmax(teacher[where] / t, -1)
    return (p * (p.log() - torch.log_softmax(student[where] / t, -1))).sum(-1).mean() * t * t


def test_untagged_words_get_the_soft_loss_only():
    student, teacher = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    tags = torch.tensor([[IGNORE, 1, 0, IGNORE], [IGNORE, UNTAGGED, UNTAGGED, IGNORE]])
    words, tagged = tags != IGNORE, tags >= 0
    hard = torch.nn.functional.cross_entropy(student[tagged], tags[tagged])
    expected = 0.5 * _soft(student, teacher, words) + 0.5 * hard
    assert token_kd_loss(student, teacher, tags, 2.0, 0.5).item() == pytest.approx(expected.item(), rel=1e-5)
    only_transfer = torch.tensor([[IGNORE, UNTAGGED, UNTAGGED, IGNORE]] * 2)
    loss = token_kd_loss(student, teacher, only_transfer, 2.0, 0.5)
    assert loss.item() == pytest.approx(0.5 * _soft(student, teacher, only_transfer != IGNORE).item(), rel=1e-5)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    prepare_dataset(PrepareConfig(data_source=str(ner_conll(root / "ner.conll", 60)), dedup=False), root / "ds")
    finetune(FinetuneConfig(model="tiny", vocab_size=120, epochs=1, batch_size=16, max_length=16,
                            checkpoint_every_steps=0), root / "ds", root / "teacher")
    return root


def test_untagged_rows_mark_the_words_tagged_rows_would_tag(teacher):
    from nlpfactory.models.load import load_model

    _, tokenizer, _ = load_model(str(teacher / "teacher"), "token_classification")
    text = NER_FRAMES[0].format(p=NER_PEOPLE[0], l=NER_PLACES[0])
    tagged = tag_rows(tokenizer, [text], [["O"] * len(text)], ["O"], 16)
    untagged = untagged_rows(tokenizer, [text], 16)
    assert [r["input_ids"] for r in untagged] == [r["input_ids"] for r in tagged]
    assert [[UNTAGGED if t == 0 else t for t in r["tag_ids"]] for r in tagged] == [r["tag_ids"] for r in untagged]
    assert any(t == UNTAGGED for r in untagged for t in r["tag_ids"])


def test_a_student_distills_on_transfer_sentences_and_says_how_many(teacher, tmp_path):
    from nlpfactory.data.dataset import load_split

    known = load_split(teacher / "ds", "train")["text"].tolist()[:5]  # sentences the Dataset holds
    new = ["听说" + f.format(p=p, l=place) for f in NER_FRAMES for p in NER_PEOPLE[:3] for place in NER_PLACES[:3]]
    (tmp_path / "transfer.txt").write_text("\n".join(known + new + ["", new[0]]), encoding="utf-8")
    cfg = DistillConfig(student="tiny", epochs=1, batch_size=16, max_length=16, checkpoint_every_steps=0,
                        transfer_source=str(tmp_path / "transfer.txt"))
    distill(cfg, teacher / "ds", str(teacher / "teacher"), tmp_path / "student")
    # the Dataset's own sentences, blank lines and repeats are left out
    assert read_card(tmp_path / "student")["distillation"]["transfer_sentences"] == len(new)
    assert len(transfer_sentences(str(tmp_path / "transfer.txt"), teacher / "ds", rows=4, seed=1)) == 4


def test_transfer_sentences_refuse_what_they_cannot_use(teacher, tmp_path):
    (tmp_path / "latin1.txt").write_bytes("第一句\n".encode() + "caf\u00e9".encode("latin-1"))
    with pytest.raises(ValueError, match="line 2.*not valid utf-8") as bad:
        transfer_sentences(str(tmp_path / "latin1.txt"), teacher / "ds")
    assert "re-save it as UTF-8" in bad.value.fix
    with pytest.raises(ValueError, match="neither a file nor a named corpus"):
        transfer_sentences(str(tmp_path / "missing.txt"), teacher / "ds")
    with pytest.raises(ValueError, match="method metakd"):
        DistillConfig(method="metakd", transfer_source="msra-ner")

