"""Build `tests/tiny_tokenizer/`: a 1024-token byte-level BPE with SmolLM2's special tokens and chat template.

The unit tests' tiny random models (`models.load_tiny_model`) read it instead of SmolLM2's 49152-token tokenizer,
so they need neither the GGUF converted nor pip (hermetic: `tests/conftest.py` points `RLHF_TINY_TOKENIZER` at
it), and a tiny model's embedding table is 48x smaller. Any text encodes (byte-level: no unknown token); the merges
are learnt from the shipped prompts and responses. The folder is committed; rebuild it (deterministic) with

    python tests/make_tiny_tokenizer.py
"""

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

HERE = Path(__file__).resolve().parent
OUT = HERE / "tiny_tokenizer"
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1, 2 as in SmolLM2
CHAT_TEMPLATE = (  # SmolLM2-135M-Instruct's, verbatim
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def corpus():
    """The shipped prompts and responses: what the tests' tiny models read."""
    data = HERE.parent / "data"
    for name, field in (("prompts.jsonl", "prompt"), ("voice_prompts.jsonl", "prompt"),
                        ("responses.jsonl", "text"), ("voice_responses.jsonl", "text")):
        with open(data / name, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)[field]


def build(out: Path = OUT, vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)  # adds no BOS/EOS, as SmolLM2's
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|im_end|>", unk_token="<|endoftext|>", chat_template=CHAT_TEMPLATE,
                                   model_max_length=1024)
    fast.save_pretrained(out)
    return fast


if __name__ == "__main__":
    t = build()
    print(f"{OUT}: {len(t)} tokens; 'What is the capital of France?' -> {t.tokenize('What is the capital of France?')}")
