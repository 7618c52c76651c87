import pytest

from nlpfactory.augment.run import AugmentConfig, augment_dataset
from nlpfactory.data.dataset import load_split
from nlpfactory.errors import InputError
from nlpfactory.predictor import Predictor


class KeywordTeacher(Predictor):
    """Says "pos" when the text has 好 or 快 or 意思, otherwise "neg"."""

    labels = ["neg", "pos"]

    def predict(self, texts, texts_b=None):
        return ["pos" if any(k in t for k in ("好", "快", "意思")) else "neg" for t in texts]


def test_the_teacher_filter_drops_copies_the_teacher_flips(dataset_dir, tmp_path):
    cfg = AugmentConfig(method="eda", expansion=6, mask_ratio=0.5, seed=1,
                        eda_operations=["char_delete", "word_delete"])
    unfiltered = load_split(augment_dataset(cfg, dataset_dir, tmp_path / "all").output_dir, "train")
    result = augment_dataset(cfg, dataset_dir, tmp_path / "kept", teacher=KeywordTeacher())
    kept = load_split(result.output_dir, "train")
    teacher = KeywordTeacher()
    flipped = unfiltered[unfiltered["augmented"]
                         & (teacher.predict(unfiltered["text"].tolist()) != unfiltered["label"])]
    assert len(flipped) > 0, "the test needs copies whose keyword was deleted"
    copies = kept[kept["augmented"]]
    assert (teacher.predict(copies["text"].tolist()) == copies["label"]).all()
    assert len(copies) == 36 - len(flipped) == result.metrics["augmented_rows_kept"]
    assert result.metrics["filtered_out"] == len(flipped)
    assert (~kept["augmented"]).sum() == 6  # originals are never filtered


def test_a_teacher_with_other_labels_is_refused(dataset_dir, tmp_path):
    teacher = KeywordTeacher()
    teacher.labels = ["negative", "positive"]
    with pytest.raises(InputError, match="teacher filter"):
        augment_dataset(AugmentConfig(method="eda"), dataset_dir, tmp_path / "aug", teacher=teacher)
