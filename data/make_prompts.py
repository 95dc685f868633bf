"""Write data/prompts.jsonl: the course's prompts, each with something a checker can verify.

    python data/make_prompts.py

Categories: factual (known answers), creative (very short stories, poems, positive reviews), advice (how-to, in
two or three sentences), summarise (short passages with key facts, in one sentence), harmful (requests a good
assistant declines) and lookalike (harmless requests that sound harmful: "How do I kill a Python process?"; see
safety_prompts.py). Every prompt asks for an answer short enough to finish within the course's token budgets.

Arithmetic and conversion prompts carry `"task": "checker"`: their answer is one number that a program checks
exactly, so they are not part of the preference task (a reward model learned from labels cannot know every sum);
appendix 02b uses them to show that limit.

Each prompt is assigned to train / val / test by a hash of its id (or of its group: the two phrasings of one
summarisation passage), so a prompt never crosses splits. Harmful and look-alike prompts are split half / quarter /
quarter, so that the held-out safety slices are large enough to read a confidence interval from.
"""

import hashlib
import json
import random
from pathlib import Path

from safety_prompts import HARMFUL, LOOKALIKES

OUT = Path(__file__).with_name("prompts.jsonl")
rng = random.Random(593008363)

# country: (capital, cities people confuse with it)
CAPITALS = {
    "France": ("Paris", ["Lyon", "Marseille"]), "Germany": ("Berlin", ["Munich", "Frankfurt", "Bonn"]),
    "Italy": ("Rome", ["Milan", "Venice"]), "Spain": ("Madrid", ["Barcelona", "Seville"]),
    "Portugal": ("Lisbon", ["Porto"]), "United Kingdom": ("London", ["Manchester", "Edinburgh"]),
    "Ireland": ("Dublin", ["Cork"]), "Netherlands": ("Amsterdam", ["Rotterdam"]),
    "Belgium": ("Brussels", ["Antwerp"]), "Austria": ("Vienna", ["Salzburg"]),
    "Switzerland": ("Bern", ["Zurich", "Geneva"]), "Poland": ("Warsaw", ["Krakow"]),
    "Greece": ("Athens", ["Thessaloniki"]), "Sweden": ("Stockholm", ["Gothenburg"]),
    "Norway": ("Oslo", ["Bergen"]), "Finland": ("Helsinki", ["Turku"]), "Denmark": ("Copenhagen", ["Aarhus"]),
    "Russia": ("Moscow", ["Saint Petersburg"]), "Turkey": ("Ankara", ["Istanbul"]),
    "Egypt": ("Cairo", ["Alexandria"]), "Nigeria": ("Abuja", ["Lagos"]), "Kenya": ("Nairobi", ["Mombasa"]),
    "Morocco": ("Rabat", ["Casablanca", "Marrakesh"]), "South Africa": ("Pretoria", ["Johannesburg"]),
    "China": ("Beijing", ["Shanghai", "Hong Kong"]), "Japan": ("Tokyo", ["Kyoto", "Osaka"]),
    "South Korea": ("Seoul", ["Busan"]), "India": ("New Delhi", ["Mumbai", "Kolkata"]),
    "Pakistan": ("Islamabad", ["Karachi", "Lahore"]), "Vietnam": ("Hanoi", ["Ho Chi Minh City"]),
    "Thailand": ("Bangkok", ["Chiang Mai"]), "Indonesia": ("Jakarta", ["Bali", "Surabaya"]),
    "Australia": ("Canberra", ["Sydney", "Melbourne"]), "New Zealand": ("Wellington", ["Auckland"]),
    "Canada": ("Ottawa", ["Toronto", "Montreal", "Vancouver"]), "United States": ("Washington", ["New York"]),
    "Mexico": ("Mexico City", ["Guadalajara", "Cancun"]), "Brazil": ("Brasilia", ["Rio de Janeiro", "Sao Paulo"]),
    "Argentina": ("Buenos Aires", ["Cordoba"]), "Chile": ("Santiago", ["Valparaiso"]),
    "Peru": ("Lima", ["Cusco"]), "Colombia": ("Bogota", ["Medellin"]), "Cuba": ("Havana", ["Santiago de Cuba"]),
    "Iran": ("Tehran", ["Isfahan"]), "Saudi Arabia": ("Riyadh", ["Jeddah", "Mecca"]),
    "Israel": ("Jerusalem", ["Tel Aviv"]), "Iceland": ("Reykjavik", ["Akureyri"]),
    "Hungary": ("Budapest", ["Debrecen"]), "Czech Republic": ("Prague", ["Brno"]),
    "Ukraine": ("Kyiv", ["Kharkiv", "Odesa"]),
}
CAPITAL_TEMPLATES = ["What is the capital of {c}?", "Which city is the capital of {c}?",
                     "Name the capital city of {c}.", "What city serves as the capital of {c}?"]

# question, accepted answers, tempting wrong answers
FACTS = [
    ("Which planet is closest to the Sun?", ["Mercury"], ["Venus", "Mars"]),
    ("Which planet is known as the Red Planet?", ["Mars"], ["Jupiter", "Venus"]),
    ("What is the largest planet in our solar system?", ["Jupiter"], ["Saturn", "Earth"]),
    ("Who wrote the play Romeo and Juliet?", ["Shakespeare"], ["Dickens", "Marlowe"]),
    ("Who painted the Mona Lisa?", ["Leonardo", "da Vinci"], ["Michelangelo", "Raphael"]),
    ("What is the chemical symbol for gold?", ["Au"], ["Ag", "Go"]),
    ("What is the chemical symbol for sodium?", ["Na"], ["So", "Sd"]),
    ("What gas do plants absorb from the air for photosynthesis?", ["carbon dioxide", "CO2"], ["oxygen", "nitrogen"]),
    ("How many continents are there on Earth?", ["seven", "7"], ["six", "eight"]),
    ("What is the freezing point of water in degrees Celsius?", ["0", "zero"], ["32", "100"]),
    ("What is the boiling point of water at sea level in degrees Celsius?", ["100"], ["90", "212"]),
    ("How many legs does a spider have?", ["eight", "8"], ["six", "ten"]),
    ("What is the largest ocean on Earth?", ["Pacific"], ["Atlantic", "Indian"]),
    ("What is the longest river in South America?", ["Amazon"], ["Orinoco", "Parana"]),
    ("Which element has the atomic number 1?", ["hydrogen"], ["helium", "oxygen"]),
    ("In which year did the first human land on the Moon?", ["1969"], ["1968", "1972"]),
    ("Who developed the theory of general relativity?", ["Einstein"], ["Newton", "Bohr"]),
    ("What is the hardest natural substance?", ["diamond"], ["quartz", "steel"]),
    ("How many days are there in a leap year?", ["366"], ["365", "364"]),
    ("What is the smallest prime number?", ["2", "two"], ["1", "one"]),
    ("Which organ pumps blood through the human body?", ["heart"], ["liver", "lungs"]),
    ("What is the main language spoken in Brazil?", ["Portuguese"], ["Spanish"]),
    ("Which animal is the largest mammal?", ["blue whale"], ["elephant"]),
    ("How many sides does a hexagon have?", ["six", "6"], ["five", "eight"]),
    ("What is the currency of Japan?", ["yen"], ["yuan", "won"]),
    ("Who was the first President of the United States?", ["George Washington"], ["Abraham Lincoln", "Thomas Jefferson"]),
    ("What is the tallest mountain in the world?", ["Everest"], ["K2", "Kilimanjaro"]),
    ("Which gas makes up most of the Earth's atmosphere?", ["nitrogen"], ["oxygen", "carbon dioxide"]),
    ("How many minutes are in an hour?", ["60", "sixty"], ["100"]),
    ("Which instrument has 88 keys?", ["piano"], ["guitar", "organ"]),
]

CONVERSIONS = [  # (from unit, to unit, factor, values)
    ("metres", "centimetres", 100, [2, 3, 5, 7, 12]), ("kilometres", "metres", 1000, [2, 4, 6, 9]),
    ("kilograms", "grams", 1000, [2, 3, 5, 8]), ("hours", "minutes", 60, [2, 3, 5, 10]),
    ("minutes", "seconds", 60, [2, 4, 6, 15]), ("litres", "millilitres", 1000, [2, 3, 7]),
    ("days", "hours", 24, [2, 3, 7]), ("weeks", "days", 7, [3, 5, 8, 12]), ("centimetres", "millimetres", 10, [4, 9, 25]),
]

STORY_TOPICS = ["a brave knight", "a dragon who is afraid of the dark", "a robot learning to paint",
                "a lost puppy finding its way home", "a girl who plants a magic garden", "a friendly ghost",
                "a sailor and a lighthouse", "a cat who becomes mayor", "two friends climbing a mountain",
                "a baker who saves the village festival", "a child's first day at school", "a tortoise who wins a race",
                "an astronaut who finds a new planet", "a grandmother's secret recipe", "a kind giant",
                "a firefighter who rescues a kitten"]
POEM_TOPICS = ["the sea", "autumn leaves", "the morning sun", "friendship", "a quiet forest", "spring rain",
               "the stars at night", "a mountain lake"]
REVIEW_TOPICS = ["a cosy neighbourhood cafe", "a new pair of running shoes", "a family-friendly hotel by the beach",
                 "a science museum", "a pizza restaurant", "a wireless keyboard", "a hiking trail in the hills",
                 "a public library", "a children's book about space", "a yoga class"]

ADVICE = [  # prompt, keywords a helpful answer mentions
    ("How can I fall asleep faster at night?", ["bed", "screen", "caffeine", "routine", "dark", "relax"]),
    ("How do I make a good cup of tea?", ["water", "boil", "tea", "steep", "minutes", "milk"]),
    ("What are some tips for studying for an exam?", ["schedule", "break", "practice", "notes", "sleep", "review"]),
    ("How can I save money each month?", ["budget", "spend", "track", "save", "expenses"]),
    ("How do I start running as a beginner?", ["slow", "walk", "shoes", "week", "rest", "distance"]),
    ("How can I keep my houseplants healthy?", ["water", "light", "soil", "drain", "pot"]),
    ("What should I pack for a weekend camping trip?", ["tent", "sleeping bag", "water", "food", "flashlight", "clothes"]),
    ("How do I write a polite email asking for a deadline extension?", ["subject", "apologize", "reason", "date", "thank"]),
    ("How can I reduce stress at work?", ["break", "prioritize", "exercise", "breath", "sleep", "talk"]),
    ("How do I boil an egg?", ["water", "boil", "minutes", "cold", "egg"]),
    ("How do I change a flat tyre on a car?", ["jack", "spare", "nuts", "loosen", "tighten"]),
    ("How can I improve my public speaking?", ["practice", "audience", "slow", "breath", "prepare"]),
    ("How do I clean a cast iron pan?", ["water", "dry", "oil", "soap", "scrub"]),
    ("What is a healthy breakfast?", ["fruit", "protein", "oats", "eggs", "whole grain", "yogurt"]),
    ("How can I learn a new language faster?", ["practice", "daily", "vocabulary", "speak", "listen"]),
    ("How do I keep my passwords safe?", ["password manager", "unique", "two-factor", "long", "share"]),
    ("How do I make my bed neatly?", ["sheet", "corners", "pillow", "blanket", "smooth"]),
    ("How can I drink more water during the day?", ["bottle", "reminder", "glass", "meal", "fruit"]),
    ("How do I prepare for a job interview?", ["research", "company", "practice", "questions", "examples"]),
    ("How can I be a better listener?", ["attention", "interrupt", "questions", "eye contact", "listen"]),
    ("How do I plant tomato seeds?", ["soil", "sun", "water", "seeds", "deep", "warm"]),
    ("How do I keep my phone battery healthy?", ["charge", "heat", "percent", "brightness", "battery"]),
    ("How can I make new friends in a new city?", ["club", "class", "volunteer", "neighbours", "events"]),
    ("How do I wash a wool sweater?", ["cold", "gentle", "flat", "dry", "detergent", "hand"]),
    ("How can I stay focused while working from home?", ["routine", "workspace", "breaks", "distractions", "schedule"]),
    ("How do I teach a dog to sit?", ["treat", "reward", "command", "repeat", "patience"]),
    ("What are good habits for healthy teeth?", ["brush", "floss", "twice", "sugar", "dentist"]),
    ("How do I make a simple budget?", ["income", "expenses", "categories", "track", "savings"]),
    ("How can I cool down my room without air conditioning?", ["fan", "curtains", "window", "night", "shade"]),
    ("How do I remove a coffee stain from a shirt?", ["cold water", "blot", "soap", "vinegar", "wash"]),
    ("How can I get better at cooking?", ["recipes", "practice", "knife", "taste", "simple"]),
    ("How do I start a vegetable garden?", ["sun", "soil", "water", "plan", "seeds", "compost"]),
    ("What should I do if I feel lonely?", ["friends", "family", "talk", "activity", "reach out"]),
    ("How do I organise a messy desk?", ["sort", "drawer", "trash", "containers", "daily"]),
    ("How can I walk more every day?", ["stairs", "steps", "walk", "park", "break"]),
    ("How do I make pancakes?", ["flour", "eggs", "milk", "pan", "batter", "flip"]),
]

PASSAGES = [  # (title, passage, key facts a good summary keeps)
    ("bees", "Honey bees live in colonies of up to sixty thousand insects. A single queen lays the eggs, while worker bees "
     "collect nectar and pollen from flowers. By carrying pollen from plant to plant, bees help many crops grow, "
     "including apples and almonds.", ["queen", "nectar", "pollen", "crops"]),
    ("library", "The town library reopened on Monday after a six-month renovation. The building now has a larger children's "
     "section, a quiet study room and solar panels on the roof. The mayor said the project finished on time and under "
     "budget.", ["library", "renovation", "children", "solar"]),
    ("volcano", "Mount Etna, on the Italian island of Sicily, is one of the most active volcanoes in the world. It erupts "
     "several times a year, but most eruptions are small. The rich volcanic soil around it is used to grow grapes, "
     "oranges and olives.", ["Etna", "Sicily", "active", "soil"]),
    ("marathon", "More than thirty thousand runners took part in the city marathon on Sunday. The race was won by a "
     "local teacher who had trained for two years. Organisers said the cool weather helped many runners set personal "
     "records.", ["marathon", "teacher", "won", "weather"]),
    ("octopus", "Octopuses have three hearts and blue blood. They can change the colour and texture of their skin in a "
     "fraction of a second to hide from predators. Scientists consider them among the most intelligent invertebrates.",
     ["three hearts", "colour", "predators", "intelligent"]),
    ("bridge", "Engineers have finished testing the new bridge across the river. The bridge is two kilometres long and "
     "has a lane for bicycles. It will open to traffic next month and is expected to cut travel times by twenty "
     "minutes.", ["bridge", "bicycles", "next month", "travel"]),
    ("coffee", "Coffee plants grow best in tropical regions at high altitude. The beans are the seeds of a red fruit "
     "called a coffee cherry. After harvesting, the seeds are dried, roasted and ground before brewing.",
     ["tropical", "seeds", "cherry", "roasted"]),
    ("recycling", "The city started a new recycling programme this year. Households now receive separate bins for glass, "
     "paper and plastic. In the first six months, the amount of waste sent to landfill fell by a quarter.",
     ["recycling", "bins", "landfill", "quarter"]),
    ("penguins", "Emperor penguins breed during the Antarctic winter. The male keeps the single egg warm on his feet for "
     "about two months while the female returns to the sea to feed. Huddling together helps the birds survive the "
     "extreme cold.", ["Antarctic", "egg", "male", "huddling"]),
    ("school_garden", "Pupils at a local primary school have built a vegetable garden on their playground. They grow "
     "carrots, beans and lettuce, which are used in school lunches. Teachers say the children have become more "
     "interested in healthy food.", ["garden", "vegetables", "lunches", "healthy"]),
    ("sleep", "Researchers found that teenagers who put their phones away an hour before bed slept about thirty minutes "
     "longer. The blue light from screens can delay the body's release of melatonin, a hormone that controls sleep. "
     "The study followed two hundred students for a month.", ["teenagers", "phones", "melatonin", "longer"]),
    ("train", "A new high-speed train line links the two largest cities in the region. The journey now takes ninety "
     "minutes instead of three hours. Tickets went on sale last week and the first trains were fully booked.",
     ["high-speed", "ninety minutes", "cities", "booked"]),
    ("forest", "Volunteers planted ten thousand trees on the hills outside the town over the weekend. The new forest "
     "will help prevent floods by holding soil and water. The project was funded by local businesses.",
     ["trees", "volunteers", "floods", "businesses"]),
    ("chess", "An eleven-year-old girl won the national chess championship on Saturday, becoming the youngest champion "
     "in its history. She learned to play from her grandfather at the age of five. Her next goal is to compete "
     "internationally.", ["eleven", "chess", "youngest", "grandfather"]),
    ("moon", "The Moon is about 384,000 kilometres from Earth. It has no atmosphere, so its surface is covered with "
     "craters from meteorite impacts. The same side of the Moon always faces Earth because it rotates once for each "
     "orbit.", ["384,000", "atmosphere", "craters", "same side"]),
    ("market", "The weekly farmers' market has moved to the main square. More than forty stalls sell fruit, cheese, "
     "bread and flowers from nearby farms. The market is open every Saturday morning from eight until one.",
     ["market", "square", "farms", "Saturday"]),
    ("glacier", "The glacier in the national park has shrunk by half in the last century. Scientists measure it every "
     "summer using satellites and stakes in the ice. Warmer temperatures are the main cause of the melting.",
     ["glacier", "half", "satellites", "warmer"]),
    ("museum", "The science museum opened a new exhibition about the human brain. Visitors can test their memory, "
     "reaction time and balance at interactive stations. Entry to the exhibition is free for children under twelve.",
     ["brain", "exhibition", "interactive", "free"]),
    ("storm", "A strong storm brought heavy rain and winds of up to one hundred kilometres per hour to the coast on "
     "Tuesday. Several roads were closed because of fallen trees, and two ferries were cancelled. No one was "
     "seriously injured.", ["storm", "roads", "ferries", "injured"]),
    ("bicycle", "The city has added fifty kilometres of protected bicycle lanes over the past two years. Since then, "
     "the number of people cycling to work has doubled. The council plans to add more lanes near schools.",
     ["bicycle lanes", "doubled", "schools", "cycling"]),
    ("whales", "Humpback whales travel thousands of kilometres each year between cold feeding waters and warm breeding "
     "waters. Males sing long, complex songs that can be heard many kilometres away. The songs change slowly from year to "
     "year.", ["humpback", "travel", "songs", "breeding"]),
    ("bakery", "A family bakery celebrated its hundredth anniversary this week. It is run by the fourth generation of the "
     "same family and still uses the original oven. To celebrate, it gave free bread rolls to every customer.",
     ["bakery", "hundred", "family", "oven"]),
    ("vaccine", "Doctors in the region report that a new vaccination campaign has reached eight out of ten children. "
     "Mobile clinics visited remote villages that have no hospital. Cases of measles have fallen sharply since the "
     "campaign began.", ["vaccination", "children", "villages", "measles"]),
    ("robot", "Students at the technical college built a robot that sorts recycling by material. It uses a camera and a "
     "small computer to recognise glass, metal and plastic. The robot won first prize at a regional science fair.",
     ["robot", "recycling", "camera", "prize"]),
]

def conversion_slips(value: int, factor: int) -> list[str]:
    """Typical slips converting `value` units: a factor of ten too many or too few, or dividing instead.

    Numbers a correct worked answer states (the value itself, the factor) are never listed as wrong."""
    slips = {value * factor * 10, value * factor // 10, value * factor + factor}
    if value % factor == 0:
        slips.add(value // factor)
    return [str(x) for x in sorted(slips - {value, factor, value * factor, 0})]


SAFETY = ("harmful", "lookalike")  # split exactly 50 / 25 / 25 instead of about 70 / 15 / 15


def _hash(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16)


def split_of(prompt_id: str) -> str:
    h = _hash(prompt_id) % 100
    return "train" if h < 70 else ("val" if h < 85 else "test")


def assign_splits(rows: list[dict]) -> list[dict]:
    """Each row with its split: by a hash of its id or group; a safety category's prompts in hash order, the first
    half to train and a quarter each to val and test (so each held-out safety slice has a known size)."""
    out = [dict(r, split=split_of(r.get("group", r["id"]))) for r in rows]
    for category in SAFETY:
        ranked = sorted((r for r in out if r["category"] == category), key=lambda r: _hash(r["id"]))
        for k, r in enumerate(ranked):
            r["split"] = "train" if k < len(ranked) // 2 else ("val" if k < 3 * len(ranked) // 4 else "test")
    return out


def records():
    for i, (country, (capital, wrong)) in enumerate(CAPITALS.items()):
        template = CAPITAL_TEMPLATES[0] if country == "France" else rng.choice(CAPITAL_TEMPLATES)
        yield {"id": f"capital-{i:03d}", "category": "factual", "prompt": template.format(c=country),
               "answers": [capital], "wrong": wrong}
    for i, (q, answers, wrong) in enumerate(FACTS):
        yield {"id": f"fact-{i:03d}", "category": "factual", "prompt": q, "answers": answers, "wrong": wrong}
    ops = [("+", lambda a, b: a + b, "What is {a} + {b}?"), ("-", lambda a, b: a - b, "What is {a} minus {b}?"),
           ("*", lambda a, b: a * b, "What is {a} times {b}?"), ("+", lambda a, b: a + b, "Calculate {a} plus {b}.")]
    for i in range(60):
        sym, fn, template = ops[i % len(ops)]
        a, b = (rng.randint(2, 15), rng.randint(2, 15)) if sym == "*" else (rng.randint(10, 99), rng.randint(2, 60))
        if sym == "-" and b > a:
            a, b = b, a
        result = fn(a, b)
        wrong = sorted({result + 1, result - 1, result + 10} - {result})
        yield {"id": f"arith-{i:03d}", "category": "arithmetic", "prompt": template.format(a=a, b=b),
               "answers": [str(result)], "wrong": [str(w) for w in wrong], "task": "checker"}
    i = 0
    for src, dst, factor, values in CONVERSIONS:
        for v in values:
            yield {"id": f"conv-{i:03d}", "category": "conversion", "prompt": f"How many {dst} are in {v} {src}?",
                   "answers": [str(v * factor)], "wrong": conversion_slips(v, factor), "task": "checker"}
            i += 1
    for i, topic in enumerate(STORY_TOPICS):
        prompt = f"Write a three-sentence story about {topic}."
        yield {"id": f"story-{i:03d}", "category": "creative", "prompt": prompt,
               "keywords": [w for w in topic.replace("'s", "").split() if len(w) > 3], "tone": "positive"}
    for i, topic in enumerate(POEM_TOPICS):
        yield {"id": f"poem-{i:03d}", "category": "creative", "prompt": f"Write a cheerful four-line poem about {topic}.",
               "keywords": [w for w in topic.split() if len(w) > 3], "tone": "positive"}
    for i, topic in enumerate(REVIEW_TOPICS):
        yield {"id": f"review-{i:03d}", "category": "creative", "prompt": f"Write a two-sentence positive review of {topic}.",
               "keywords": [w for w in topic.split() if len(w) > 3], "tone": "positive"}
    for i, (q, keywords) in enumerate(ADVICE):
        yield {"id": f"advice-{i:03d}", "category": "advice", "prompt": f"{q} Please answer in two or three sentences.",
               "keywords": keywords}
    for title, passage, facts in PASSAGES:
        for j, ask in enumerate(["Summarise this passage in one sentence:", "Give a one-sentence summary of the following text:"]):
            yield {"id": f"summ-{title}-{j}", "group": f"summ-{title}", "category": "summarise",
                   "prompt": f"{ask}\n\n{passage}", "passage": passage, "keywords": facts}
    for i, (q, keywords) in enumerate(HARMFUL):
        yield {"id": f"harm-{i:03d}", "category": "harmful", "prompt": q, "keywords": keywords}
    for i, (q, keywords, _answer) in enumerate(LOOKALIKES):
        yield {"id": f"like-{i:03d}", "category": "lookalike", "prompt": q, "keywords": keywords}


def main():
    # Prompts that share a passage share a group, so one passage never sits in two splits.
    rows = assign_splits(list(records()))
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate prompt ids"
    with OUT.open("w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = {}
    for r in rows:
        counts[(r["category"], r["split"])] = counts.get((r["category"], r["split"]), 0) + 1
    print(f"wrote {len(rows)} prompts to {OUT}")
    for cat in sorted({c for c, _ in counts}):
        print(f"  {cat:11s} " + "  ".join(f"{s}={counts.get((cat, s), 0)}" for s in ("train", "val", "test")))


if __name__ == "__main__":
    main()
