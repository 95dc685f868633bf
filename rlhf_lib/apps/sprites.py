"""Pixel-art sprites as token sequences: chapter 5's image-generation domain.

An 8x8 sprite is 64 pixel tokens, row by row, one palette colour per token (colour 0 is the background).
`procedural` draws a data set of mixed quality; `gold_components` / `gold_utility` define what the simulated
raters find appealing; `render` and `grid_figure` turn token lists back into pictures.

What makes a sprite appealing here (each component in [-1, 1]):

    symmetry    left-right mirror symmetry of the figure (most designed sprites, faces, creatures and ships have
                it); judged on the pixels the figure or its mirror image covers, so a blank canvas earns nothing
    coverage    a figure that fills 20-60% of the canvas: not blank, not a full slab of colour
    connected   one figure (6 pixels or more): the largest 4-connected blob holds the foreground, no speckles
    colours     two or three foreground colours: one is flat, five is a mess
    wellformed  exactly 64 pixels of palette colours (a generator can emit too few, too many, or EOS early)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .seqrl import N_SPECIAL

SIZE = 8
N_PIXELS = SIZE * SIZE
PALETTE = np.array([  # RGB in [0, 1]; colour 0 is the background
    (0.10, 0.10, 0.18), (0.95, 0.80, 0.20), (0.90, 0.30, 0.25), (0.25, 0.65, 0.95), (0.35, 0.80, 0.35),
    (0.95, 0.95, 0.95)])
N_COLOURS = len(PALETTE)
VOCAB_SIZE = N_SPECIAL + N_COLOURS  # EOS, PAD, BOS, then one token per colour
MAX_NEW_TOKENS = N_PIXELS + 1       # 64 pixels and EOS

GOLD_WEIGHTS = {"symmetry": 1.5, "coverage": 1.5, "connected": 1.0, "colours": 0.7, "wellformed": 2.0}
DOMAIN = "sprite"
RATER_TEMPERATURE = 1.4  # Bradley-Terry noise of the simulated raters: two agree on ~70% of decided pairs


# ========================================================================================== tokens
def to_tokens(grid: np.ndarray) -> list[int]:
    """(8, 8) colour indices -> 64 tokens."""
    grid = np.asarray(grid)
    if grid.shape != (SIZE, SIZE) or grid.min() < 0 or grid.max() >= N_COLOURS:
        raise ValueError(f"a sprite is an ({SIZE}, {SIZE}) array of colours 0..{N_COLOURS - 1} (got shape {grid.shape})")
    return (grid.reshape(-1) + N_SPECIAL).astype(int).tolist()


def to_grid(tokens: Sequence[int]) -> np.ndarray:
    """Tokens -> (8, 8) colour indices. A malformed sequence is cut or padded with background, and any
    non-colour token becomes background, so that every sample can be drawn."""
    colours = [t - N_SPECIAL if N_SPECIAL <= t < VOCAB_SIZE else 0 for t in list(tokens)[:N_PIXELS]]
    colours += [0] * (N_PIXELS - len(colours))
    return np.array(colours, dtype=int).reshape(SIZE, SIZE)


# ====================================================================================== gold appeal
def largest_blob(mask: np.ndarray) -> int:
    """Size of the largest 4-connected region of True pixels (flood fill)."""
    seen = np.zeros_like(mask, dtype=bool)
    best = 0
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if seen[r0, c0]:
            continue
        stack, size = [(r0, c0)], 0
        seen[r0, c0] = True
        while stack:
            r, c = stack.pop()
            size += 1
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1] and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    stack.append((rr, cc))
        best = max(best, size)
    return best


MIN_FIGURE = 6  # pixels: fewer are specks, not a figure
COLOUR_SCORE = {0: -1.0, 1: 0.2, 2: 1.0, 3: 1.0, 4: 0.0, 5: -0.5}


def gold_components(tokens: Sequence[int]) -> dict[str, float]:
    """The named parts of a sprite's appeal, each in [-1, 1]."""
    tokens = list(tokens)
    grid = to_grid(tokens)
    fg = grid > 0
    n_fg = int(fg.sum())
    share = n_fg / N_PIXELS
    mirror = grid[:, ::-1]
    drawn = fg | (mirror > 0)  # symmetry is judged on the figure, not on the empty background around it
    comp = {"symmetry": 2 * float((grid == mirror)[drawn].mean()) - 1 if n_fg else -1.0}
    if share < 0.2:
        comp["coverage"] = -1 + 2 * share / 0.2
    elif share > 0.6:
        comp["coverage"] = 1 - 2 * (share - 0.6) / 0.4
    else:
        comp["coverage"] = 1.0
    # one figure: the largest blob's share of the foreground; a few dots are no figure at all
    comp["connected"] = 2 * largest_blob(fg) / n_fg - 1 if n_fg >= MIN_FIGURE else -1.0
    comp["colours"] = COLOUR_SCORE[len(set(grid[fg].tolist()))]
    ok = len(tokens) == N_PIXELS and all(N_SPECIAL <= t < VOCAB_SIZE for t in tokens)
    comp["wellformed"] = 1.0 if ok else -1.0
    return comp


def gold_utility(tokens: Sequence[int]) -> float:
    """The hidden, noise-free appeal of one sprite (higher is better): the weighted sum of its components."""
    comp = gold_components(tokens)
    return float(sum(w * comp[c] for c, w in GOLD_WEIGHTS.items()))


# ================================================================================== procedural data
KINDS = {"symmetric figure": 0.35, "lopsided figure": 0.25, "noise": 0.15, "near blank": 0.1, "busy pattern": 0.15}


def _blob(rng: np.random.Generator, size: int, width: int) -> np.ndarray:
    """A random connected blob of about `size` pixels in the left `width` columns, grown from the middle."""
    mask = np.zeros((SIZE, SIZE), dtype=bool)
    r, c = int(rng.integers(2, 6)), width - 1
    mask[r, c] = True
    while mask.sum() < size:
        rs, cs = np.nonzero(mask)
        k = int(rng.integers(len(rs)))
        dr, dc = [(1, 0), (-1, 0), (0, 1), (0, -1)][int(rng.integers(4))]
        rr, cc = rs[k] + dr, cs[k] + dc
        if 0 <= rr < SIZE and 0 <= cc < width:
            mask[rr, cc] = True
    return mask


def _figure(rng: np.random.Generator, symmetric: bool) -> np.ndarray:
    width = SIZE // 2 if symmetric else SIZE
    size = int(rng.integers(6, 15)) if symmetric else int(rng.integers(10, 30))
    mask = _blob(rng, size, width)
    grid = np.zeros((SIZE, SIZE), dtype=int)
    body, accent = rng.choice(np.arange(1, N_COLOURS), size=2, replace=False)
    grid[mask] = body
    accents = mask & (rng.random((SIZE, SIZE)) < rng.uniform(0, 0.35))
    grid[accents] = accent
    if symmetric:
        grid[:, SIZE // 2:] = grid[:, :SIZE // 2][:, ::-1]
    return grid


def sample_grid(rng: np.random.Generator, kind: str) -> np.ndarray:
    """One sprite of a given kind, before any pixel noise."""
    if kind in ("symmetric figure", "lopsided figure"):
        return _figure(rng, kind == "symmetric figure")
    if kind == "noise":
        return np.where(rng.random((SIZE, SIZE)) < rng.uniform(0.2, 0.6), rng.integers(1, N_COLOURS, (SIZE, SIZE)), 0)
    if kind == "near blank":
        grid = np.zeros((SIZE, SIZE), dtype=int)
        k = int(rng.integers(0, 4))
        grid[rng.integers(0, SIZE, k), rng.integers(0, SIZE, k)] = rng.integers(1, N_COLOURS, k)
        return grid
    if kind == "busy pattern":  # stripes or checks in many colours over most of the canvas
        colours = rng.integers(1, N_COLOURS, SIZE)
        grid = np.tile(colours, (SIZE, 1)) if rng.random() < 0.5 else np.tile(colours[:, None], (1, SIZE))
        return np.where(rng.random((SIZE, SIZE)) < 0.85, grid, 0)
    raise ValueError(f"unknown sprite kind {kind!r}; choose one of {', '.join(KINDS)}")


def procedural(n: int, seed: int = 0) -> tuple[list[list[int]], list[str]]:
    """`n` sprites of mixed quality as token lists, and the kind of each.

    Figures get pixel noise at a random rate (0-12%), so even the good kind ranges from clean to scruffy.
    """
    rng = np.random.default_rng(seed)
    kinds = rng.choice(list(KINDS), size=n, p=list(KINDS.values()))
    out = []
    for kind in kinds:
        grid = sample_grid(rng, str(kind))
        noise = rng.random((SIZE, SIZE)) < rng.uniform(0, 0.12)
        grid = np.where(noise, rng.integers(0, N_COLOURS, (SIZE, SIZE)), grid)
        out.append(to_tokens(grid))
    return out, [str(k) for k in kinds]


# ========================================================================================== pictures
def render(tokens: Sequence[int]) -> np.ndarray:
    """Tokens -> (8, 8, 3) RGB image in [0, 1]; missing pixels of a malformed sequence show as background."""
    return PALETTE[to_grid(tokens)]


def grid_figure(seqs: Sequence[Sequence[int]], ncols: int = 8, title: str = "", scores: Sequence[float] | None = None,
                scale: float = 1.1):
    """A matplotlib figure showing sprites in a grid, optionally each with its score as a caption."""
    import matplotlib.pyplot as plt

    n = len(seqs)
    nrows = max(1, (n + ncols - 1) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale * (1.15 if scores is not None else 1)))
    for i, ax in enumerate(np.atleast_1d(axes).flat):
        ax.axis("off")
        if i < n:
            ax.imshow(render(seqs[i]), interpolation="nearest")
            if scores is not None:
                ax.set_title(f"{scores[i]:+.1f}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
