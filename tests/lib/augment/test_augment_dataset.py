import pandas as pd
import pytest

from nlpfactory.augment.run import AugmentConfig, augment_dataset
from nlpfactory.data.dataset import load_split, read_info
from nlpfactory.errors import InputError


def _check_rows(out, original, expansion):
    train = load_split(out, "train")
    assert len(train) == len(original) * (1 + expansion)
    originals = train[~train["augmented"]].set_index("source_id")
    assert originals.index.is_unique
    assert originals["text"].tolist() == original["text"].tolist()
    copies = train[train["augmented"]]
    assert copies["source_id"].isin(originals.index).all()
    # an augmented row keeps its original's label, always
    assert (copies["label"].to_numpy() == originals.loc[copies["source_id"], "label"].to_numpy()).all()
    assert (copies.groupby("source_id").size() == expansion).all()
    assert (copies["text"].str.len() > 0).all()
    return train


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_eda_never_changes_labels_and_keeps_source_ids(dataset_dir, tmp_path, seed):
    cfg = AugmentConfig(method="eda", expansion=3, mask_ratio=0.3, seed=seed)
    out = augment_dataset(cfg, dataset_dir, tmp_path / "aug").output_dir
    train = _check_rows(out, load_split(dataset_dir, "train"), 3)
    assert (train[train["augmented"]]["text"] != "").all()


def test_dev_and_test_are_copied_and_the_description_records_the_augmentation(dataset_dir, tmp_path):
    cfg = AugmentConfig(method="eda", expansion=2)
    out = augment_dataset(cfg, dataset_dir, tmp_path / "aug").output_dir
    for split in ("dev", "test"):
        pd.testing.assert_frame_equal(load_split(out, split), load_split(dataset_dir, split))
    info, before = read_info(out), read_info(dataset_dir)
    assert (info.task, info.labels, info.domains) == (before.task, before.labels, before.domains)
    assert info.rows == {"train": 18, "dev": 2, "test": 2}
    assert info.source["augment"]["method"] == "eda"
    assert info.source["augmented_from"] == before.source


def test_same_seed_same_rows_and_keep_original_off(dataset_dir, tmp_path):
    cfg = AugmentConfig(method="eda", expansion=2, seed=5, keep_original=False)
    a = load_split(augment_dataset(cfg, dataset_dir, tmp_path / "a").output_dir, "train")
    b = load_split(augment_dataset(cfg, dataset_dir, tmp_path / "b").output_dir, "train")
    pd.testing.assert_frame_equal(a, b)
    assert a["augmented"].all() and len(a) == 12


def test_source_ids_chain_back_to_the_first_original(dataset_dir, tmp_path):
    cfg = AugmentConfig(method="eda", expansion=1)
    once = augment_dataset(cfg, dataset_dir, tmp_path / "once").output_dir
    twice = load_split(augment_dataset(cfg, once, tmp_path / "twice").output_dir, "train")
    assert set(twice["source_id"]) == set(range(6))
    assert len(twice) == 24


def test_bad_options_name_the_field():
    with pytest.raises(InputError, match="method"):
        AugmentConfig(method="synonyms")
    with pytest.raises(InputError, match="eda_operations"):
        AugmentConfig(eda_operations=["word_flip"])


def test_mlm_without_a_model_says_how_to_fix(dataset_dir, tmp_path):
    with pytest.raises(InputError, match="MLM head"):
        augment_dataset(AugmentConfig(method="mlm"), dataset_dir, tmp_path / "aug")
