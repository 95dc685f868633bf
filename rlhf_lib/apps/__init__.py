"""Chapter 5: RLHF applied, each application a module the chapter's notebooks call.

    language  the pipeline both language applications share: preferences -> FFN reward model -> PPO -> judge
    voice     voice assistants: the prompts, and the gold utility of an answer that will be spoken
    seqrl     RLHF on small token sequences: a tiny generator, the rater panel, a sequence reward model, PPO
    sprites   8x8 pixel-art sprites as token sequences (the image application, on `seqrl`)
    melody    16-note melodies as token sequences (the music application, on `seqrl`)
"""
