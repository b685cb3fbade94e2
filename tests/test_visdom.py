"""The Visdom logger against a real Visdom server, started here on 127.0.0.1 (no network needed)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.filterwarnings("ignore:The .warn. method is deprecated:DeprecationWarning")
visdom = pytest.importorskip("visdom", reason="visdom not installed (bash scripts/setup.sh installs it)")

from yomitori.errors import UserError  # noqa: E402
from yomitori.models import create_model  # noqa: E402
from yomitori.train.config import TrainConfig  # noqa: E402
from yomitori.train.loop import fit, seed_everything  # noqa: E402
from yomitori.train.tasks import MnistTask  # noqa: E402
from yomitori.train.visdom_logger import VisdomLogger, metric_group  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(env_path: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "yomitori.train.visdom_logger", "serve", "--port", str(port),
                             "--env-path", str(env_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"visdom server exited: {proc.stdout.read().decode(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("visdom server did not start within 30 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def visdom_server(tmp_path_factory):
    env_path = tmp_path_factory.mktemp("visdom_env")
    proc, port = _start_server(env_path)
    yield port, env_path
    _stop(proc)


def _client(port: int, env: str):
    return visdom.Visdom(server="http://127.0.0.1", port=port, env=env, raise_exceptions=True,
                         use_incoming_socket=False)


def _traces(vis, win: str, env: str) -> dict[str, tuple[list[float], list[float]]]:
    data = json.loads(vis.get_window_data(win, env=env))
    return {t["name"]: (t["x"], t["y"]) for t in data["content"]["data"]}


def test_metric_groups():
    assert [metric_group(t) for t in ("train/loss_step", "train/loss", "test/loss", "test/accuracy", "lr")] == [
        "loss", "loss", "loss", "accuracy", "lr"]


def test_unreachable_server_is_one_line_user_error():
    port = _free_port()  # nothing listens there
    with pytest.raises(UserError, match=rf"no Visdom server at http://127\.0\.0\.1:{port}") as err:
        VisdomLogger(env="x", port=port, timeout_s=1)
    assert "\n" not in str(err.value)


def test_fit_creates_windows_on_a_real_server(tmp_path, tiny_mnist_dir, visdom_server):
    port, env_path = visdom_server
    out = tmp_path / "visdom_run"  # the env is named after the run folder
    cfg = TrainConfig(task="mnist", model="cnn_tiny", epochs=2, batch_size=32, test_batch_size=64,
                      data_dir=tiny_mnist_dir, out=str(out), logger="visdom", logger_options={"port": port},
                      progress="off", log_every=2, seed=3)
    seed_everything(cfg.seed)
    res = fit(cfg, MnistTask(), create_model(cfg.model, **MnistTask().model_kwargs()))
    env = "visdom_run"
    vis = _client(port, env)
    for win in ("loss", "accuracy", "lr", "test/misclassified", "test/confusion", "hparams"):
        assert vis.win_exists(win, env=env), win

    hist = res["history"]
    steps = [8.0, 16.0]  # 256 samples / 32 per step = 8 steps per epoch
    acc = _traces(vis, "accuracy", env)
    assert acc["test/accuracy"][0] == steps
    assert acc["test/accuracy"][1] == pytest.approx([h["test_accuracy"] for h in hist])
    loss = _traces(vis, "loss", env)
    assert set(loss) == {"train/loss_step", "train/loss", "test/loss"}
    assert loss["train/loss_step"][0] == [float(s) for s in range(2, 17, 2)]  # live, every log_every steps
    assert loss["train/loss"][1] == pytest.approx([h["train_loss"] for h in hist])
    assert _traces(vis, "lr", env)["lr"][1][-1] == pytest.approx(hist[-1]["lr"])

    confusion = json.loads(vis.get_window_data("test/confusion", env=env))["content"]["data"][0]
    z = np.array(confusion["z"])
    assert z.shape == (10, 10) and z.sum() == 128  # every test sample once
    assert np.trace(z) / 128 == pytest.approx(hist[-1]["test_accuracy"])  # rows: true, columns: predicted
    image = json.loads(vis.get_window_data("test/misclassified", env=env))
    assert image["type"] == "image" and image["content"]["src"].startswith("data:image/")
    assert "test_accuracy" in json.loads(vis.get_window_data("hparams", env=env))["content"]

    assert (env_path / f"{env}.json").exists()  # close() saved the env on the server's disk
    # a new run into the same env starts the line windows over (no line drawn back to step 1)
    VisdomLogger(env=env, port=port).log_scalars(1, {"test/accuracy": 0.5})
    assert _traces(vis, "accuracy", env) == {"test/accuracy": ([1.0], [0.5])}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:  # the page itself: no 403
        assert r.status == 200 and b"static" in r.read()


def test_logger_survives_the_server_going_away(tmp_path, capsys):
    proc, port = _start_server(tmp_path)
    try:
        logger = VisdomLogger(env="gone", port=port)
        logger.log_scalars(1, {"train/loss_step": 1.0})
    finally:
        _stop(proc)
    logger.log_scalars(2, {"train/loss_step": 0.5})  # warns once, does not raise
    logger.log_images(2, "x", torch.zeros(2, 1, 8, 8))
    err = capsys.readouterr().err
    assert err.count("warning: Visdom") == 1
