"""Pixel-art sprites as token sequences: chapter 5's image-generation domain.

An 8x8 sprite is 64 pixel tokens, row by row, one palette colour per token (colour 0 is the background). A
sprite may follow a short **prompt** of two word tokens, a colour and a shape ("a red cross", "a symmetric blue
figure"): the sequence is then `colour shape p1 ... p64`. `procedural` draws a data set of mixed quality that
follows its prompts only part of the time; `gold_components` / `gold_utility` define what the simulated raters
find appealing and relevant; `render` and `grid_figure` turn token lists back into pictures.

What makes a sprite appealing here (each component in [-1, 1]):

    symmetry    left-right mirror symmetry of the figure (most designed sprites, faces, creatures and ships have
                it); judged on the pixels the figure or its mirror image covers, so a blank canvas earns nothing
    coverage    a figure that fills 20-60% of the canvas: not blank, not a full slab of colour
    connected   one figure (6 pixels or more): the largest 4-connected blob holds the foreground, no speckles
    colours     two or three foreground colours: one is flat, five is a mess
    wellformed  exactly 64 pixels of palette colours (a generator can emit too few, too many, or EOS early)

and relevant to its prompt (0 for a sprite without one):

    hue         the prompt's colour is the figure's colour: its share of the foreground pixels, full marks from 60%
    shape       "cross": the figure is a plus sign (overlap with a centred plus, intersection over union);
                "figure": any symmetric figure (its symmetry)
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
WORD_BASE = N_SPECIAL + N_COLOURS  # EOS, PAD, BOS, one token per colour, then the prompt words
COLOUR_WORDS = {"yellow": 1, "red": 2, "blue": 3, "green": 4, "white": 5}  # word -> palette colour
SHAPE_WORDS = ("figure", "cross")
WORDS = (*COLOUR_WORDS, *SHAPE_WORDS)
VOCAB_SIZE = WORD_BASE + len(WORDS)
PROMPTS = tuple((c, sh) for sh in SHAPE_WORDS for c in COLOUR_WORDS)  # the 10 prompts: every colour x shape
MAX_NEW_TOKENS = N_PIXELS + 1       # 64 pixels and EOS

GOLD_WEIGHTS = {"symmetry": 1.5, "coverage": 1.5, "connected": 1.0, "colours": 0.7, "wellformed": 2.0,
                "hue": 1.5, "shape": 1.0}
DOMAIN = "sprite"
# Bradley-Terry noise of the simulated raters, calibrated on procedural sprites so that two raters agree on 65-77% of
# the pairs neither calls a tie (the human range): about 75% on prompted sprites compared within a prompt (chapter
# 5.2; relevance widens the gaps between sprites), about 67% on unprompted ones (tests/test_applications_seq.py)
RATER_TEMPERATURE = 1.9


# ========================================================================================== tokens
def to_tokens(grid: np.ndarray) -> list[int]:
    """(8, 8) colour indices -> 64 tokens."""
    grid = np.asarray(grid)
    if grid.shape != (SIZE, SIZE) or grid.min() < 0 or grid.max() >= N_COLOURS:
        raise ValueError(f"a sprite is an ({SIZE}, {SIZE}) array of colours 0..{N_COLOURS - 1} (got shape {grid.shape})")
    return (grid.reshape(-1) + N_SPECIAL).astype(int).tolist()


def to_grid(tokens: Sequence[int]) -> np.ndarray:
    """Pixel tokens (a prompt in front is skipped) -> (8, 8) colour indices. A malformed sequence is cut or padded
    with background, and any non-colour token becomes background, so that every sample can be drawn."""
    colours = [t - N_SPECIAL if N_SPECIAL <= t < WORD_BASE else 0 for t in split_prompt(tokens)[1][:N_PIXELS]]
    colours += [0] * (N_PIXELS - len(colours))
    return np.array(colours, dtype=int).reshape(SIZE, SIZE)


# ========================================================================================= prompts
def prompt_tokens(colour: str, shape: str) -> list[int]:
    """("red", "cross") -> the two word tokens that go in front of the pixels."""
    if colour not in COLOUR_WORDS or shape not in SHAPE_WORDS:
        raise ValueError(f"a sprite prompt is a colour ({', '.join(COLOUR_WORDS)}) and a shape "
                         f"({', '.join(SHAPE_WORDS)}); got {colour!r}, {shape!r}")
    return [WORD_BASE + WORDS.index(colour), WORD_BASE + WORDS.index(shape)]


def split_prompt(tokens: Sequence[int]) -> tuple[tuple[str, str] | None, list[int]]:
    """A sequence -> ((colour, shape) or None, its pixel tokens): a prompt is two word tokens in front."""
    tokens = list(tokens)
    if len(tokens) >= 2 and all(WORD_BASE <= t < VOCAB_SIZE for t in tokens[:2]):
        colour, shape = WORDS[tokens[0] - WORD_BASE], WORDS[tokens[1] - WORD_BASE]
        if colour in COLOUR_WORDS and shape in SHAPE_WORDS:
            return (colour, shape), tokens[2:]
    return None, tokens


def prompt_text(prompt: tuple[str, str] | None) -> str:
    """("blue", "figure") -> "a symmetric blue figure"; ("red", "cross") -> "a red cross"."""
    if prompt is None:
        return "(no prompt)"
    colour, shape = prompt
    return f"a symmetric {colour} figure" if shape == "figure" else f"a {colour} {shape}"


PLUS = np.zeros((SIZE, SIZE), dtype=bool)  # the centred plus sign a "cross" is compared with: arms 2 wide, 6 long
PLUS[3:5, 1:7] = PLUS[1:7, 3:5] = True


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
    """The named parts of a sprite's appeal and relevance to its prompt (if it has one), each in [-1, 1]."""
    prompt, tokens = split_prompt(tokens)
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
    ok = len(tokens) == N_PIXELS and all(N_SPECIAL <= t < WORD_BASE for t in tokens)
    comp["wellformed"] = 1.0 if ok else -1.0
    comp["hue"] = comp["shape"] = 0.0
    if prompt is not None:
        colour, shape = prompt
        share = float((grid[fg] == COLOUR_WORDS[colour]).mean()) if n_fg else 0.0
        comp["hue"] = 2 * min(1.0, share / 0.6) - 1 if n_fg else -1.0
        if shape == "cross":
            comp["shape"] = 2 * float((fg & PLUS).sum() / (fg | PLUS).sum()) - 1
        else:
            comp["shape"] = comp["symmetry"]
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


def _cross(rng: np.random.Generator, colour: int) -> np.ndarray:
    """A plus sign in `colour` (arms 2 wide, a random length), a few accent pixels of another colour."""
    grid = np.zeros((SIZE, SIZE), dtype=int)
    arm = int(rng.integers(2, 5))  # pixels from the centre line to the end of an arm
    grid[3:5, 4 - arm:4 + arm] = grid[4 - arm:4 + arm, 3:5] = colour
    accent = int(rng.choice([c for c in range(1, N_COLOURS) if c != colour]))
    grid[(grid > 0) & (rng.random((SIZE, SIZE)) < rng.uniform(0, 0.25))] = accent
    return grid


def follow_prompt(rng: np.random.Generator, prompt: tuple[str, str]) -> np.ndarray:
    """A sprite that does what the prompt asks: a plus sign, or a symmetric figure, in the prompt's colour."""
    colour, shape = prompt
    if shape == "cross":
        return _cross(rng, COLOUR_WORDS[colour])
    grid = _figure(rng, symmetric=True)
    body = np.bincount(grid[grid > 0], minlength=N_COLOURS).argmax()  # the figure's main colour becomes the prompt's
    swapped = grid.copy()
    swapped[grid == body], swapped[grid == COLOUR_WORDS[colour]] = COLOUR_WORDS[colour], body
    return swapped


def procedural(n: int, seed: int = 0, prompted: bool = False,
               follow: float = 0.5) -> tuple[list[list[int]], list[str]]:
    """`n` sprites of mixed quality as token lists, and the kind of each.

    Figures get pixel noise at a random rate (0-12%), so even the good kind ranges from clean to scruffy. With
    `prompted`, each sprite has a random prompt in front; a share `follow` of them does what it asks (kind
    "follows prompt"), the others are the usual mix whatever the prompt says: a generator trained on it follows its
    prompts only sometimes, as captioned images of the web match their captions only sometimes.
    """
    rng = np.random.default_rng(seed)
    kinds = rng.choice(list(KINDS), size=n, p=list(KINDS.values()))
    out, names = [], []
    for kind in kinds:
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))] if prompted else None
        if prompt is not None and rng.random() < follow:
            kind, grid = "follows prompt", follow_prompt(rng, prompt)
        else:
            grid = sample_grid(rng, str(kind))
        noise = rng.random((SIZE, SIZE)) < rng.uniform(0, 0.12)
        grid = np.where(noise, rng.integers(0, N_COLOURS, (SIZE, SIZE)), grid)
        out.append((prompt_tokens(*prompt) if prompt else []) + to_tokens(grid))
        names.append(str(kind))
    return out, names


# ========================================================================================== pictures
def render(tokens: Sequence[int]) -> np.ndarray:
    """Tokens -> (8, 8, 3) RGB image in [0, 1]; missing pixels of a malformed sequence show as background."""
    return PALETTE[to_grid(tokens)]


def grid_figure(seqs: Sequence[Sequence[int]], ncols: int = 8, title: str = "", scores: Sequence[float] | None = None,
                scale: float = 1.1, captions: Sequence[str] | None = None):
    """A matplotlib figure showing sprites in a grid, optionally each with its score (or a caption) above it."""
    import matplotlib.pyplot as plt

    n = len(seqs)
    nrows = max(1, (n + ncols - 1) // ncols)
    room = 1.4 if captions is not None else (1.15 if scores is not None else 1)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale * room))
    for i, ax in enumerate(np.atleast_1d(axes).flat):
        ax.axis("off")
        if i < n:
            ax.imshow(render(seqs[i]), interpolation="nearest")
            if scores is not None or captions is not None:
                text = [captions[i]] if captions is not None else []
                text += [f"{scores[i]:+.1f}"] if scores is not None else []
                ax.set_title("\n".join(text), fontsize=7 if captions is not None else 8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
