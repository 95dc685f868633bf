"""`python -m rlhf_lib.voice sample [--ship]`: sample the base model's answers to every voice prompt of chapter 5.4.

The entry point only; the voice domain itself (prompts, gold utility, panel) is `rlhf_lib.apps.voice`.
"""

from __future__ import annotations

import argparse
import sys

from . import config
from .apps import voice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlhf_lib.voice", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample", help="sample K answers per voice prompt")
    s.add_argument("--ship", action="store_true", help="write into data/voice_responses.jsonl (the shipped file)")
    args = parser.parse_args(argv)
    cfg = config.load("cpu")
    responses = voice.sample_responses(voice.load_prompts(), cfg, cache=voice.RESPONSES if args.ship else None)
    print(f"{sum(len(v) for v in responses.values())} responses to {len(responses)} prompts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
