import json

import pytest
import torch

from yomitori.models import create_model
from yomitori.train.checkpoint import load_checkpoint, save_checkpoint
from yomitori.train.config import TrainConfig
from yomitori.train.loop import fit, seed_everything
from yomitori.train.tasks import MnistTask


def _cfg(tmp_path, data_dir, **kw) -> TrainConfig:
    base = dict(task="mnist", model="cnn_tiny", epochs=2, batch_size=32, test_batch_size=64, data_dir=data_dir,
                out=str(tmp_path), logger="none", progress="off", seed=3)
    base.update(kw)
    return TrainConfig(**base)


def _run(cfg, resume=None):
    seed_everything(cfg.seed)  # model init draws from the global RNG
    model = create_model(cfg.model, **MnistTask().model_kwargs())
    return fit(cfg, MnistTask(), model, resume=resume)


def test_fit_learns_tiny_digits(tmp_path, tiny_mnist_dir):
    res = _run(_cfg(tmp_path, tiny_mnist_dir, epochs=8, optimizer="adamw", lr=1e-2, warmup_epochs=0.5))
    assert res["final"]["test_accuracy"] > 0.6
    assert (tmp_path / "last.pt").exists() and (tmp_path / "best.pt").exists()
    hist = json.loads((tmp_path / "history.json").read_text())
    assert len(hist) == 8 and hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_checkpoint_round_trip_weights_only(tmp_path):
    state = {"a": torch.randn(3), "n": 3, "s": "x", "nested": {"b": [1, 2]}}
    save_checkpoint(tmp_path / "c.pt", state)
    back = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(back["a"], state["a"]) and back["nested"] == {"b": [1, 2]}


def test_corrupt_checkpoint_gives_user_error(tmp_path):
    from yomitori.errors import UserError

    (tmp_path / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="bad.pt"):
        load_checkpoint(tmp_path / "bad.pt")


def _final_params(result):
    return {k: v.detach().clone() for k, v in result["model"].state_dict().items()}


@pytest.mark.parametrize("optimizer", ["adadelta", "adamw"])
def test_resume_after_epoch_is_exact(tmp_path, tiny_mnist_dir, optimizer):
    full = _run(_cfg(tmp_path / "full", tiny_mnist_dir, epochs=3, optimizer=optimizer))
    _run(_cfg(tmp_path / "part", tiny_mnist_dir, epochs=3, optimizer=optimizer, max_steps=8))  # one epoch = 8 steps
    resumed = _run(_cfg(tmp_path / "part", tiny_mnist_dir, epochs=3, optimizer=optimizer),
                   resume=tmp_path / "part" / "last.pt")
    a, b = _final_params(full), _final_params(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert full["history"] == resumed["history"] or [
        {k: v for k, v in h.items() if k not in ("seconds", "samples_per_s")} for h in full["history"]
    ] == [{k: v for k, v in h.items() if k not in ("seconds", "samples_per_s")} for h in resumed["history"]]


def test_resume_mid_epoch_is_exact(tmp_path, tiny_mnist_dir):
    full = _run(_cfg(tmp_path / "full", tiny_mnist_dir, epochs=2))
    # stop after 5 of the 8 steps of epoch 1, with a step-interval checkpoint at step 5
    _run(_cfg(tmp_path / "part", tiny_mnist_dir, epochs=2, max_steps=5, ckpt_every_steps=5))
    ck = load_checkpoint(tmp_path / "part" / "last.pt")
    assert ck["step_in_epoch"] == 5 or ck["epoch"] == 1
    resumed = _run(_cfg(tmp_path / "part2", tiny_mnist_dir, epochs=2), resume=tmp_path / "part" / "last.pt")
    a, b = _final_params(full), _final_params(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_tensorboard_events_read_back(tmp_path, tiny_mnist_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _run(_cfg(tmp_path, tiny_mnist_dir, epochs=2, logger="tensorboard", log_every=2))
    acc = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"train/loss", "test/accuracy", "lr", "train/loss_step"} <= set(tags["scalars"])
    assert {"test/confusion", "test/misclassified"} <= set(tags["images"])
    hist = json.loads((tmp_path / "history.json").read_text())
    acc_values = [e.value for e in acc.Scalars("test/accuracy")]
    assert acc_values == pytest.approx([h["test_accuracy"] for h in hist], abs=1e-6)
