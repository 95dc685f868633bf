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
import json
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
    text = path.read_text()
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
    for item in sets:
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE, e.g. --set ppo.steps=4")
        overrides[key.strip()] = _parse_value(value.strip())
    try:
        cfg = config.load(run.get("profile"), **{k.replace(".", "__"): v for k, v in overrides.items()})
    except (KeyError, ValueError) as err:
        raise ValueError(f"{source}: {err.args[0] if err.args else err}") from err
    out = output_dir or run.get("output_dir")
    cfg.output_dir = Path(out) if out else config.artifacts_dir(cfg.profile)
    cfg.output_dir.mkdir(parents=True, exist_ok=True)
    return cfg


def process_state():
    """accelerate's PartialState: joins the process group when launched with several processes.

    Without a GPU accelerate must be told to use the CPU, or it ignores the launcher's rank variables.
    """
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())
