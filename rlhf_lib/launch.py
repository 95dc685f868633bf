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
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

from . import config
from .config import check_writable  # also launch.check_writable, as the command lines call it

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


YAML_1_1_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # 1e-5: a number in YAML 1.2, a string to PyYAML


def _yaml_mapping(loader, node, deep=False):
    """PyYAML's mapping, refusing a key given twice (PyYAML keeps the last without a word)."""
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ValueError(f"{key_node.start_mark.line + 1}: field {key!r} appears twice in one mapping (YAML "
                             f"would keep only the last): remove one")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _flat(overrides: dict, prefix: str = "") -> dict:
    """Overrides as the table's dotted rows: a nested mapping {"ppo": {"steps": 4}} (natural in YAML) is "ppo.steps"."""
    out = {}
    for key, value in overrides.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def read_run_file(path: Path) -> dict:
    """A run file as a dict, with errors that name the file and the field."""
    from .annotate import DuplicateKeyError, loads_json

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}); a run file is JSON or YAML") from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _yaml_mapping)
        try:
            run = yaml.load(text, Loader=Loader)  # noqa: S506 -- a SafeLoader, with duplicate keys refused
        except yaml.YAMLError as err:
            mark, problem = getattr(err, "problem_mark", None), getattr(err, "problem", None)
            if mark is None or problem is None:
                raise ValueError(f"{path}: not valid YAML ({err})") from err
            hint = "; YAML indents with spaces, not tabs" if "\\t" in problem else ""
            raise ValueError(f"{path}:{mark.line + 1}: not valid YAML ({problem}, column {mark.column + 1}{hint})") \
                from err
        except ValueError as err:
            raise ValueError(f"{path}:{err}") from None
    elif suffix in (".json", ""):
        try:
            run = loads_json(text)
        except DuplicateKeyError as err:
            raise ValueError(f"{path}: {err}") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    else:
        raise ValueError(f"{path}: a run file is JSON (.json) or YAML (.yaml, .yml), not {path.suffix}")
    if not isinstance(run, dict):
        raise ValueError(f"{path}: a run file is a mapping with keys {', '.join(RUN_KEYS)}")
    unknown = sorted(set(run) - set(RUN_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}; a run file has {', '.join(RUN_KEYS)}")
    if not isinstance(run.get("overrides", {}), dict):
        raise ValueError(f"{path}: field 'overrides' must be a mapping of TABLE rows to values")
    for field in ("profile", "output_dir"):
        if run.get(field) is not None and not isinstance(run[field], str):
            raise ValueError(f"{path}: field {field!r} must be a string, got {run[field]!r}")
    if run.get("profile"):
        run["profile"] = run["profile"].strip().lower()  # as --config CPU and RLHF_PROFILE=CPU
    overrides = _flat(run.get("overrides", {}))
    if suffix in (".yaml", ".yml"):
        overrides = {k: float(v) if isinstance(v, str) and YAML_1_1_FLOAT.fullmatch(v.strip()) else v
                     for k, v in overrides.items()}
    run["overrides"] = overrides
    return run


def load_run(spec: str | None, sets: list[str] = (), output_dir: str | None = None) -> SimpleNamespace:
    """The configuration of a run: `cfg` (as `config.load` gives it) plus `cfg.output_dir` (a Path)."""
    run, source = {}, "--config"
    if spec is not None and not spec.strip():  # `--config "$RUN"` with RUN unset: not the detected profile silently
        raise ValueError(f"--config {spec!r}: empty; name a profile ({', '.join(config.PROFILES)}) or a run file, or "
                         f"leave --config out")
    if spec and spec.lower() not in config.PROFILES:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"--config {spec}: neither a profile ({', '.join(config.PROFILES)}) nor a file")
        run, source = read_run_file(path), str(path)
    elif spec:
        run = {"profile": spec.lower()}
    overrides = dict(run.get("overrides", {}))
    from_set = set()
    given: dict[str, object] = {}
    for item in sets:
        key, eq, value = item.partition("=")
        key, value = key.strip(), _parse_value(value.strip())
        if not eq or not key:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE with a row of the table as KEY, e.g. --set "
                             f"ppo.steps=4")
        if key in given and given[key] != value:  # a later --set silently won: which one did the user mean?
            raise ValueError(f"--set {key} is given twice ({given[key]!r}, then {value!r}): give it once")
        given[key] = overrides[key] = value
        from_set.add(key)
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
    path = Path(path).expanduser()  # "~/runs/a" in a run file (no shell expands it): was a folder named "~" here
    check_writable(path, option)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    if created:
        atexit.register(_remove_if_empty, path)
    return path


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
