"""Same seed, same model; a killed run resumes into the model an uninterrupted one makes; a
checkpoint belongs to one run and is never executed (issue: tokenizer ids changed per call,
resume learned a new tokenizer, two runs shared a checkpoint, checkpoints were unpickled)."""

import hashlib
import os
import pickle
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.models.tokenizer import learn_tokenizer
from nlpfactory.train.checkpoint import (
    STATE_FILE,
    CheckpointError,
    checkpoint_dir_for,
    claim,
    load_state,
)

# Latin words and numbers make pairs of equal frequency, where the merge order used to vary.
TEXTS = [f"{w}{i} room {w} 第{i % 13}号 {i * 7}" for i, w in enumerate(["good", "bad", "nice", "poor"] * 30)]
CFG = dict(model="tiny", epochs=2, batch_size=16, learning_rate=2e-3, vocab_size=120, max_length=24,
           checkpoint_every_steps=3, early_stopping_patience=0)


def _weights_hash(model_dir: Path) -> str:
    return hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()


def test_the_same_text_gives_the_same_ids_every_time():
    first = learn_tokenizer(TEXTS, vocab_size=120).get_vocab()
    for _ in range(3):
        assert learn_tokenizer(TEXTS, vocab_size=120).get_vocab() == first


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """(the Dataset, the model CFG trains on it in this process): what a fresh process and a
    resumed run are held to."""
    from helpers import write_tiny_dataset

    root = tmp_path_factory.mktemp("reference")
    dataset = write_tiny_dataset(root / "data", n=120)
    with pytest.MonkeyPatch.context() as patch:  # its own checkpoints, as every test has
        patch.setenv("NLPFACTORY_CHECKPOINTS", str(root / "checkpoints"))
        return dataset, finetune(FinetuneConfig(**CFG), dataset, root / "model").model_dir


def test_the_same_seed_gives_the_same_weights_in_another_process(reference, tmp_path):
    """A fresh process with another hash seed trains the model this process trained (after
    whatever tests ran here before)."""
    dataset, model_dir = reference
    script = textwrap.dedent(f"""
        import sys
        from nlpfactory.finetune import FinetuneConfig, finetune
        finetune(FinetuneConfig(**{CFG!r}), sys.argv[1], sys.argv[2])
    """)
    other_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    env = {**os.environ, "PYTHONHASHSEED": other_seed, "NLPFACTORY_CHECKPOINTS": str(tmp_path / "ck")}
    subprocess.run([sys.executable, "-c", script, str(dataset), str(tmp_path / "m")],
                   check=True, env=env, capture_output=True, timeout=600)
    assert _weights_hash(tmp_path / "m") == _weights_hash(model_dir)


SLOW_FINETUNE = textwrap.dedent(f"""
    import sys, time
    import nlpfactory.train.loop as loop
    from nlpfactory.finetune import FinetuneConfig, finetune
    real_collate = loop.collate
    def slow_collate(*args, **kwargs):  # slow enough to be killed mid-run; the numbers are unchanged
        time.sleep(0.3)
        return real_collate(*args, **kwargs)
    loop.collate = slow_collate
    finetune(FinetuneConfig(**{CFG!r}), sys.argv[1], sys.argv[2])
""")


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_weights(reference, tmp_path):
    tiny_dataset, reference_dir = reference
    checkpoint = checkpoint_dir_for("finetune", dict(FinetuneConfig(**CFG).__dict__), tiny_dataset)
    child = subprocess.Popen([sys.executable, "-c", SLOW_FINETUNE, str(tiny_dataset), str(tmp_path / "resumed")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (checkpoint / STATE_FILE).is_file() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL and (checkpoint / STATE_FILE).is_file()
    assert (checkpoint / "tokenizer" / "tokenizer_config.json").is_file()
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o700  # private to the run
    resumed = finetune(FinetuneConfig(**CFG), tiny_dataset, tmp_path / "resumed")
    assert resumed.fit.resumed_from_step > 0
    assert _weights_hash(tmp_path / "resumed") == _weights_hash(reference_dir)
    assert not checkpoint.exists()


def test_a_second_run_does_not_resume_from_a_live_runs_checkpoint(tmp_path):
    folder = tmp_path / "ck"
    first, lock = claim(folder)
    (first / STATE_FILE).write_bytes(b"the first run's live state")
    second, other_lock = claim(folder)
    assert first == folder and second != folder and load_state(second) is None
    lock.close()
    other_lock.close()
    again, lock = claim(folder)  # free again once the first run is gone
    assert again == folder
    lock.close()


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_planted_pickle_is_refused_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / STATE_FILE).write_bytes(pickle.dumps({"model": Payload()}))
    with pytest.raises(CheckpointError, match=STATE_FILE) as err:
        load_state(tmp_path)
    assert not (tmp_path / "pwned").exists() and "fix: delete" in str(err.value)


def test_a_damaged_checkpoint_names_its_path(tmp_path):
    torch.save({"progress": {}}, tmp_path / STATE_FILE)
    with pytest.raises(CheckpointError, match="lacks model") as err:
        load_state(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_a_model_folder_with_a_pickle_payload_is_a_message(tmp_path, monkeypatch):
    from nlpfactory.errors import InputError
    from nlpfactory.models.load import load_model, save_model

    monkeypatch.chdir(tmp_path)
    model, tokenizer, _ = load_model("tiny", num_labels=2, texts=["好的", "坏的"], vocab_size=50)
    save_model(model, tokenizer, tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    (tmp_path / "m" / "pytorch_model.bin").write_bytes(pickle.dumps({"w": Payload()}))
    with pytest.raises(InputError, match="refused") as err:
        load_model(str(tmp_path / "m"), num_labels=2)
    assert str(tmp_path / "m") in str(err.value) and not (tmp_path / "pwned").exists()
