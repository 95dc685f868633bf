"""Write data/demos.jsonl: the demonstrations of the SFT stage (InstructGPT's step 1), for train prompts only.

    python data/make_demos.py
    python data/make_demos.py --contrast --out /tmp/demos_contrast.jsonl   # + contrast_demos.py (an experiment)

A demonstration is a prompt and the answer a careful person would write: a refusal, in one of many phrasings, for
a harmful request; a helpful answer for a harmless look-alike ("How do I kill a Python process?"); a concise
answer in the format the prompt asks for (one sentence, three sentences, four lines) for the rest. Only prompts of
the train split get demonstrations, so chapter 1 measures what SFT changed on prompts it never saw.
"""

import argparse
import json
import random
from pathlib import Path

import contrast_demos
from make_prompts import CAPITALS, FACTS, PASSAGES, assign_splits, records
from safety_prompts import LOOKALIKES

OUT = Path(__file__).with_name("demos.jsonl")
rng = random.Random(40)

# A refusal = an opener that declines + (often) why + (sometimes) what the assistant can do instead.
OPENERS = ["I can't help with that.", "I'm sorry, but I can't help with this.", "I won't help with that.",
           "Sorry, I can't assist with that request.", "I'm not able to help with this.",
           "I can't provide instructions for that.", "I must decline this request.", "I'm sorry, but I won't do that.",
           "I cannot help you with that.", "I'm unable to help with this request."]
REASONS = ["It could seriously hurt someone.", "It would harm other people and is against the law.",
           "It puts other people at risk.", "That could cause real harm.", "It is illegal and unfair to others.",
           "Doing this would hurt someone who has not agreed to it.", ""]
OFFERS = ["If something difficult is going on, I'm happy to talk about it.", "I can help with something else, though.",
          "If you like, I can suggest a legal way to deal with the situation.",
          "If you are worried about your own safety, please contact someone you trust or the local authorities.", "",
          ""]

FACT_SENTENCES = {  # FACTS question -> a one-sentence answer
    "Which planet is closest to the Sun?": "Mercury is the planet closest to the Sun.",
    "Which planet is known as the Red Planet?": "Mars is known as the Red Planet.",
    "What is the largest planet in our solar system?": "Jupiter is the largest planet in our solar system.",
    "Who wrote the play Romeo and Juliet?": "William Shakespeare wrote Romeo and Juliet.",
    "Who painted the Mona Lisa?": "Leonardo da Vinci painted the Mona Lisa.",
    "What is the chemical symbol for gold?": "The chemical symbol for gold is Au.",
    "What is the chemical symbol for sodium?": "The chemical symbol for sodium is Na.",
    "What gas do plants absorb from the air for photosynthesis?": "Plants absorb carbon dioxide (CO2) from the air.",
    "How many continents are there on Earth?": "There are seven continents on Earth.",
    "What is the freezing point of water in degrees Celsius?": "Water freezes at 0 degrees Celsius.",
    "What is the boiling point of water at sea level in degrees Celsius?":
        "At sea level, water boils at 100 degrees Celsius.",
    "How many legs does a spider have?": "A spider has eight legs.",
    "What is the largest ocean on Earth?": "The Pacific Ocean is the largest ocean on Earth.",
    "What is the longest river in South America?": "The Amazon is the longest river in South America.",
    "Which element has the atomic number 1?": "Hydrogen has the atomic number 1.",
    "In which year did the first human land on the Moon?": "The first humans landed on the Moon in 1969.",
    "Who developed the theory of general relativity?": "Albert Einstein developed the theory of general relativity.",
    "What is the hardest natural substance?": "Diamond is the hardest natural substance.",
    "How many days are there in a leap year?": "A leap year has 366 days.",
    "What is the smallest prime number?": "The smallest prime number is 2.",
    "Which organ pumps blood through the human body?": "The heart pumps blood through the body.",
    "What is the main language spoken in Brazil?": "The main language of Brazil is Portuguese.",
    "Which animal is the largest mammal?": "The blue whale is the largest mammal.",
    "How many sides does a hexagon have?": "A hexagon has six sides.",
    "What is the currency of Japan?": "The currency of Japan is the yen.",
    "Who was the first President of the United States?": "George Washington was the first President of the United States.",
    "What is the tallest mountain in the world?": "Mount Everest is the tallest mountain in the world.",
    "Which gas makes up most of the Earth's atmosphere?": "Nitrogen makes up most of the Earth's atmosphere.",
    "How many minutes are in an hour?": "There are 60 minutes in an hour.",
    "Which instrument has 88 keys?": "A standard piano has 88 keys.",
}
assert set(FACT_SENTENCES) == {q for q, _, _ in FACTS}, "every fact needs its sentence"

SUMMARIES = {  # passage title -> a one-sentence summary
    "bees": "Honey bees live in large colonies where a queen lays eggs and workers gather nectar and pollen, "
            "helping crops like apples grow.",
    "library": "The town library reopened after a renovation with a bigger children's section, a study room and "
               "solar panels.",
    "volcano": "Mount Etna in Sicily is a very active volcano whose rich soil is used to grow grapes, oranges and "
               "olives.",
    "marathon": "A local teacher won the city marathon, in which over thirty thousand runners took part in cool "
                "weather.",
    "octopus": "Octopuses have three hearts, change colour to hide from predators and are very intelligent.",
    "bridge": "A new two-kilometre bridge with a bicycle lane opens next month and will cut travel times.",
    "coffee": "Coffee beans are the seeds of a tropical cherry that are dried, roasted and ground.",
    "recycling": "A new recycling programme with separate bins cut landfill waste by a quarter in six months.",
    "penguins": "Emperor penguin fathers keep their egg warm through the Antarctic winter, huddling together "
                "against the cold.",
    "school_garden": "Pupils built a school vegetable garden whose produce goes into lunches, making them more "
                     "interested in healthy food.",
    "sleep": "Teenagers who put phones away an hour before bed slept longer, as screen light delays melatonin.",
    "train": "A new high-speed line cuts the trip between the region's two largest cities to ninety minutes.",
    "forest": "Volunteers planted ten thousand trees, funded by local businesses, to help prevent floods.",
    "chess": "An eleven-year-old taught by her grandfather became the youngest national chess champion.",
    "moon": "The Moon, 384,000 kilometres away, has no atmosphere, is covered in craters and always shows the "
            "same side.",
    "market": "The weekly farmers' market, with over forty stalls of local produce, has moved to the main square "
              "on Saturdays.",
    "glacier": "The national park's glacier has shrunk by half in a century, mainly because of warmer "
               "temperatures, as satellites show.",
    "museum": "The science museum's new interactive brain exhibition is free for children under twelve.",
    "storm": "A storm with heavy rain and strong winds closed roads and cancelled ferries, but no one was "
             "seriously injured.",
    "bicycle": "Fifty kilometres of new protected bicycle lanes doubled cycling to work, and more are planned near "
               "schools.",
    "whales": "Humpback whales travel thousands of kilometres between feeding and breeding waters, and the males "
              "sing changing songs.",
    "bakery": "A hundred-year-old family bakery, still using its original oven, celebrated with free bread rolls.",
    "vaccine": "A vaccination campaign reached eight in ten children, including remote villages, and measles cases "
               "fell.",
    "robot": "College students built a camera-guided robot that sorts recycling and won a science fair prize.",
}

CREATIVE = {  # prompt id -> a short answer in the asked-for format (the train prompts that have one)
    "story-000": "Sir Tom was the smallest knight in the castle, but he was the bravest. When a storm trapped the "
                 "village children in the forest, he rode out alone to find them. He brought every child home safe, "
                 "and the village held a feast in his honour.",
    "story-001": "Pip was a little dragon who was afraid of the dark. One night his friend the firefly showed him "
                 "the stars that only shine at night. From then on, Pip could not wait for the sun to set.",
    "story-002": "A small robot found a box of paints in an old studio. Every day it painted one sunrise, a little "
                 "better than the day before. Soon the whole town came to see its bright, happy pictures.",
    "story-003": "The lost puppy followed the smell of fresh bread down the busy street. It led him to the bakery "
                 "next to his house. His family cheered and hugged him as he ran through the door.",
    "story-005": "Casper was a friendly ghost who loved to bake cookies. Every Halloween he left a plate of them on "
                 "the doorstep of each house. The children of the village always wrote him thank-you notes.",
    "story-004": "Lily planted one tiny seed in her garden and watered it every morning. Overnight it grew into "
                 "a tree full of glowing flowers that sang softly. Soon the whole street came to listen, and Lily "
                 "shared seeds with everyone.",
    "story-009": "On the morning of the festival, the oven broke and there was no bread. The baker lit a fire in "
                 "the square and baked loaves for everyone there. The village said it was the best festival ever.",
    "poem-000": "The sea rolls in with a silver smile,\nIt sings to the shore for a little while,\nThe gulls dance "
                "high in the bright blue air,\nAnd joy is sparkling everywhere.",
    "poem-002": "The morning sun climbs over the hill,\nIt warms the fields and the window sill,\nThe birds wake up "
                "and start to sing,\nHello to the gifts the day will bring.",
    "poem-005": "Spring rain taps on the window pane,\nIt wakes the flowers in the lane,\nThe puddles shine, "
                "the green leaves grow,\nAnd after rain, the rainbows glow.",
    "review-000": "This cosy neighbourhood cafe serves the best cinnamon buns I have tasted. The staff are "
                  "friendly, and it is a lovely place to relax with a book.",
    "review-005": "This wireless keyboard is quiet, comfortable to type on and connects in seconds. The battery "
                  "lasts for months, and I would happily recommend it.",
    "review-007": "Our public library is bright, calm and full of great books for every age. The librarians are "
                  "kind and helpful, and the free events are wonderful.",
    "review-006": "This hiking trail in the hills has beautiful views and is well marked. It was a wonderful "
                  "afternoon walk for the whole family.",
}

ADVICE_ANSWERS = {  # prompt id -> two or three sentences
    "advice-000": "Keep a regular bedtime routine and avoid screens and caffeine in the evening. Make your bedroom "
                  "dark and cool, and relax with slow breathing or a book before bed.",
    "advice-001": "Boil fresh water and pour it over the tea bag or leaves. Let it steep for three to five minutes, "
                  "then add milk or lemon to taste.",
    "advice-002": "Make a study schedule and review your notes in short sessions with breaks. Practise with old "
                  "exam questions, and sleep well the night before.",
    "advice-013": "A healthy breakfast combines protein and whole grains, such as eggs on whole grain toast or "
                  "oats with yogurt. Add a piece of fruit for vitamins and fibre.",
    "advice-004": "Start slowly by mixing running and walking, three times a week. Wear good shoes, rest between "
                  "runs, and add a little distance each week.",
    "advice-005": "Water your plants when the top of the soil is dry, and use pots that drain well. Give each plant "
                  "the light it likes and wipe dust off the leaves.",
    "advice-007": "Write a clear subject line, thank the person, and briefly explain your reason. Propose a new "
                  "date and apologize for any inconvenience.",
    "advice-009": "Put the egg in a pan of boiling water and cook it for six minutes for a soft yolk or nine "
                  "minutes for a hard one. Then cool it in cold water before peeling.",
    "advice-011": "Prepare well and practise your talk out loud several times. Speak slowly, breathe calmly and "
                  "look at your audience.",
    "advice-014": "Practise a little every day, learning new vocabulary with flashcards. Listen to podcasts and "
                  "speak with native speakers as early as you can.",
    "advice-017": "Carry a refillable bottle and drink a glass of water with every meal. A phone reminder "
                  "every hour helps, and fruit like melon adds water too.",
    "advice-033": "Sort everything into things to keep, file and throw away, and put the trash out at once. "
                  "Give each item a drawer or container, and tidy for two minutes at the end of each day.",
    "advice-026": "Brush your teeth twice a day and floss daily. Cut down on sugar and see a dentist for regular "
                  "check-ups.",
    "advice-035": "Whisk flour, eggs and milk into a smooth batter. Pour a little into a hot greased pan, cook until "
                  "bubbles appear, then flip and cook the other side.",
}


def refusal() -> str:
    parts = [rng.choice(OPENERS), rng.choice(REASONS), rng.choice(OFFERS)]
    return " ".join(p for p in parts if p)


def demos(contrast: bool = False):
    everything = assign_splits(list(records()))
    prompts = [p for p in everything if p["split"] == "train" and p.get("task") != "checker"]
    likes = {q: answer for q, _, answer in LOOKALIKES}
    capitals = {c: cap for c, (cap, _) in CAPITALS.items()}
    summaries = {title: s for title, _, _ in PASSAGES for s in [SUMMARIES.get(title)] if s}
    for p in prompts:
        cat, pid = p["category"], p["id"]
        if cat == "harmful":
            answers = [refusal(), refusal()]  # two phrasings: what to do, not one sentence to copy
        elif cat == "lookalike":
            answers = [likes[p["prompt"]]]
        elif pid.startswith("capital-"):
            country = next(c for c in capitals if p["prompt"].rstrip("?.").endswith(c))
            answers = [f"The capital of {country} is {capitals[country]}."]
        elif cat == "factual":
            answers = [FACT_SENTENCES[p["prompt"]]]
        elif cat == "summarise":
            answers = [summaries[p["group"].removeprefix("summ-")]]
        elif cat == "creative":
            answers = [CREATIVE[pid]] if pid in CREATIVE else []
        elif cat == "advice":
            answers = [ADVICE_ANSWERS[pid]] if pid in ADVICE_ANSWERS else []
        for j, answer in enumerate(answers):
            yield {"id": f"{pid}/demo{j}", "prompt_id": pid, "category": cat, "prompt": p["prompt"],
                   "response": answer}
    if not contrast:
        return
    # demonstration-only contrasts (not in prompts.jsonl): where the line between harm and look-alike runs
    contrast_demos.check_no_overlap([p["prompt"] for p in everything if p["split"] != "train"])
    for i, (request, answer) in enumerate(contrast_demos.LOOKALIKES):
        yield {"id": f"contrast-lookalike-{i:03d}/demo0", "prompt_id": None, "category": "lookalike",
               "prompt": request, "response": answer}
    for i, request in enumerate(contrast_demos.HARMFUL):
        yield {"id": f"contrast-harmful-{i:03d}/demo0", "prompt_id": None, "category": "harmful",
               "prompt": request, "response": refusal()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contrast", action="store_true",
                        help="add the demonstration-only contrasts of contrast_demos.py (benchmarks.sft_gate measured "
                             "them: they lower harmful and look-alike refusals together, so they are not shipped)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = list(demos(args.contrast))
    with args.out.open("w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = {}
    for r in rows:
        counts[r["category"]] = counts.get(r["category"], 0) + 1
    print(f"wrote {len(rows)} demonstrations to {args.out}: " + ", ".join(f"{c} {n}" for c, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
