"""From one CPU to many GPUs on many machines: how ``yomitori train`` joins a process group.

The trainer (:func:`yomitori.train.loop.fit`) only reads the process group; this module creates
it, in one of four ways, all plain ``torch.distributed`` (no launcher protocol of our own):

    yomitori train ...                                    # one process, no process group
    yomitori train --nproc 2 ...                          # N workers spawned here (tcp://127.0.0.1)
    torchrun --nproc-per-node 8 --nnodes 2 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        --rdzv-id JOB --max-restarts 3 -m yomitori.cli train --resume auto ...   # env://
    yomitori train --multiprocessing-distributed --dist-url tcp://HOST:23456 \\
        --world-size 2 --rank 0 ...                       # the classic recipe (world/rank = nodes)

Under torchrun the workers read RANK / LOCAL_RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT
(``env://``); after an elastic restart (``TORCHELASTIC_RESTART_COUNT`` > 0) they resume from
``OUT/last.pt`` by themselves. Rank 0 decides which checkpoint to resume from and tells the
others, so every rank loads the same file. Backend: ``nccl`` when training on CUDA, ``gloo`` on
CPU (``--dist-backend`` overrides). Batch semantics: ``--batch-size`` is per process, the global
batch is batch_size × world_size × accum_steps; ``--global-batch-size`` sets the global batch
instead and derives the per-process one. See docs/distributed.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from yomitori.errors import UserError

TrainFn = Callable[[argparse.Namespace, Any], int]


def add_dist_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("distributed training (see docs/distributed.md)")
    g.add_argument("--nproc", type=int, metavar="N",
                   help="spawn N worker processes on this machine (one per GPU, or CPU processes); "
                        "with --multiprocessing-distributed: processes per node")
    g.add_argument("--dist-url", metavar="URL",
                   help="init method: env:// (torchrun's variables) or tcp://HOST:PORT of rank 0")
    g.add_argument("--world-size", type=int, metavar="N",
                   help="number of processes; with --multiprocessing-distributed, number of nodes")
    g.add_argument("--rank", type=int, metavar="R",
                   help="this process's rank; with --multiprocessing-distributed, this node's rank")
    g.add_argument("--multiprocessing-distributed", action="store_true",
                   help="spawn one process per GPU here (or --nproc); rank = node_rank × nproc + local")
    g.add_argument("--dist-backend", choices=["auto", "nccl", "gloo"], default="auto",
                   help="default: nccl on CUDA, gloo on CPU")
    g.add_argument("--dist-timeout", type=float, default=30.0, metavar="MIN",
                   help="minutes a collective may wait for the other ranks (default 30)")
    g.add_argument("--global-batch-size", type=int, metavar="G",
                   help="global batch per optimizer step; per-process batch = G / (world × accum)")
    # python -m torch.distributed.launch (deprecated) passes --local-rank / --local_rank
    g.add_argument("--local-rank", "--local_rank", type=int, dest="local_rank", help=argparse.SUPPRESS)


@dataclass(frozen=True)
class GroupSpec:
    """Everything a process needs to join the group.

    Spawned workers take rank ``rank_offset + i`` (i = 0 .. nproc-1); a process joining alone
    (the classic ``--dist-url --world-size --rank``) has rank ``rank_offset`` and ``nproc`` 1.
    """

    init_method: str
    world_size: int
    rank_offset: int
    nproc: int  # processes on this machine
    backend: str
    timeout_min: float = 30.0


def wants_cuda(device: str) -> bool:
    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


def choose_backend(requested: str, device: str) -> str:
    """``nccl`` for CUDA training, ``gloo`` for CPU; an explicit choice wins."""
    if requested != "auto":
        return requested
    return "nccl" if wants_cuda(device) and dist.is_nccl_available() else "gloo"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def under_torchrun(env: Mapping[str, str] = os.environ) -> bool:
    return "TORCHELASTIC_RUN_ID" in env or ("RANK" in env and "WORLD_SIZE" in env and "LOCAL_RANK" in env)


@contextlib.contextmanager
def process_group(spec: GroupSpec, rank: int, local_rank: int, device: str = "auto") -> Iterator[int]:
    """Join the group as ``rank``; leave it on exit. Yields the rank.

    Sets RANK / LOCAL_RANK / WORLD_SIZE / LOCAL_WORLD_SIZE as torchrun would, so code that reads
    them (``dist_info``, the choice of GPU) sees the same thing however the process was started.
    """
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(local_rank), "WORLD_SIZE": str(spec.world_size),
                       "LOCAL_WORLD_SIZE": str(spec.nproc)})
    if spec.backend == "nccl" or (wants_cuda(device) and torch.cuda.is_available()):
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    dist.init_process_group(spec.backend, init_method=spec.init_method, world_size=spec.world_size,
                            rank=rank, timeout=timedelta(minutes=spec.timeout_min))
    try:
        yield rank
        # every rank done with its collectives before any tears the group down (a rank leaving while
        # another still talks to it made gloo abort both: "terminate called without an active exception")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _spawned(local_rank: int, spec: GroupSpec, device: str, fn: Callable[..., Any], args: tuple) -> None:
    # torchrun sets OMP_NUM_THREADS=1 for its workers; spawned ones share the cores the same way
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // spec.nproc))
    try:
        with process_group(spec, spec.rank_offset + local_rank, local_rank, device):
            code = fn(*args)
    except UserError as exc:
        print(f"yomitori: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    if code:
        sys.exit(int(code))


def spawn_local(fn: Callable[..., Any], spec: GroupSpec, args: tuple = (), device: str = "auto") -> int:
    """Run ``fn(*args)`` in ``spec.nproc`` processes of this machine, each inside the group.

    Returns 0, or the first failing worker's exit status (the others are then terminated).
    """
    import torch.multiprocessing as mp

    try:
        mp.spawn(_spawned, args=(spec, device, fn, args), nprocs=spec.nproc, join=True)
    except mp.ProcessExitedException as exc:
        print(f"yomitori: worker {exc.error_index} exited with status {exc.exit_code}", file=sys.stderr)
        return exc.exit_code if exc.exit_code and exc.exit_code > 0 else 1
    except mp.ProcessRaisedException as exc:
        print(f"yomitori: worker failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


def local_spec(nproc: int, backend: str = "gloo", timeout_min: float = 30.0) -> GroupSpec:
    """A group of ``nproc`` processes on this machine, meeting on a free loopback port."""
    return GroupSpec(f"tcp://127.0.0.1:{free_port()}", nproc, 0, nproc, backend, timeout_min)


def plan(args: argparse.Namespace, cfg: Any, env: Mapping[str, str] = os.environ) -> tuple[str, Any]:
    """Decide how to run: ("single", None), ("torchrun", None), ("spawn", spec) or ("join", spec).

    "join" means this process is one rank of a group whose other members start elsewhere.
    """
    nproc, url = args.nproc, args.dist_url
    backend = choose_backend(args.dist_backend, cfg.device)
    timeout = args.dist_timeout
    if args.multiprocessing_distributed:
        per_node = nproc or (torch.cuda.device_count() if wants_cuda(cfg.device) else 0) or 1
        # the classic env:// recipe reads the node count and node rank from WORLD_SIZE / RANK
        from_env = url == "env://"
        nodes = args.world_size if args.world_size is not None else int(env.get("WORLD_SIZE", 1) if from_env else 1)
        node_rank = args.rank if args.rank is not None else int(env.get("RANK", 0) if from_env else 0)
        if url is None:
            if nodes > 1:
                raise UserError("--multiprocessing-distributed on several nodes needs --dist-url tcp://HOST:PORT")
            url = f"tcp://127.0.0.1:{free_port()}"
        if not 0 <= node_rank < nodes:
            raise UserError(f"--rank {node_rank} is not a node rank of --world-size {nodes}")
        return "spawn", GroupSpec(url, nodes * per_node, node_rank * per_node, per_node, backend, timeout)
    if under_torchrun(env) and args.rank is None and args.world_size is None:
        if nproc and nproc > 1:
            raise UserError("--nproc spawns workers itself; under torchrun use --nproc-per-node instead")
        if url not in (None, "env://"):
            raise UserError(f"under torchrun the init method is env://, not {url}")
        return "torchrun", None
    if url is not None or args.world_size is not None or args.rank is not None:
        url = url or "env://"
        world = args.world_size if args.world_size is not None else int(env.get("WORLD_SIZE", 0))
        rank = args.rank if args.rank is not None else int(env.get("RANK", -1))
        if world < 1 or not 0 <= rank < world:
            raise UserError("--dist-url needs --world-size N and --rank R (0 <= R < N), or RANK/WORLD_SIZE")
        return "join", GroupSpec(url, world, rank, 1, backend, timeout)
    if nproc and nproc > 1:
        return "spawn", local_spec(nproc, backend, timeout)
    return "single", None


def maybe_launch(args: argparse.Namespace, cfg: Any, train_fn: TrainFn) -> int | None:
    """Run ``train_fn`` in the process group the flags and environment ask for.

    Returns None when this is a plain single-process run (the caller trains), else the exit code.
    """
    mode, spec = plan(args, cfg)
    if mode == "single":
        if args.global_batch_size is None:
            return None
        return train_fn(args, with_global_batch(cfg, args.global_batch_size, 1))
    if mode == "torchrun":
        env = os.environ
        warning = shared_store_warning(env)
        if warning:
            print(f"yomitori: warning: {warning}", file=sys.stderr, flush=True)
        local = int(env["LOCAL_RANK"])
        spec = GroupSpec("env://", int(env["WORLD_SIZE"]), int(env["RANK"]) - local,
                         int(env.get("LOCAL_WORLD_SIZE", 1)), choose_backend(args.dist_backend, cfg.device),
                         args.dist_timeout)
        with process_group(spec, int(env["RANK"]), local, cfg.device):
            return train_rank(args, cfg, train_fn)
    if mode == "join":  # one rank of a group started elsewhere (the classic recipe without spawning)
        rank = spec.rank_offset
        local = args.local_rank if args.local_rank is not None else int(os.environ.get("LOCAL_RANK", rank))
        with process_group(spec, rank, local, cfg.device):
            return train_rank(args, cfg, train_fn)
    check_config(cfg, spec.world_size)  # before spawning, so the error is said once
    if spec.backend == "nccl" and spec.nproc > torch.cuda.device_count():
        raise UserError(f"{spec.nproc} processes per node but {torch.cuda.device_count()} GPUs "
                        "(NCCL needs a GPU per process)")
    return spawn_local(train_rank, spec, (args, cfg, train_fn), cfg.device)


def shared_store_warning(env: Mapping[str, str]) -> str | None:
    """Say (on rank 0) when torchrun's elastic restarts would reuse its rendezvous store.

    With its default TCPStore sharing, torchrun (checked with torch 2.13) hands the workers of
    every restart the same store, keys of the failed attempt included: a restarted group can read
    old addresses and fail or hang in init (pytorch/pytorch#135712). A fresh store per attempt
    (TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1, read by torchrun itself) avoids it.
    """
    if (env.get("RANK") == "0" and env.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
            and int(env.get("TORCHELASTIC_MAX_RESTARTS", "0")) > 0):
        return ("torchrun --max-restarts with a shared rendezvous store: restarted workers can read the "
                "failed attempt's addresses and hang; start torchrun with TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 "
                "(see docs/distributed.md)")
    return None


def check_config(cfg: Any, world_size: int) -> None:
    if cfg.sync_bn and world_size > 1 and not wants_cuda(cfg.device):
        raise UserError("--sync-bn needs CUDA devices (SyncBatchNorm has no CPU kernel)")


def with_global_batch(cfg: Any, global_batch: int, world_size: int) -> Any:
    """The config with the per-process batch that makes ``global_batch`` on ``world_size`` ranks."""
    if cfg.scale_lr:
        raise UserError("--scale-lr scales the lr with the world size at a fixed per-process batch; "
                        "with --global-batch-size, give the lr for that global batch instead")
    per = world_size * cfg.accum_steps
    if global_batch % per:
        raise UserError(f"--global-batch-size {global_batch} is not a multiple of "
                        f"world size × accum steps ({per})")
    return dataclasses.replace(cfg, batch_size=global_batch // per)


def train_rank(args: argparse.Namespace, cfg: Any, train_fn: TrainFn) -> int:
    """One rank's run inside an initialised group: agree on the checkpoint, then train."""
    rank, world = dist.get_rank(), dist.get_world_size()
    check_config(cfg, world)
    if args.global_batch_size is not None:
        cfg = with_global_batch(cfg, args.global_batch_size, world)
    restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    resume = args.resume if args.resume is not None or restart == 0 else "auto"
    resume = agree_on_resume(resume, Path(cfg.out), rank)
    if rank == 0:
        backend = dist.get_backend()
        global_batch = cfg.batch_size * world * cfg.accum_steps
        print(f"yomitori: {world} processes ({backend}), global batch {global_batch} = {cfg.batch_size} "
              f"per process × {world} × {cfg.accum_steps} accumulation steps", flush=True)
        if resume:
            print(f"yomitori: {'restart ' + str(restart) + ': ' if restart else ''}resuming from {resume}"
                  f"{describe_checkpoint(resume)}", flush=True)
    return int(train_fn(argparse.Namespace(**{**vars(args), "resume": resume}), cfg) or 0)


def agree_on_resume(resume: str | None, out: Path, rank: int) -> str | None:
    """Rank 0 resolves ``auto`` to OUT/last.pt (or nothing); every rank gets the same answer.

    Fails on every rank together when some rank cannot see the file (OUT must be shared storage).
    """
    if resume == "auto":
        choice = [str(out / "last.pt") if (out / "last.pt").exists() else None] if rank == 0 else [None]
        dist.broadcast_object_list(choice, src=0)
        resume = choice[0]
    seen = torch.tensor([1 if resume is None or Path(resume).exists() else 0], dtype=torch.int32)
    if dist.get_backend() == "nccl":
        seen = seen.cuda()
    dist.all_reduce(seen, op=dist.ReduceOp.MIN)
    if not int(seen.item()):
        raise UserError(f"{resume}: not visible on every rank; put --out on storage all nodes share")
    return resume


def describe_checkpoint(path: str) -> str:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - fit reports an unreadable checkpoint properly
        return ""
    return f" (epoch {ck['epoch'] + 1}, step {ck['global_step']})"
