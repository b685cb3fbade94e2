"""``yomitori train`` under real torchrun agents: two "nodes" on 127.0.0.1, and elastic restarts.

Every run here trains the same thing (cnn_tiny, 2 processes × batch 8, 3 epochs of 16 steps,
a checkpoint every 4 steps), so each must end with the parameters and accuracy of the
uninterrupted reference run ``yomitori train --nproc 2``. Tolerance: 1e-6 on every parameter
and equal test accuracy; resume is exact, so in practice the difference is 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from yomitori.train.checkpoint import load_checkpoint
from yomitori.train.dist import free_port

pytestmark = pytest.mark.dist

PY = sys.executable
TORCHRUN = [PY, "-m", "torch.distributed.run"]
TIMEOUT = 240
CKPT_EVERY = 4


def _train_args(data_dir: str, out: Path) -> list[str]:
    return ["train", "--task", "mnist", "--model", "cnn_tiny", "--epochs", "3", "--batch-size", "8",
            "--data-dir", data_dir, "--out", str(out), "--logger", "none", "--progress", "off",
            "--threads", "1", "--seed", "7", "--ckpt-every-steps", str(CKPT_EVERY)]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
    if Path("/sys/class/net/lo").exists():
        env["GLOO_SOCKET_IFNAME"] = "lo"  # loopback only
    return env


def _start(cmd: list[str], **env: str) -> subprocess.Popen:
    # a session of its own, so that a hang is cleaned up with all of torchrun's workers
    return subprocess.Popen(cmd, env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"timed out after {TIMEOUT}s: {' '.join(proc.args)}\n{out[-3000:]}\n{err[-6000:]}")
    res = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert res.returncode == 0, f"{' '.join(proc.args)}\n--- stdout\n{out[-3000:]}\n--- stderr\n{err[-6000:]}"
    return res


def _run(cmd: list[str], **env: str) -> subprocess.CompletedProcess:
    return _finish(_start(cmd, **env))


def _result(out: Path) -> tuple[dict[str, torch.Tensor], list[dict]]:
    ck = load_checkpoint(out / "last.pt")
    return ck["model"], json.loads(ck["history"])


def _assert_same_result(out: Path, ref: Path) -> None:
    (params, hist), (ref_params, ref_hist) = _result(out), _result(ref)
    diff = max((params[k] - ref_params[k]).abs().max().item() for k in ref_params)
    assert diff <= 1e-6, f"max parameter difference {diff:.3g}"
    assert len(hist) == len(ref_hist) == 3
    assert [h["test_accuracy"] for h in hist] == [h["test_accuracy"] for h in ref_hist]
    assert hist[-1]["test_count"] == 128  # every test sample once, across both ranks


@pytest.fixture(scope="module")
def reference_run(tiny_mnist_dir, tmp_path_factory) -> Path:
    """The uninterrupted run, launched by ``--nproc 2`` (workers spawned by yomitori itself)."""
    out = tmp_path_factory.mktemp("reference")
    _run([PY, "-m", "yomitori.cli", *_train_args(tiny_mnist_dir, out), "--nproc", "2"])
    return out


def test_two_torchrun_agents_as_two_nodes(tmp_path, tiny_mnist_dir, reference_run):
    """nnodes=2 × nproc-per-node=1, c10d rendezvous on 127.0.0.1, env:// in the workers."""
    port = free_port()
    agent = [*TORCHRUN, "--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend", "c10d",
             "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "two-nodes", "--local-addr", "127.0.0.1",
             "--monitor-interval", "0.5", "-m", "yomitori.cli", *_train_args(tiny_mnist_dir, tmp_path)]
    first, second = _start(agent), _start(agent)
    try:
        log = _finish(first).stdout + _finish(second).stdout
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert log.count("yomitori: 2 processes (gloo)") == 1  # rank 0 alone logs, whichever node it is
    assert log.count("epoch 3/3:") == 1
    _assert_same_result(tmp_path, reference_run)


FAULTY_ENTRY = textwrap.dedent('''
    """torchrun entry that kills workers on purpose, then runs `yomitori` as usual.

    attempt 0: rank 1 is SIGKILLed right after optimizer step {kill_step} (last checkpoint: {ckpt_a});
    attempt 1: rank 0 is SIGKILLed inside the save of step {save_step}, after the temporary file is
    written and before the rename (so the previous last.pt, step {ckpt_b}, must still load).
    """
    import os
    import signal
    import sys
    from pathlib import Path

    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    attempt = int(os.environ["TORCHELASTIC_RESTART_COUNT"])
    rank = int(os.environ["RANK"])
    if attempt == 0 and rank == 1:
        from torch.optim.optimizer import register_optimizer_step_post_hook

        steps = [0]

        def after_step(optimizer, args, kwargs):
            steps[0] += 1
            if steps[0] == {kill_step}:
                die()

        register_optimizer_step_post_hook(after_step)
    if attempt == 1 and rank == 0:
        import yomitori.train.loop as loop

        save = loop.save_checkpoint

        def save_then_die_before_rename(path, state):
            if state["global_step"] == {save_step} and Path(path).name == "last.pt":
                os.replace = die
            save(path, state)

        loop.save_checkpoint = save_then_die_before_rename

    from yomitori.cli import main

    sys.exit(main())
''')


def test_killed_workers_restart_and_resume_to_the_same_result(tmp_path, tiny_mnist_dir, reference_run):
    kill_step, save_step = 22, 28  # both inside epoch 2 (steps 17-32)
    ckpt_a, ckpt_b = kill_step // CKPT_EVERY * CKPT_EVERY, save_step - CKPT_EVERY
    entry = tmp_path / "faulty_train.py"
    entry.write_text(FAULTY_ENTRY.format(kill_step=kill_step, save_step=save_step, ckpt_a=ckpt_a, ckpt_b=ckpt_b))
    out = tmp_path / "run"
    # a fresh rendezvous store for each attempt: with torchrun's shared store, a restarted group
    # can read the failed attempt's gloo addresses and hang (see dist.shared_store_warning)
    res = _run([*TORCHRUN, "--standalone", "--nnodes", "1", "--nproc-per-node", "2", "--max-restarts", "2",
                "--local-addr", "127.0.0.1", "--monitor-interval", "0.5", str(entry),
                *_train_args(tiny_mnist_dir, out)], TORCH_DISABLE_SHARE_RDZV_TCP_STORE="1")
    log = res.stdout
    assert f"restart 1: resuming from {out / 'last.pt'} (epoch 2, step {ckpt_a})" in log, log
    assert f"restart 2: resuming from {out / 'last.pt'} (epoch 2, step {ckpt_b})" in log, log
    # the kill inside the save left its temporary file behind, never a torn last.pt
    assert list(out.glob(".last.pt.*.tmp")), sorted(p.name for p in out.iterdir())
    for ck in out.glob("*.pt"):
        load_checkpoint(ck)
    _assert_same_result(out, reference_run)


def test_kill_during_save_leaves_previous_checkpoint_loadable(tmp_path):
    """SIGKILL a process in the middle of writing a large checkpoint: the old file stays intact."""
    path = tmp_path / "last.pt"
    script = textwrap.dedent(f'''
        import os, sys, torch
        from yomitori.train.checkpoint import save_checkpoint
        save_checkpoint({str(path)!r}, {{"step": 1, "w": torch.ones(4)}})
        import yomitori.atomic as atomic
        real_fdopen = os.fdopen

        class SlowFile:
            def __init__(self, fh):
                self.fh = fh
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return self.fh.__exit__(*exc)
            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                self.fh.flush()
                print("half written", flush=True)
                import time
                time.sleep(60)
            def __getattr__(self, name):
                return getattr(self.fh, name)

        atomic.os.fdopen = lambda *a, **k: SlowFile(real_fdopen(*a, **k))
        save_checkpoint({str(path)!r}, {{"step": 2, "w": torch.zeros(1_000_000)}})
    ''')
    proc = subprocess.Popen([PY, "-c", script], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert proc.stdout.readline().strip() == "half written"
    finally:
        proc.kill()
        proc.wait()
    ck = load_checkpoint(path)
    assert ck["step"] == 1 and torch.equal(ck["w"], torch.ones(4))
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".last.pt.")]  # the torn temp, ignored
