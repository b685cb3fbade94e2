"""Live training curves in Visdom: a :class:`VisdomLogger`, a loopback server and its web assets.

Visdom's own ``python -m visdom.server`` downloads its JavaScript/CSS from CDNs on every start and
fails without internet, and tornado ≥ 6.6 answers its page with 403 (the page links
``static_url("../user/style.css")``, outside the static folder, which tornado 6.6 rejects). This
module starts the same server without the download step, bound to 127.0.0.1, with a static-file
handler that tolerates that one link, and installs the web assets once from the npm registry::

    python -m yomitori.train.visdom_logger assets           # once: page assets via `npm pack`
    python -m yomitori.train.visdom_logger serve --port 8097 # then open http://127.0.0.1:8097
    yomitori train --task mnist --logger tensorboard,visdom

Without the assets the server and the logger's API work; only the browser page stays blank.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import math
import socket
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch

from yomitori.errors import UserError
from yomitori.train.loggers import images_to_grid

INSTALL_HINT = "pip install 'visdom==0.2.4' (see scripts/setup.sh) or run bash scripts/setup.sh"

# The files visdom 0.2.4's server downloads at start-up (visdom/server/build.py), taken from the
# same releases on the npm registry: (package@version, path in the package, path under static/).
_GLYPHS = "dist/fonts/glyphicons-halflings-regular"
_MJ = "js/mathjax/2.7.5/"
WEB_ASSETS: list[tuple[str, str, str]] = [
    ("jquery@3.1.1", "dist/jquery.min.js", "js/jquery.min.js"),
    ("bootstrap@3.3.7", "dist/js/bootstrap.min.js", "js/bootstrap.min.js"),
    ("bootstrap@3.3.7", "dist/css/bootstrap.min.css", "css/bootstrap.min.css"),
    *[("bootstrap@3.3.7", f"{_GLYPHS}.{ext}", f"fonts/glyphicons-halflings-regular.{ext}")
      for ext in ("eot", "woff2", "woff", "ttf", "svg")],
    # build.py stores the svg font under its URL fragment; kept so visdom sees a complete set
    ("bootstrap@3.3.7", f"{_GLYPHS}.svg", "fonts/glyphicons-halflings-regular.svg#glyphicons_halflingsregular"),
    ("react@16.2.0", "umd/react.production.min.js", "js/react-react.min.js"),
    ("react-dom@16.2.0", "umd/react-dom.production.min.js", "js/react-dom.min.js"),
    ("react-modal@3.1.10", "dist/react-modal.min.js", "js/react-modal.min.js"),
    ("plotly.js-dist-min@2.11.1", "plotly.min.js", "js/plotly-plotly.min.js"),
    ("sjcl@1.0.7", "sjcl.js", "js/sjcl.js"),
    ("layout-bin-packer@1.4.0", "dist/layout-bin-packer.js", "js/layout_bin_packer.js"),
    ("layout-bin-packer@1.4.0", "dist/layout-bin-packer.js.map", "js/layout-bin-packer.js.map"),
    ("d3@3.5.17", "d3.min.js", "js/d3.v3.min.js"),
    ("d3-selection-multi@1.0.1", "build/d3-selection-multi.js", "js/d3-selection-multi.v1.js"),
    ("save-svg-as-png@1.4.17", "lib/saveSvgAsPng.js", "js/saveSvgAsPng.js"),
    ("react-resizable@1.4.6", "css/styles.css", "css/react-resizable-styles.css"),
    ("react-grid-layout@0.16.3", "css/styles.css", "css/react-grid-layout-styles.css"),
    ("classnames@2.2.5", "index.js", "fonts/classnames"),
    *[("mathjax@2.7.5", p, _MJ + p) for p in (
        "MathJax.js", "config/Safe.js", "config/TeX-AMS-MML_HTMLorMML.js", "extensions/Safe.js",
        "jax/output/SVG/fonts/TeX/fontdata.js", "jax/output/SVG/jax.js",
        "jax/output/SVG/fonts/TeX/Size1/Regular/Main.js", "jax/output/SVG/config.js")],
]


def _import_visdom():
    try:
        import visdom
    except ImportError:
        raise UserError(f"--logger visdom needs the visdom package: {INSTALL_HINT}") from None
    return visdom


def metric_group(tag: str) -> str:
    """The window a scalar goes to: ``train/loss_step``, ``test/loss`` -> ``loss``; ``lr`` -> ``lr``."""
    name = tag.rsplit("/", 1)[-1]
    return name.removesuffix("_step")


class VisdomLogger:
    """Logger protocol on a Visdom server: one line window per metric group (loss, accuracy, lr,
    ...) with a trace per tag appended live, image grids with captions, the confusion matrix as a
    heat map and the hyperparameters as a text pane, all in the Visdom environment ``env``."""

    def __init__(self, env: str = "yomitori", server: str = "http://127.0.0.1", port: int = 8097,
                 base_url: str = "/", timeout_s: float = 5.0) -> None:
        visdom = _import_visdom()
        if "://" not in server:
            server = "http://" + server
        host = urlparse(server).hostname or "127.0.0.1"
        self.address = f"{server}:{port}{base_url.rstrip('/')}"
        try:
            socket.create_connection((host, int(port)), timeout=timeout_s).close()
        except OSError as exc:
            raise UserError(f"no Visdom server at {self.address} ({exc.strerror or exc}); start one with "
                            f"`bash scripts/visdom_server.sh --port {port}` or drop visdom from --logger") from None
        self.env = env
        # raise_exceptions: failures surface here (and are reported once) instead of being logged
        # by visdom on every call; no incoming socket: the logger only writes. The client's
        # start-up chatter ("Setting up a new session...") is silenced.
        vis_log = logging.getLogger("visdom")
        level, vis_log.level = vis_log.level, logging.ERROR
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.vis = visdom.Visdom(server=server, port=int(port), base_url=base_url, env=env,
                                         raise_exceptions=True, use_incoming_socket=False)
        finally:
            vis_log.setLevel(level)
        self._line_windows: set[str] = set()
        self._failed = False

    def _send(self, fn, *args, **kwargs) -> Any:
        """Call the client; a viewer that goes away must not stop training, so warn once and go on."""
        try:
            out = fn(*args, **kwargs)
        except Exception as exc:  # requests' ConnectionError, HTTP errors, a server-side failure
            self._warn(f"{type(exc).__name__}: {exc}")
            return None
        self._failed = False
        return out

    def _warn(self, why: str) -> None:
        if not self._failed:
            print(f"warning: Visdom at {self.address} failed ({why}); training goes on, "
                  "Visdom updates are skipped while it fails", file=sys.stderr)
        self._failed = True

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        for tag, value in scalars.items():
            group = metric_group(tag)
            x, y = np.array([float(step)]), np.array([float(value)])
            if group not in self._line_windows:
                exists = self._send(self.vis.win_exists, group)  # True when resuming into an env
                if exists is None:  # visdom answers None for a server-side error
                    self._warn(f"no answer to win_exists({group!r})")
                    continue
                self._line_windows.add(group)
                if exists and step <= self._last_step(group):
                    exists = False  # a new run into the same env: start the window over
                if not exists:
                    opts = {"title": group, "xlabel": "step", "ylabel": group, "showlegend": True}
                    self._send(self.vis.line, Y=y, X=x, win=group, name=tag, opts=opts)
                    continue
            self._send(self.vis.line, Y=y, X=x, win=group, name=tag, update="append")

    def _last_step(self, win: str) -> float:
        """The largest x of an existing line window (-inf if unreadable)."""
        raw = self._send(self.vis.get_window_data, win)
        try:
            traces = json.loads(raw)["content"]["data"]
            return max(float(x) for t in traces for x in t.get("x") or [])
        except (TypeError, ValueError, KeyError):
            return -math.inf

    def log_images(self, step: int, tag: str, images: torch.Tensor, captions: list[str] | None = None) -> None:
        if len(images) == 0:
            return
        images = images.detach().float().clamp(0, 1).cpu()
        scale = max(1, 56 // images.shape[-2])  # 28-px digits are unreadable at 1:1 in a browser pane
        if scale > 1:
            images = images.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)
        grid = images_to_grid(images)  # (C, H, W) in [0, 1]
        opts = {"title": f"{tag} (step {step})", "caption": " | ".join(captions or [])}
        self._send(self.vis.image, (grid * 255).round().to(torch.uint8).numpy(), win=tag, opts=opts)

    def log_confusion(self, step: int, tag: str, matrix: np.ndarray, labels: list[str]) -> None:
        names = [str(s) for s in labels]
        # category axes (digit names would become numbers), first true label on top as printed
        axes = {"xaxis": {"type": "category", "title": "predicted"},
                "yaxis": {"type": "category", "title": "true", "autorange": "reversed"}}
        opts = {"title": f"{tag} (step {step})", "columnnames": names, "rownames": names,
                "colormap": "Viridis", "layoutopts": {"plotly": axes}}
        self._send(self.vis.heatmap, X=np.asarray(matrix, dtype=np.float64), win=tag, opts=opts)

    def log_hparams(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None:
        def rows(d: dict[str, Any]) -> str:
            return "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                           for k, v in d.items())

        text = (f"<b>metrics</b><table>{rows(metrics)}</table>"
                f"<b>hyperparameters</b><table>{rows(hparams)}</table>")
        self._send(self.vis.text, text, win="hparams", opts={"title": "hparams"})

    def close(self) -> None:
        self._send(self.vis.save, [self.env])  # persist the env to the server's env_path


def static_dir() -> Path:
    visdom = _import_visdom()
    return Path(visdom.__file__).parent / "static"


def missing_assets(static: Path | None = None) -> list[str]:
    static = static or static_dir()
    return sorted({dest for _, _, dest in WEB_ASSETS if not (static / dest).is_file()})


def install_assets(static: Path | None = None, npm: str = "npm") -> list[str]:
    """Fetch the web page's assets with ``npm pack`` (no node_modules, no scripts) into visdom's
    static folder, where visdom's own start-up download would put them; returns what it wrote."""
    static = static or static_dir()
    todo = [a for a in WEB_ASSETS if not (static / a[2]).is_file()]
    if not todo:
        return []
    specs = sorted({spec for spec, _, _ in todo})
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run([npm, "pack", "--silent", "--pack-destination", tmp, *specs], check=True,
                           stdout=subprocess.DEVNULL, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            raise UserError(f"could not fetch Visdom's web assets with `{npm} pack` ({exc}); the server "
                            "and the logger work without them, only the browser page stays blank") from None
        written = []
        for spec in specs:
            name, version = spec.rsplit("@", 1)
            tgz = Path(tmp) / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
            with tarfile.open(tgz) as tar:
                for _, inner, dest in (a for a in todo if a[0] == spec):
                    src = tar.extractfile(f"package/{inner}")
                    if src is None:
                        raise UserError(f"{spec} has no file {inner}")
                    (static / dest).parent.mkdir(parents=True, exist_ok=True)
                    (static / dest).write_bytes(src.read())
                    written.append(dest)
    visdom = _import_visdom()
    # with every file present and this stamp, even `python -m visdom.server` skips downloading
    (static / "version.built").write_text(visdom.__version__)
    return written


def _patch_static_handler() -> None:
    """Let visdom's page render under tornado ≥ 6.6 (see the module docstring)."""
    import tornado.web
    from visdom.server import app

    class StaticFiles(tornado.web.StaticFileHandler):
        @classmethod
        def get_version(cls, settings: dict[str, Any], path: str) -> str | None:
            try:
                return super().get_version(settings, path)
            except tornado.web.HTTPError:  # ../user/style.css: an optional user stylesheet
                return None

    app.tornado_settings["static_handler_class"] = StaticFiles


def serve(port: int = 8097, env_path: str | Path | None = None, readonly: bool = False) -> None:
    """Run visdom's server on 127.0.0.1 only, without its start-up download; blocks."""
    _import_visdom()
    from visdom.server.run_server import start_server

    _patch_static_handler()
    logging.getLogger().setLevel(logging.WARNING)
    env_path = Path(env_path or Path.home() / ".visdom")
    env_path.mkdir(parents=True, exist_ok=True)
    missing = missing_assets()
    if missing:
        print(f"note: {len(missing)} web assets missing, the browser page will not render (the API works); "
              "install them once with: python -m yomitori.train.visdom_logger assets", file=sys.stderr)
    # base_url "" is what visdom's own CLI passes for its default "/" (routes are base_url + "/...")
    start_server(port=port, hostname="127.0.0.1", base_url="", env_path=str(env_path) + "/", readonly=readonly,
                 bind_local=True, print_func=lambda p: print(f"Visdom on http://127.0.0.1:{p}", flush=True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m yomitori.train.visdom_logger",
                                description="Run a loopback Visdom server offline, or install its web assets.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="start the server on 127.0.0.1 (no downloads)")
    s.add_argument("--port", type=int, default=8097)
    s.add_argument("--env-path", help="where envs are saved (default ~/.visdom)")
    s.add_argument("--readonly", action="store_true")
    sub.add_parser("assets", help="install the web page's JS/CSS from the npm registry (once)")
    sub.add_parser("check", help="list missing web assets; exit 1 if any")
    args = p.parse_args(argv)
    try:
        if args.command == "serve":
            serve(args.port, args.env_path, args.readonly)
        elif args.command == "assets":
            written = install_assets()
            print(f"installed {len(written)} files into {static_dir()}" if written else "assets already present")
        else:
            missing = missing_assets()
            print("\n".join(missing) if missing else "all web assets present")
            return 1 if missing else 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
