import hashlib
import json

import pandas as pd
import pytest

from nlpfactory.data.dataset import load_split, read_info
from nlpfactory.data.prepare import PrepareConfig, prepare_dataset, prepare_dataset_tracked
from nlpfactory.errors import InputError

pytestmark = pytest.mark.usefixtures("mlflow_store")  # these tests track to MLflow


def tsv(write, rows, name="data.tsv", header=("text", "label")):
    lines = ["\t".join(header)] + ["\t".join(r) for r in rows]
    return write(name, "\n".join(lines) + "\n")


def reviews(n=40, labels=("negative", "positive")):
    return [(f"第{i}条评论", labels[i % len(labels)]) for i in range(n)]


def all_rows(out):
    return pd.concat([load_split(out, s) for s in read_info(out).rows])


def test_a_file_becomes_a_dataset_folder(tmp_path, write):
    path = tsv(write, reviews(40))
    info = prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    assert info.task == "classification" and info.labels == ["negative", "positive"]
    assert info.rows == {"train": 32, "dev": 4, "test": 4}
    on_disk = read_info(tmp_path / "out")
    assert on_disk.rows == info.rows and on_disk.text_columns == ["text"]
    assert on_disk.source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert on_disk.source["format"] == "tsv"
    assert list(load_split(tmp_path / "out", "train").columns) == ["text", "label"]


def test_same_config_same_dataset(tmp_path, write):
    cfg = PrepareConfig(data_source=str(tsv(write, reviews(60))), seed=3)
    prepare_dataset(cfg, tmp_path / "a")
    prepare_dataset(cfg, tmp_path / "b")
    for split in ("train", "dev", "test"):
        assert load_split(tmp_path / "a", split).equals(load_split(tmp_path / "b", split))


def test_given_labels_set_the_id_order(tmp_path, write):
    cfg = PrepareConfig(data_source=str(tsv(write, reviews(20))), labels=["positive", "negative"])
    assert prepare_dataset(cfg, tmp_path / "out").labels == ["positive", "negative"]


def test_labels_from_kfp_arrive_as_floats_and_become_names():
    assert PrepareConfig(labels=[0.0, 1.0, "x"]).labels == ["0", "1", "x"]


def test_exact_duplicates_are_removed_and_conflicting_texts_dropped(tmp_path, write):
    rows = reviews(20) + [("第1条评论", "positive")] * 3 + [("第2条评论", "positive")]
    path = tsv(write, rows)  # 第1条 repeats with its own label; 第2条 gets a second label
    info = prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    texts = all_rows(tmp_path / "out")["text"].tolist()
    assert texts.count("第1条评论") == 1 and "第2条评论" not in texts
    assert sum(info.rows.values()) == 19
    assert info.source["rows_kept"]["rows_read"] == 24
    assert info.source["rows_kept"]["after_dedup"] == 19


def test_dedup_can_be_turned_off(tmp_path, write):
    path = tsv(write, reviews(20) + [("第1条评论", "positive")] * 3)
    info = prepare_dataset(PrepareConfig(data_source=str(path), dedup=False), tmp_path / "out")
    assert sum(info.rows.values()) == 23


def test_given_dev_and_test_files_are_used_as_they_are(tmp_path, write):
    train = tsv(write, reviews(30))
    dev = tsv(write, [("第1条评论", "positive"), ("开发集", "negative")], "dev.tsv")
    test = tsv(write, [("测试集", "positive")], "test.tsv")
    cfg = PrepareConfig(data_source=str(train), dev_file=str(dev), test_file=str(test))
    info = prepare_dataset(cfg, tmp_path / "out")
    assert load_split(tmp_path / "out", "dev")["text"].tolist() == ["第1条评论", "开发集"]
    assert load_split(tmp_path / "out", "test")["text"].tolist() == ["测试集"]
    # the dev text also in the training file is taken out of train, so evaluation is honest
    assert "第1条评论" not in load_split(tmp_path / "out", "train")["text"].tolist()
    assert info.rows["train"] == 29 and info.source["dev_file"]["format"] == "tsv"


def test_only_the_missing_split_is_cut_from_the_data(tmp_path, write):
    test = tsv(write, [("测试集", "positive")], "test.tsv")
    cfg = PrepareConfig(data_source=str(tsv(write, reviews(40))), test_file=str(test))
    assert prepare_dataset(cfg, tmp_path / "out").rows == {"train": 36, "dev": 4, "test": 1}


def test_a_zero_ratio_leaves_that_split_out(tmp_path, write):
    cfg = PrepareConfig(data_source=str(tsv(write, reviews(40))), dev_ratio=0.0)
    assert prepare_dataset(cfg, tmp_path / "out").rows == {"train": 36, "test": 4}


def test_max_rows_samples_before_splitting(tmp_path, write):
    path = tsv(write, reviews(300, labels=("a", "a", "b")))
    info = prepare_dataset(PrepareConfig(data_source=str(path), max_rows=30), tmp_path / "out")
    rows = all_rows(tmp_path / "out")
    assert len(rows) == 30 and rows["label"].value_counts().to_dict() == {"a": 20, "b": 10}
    assert info.source["rows_kept"]["after_max_rows"] == 30


def test_pair_task_is_inferred_from_a_second_text_column(tmp_path, write):
    rows = [(f"前提{i}", f"假设{i}", "entail" if i % 2 else "contradict") for i in range(20)]
    path = tsv(write, rows, header=("premise", "hypothesis", "label"))
    cfg = PrepareConfig(data_source=str(path), text_col="premise", text_b_col="hypothesis")
    info = prepare_dataset(cfg, tmp_path / "out")
    assert info.task == "pair_classification" and info.text_columns == ["text", "text_b"]
    assert list(load_split(tmp_path / "out", "train").columns) == ["text", "text_b", "label"]


def test_domains_other_rows_and_domain_filter(tmp_path, write):
    rows = [(f"评论{i}", "pos" if i % 2 else "neg", ("hotel", "book", "other")[i % 3])
            for i in range(60)]
    path = tsv(write, rows, header=("text", "label", "domain"))
    keep = prepare_dataset(PrepareConfig(data_source=str(path), domain_col="domain"), tmp_path / "a")
    assert keep.domains == ["book", "hotel", "other"]
    drop = prepare_dataset(PrepareConfig(data_source=str(path), domain_col="domain",
                                         other_domain="drop"), tmp_path / "b")
    assert drop.domains == ["book", "hotel"] and sum(drop.rows.values()) == 40
    only = prepare_dataset(PrepareConfig(data_source=str(path), domain_col="domain",
                                         domains=["hotel"]), tmp_path / "c")
    assert only.domains == ["hotel"] and set(all_rows(tmp_path / "c")["domain"]) == {"hotel"}


def test_a_headerless_file_with_a_schema(tmp_path, write):
    path = write("data.tsv", "".join(f"{'ab'[i % 2]}\t第{i}条\n" for i in range(20)))
    info = prepare_dataset(PrepareConfig(data_source=str(path), schema="label:str:1,text:str:1"),
                           tmp_path / "out")
    assert info.labels == ["a", "b"] and info.schema == "label:str:1,text:str:1"


def test_a_folder_of_other_files_is_replaced_only_with_overwrite(tmp_path, write):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.txt").write_text("old")
    cfg = PrepareConfig(data_source=str(tsv(write, reviews(20))))
    with pytest.raises(InputError, match="did not write"):
        prepare_dataset(cfg, tmp_path / "out")
    prepare_dataset(cfg, tmp_path / "out", overwrite=True)
    assert not (tmp_path / "out" / "stale.txt").exists()


def test_tracked_prepare_logs_row_and_label_counts_to_mlflow(tmp_path, write):
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import MlflowTracker, tracking_uri

    path = tsv(write, reviews(40))
    info = prepare_dataset_tracked(PrepareConfig(data_source=str(path)), tmp_path / "out",
                                   tracker=MlflowTracker())
    assert info.rows["train"] == 32
    client = MlflowClient(tracking_uri())
    experiment = client.get_experiment_by_name("nlpfactory-prepare_data")
    run = client.search_runs([experiment.experiment_id])[0]
    assert run.data.metrics["rows.train"] == 32
    assert run.data.metrics["train.label.positive"] == 16
    assert run.data.params["data_source"] == str(path)
    dataset_json = client.download_artifacts(run.info.run_id, "dataset.json", str(tmp_path))
    assert json.loads(open(dataset_json, encoding="utf-8").read())["rows"] == info.rows
