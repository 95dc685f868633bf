"""Preference pairs as the reward model's training loop reads them: every unique (prompt, response) tokenized once.

A `PairTable` holds each unique sequence once (a response is in several pairs) and one `PairSplit` per split:
index tensors into the table, plus what the metrics need (the prompt of each pair; the panel probability and gold
utilities where the data has them, None where not; and, for pairs with several labels, the share of labels for
`chosen` and their number). A dataset needs `prompt`, `chosen` and `rejected` only (`data.REQUIRED`). `PairSplit` is
the course's one pair container: chapter 5's token domains (`apps.seqrl`) keep theirs in it too, with the sequences
and each rater's verdict inside.
Read top to bottom: the two containers -> checking a split made in code -> building the table from chapter 1's
dataset -> adding every label of the panel (`data.load_panel_votes`) as splits with several labels per pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from .data import PANEL, REQUIRED, PreferenceDataError, prompt_key
from .models import chat_messages, encode


@dataclass
class PairSplit:
    """One split as index tensors into a table of unique sequences, plus what the metrics need."""

    chosen: torch.Tensor     # (P,) sequence index of each chosen response
    rejected: torch.Tensor   # (P,)
    p_chosen: torch.Tensor | None  # (P,) panel probability of preferring chosen (None: the data has none)
    gold_chosen: torch.Tensor | None  # (P,) noise-free gold utilities (None: the data has none)
    gold_rejected: torch.Tensor | None
    rows: torch.Tensor | None = None  # (P,) row of each pair in the source dataset split
    group: torch.Tensor | None = None  # (P,) prompt of each pair: pairs of one prompt share responses
    target: torch.Tensor | None = None  # (P,) share of the pair's labels that chose `chosen` (None: one label, 1)
    weight: torch.Tensor | None = None  # (P,) number of labels of each pair (None: one each)
    labels: np.ndarray | None = None  # (P, K) each rater's verdict on (chosen, rejected): "A" / "B" / "tie"
    sequences: list | None = None  # what chosen / rejected index when the split carries its own (chapter 5's token
    # sequences, `apps.seqrl.label_pairs`: there `chosen` is side a, `target` its share of the votes); None: a PairTable

    def __len__(self) -> int:
        return len(self.chosen)

    def seqs(self) -> torch.Tensor:
        """The unique sequence indices this split uses."""
        return torch.unique(torch.cat([self.chosen, self.rejected]))

    def sides(self) -> tuple[list, list]:
        """The sequences of each pair's two sides (chosen, rejected), for a split that carries its own `sequences`."""
        if self.sequences is None:
            raise ValueError("this split indexes a PairTable (its `sequences` is None): read them from the table")
        return [self.sequences[i] for i in self.chosen.tolist()], [self.sequences[i] for i in self.rejected.tolist()]

    def take(self, rows) -> PairSplit:
        """The pairs `rows` (indices, a slice or one flag per pair), every per-pair field cut alike; the sequences
        they index are kept whole, so the indices stay valid."""
        if not isinstance(rows, slice):
            rows = torch.as_tensor(rows)
        cut = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in cut.items():
            if value is None or name == "sequences":
                continue
            cut[name] = value[rows.numpy() if isinstance(value, np.ndarray) and not isinstance(rows, slice) else rows]
        return PairSplit(**cut)

    def split(self, n_first: int) -> tuple[PairSplit, PairSplit]:
        """The first `n_first` pairs and the rest (e.g. train and validation pairs in the order they were drawn)."""
        return self.take(slice(0, n_first)), self.take(slice(n_first, None))

    def __add__(self, other: PairSplit) -> PairSplit:
        """The pairs of both splits (e.g. old feedback and new). Splits with their own sequences are appended with
        `other`'s indices shifted past `self`'s sequences; splits of a PairTable must index the same table."""
        if (self.sequences is None) != (other.sequences is None):
            raise ValueError("cannot add a split that carries its own sequences to one that indexes a PairTable")
        shift = 0 if self.sequences is None else len(self.sequences)
        out = {}
        for f in fields(self):
            x, y = getattr(self, f.name), getattr(other, f.name)
            if f.name in ("chosen", "rejected"):
                out[f.name] = torch.cat([x, y + shift])
            elif f.name == "sequences":
                out[f.name] = None if x is None else list(x) + list(y)
            elif x is None or y is None:
                if x is not None or y is not None:
                    raise ValueError(f"cannot add splits where only one has {f.name!r}")
                out[f.name] = None
            else:
                out[f.name] = np.concatenate([x, y]) if isinstance(x, np.ndarray) else torch.cat([x, y])
        return PairSplit(**out)


@dataclass
class PairTable:
    """Every unique (prompt, response) of the splits, tokenized once, and each split's pairs."""

    prompts: list  # each a `models.Prompt`: the user's words or a conversation
    responses: list[str]
    input_ids: list[list[int]]
    splits: dict[str, PairSplit] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.prompts)


def _check_split(ds, name: str) -> list[str]:
    """Every row of a preference split: a non-empty prompt (text or conversation), non-empty chosen / rejected
    strings that differ, and finite numbers in the optional panel columns it has. Returns those columns.

    A dataset made in code (not read by `data.load_preferences`) reaches the model through here, so the checks of
    `data.normalize` are repeated: a None in `p_chosen` would otherwise fail deep inside torch. An optional column
    is all there or not at all: one that is None on every row counts as absent, one missing on some rows is named.
    """
    for column in REQUIRED:
        if column not in ds.column_names:
            raise KeyError(f"preference split {name!r} has no column {column!r} (the data contract: prompt, chosen "
                           f"and rejected are required; {', '.join(PANEL)} are optional)")
    cols = {c: list(ds[c]) for c in (*REQUIRED, *PANEL) if c in ds.column_names}
    panel = [c for c in PANEL if c in cols and any(v is not None for v in cols[c])]
    if ("gold_chosen" in panel) != ("gold_rejected" in panel):
        have, lack = ("gold_chosen", "gold_rejected") if "gold_chosen" in panel else ("gold_rejected", "gold_chosen")
        raise PreferenceDataError(f"preference split {name!r} has a {have!r} column but no {lack!r}: gold utilities "
                                  f"come in pairs (give both, or neither)")
    for i in range(len(ds)):
        where = f"preference split {name!r}, row {i}"
        text = cols["prompt"][i]
        if isinstance(text, list):  # a conversation: checked, and its last (user) turn must say something
            try:
                text = chat_messages(text, where=f"{where}: field 'prompt'")[-1]["content"]
            except (TypeError, ValueError) as err:
                raise PreferenceDataError(str(err)) from None
        if not isinstance(text, str) or not text.strip():
            raise PreferenceDataError(f"{where}: field 'prompt' must be a non-empty string or a list of chat messages, "
                                      f"got {cols['prompt'][i]!r:.60}")
        for c in ("chosen", "rejected"):
            if not isinstance(cols[c][i], str) or not cols[c][i].strip():
                raise PreferenceDataError(f"{where}: field {c!r} must be a non-empty string, got {cols[c][i]!r:.60}")
        if cols["chosen"][i].strip() == cols["rejected"][i].strip():
            raise PreferenceDataError(f"{where}: fields 'chosen' and 'rejected' are identical: no preference to learn")
        for c in panel:
            v = cols[c][i]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                hint = " (the column has values on other rows: give it on every row, or on none)" if v is None else ""
                raise PreferenceDataError(f"{where}: field {c!r} must be a finite number, got {v!r}{hint}")
        if "p_chosen" in panel and not 0 <= cols["p_chosen"][i] <= 1:
            raise PreferenceDataError(f"{where}: field 'p_chosen' is {cols['p_chosen'][i]!r}, not a probability in [0, 1]")
    return panel


def capped_rows(prompts: Sequence, cap: int | None, seed: int) -> np.ndarray:
    """The rows of a split (one prompt key per row) that a cap keeps, in order (all rows when None): whole prompts in
    a seeded order, as many as fit in `cap` pairs (at least one). By prompt, not by pair: with K responses a prompt
    has K(K-1)/2 pairs, and a random share of pairs would keep nearly every response, so neither the features to
    extract nor the panel's votes on those responses (`add_vote_splits`) would shrink with the cap."""
    keys = [prompt_key(p) for p in prompts]
    rows = np.arange(len(keys))
    if cap is None or cap >= len(keys):
        return rows
    rows_of: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        rows_of.setdefault(k, []).append(i)
    kept: list[int] = []
    for j in np.random.default_rng(seed).permutation(len(rows_of)):
        group = list(rows_of.values())[j]
        if kept and len(kept) + len(group) > cap:
            break
        kept += group
    return np.sort(np.array(kept))


def split_caps(r, chapter: bool = True) -> dict[str, int | None]:
    """The pairs kept per split at the sizes of a profile's `reward` rows: `max_train_pairs` and `max_eval_pairs`, and
    in a chapter's notebook (`chapter=True`) also `chapter_train_pairs`, so the cpu chapters keep their time budget
    while the headless `python -m rlhf_lib.train_reward` trains on every pair."""
    train = r.max_train_pairs
    if chapter and r.chapter_train_pairs is not None:
        train = r.chapter_train_pairs if train is None else min(train, r.chapter_train_pairs)
    return {"train": train, "val": r.max_eval_pairs, "test": r.max_eval_pairs}


def capped(dataset, max_pairs: dict[str, int | None], seed: int = 0):
    """The preference DatasetDict with each split cut to the rows `build_pairs(..., max_pairs, seed)` keeps, for a
    chapter that reads the same pairs as text (chapter 3's probes score them; the feature cache is reused)."""
    from datasets import DatasetDict

    return DatasetDict({name: ds.select(capped_rows(ds["prompt"], max_pairs.get(name), seed))
                        for name, ds in dataset.items()})


def build_pairs(dataset, tokenizer, max_length: int, max_pairs: dict[str, int | None] | None = None,
                seed: int = 0) -> PairTable:
    """Turn the chapter-1 DatasetDict into a `PairTable`; `max_pairs` caps a split (a seeded sample of prompts)."""
    max_pairs = max_pairs or {}
    index: dict[tuple[str, str], int] = {}
    prompts: list = []
    responses: list[str] = []
    prompt_ids: dict[str, int] = {}

    def seq(prompt, response: str) -> int:
        key = (prompt_key(prompt), response)
        if key not in index:
            index[key] = len(prompts)
            prompts.append(prompt)
            responses.append(response)
        return index[key]

    splits = {}
    for name in dataset:
        ds = dataset[name]
        panel = _check_split(ds, name)
        rows = capped_rows(ds["prompt"], max_pairs.get(name), seed)
        ds = ds.select(rows)
        c = [seq(p, r) for p, r in zip(ds["prompt"], ds["chosen"], strict=True)]
        r = [seq(p, r) for p, r in zip(ds["prompt"], ds["rejected"], strict=True)]
        group = [prompt_ids.setdefault(prompt_key(p), len(prompt_ids)) for p in ds["prompt"]]
        p_c, g_c, g_r = (torch.tensor(ds[col], dtype=torch.float) if col in panel else None for col in PANEL)
        splits[name] = PairSplit(torch.tensor(c), torch.tensor(r), p_c, g_c, g_r, torch.as_tensor(rows),
                                 torch.tensor(group))
    ids = encode(tokenizer, prompts, responses, max_length)
    return PairTable(prompts, responses, ids, splits)


# ================================================================ more human feedback: every label of the panel
def add_vote_splits(table: PairTable, dataset, votes: list[dict], suffix: str = "_votes") -> dict[str, int]:
    """Add a split "<name>_votes" for each split of `dataset`: every panel-labelled pair of its prompts.

    Each pair keeps all its labels: `target` = share of non-tie labels for `chosen` (the side with more
    votes), `weight` = number of non-tie labels. Only pairs whose two responses are already in `table` are
    kept, so the table (and the feature cache keyed on it) does not change; pairs nobody preferred (all
    ties) carry nothing and are left out. Returns the number of labels in each new split.
    """
    index = {(prompt_key(p), r): i for i, (p, r) in enumerate(zip(table.prompts, table.responses, strict=True))}
    labels = {}
    for name in list(dataset):
        if name.endswith(suffix):
            continue
        prompt_of = dict(zip(dataset[name]["prompt_id"], dataset[name]["prompt"], strict=True))
        groups: dict[str, int] = {}
        cols: dict[str, list] = {k: [] for k in ("c", "r", "p", "gc", "gr", "t", "w", "g")}
        for v in votes:
            prompt = prompt_of.get(v["prompt_id"])
            n = v["votes_a"] + v["votes_b"]
            if prompt is None or n == 0:
                continue
            a, b = index.get((prompt_key(prompt), v["a"])), index.get((prompt_key(prompt), v["b"]))
            if a is None or b is None:
                continue
            first = v["votes_a"] >= v["votes_b"]
            cols["c"].append(a if first else b)
            cols["r"].append(b if first else a)
            cols["p"].append(v["p_a"] if first else 1 - v["p_a"])
            cols["gc"].append(v["gold_a"] if first else v["gold_b"])
            cols["gr"].append(v["gold_b"] if first else v["gold_a"])
            cols["t"].append((v["votes_a"] if first else v["votes_b"]) / n)
            cols["w"].append(float(n))
            cols["g"].append(groups.setdefault(v["prompt_id"], len(groups)))
        if not cols["c"]:
            continue
        f = {k: torch.tensor(x, dtype=torch.float) for k, x in cols.items() if k not in ("c", "r", "g")}
        table.splits[name + suffix] = PairSplit(torch.tensor(cols["c"]), torch.tensor(cols["r"]), f["p"], f["gc"],
                                                f["gr"], group=torch.tensor(cols["g"]), target=f["t"], weight=f["w"])
        labels[name + suffix] = int(f["w"].sum())
    return labels
