"""Draw the course's pipeline diagram, whole and with each chapter's stage highlighted.

    python tools/pipeline_diagram.py          # writes docs/img/pipeline.svg and docs/img/pipeline_<variant>.svg

Chapter 0 shows the whole pipeline (prompts -> responses -> preferences -> reward model -> PPO with KL ->
evaluation); every other chapter's header shows the same picture with its own stage in colour, so a learner sees
where the chapter stands. The SVGs are committed; rerun this script only when the picture changes. The output is
deterministic (fixed hash salt, no date), so a rerun without changes leaves git clean.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"

# (key, label in the box, chapter(s) that build it)
STAGES = [
    ("prompts", "prompts", "ch. 1"),
    ("responses", "responses\nsampled from\nthe base model", "ch. 0–1"),
    ("preferences", "preferences\n(pairs labelled\nby annotators)", "ch. 1"),
    ("reward", "reward model\n(trained and\nvalidated)", "ch. 2–3"),
    ("ppo", "PPO with a\nKL penalty to\nthe reference", "ch. 4, 6"),
    ("evaluation", "evaluation\n(win rate, KL\non new prompts)", "ch. 4–6"),
]
KEYS = [key for key, _, _ in STAGES]

# variant name -> (highlighted stages, whether the "iterate" arrow is highlighted, caption)
VARIANTS = {
    **{key: ({key}, False, None) for key in KEYS},
    "data": ({"prompts", "responses", "preferences"}, False, "chapter 1: the preference data"),
    "loop": (set(KEYS), False, "chapter 5: the whole loop on a new task"),
    "iterate": ({"preferences", "reward", "ppo", "evaluation"}, True,
                "notebook 5.5: new feedback on the tuned model's own samples"),
    "optimise": ({"reward", "ppo"}, False, "chapter 6: other ways to optimise the preferences"),
}

ON, OFF, EDGE_ON, EDGE_OFF = "#fdd49e", "#f0f0f0", "#d7301f", "#969696"


def draw(highlight: set[str] | None, iterate_on: bool = False, caption: str | None = None):
    """The pipeline as a row of boxes; `highlight` None draws every stage in colour (the whole course)."""
    fig, ax = plt.subplots(figsize=(12, 2.6))
    ax.set_xlim(0, 12)
    ax.set_ylim(-0.2, 2.85)
    ax.axis("off")
    w, h, gap, y = 1.55, 1.15, 0.46, 0.75
    centres = []
    for i, (key, label, chapters) in enumerate(STAGES):
        x = 0.15 + i * (w + gap)
        on = highlight is None or key in highlight
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04,rounding_size=0.12",
                                    fc=ON if on else OFF, ec=EDGE_ON if on and highlight else EDGE_OFF,
                                    lw=2.2 if on and highlight else 1.0))
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=9,
                color="black" if on else "#737373", weight="bold" if on and highlight else "normal")
        ax.text(x + w / 2, y - 0.2, chapters, ha="center", va="top", fontsize=8.5, color="#525252")
        centres.append(x + w / 2)
        if i:
            ax.add_patch(FancyArrowPatch((x - gap + 0.06, y + h / 2), (x - 0.06, y + h / 2),
                                         arrowstyle="-|>", mutation_scale=14, color="#525252", lw=1.2))
    # iteration: new feedback on the tuned policy's samples (notebook 5.5)
    top = y + h + 0.05
    ax.add_patch(FancyArrowPatch((centres[5], top), (centres[2], top), connectionstyle="arc3,rad=0.18",
                                 arrowstyle="-|>", mutation_scale=14, ls="--",
                                 color=EDGE_ON if iterate_on else "#bdbdbd", lw=1.8 if iterate_on else 1.0))
    ax.text((centres[2] + centres[5]) / 2, 2.72, "iterate: new feedback on the tuned model's samples (5.5)",
            ha="center", va="center", fontsize=8.5, color=EDGE_ON if iterate_on else "#969696")
    if caption:
        ax.text(0.15, -0.12, caption, ha="left", va="center", fontsize=9, style="italic", color=EDGE_ON)
    return fig


def main() -> None:
    plt.rcParams["svg.hashsalt"] = "rlhf-course"  # deterministic ids
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: small files, readable in a diff
    OUT.mkdir(parents=True, exist_ok=True)
    figures = {"pipeline": draw(None)}
    for name, (stages, iterate_on, caption) in VARIANTS.items():
        figures[f"pipeline_{name}"] = draw(stages, iterate_on, caption)
    for name, fig in figures.items():
        fig.savefig(OUT / f"{name}.svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
        print(OUT / f"{name}.svg")


if __name__ == "__main__":
    main()
