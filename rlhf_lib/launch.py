"""What the headless entry points share: a run configuration (profile + overrides) and the process set-up.

A run is named by `--config X`, where X is a profile name (ci, cpu, gpu, gpu-smoke) or a small JSON/YAML file

    {"profile": "cpu", "overrides": {"ppo.steps": 40, "ppo.batch_size": 32}, "output_dir": "artifacts/run1"}

and `--set ppo.steps=4` adds overrides on the command line. Every override is a row of `rlhf_lib.config.TABLE`,
so a run's sizes are the notebooks' sizes unless said otherwise.

Under `accelerate launch` (or `torchrun`) the environment names this process's rank; `process_state()` joins
the process group (gloo on CPUs, NCCL on GPUs) and returns accelerate's `PartialState`. With a plain `python -m`
it is a single process and nothing is initialised.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

from . import config

RUN_KEYS = ("profile", "overrides", "output_dir")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None, help="a profile name (ci, cpu, gpu, gpu-smoke) or a JSON/YAML run file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one row of rlhf_lib.config.TABLE, e.g. --set ppo.steps=4 (repeatable)")
    p.add_argument("--output-dir", default=None, help="where the run writes (default: the profile's artifacts)")
    return p


def _parse_value(text: str):
    """`--set` values are JSON where they parse (4, 0.1, null, [1, 2]), plain strings otherwise."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def read_run_file(path: Path) -> dict:
    """A run file as a dict, with errors that name the file and the field."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}); a run file is JSON or YAML") from None
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            run = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: not valid YAML ({err})") from err
    else:
        try:
            run = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    if not isinstance(run, dict):
        raise ValueError(f"{path}: a run file is a mapping with keys {', '.join(RUN_KEYS)}")
    unknown = sorted(set(run) - set(RUN_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}; a run file has {', '.join(RUN_KEYS)}")
    if not isinstance(run.get("overrides", {}), dict):
        raise ValueError(f"{path}: field 'overrides' must be a mapping of TABLE rows to values")
    return run


def load_run(spec: str | None, sets: list[str] = (), output_dir: str | None = None) -> SimpleNamespace:
    """The configuration of a run: `cfg` (as `config.load` gives it) plus `cfg.output_dir` (a Path)."""
    run, source = {}, "--config"
    if spec and spec.lower() not in config.PROFILES:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"--config {spec}: neither a profile ({', '.join(config.PROFILES)}) nor a file")
        run, source = read_run_file(path), str(path)
    elif spec:
        run = {"profile": spec.lower()}
    overrides = dict(run.get("overrides", {}))
    from_set = set()
    for item in sets:
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE, e.g. --set ppo.steps=4")
        overrides[key.strip()] = _parse_value(value.strip())
        from_set.add(key.strip())
    try:
        cfg = config.load(run.get("profile"), **{k.replace(".", "__"): v for k, v in overrides.items()})
    except (KeyError, ValueError) as err:
        where = "--set" if getattr(err, "key", None) in from_set else source
        raise ValueError(f"{where}: {err.args[0] if err.args else err}") from err
    out = output_dir or run.get("output_dir")
    cfg.output_dir = output_folder(out, "--output-dir") if out else config.artifacts_dir(cfg.profile)
    return cfg


def output_folder(path: str | Path, option: str) -> Path:
    """`path` as a folder a run can write to, created now (its parents too), so that a file in the way or a folder
    without write permission is refused before anything loads, not after training. A folder created here is removed
    at exit when the run left it empty (it failed before writing anything)."""
    path = Path(path)
    check_writable(path, option)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    if created:
        atexit.register(_remove_if_empty, path)
    return path


def check_writable(path: str | Path, option: str) -> None:
    """Refuse a path a run could not write a folder to: an existing file, a file among its parents, or a folder
    without write permission. Raises ValueError naming the option, the path and the cause."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: is a file, not a folder; name a folder (it is created if missing)")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {path}: {parent} is a file, so no folder can be made under it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: {parent} is not writable (permissions)")


def save_or_rescue(save, path: str | Path, what: str) -> Path:
    """`save(path)`, and when writing there still fails (a disk filled, a folder removed during training), `save` into
    a fresh folder under the profile's artifacts (else the system's temporary folder), saying where: a trained model
    is never lost to a save error. Returns where it went."""
    try:
        return save(Path(path))
    except OSError as err:
        try:
            parent = config.artifacts_dir() / "rescued"
            parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            parent = None
        rescue = Path(tempfile.mkdtemp(prefix=f"{Path(path).name}-", dir=parent))
        saved = save(rescue)
        print(f"could not write {what} to {path} ({err.strerror or err}); saved it to {saved} instead", flush=True)
        return saved


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()  # only ever removes an empty folder


def process_state():
    """accelerate's PartialState: joins the process group when launched with several processes.

    Without a GPU accelerate must be told to use the CPU, or it ignores the launcher's rank variables.
    """
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())
