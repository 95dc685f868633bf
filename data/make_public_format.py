"""Write data/public_format/: a small preference dataset in two PUBLIC formats, for docs/own_data.md.

    python data/make_public_format.py

What a practitioner brings is a file in a shared format, not the course's dataset: no gold utilities, no panel
probabilities, multi-turn dialogues, and a few bad rows. This script makes such files from the course's own
prompts and sampled responses (data/prompts.jsonl, data/responses.jsonl), so the pairs carry a real signal: of two
responses to a prompt, `chosen` is the one with the higher gold utility (data/annotations.jsonl; pairs whose
utilities differ by less than the panel's tie band are left out). Seeded: the same files every run.

  hh_rlhf.jsonl                        Anthropic HH-RLHF: {"chosen", "rejected"} full transcripts
                                       "\\n\\nHuman: ...\\n\\nAssistant: ...", one file (no splits)
  conversational/{train,test}.jsonl    TRL conversational, implicit prompt: {"chosen", "rejected"} message lists
                                       that share all but the last message; no val split
  ppo_prompts.jsonl                    prompts for PPO: {"id", "prompt"} as a string or a dialogue (messages)

Two thirds of the pairs are dialogues with an earlier exchange (another prompt of the course and a response the
model gave to it) before the question answered. Each preference file also holds the bad rows real files have:
a few with an empty final answer and a few whose two answers are identical (`--on-error skip` skips them).
"""

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent
OUT = DATA / "public_format"
SEED = 21
TIE_BAND = 0.25  # gold margins below the simulated panel's tie band are not a clear preference
N_HH, N_CONV, N_PPO = 240, 160, 48  # good pairs per file, prompts for PPO
N_BAD = 3  # rows with an empty final answer, and as many with identical answers, per preference file


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def course_pairs() -> tuple[dict, list[dict], dict]:
    """The course's prompts by id, every labelled pair with a clear gold preference ({prompt_id, chosen, rejected}),
    and the text of every response by id."""
    prompts = {p["id"]: p for p in read_jsonl(DATA / "prompts.jsonl")}
    text = {r["response_id"]: r["text"].strip() for r in read_jsonl(DATA / "responses.jsonl")}
    pairs = []
    for a in read_jsonl(DATA / "annotations.jsonl"):
        if abs(a["gold_a"] - a["gold_b"]) < TIE_BAND or not text[a["a"]] or not text[a["b"]]:
            continue
        first = a["gold_a"] > a["gold_b"]
        pairs.append({"prompt_id": a["prompt_id"], "chosen": text[a["a"] if first else a["b"]],
                      "rejected": text[a["b"] if first else a["a"]]})
    return prompts, pairs, text


def earlier_turn(rng: random.Random, prompts: dict, text: dict, not_id: str) -> list[dict]:
    """An earlier exchange for a dialogue: another prompt of the course and the first response sampled for it."""
    other = rng.choice([i for i in prompts if i != not_id and text.get(f"{i}/0")])
    return [{"role": "user", "content": prompts[other]["prompt"]}, {"role": "assistant", "content": text[f"{other}/0"]}]


def dialogue(rng: random.Random, prompts: dict, text: dict, pair: dict) -> list[dict]:
    """The messages before the answer: the question, after an earlier exchange in two dialogues out of three."""
    history = earlier_turn(rng, prompts, text, pair["prompt_id"]) if rng.random() < 2 / 3 else []
    return [*history, {"role": "user", "content": prompts[pair["prompt_id"]]["prompt"]}]


def hh(messages: list[dict]) -> str:
    """Messages as an HH-RLHF transcript: "\\n\\nHuman: ..." and "\\n\\nAssistant: ..." turns."""
    return "".join(f"\n\n{'Human' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in messages)


def with_bad_rows(rng: random.Random, rows: list[dict], make) -> list[dict]:
    """`rows` with N_BAD rows whose final answer is empty and N_BAD whose answers are identical, at seeded places.
    `make(row, chosen, rejected)` rebuilds a row with other final answers."""
    rows = list(rows)
    for kind in ("empty", "identical"):
        for _ in range(N_BAD):
            src = rows[rng.randrange(len(rows))]
            bad = make(src, "", src["_rejected"]) if kind == "empty" else make(src, src["_chosen"], src["_chosen"])
            rows.insert(rng.randrange(len(rows) + 1), bad)
    return rows


def main(out: Path = OUT) -> None:
    """Write the four files into `out` (default: data/public_format)."""
    rng = random.Random(SEED)
    prompts, pairs, text = course_pairs()
    ids = sorted({p["prompt_id"] for p in pairs})
    rng.shuffle(ids)
    hh_ids, conv_ids = set(ids[: len(ids) // 2]), set(ids[len(ids) // 2:])  # the two files share no prompt

    # HH-RLHF: one file, full transcripts (the prompt is everything before the last "\n\nAssistant:")
    def hh_row(row, chosen, rejected):
        return {"chosen": row["_context"] + hh([{"role": "assistant", "content": chosen}]),
                "rejected": row["_context"] + hh([{"role": "assistant", "content": rejected}]),
                "_chosen": chosen, "_rejected": rejected, "_context": row["_context"]}

    picked = rng.sample([p for p in pairs if p["prompt_id"] in hh_ids], N_HH)
    rows = [hh_row({"_context": hh(dialogue(rng, prompts, text, p))}, p["chosen"], p["rejected"]) for p in picked]
    write(out / "hh_rlhf.jsonl", with_bad_rows(rng, rows, hh_row))

    # TRL conversational, implicit prompt: whole conversations, split by the course's own prompt splits
    def conv_row(row, chosen, rejected):
        return {"chosen": [*row["_context"], {"role": "assistant", "content": chosen}],
                "rejected": [*row["_context"], {"role": "assistant", "content": rejected}],
                "_chosen": chosen, "_rejected": rejected, "_context": row["_context"], "_split": row["_split"]}

    picked = rng.sample([p for p in pairs if p["prompt_id"] in conv_ids], N_CONV)
    rows = [conv_row({"_context": dialogue(rng, prompts, text, p),
                      "_split": "test" if prompts[p["prompt_id"]]["split"] == "test" else "train"},
                     p["chosen"], p["rejected"]) for p in picked]
    train = [r for r in rows if r["_split"] == "train"]
    write(out / "conversational" / "train.jsonl", with_bad_rows(rng, train, conv_row))
    write(out / "conversational" / "test.jsonl", [r for r in rows if r["_split"] == "test"])

    # prompts for PPO: the course's train prompts, a third of them as dialogues with an earlier exchange
    train_ids = sorted(i for i, p in prompts.items() if p["split"] == "train")
    ppo = []
    for i in rng.sample(train_ids, N_PPO):
        prompt = prompts[i]["prompt"]
        if rng.random() < 1 / 3:
            prompt = [*earlier_turn(rng, prompts, text, i), {"role": "user", "content": prompt}]
        ppo.append({"id": i, "prompt": prompt})
    write(out / "ppo_prompts.jsonl", ppo)


def write(path: Path, rows: list[dict]) -> None:
    """JSONL, without the helper fields (those starting with "_")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, ensure_ascii=False) + "\n")
    print(f"{path}: {len(rows)} rows")


if __name__ == "__main__":
    main()
