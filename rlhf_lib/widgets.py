"""ipywidgets annotators for people: pairwise (A / B / tie / skip / undo) and ranking of K responses.

Every click appends one JSON line to a log (flushed and fsynced), so a label is never lost, even if the
kernel dies right after the click; re-creating the widget on the same log resumes where you stopped.
The buttons' handlers are plain methods (`choose`, `undo`, `submit`), so tests and CI can drive them.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as w

from . import annotate, data


def _box(title: str, text: str) -> w.HTML:
    body = html.escape(text).replace("\n", "<br>")
    return w.HTML(f"<div style='border:1px solid #ccc;border-radius:6px;padding:8px;margin:4px 0;"
                  f"max-height:260px;overflow:auto'><b>{title}</b><br>{body}</div>")


class PairwiseAnnotator:
    """Show one prompt and two responses at a time; the person picks A, B, tie, or skips.

    `pairs`: dicts with `pair_id`, `prompt`, `a`, `b` (the two response texts). Labels go to `log_path`.
    """

    CHOICES = {"A is better": annotate.A, "B is better": annotate.B, "Tie": annotate.TIE, "Skip": "skip"}

    def __init__(self, pairs: list[dict], log_path: str | Path, annotator: str = "human:me"):
        self.pairs, self.log_path, self.annotator = list(pairs), Path(log_path), annotator
        by_id = {p["pair_id"]: p for p in self.pairs}
        done = [r["pair_id"] for r in data.read_label_log(self.log_path) if r["pair_id"] in by_id]
        self.queue = [p for p in self.pairs if p["pair_id"] not in set(done)]  # resume after a restart
        self.history: list[dict] = [by_id[i] for i in done]  # labelled pairs, oldest first: undo works after a restart
        self.buttons = [w.Button(description=d, layout=w.Layout(width="130px")) for d in self.CHOICES]
        for button in self.buttons:
            button.on_click(lambda b: self.choose(self.CHOICES[b.description]))
        self.undo_button = w.Button(description="Undo", icon="undo", layout=w.Layout(width="100px"))
        self.undo_button.on_click(lambda _: self.undo())
        self.progress = w.IntProgress(min=0, max=len(self.pairs))
        self.status = w.HTML()
        self.view = w.VBox()
        self.widget = w.VBox([w.HBox([self.progress, self.status]), self.view,
                              w.HBox([*self.buttons, self.undo_button])])
        self._render()

    @property
    def labelled(self) -> int:
        return len(self.pairs) - len(self.queue)

    def choose(self, label: str) -> None:
        """Record `label` for the pair on screen and move on (what each button does)."""
        if not self.queue:
            return
        pair = self.queue.pop(0)
        annotate.append_jsonl(self.log_path, annotate.label_record(pair["pair_id"], label, self.annotator))
        self.history.append(pair)
        self._render()

    def undo(self) -> None:
        """Withdraw the latest label: an "undo" line is appended (the log is never rewritten), the pair comes back."""
        if not self.history:
            return
        annotate.append_jsonl(self.log_path, annotate.label_record(self.history[-1]["pair_id"], "undo", self.annotator))
        self.queue.insert(0, self.history.pop())
        self._render()

    def _render(self) -> None:
        self.progress.value = self.labelled
        self.status.value = f"&nbsp;{self.labelled} / {len(self.pairs)} labelled — log: <code>{self.log_path.name}</code>"
        if not self.queue:
            self.view.children = [w.HTML("<b>All pairs labelled. Thank you!</b>")]
            return
        pair = self.queue[0]
        self.view.children = [_box("Prompt", pair["prompt"]),
                              w.HBox([_box("A", pair["a"]), _box("B", pair["b"])],
                                     layout=w.Layout(grid_gap="8px"))]

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


class RankingAnnotator:
    """Rank K responses to one prompt (1 = best); each ranking becomes K(K−1)/2 pairs."""

    def __init__(self, items: list[dict], log_path: str | Path, annotator: str = "human:me"):
        # items: dicts with `prompt_id`, `prompt`, `responses` (list of texts)
        self.items, self.log_path, self.annotator = list(items), Path(log_path), annotator
        done = {r["pair_id"] for r in data.read_label_log(self.log_path)}
        self.queue = [it for it in self.items if it["prompt_id"] not in done]
        self.submit_button = w.Button(description="Submit ranking", button_style="primary")
        self.submit_button.on_click(lambda _: self.submit())
        self.view, self.status = w.VBox(), w.HTML()
        self.widget = w.VBox([self.status, self.view, self.submit_button])
        self.dropdowns: list[w.Dropdown] = []
        self._render()

    def submit(self, ranks: list[int] | None = None) -> list[tuple[int, int]] | None:
        """Save the ranks (from the dropdowns, or given); returns the (better, worse) pairs or None if invalid."""
        if not self.queue:
            return None
        item = self.queue[0]
        ranks = ranks or [d.value for d in self.dropdowns]
        if sorted(ranks) != list(range(1, len(item["responses"]) + 1)):
            self.status.value = "<b style='color:#b00'>Give each response a different rank.</b>"
            return None
        order = sorted(range(len(ranks)), key=lambda i: ranks[i])  # best first
        annotate.append_jsonl(self.log_path, annotate.label_record(item["prompt_id"], "ranking", self.annotator,
                                                                   order=order))
        self.queue.pop(0)
        self._render()
        return annotate.ranking_to_pairs(order)

    def _render(self) -> None:
        done = len(self.items) - len(self.queue)
        self.status.value = f"{done} / {len(self.items)} prompts ranked"
        if not self.queue:
            self.view.children = [w.HTML("<b>All prompts ranked. Thank you!</b>")]
            return
        item = self.queue[0]
        k = len(item["responses"])
        self.dropdowns = [w.Dropdown(options=list(range(1, k + 1)), value=i + 1, description="rank",
                                     layout=w.Layout(width="140px")) for i in range(k)]
        rows = [w.HBox([d, _box(f"Response {i + 1}", text)]) for i, (d, text) in
                enumerate(zip(self.dropdowns, item["responses"], strict=True))]
        self.view.children = [_box("Prompt", item["prompt"]), *rows]

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def human_rows(pairs: list[dict], log_path: str | Path) -> list[dict]:
    """The pairwise labels in a log as TRL rows (ties and skips left out)."""
    by_id = {p["pair_id"]: p for p in pairs}
    rows = []
    for rec in data.read_label_log(log_path):
        pair = by_id.get(rec["pair_id"])
        if pair is None or rec["label"] not in (annotate.A, annotate.B):
            continue
        chosen, rejected = (pair["a"], pair["b"]) if rec["label"] == annotate.A else (pair["b"], pair["a"])
        rows.append({"prompt": pair["prompt"], "chosen": chosen, "rejected": rejected,
                     "prompt_id": pair.get("prompt_id", ""), "annotator": rec.get("annotator")})
    return rows


def ranking_rows(items: list[dict], log_path: str | Path) -> list[dict]:
    """The rankings in a log as TRL rows: a ranking of K responses gives K(K−1)/2 (chosen, rejected) pairs."""
    by_id = {it["prompt_id"]: it for it in items}
    rows = []
    for rec in data.read_label_log(log_path):
        item = by_id.get(rec["pair_id"])
        if item is None or rec["label"] != "ranking":
            continue
        texts = item["responses"]
        for better, worse in annotate.ranking_to_pairs(rec["order"]):
            if texts[better].strip() == texts[worse].strip():
                continue  # identical answers carry no preference
            rows.append({"prompt": item["prompt"], "chosen": texts[better], "rejected": texts[worse],
                         "prompt_id": item["prompt_id"], "annotator": rec.get("annotator")})
    return rows
