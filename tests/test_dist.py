"""Distributed training on CPU: two gloo processes equal one process on the same global batches.

The two-process runs use :func:`yomitori.train.dist.spawn_local`, the same path as
``yomitori train --nproc 2``; the group meets on a free port of 127.0.0.1 (loopback only).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from yomitori.errors import UserError
from yomitori.models import create_model
from yomitori.train import dist as ydist
from yomitori.train.config import TrainConfig
from yomitori.train.loop import fit, seed_everything
from yomitori.train.sampler import EpochSampler
from yomitori.train.tasks import MnistTask

pytestmark = pytest.mark.dist

# (name, batch per process, accumulation steps): each is 32 samples per optimizer step in total
TWO_PROC_RUNS = [("b16", 16, 1), ("b8_accum2", 8, 2)]
GLOBAL_BATCH = 32
LIMIT_TEST = 127  # odd: ranks get 64 and 63 test samples, and every one must be counted once


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    if Path("/sys/class/net/lo").exists():
        monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")


def _cfg(out: Path, data_dir: str, batch_size: int, accum_steps: int = 1) -> TrainConfig:
    return TrainConfig(task="mnist", model="cnn_tiny", epochs=2, batch_size=batch_size, accum_steps=accum_steps,
                       test_batch_size=64, limit_test=LIMIT_TEST, data_dir=data_dir, out=str(out), logger="none",
                       progress="off", seed=5, threads=1)


def _train(cfg: TrainConfig) -> dict:
    """fit() on cnn_tiny without dropout: a dropout mask drawn for 32 samples at once differs
    from two masks of 16, so a model with dropout cannot match across world sizes."""
    seed_everything(cfg.seed)
    model = create_model(cfg.model, **MnistTask().model_kwargs())
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return fit(cfg, MnistTask(), model)


def _two_proc_worker(data_dir: str, out: str) -> int:
    """Runs in each of the two spawned processes (inside the initialised gloo group)."""
    rank = torch.distributed.get_rank()
    for name, batch, accum in TWO_PROC_RUNS:
        res = _train(_cfg(Path(out) / name, data_dir, batch, accum))
        if rank == 0:
            torch.save({"params": res["model"].state_dict(), "history": json.dumps(res["history"])},
                       Path(out) / f"{name}.result.pt")
    calls = _count_allreduces(data_dir, accum=2, batches=4)
    if rank == 0:
        (Path(out) / "allreduce_calls.json").write_text(json.dumps(calls))
    return 0


def _count_allreduces(data_dir: str, accum: int, batches: int) -> int:
    """Gradient all-reduces (DDP comm-hook calls) during train_one_epoch over ``batches`` batches."""
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
    from torch.utils.data import DataLoader, Subset

    from yomitori.train.loop import _State, build_optimizer, train_one_epoch

    cfg = _cfg(Path(data_dir), data_dir, 8, accum)
    seed_everything(cfg.seed)
    train_ds, _ = MnistTask().datasets(cfg)
    ds = Subset(train_ds, range(batches * cfg.batch_size))
    model = nn.parallel.DistributedDataParallel(create_model(cfg.model, **MnistTask().model_kwargs()))
    calls = [0]

    def hook(state, bucket):
        calls[0] += 1
        return allreduce_hook(None, bucket)

    model.register_comm_hook(None, hook)
    opt, sched = build_optimizer(model, cfg, batches // accum)
    train_one_epoch(model, DataLoader(ds, batch_size=cfg.batch_size), MnistTask(), opt, sched, cfg=cfg,
                    device=torch.device("cpu"), st=_State())
    return calls[0]


def test_two_gloo_processes_equal_one_process(tmp_path, tiny_mnist_dir):
    code = ydist.spawn_local(_two_proc_worker, ydist.local_spec(2), (tiny_mnist_dir, str(tmp_path)), device="cpu")
    assert code == 0
    single = _train(_cfg(tmp_path / "single", tiny_mnist_dir, GLOBAL_BATCH))
    ref = {k: v.detach() for k, v in single["model"].state_dict().items()}
    for name, _, _ in TWO_PROC_RUNS:
        got = torch.load(tmp_path / f"{name}.result.pt", weights_only=True)
        diff = max((got["params"][k] - ref[k]).abs().max().item() for k in ref)
        assert diff <= 1e-6, f"{name}: max parameter difference {diff:.3g}"
        hist = json.loads(got["history"])
        assert [h["test_count"] for h in hist] == [LIMIT_TEST, LIMIT_TEST]  # exactly once across ranks
        assert [h["test_accuracy"] for h in hist] == [h["test_accuracy"] for h in single["history"]]
        # the logged training loss is the whole group's, not rank 0's half
        assert [h["train_loss"] for h in hist] == pytest.approx([h["train_loss"] for h in single["history"]],
                                                                abs=1e-5)
    # accumulation: 4 micro-batches at accum 2 = 2 optimizer steps = 2 gradient all-reduces, not 4
    assert json.loads((tmp_path / "allreduce_calls.json").read_text()) == 2


def test_a_short_last_accumulation_group_still_steps(tmp_path, tiny_mnist_dir):
    # 256 samples / batch 32 = 8 micro-batches at accum 3: groups of 3, 3, 2 -> 3 optimizer steps,
    # so StepLR (stepped per optimizer step, step_size = steps per epoch) decays once per epoch
    cfg = dataclasses.replace(_cfg(tmp_path, tiny_mnist_dir, 32, accum_steps=3), epochs=1)
    res = _train(cfg)
    assert res["global_step"] == 3
    assert res["history"][0]["lr"] == pytest.approx(cfg.resolved_lr * cfg.gamma)
    assert all(p.grad is None for p in res["model"].parameters())  # nothing left over for epoch 2


def test_rank_shares_of_a_global_batch_are_the_single_process_batch():
    # why world size does not change the data a step sees: rank r takes perm[r::W], so the ranks'
    # k-th batches of b together are exactly the single process's k-th batch of W × b
    n, b, world = 96, 4, 3
    single = list(EpochSampler(n, seed=2, world_size=1))
    shares = [list(EpochSampler(n, seed=2, rank=r, world_size=world)) for r in range(world)]
    for k in range(n // (b * world)):
        union = sorted(i for s in shares for i in s[k * b:(k + 1) * b])
        assert union == sorted(single[k * b * world:(k + 1) * b * world])


def test_eval_shards_cover_every_sample_once():
    for n in (1, 5, 127, 128):
        for world in (1, 2, 3, 8):
            seen = [i for r in range(world) for i in EpochSampler(n, shuffle=False, rank=r, world_size=world, pad=False)]
            assert sorted(seen) == list(range(n))


def _args(argv: list[str]) -> argparse.Namespace:
    from yomitori.cli.train import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(argv)


def test_plan_single_torchrun_nproc_and_classic_recipe():
    cfg = TrainConfig(device="cpu")
    assert ydist.plan(_args([]), cfg, {}) == ("single", None)
    assert ydist.plan(_args(["--nproc", "1"]), cfg, {}) == ("single", None)
    torchrun_env = {"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4", "TORCHELASTIC_RUN_ID": "x"}
    assert ydist.plan(_args([]), cfg, torchrun_env) == ("torchrun", None)
    mode, spec = ydist.plan(_args(["--nproc", "2"]), cfg, {})
    assert mode == "spawn" and spec.world_size == 2 and spec.init_method.startswith("tcp://127.0.0.1:")
    assert spec.backend == "gloo"
    # classic: --world-size/--rank count nodes; rank = node_rank * nproc_per_node + local
    mode, spec = ydist.plan(_args(["--multiprocessing-distributed", "--dist-url", "tcp://127.0.0.1:23456",
                                   "--world-size", "2", "--rank", "1", "--nproc", "4"]), cfg, {})
    assert (mode, spec.world_size, spec.rank_offset, spec.nproc) == ("spawn", 8, 4, 4)
    mode, spec = ydist.plan(_args(["--multiprocessing-distributed", "--dist-url", "env://", "--nproc", "2"]),
                            cfg, {"WORLD_SIZE": "3", "RANK": "2", "MASTER_ADDR": "127.0.0.1"})
    assert (spec.world_size, spec.rank_offset, spec.init_method) == (6, 4, "env://")
    mode, spec = ydist.plan(_args(["--dist-url", "tcp://127.0.0.1:23456", "--world-size", "4", "--rank", "2"]),
                            cfg, {})
    assert (mode, spec.world_size, spec.rank_offset) == ("join", 4, 2)
    assert ydist.plan(_args(["--dist-backend", "nccl", "--nproc", "2"]), cfg, {})[1].backend == "nccl"


@pytest.mark.parametrize("argv", [
    ["--multiprocessing-distributed", "--world-size", "2", "--rank", "0"],  # several nodes, no URL
    ["--dist-url", "tcp://127.0.0.1:1", "--world-size", "2", "--rank", "2"],  # rank out of range
])
def test_plan_rejects_inconsistent_flags(argv):
    with pytest.raises(UserError):
        ydist.plan(_args(argv), TrainConfig(device="cpu"), {})


def test_plan_rejects_nproc_under_torchrun():
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2"}
    with pytest.raises(UserError, match="nproc-per-node"):
        ydist.plan(_args(["--nproc", "2"]), TrainConfig(device="cpu"), env)


def test_global_batch_size_sets_per_process_batch():
    cfg = TrainConfig(accum_steps=2)
    assert ydist.with_global_batch(cfg, 256, 8).batch_size == 16
    with pytest.raises(UserError, match="multiple"):
        ydist.with_global_batch(cfg, 100, 8)
    with pytest.raises(UserError, match="scale-lr"):
        ydist.with_global_batch(dataclasses.replace(cfg, scale_lr=True), 256, 8)


def test_backend_follows_device():
    assert ydist.choose_backend("auto", "cpu") == "gloo"
    assert ydist.choose_backend("gloo", "cuda") == "gloo"
    if torch.cuda.is_available():  # pragma: no cover - GPU machines
        assert ydist.choose_backend("auto", "auto") == "nccl"


def test_warns_about_torchruns_shared_store_only_when_restarts_are_on():
    env = {"RANK": "0", "TORCHELASTIC_USE_AGENT_STORE": "True", "TORCHELASTIC_MAX_RESTARTS": "3"}
    assert "TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1" in ydist.shared_store_warning(env)
    assert ydist.shared_store_warning({**env, "TORCHELASTIC_MAX_RESTARTS": "0"}) is None
    assert ydist.shared_store_warning({**env, "TORCHELASTIC_USE_AGENT_STORE": "False"}) is None
    assert ydist.shared_store_warning({**env, "RANK": "1"}) is None


def test_no_env_leaks_from_plan():
    before = dict(os.environ)
    ydist.plan(_args(["--nproc", "2"]), TrainConfig(device="cpu"), {})
    assert dict(os.environ) == before
