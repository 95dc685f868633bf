"""Write data/voice_prompts.jsonl: what people say to a voice assistant, each with something a checker can verify.

    python data/make_voice_prompts.py

Categories (chapter 5, voice assistants): timer (timers, alarms, reminders: the answer confirms the right time),
weather (weather-style questions answered from general knowledge: no live data), fact (quick facts), conversion
(units, one number), howto (how-to in one breath), smalltalk (greetings, thanks, news from the user's day).
Fields: `answers` (an answer is right when it says one of these), `wrong` (tempting wrong answers), `keywords`
(words a relevant answer uses). Within each category a seeded shuffle puts ~60% in train, ~15% in val, the rest
in test.
"""

import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("voice_prompts.jsonl")


def dur(n: int, word: str, unit: str) -> list[str]:
    """Ways to say a duration: "10 minutes", "ten minutes", "10-minute", "10 minute", ..."""
    base = unit.rstrip("s")
    return [f"{n} {unit}", f"{word} {unit}", f"{n}-{base}", f"{word}-{base}", f"{n} {base}", f"{word} {base}"]


# (prompt, answers, wrong, keywords)
PROMPTS = {
    "timer": [
        ("Set a timer for 10 minutes.", dur(10, "ten", "minutes"), dur(5, "five", "minutes")[:2], ["timer"]),
        ("Start a 5 minute timer for my tea.", dur(5, "five", "minutes"), dur(10, "ten", "minutes")[:2], ["tea", "timer"]),
        ("Remind me in 20 minutes to check the oven.", dur(20, "twenty", "minutes"), [], ["oven"]),
        ("Set an alarm for 7 in the morning.", ["7", "seven"], ["8", "eight", "6", "six"], ["alarm", "morning"]),
        ("Can you time 30 seconds for me?", dur(30, "thirty", "seconds"), [], ["timer", "seconds"]),
        ("Set a timer for one hour.", ["one hour", "1 hour", "an hour", "60 minutes", "1-hour", "one-hour"], [], ["timer"]),
        ("Remind me to call mom at 6 pm.", ["6", "six"], ["7", "seven", "5", "five"], ["call", "mom"]),
        ("Set a timer for 15 minutes for the pasta.", dur(15, "fifteen", "minutes"), [], ["pasta", "timer"]),
        ("Wake me up at 6:30 tomorrow.", ["6:30", "six thirty", "half past six"], ["7:30", "5:30"], ["alarm", "tomorrow"]),
        ("Set a 2 minute timer.", dur(2, "two", "minutes"), [], ["timer"]),
        ("Remind me to drink water in an hour.", ["an hour", "one hour", "1 hour", "60 minutes"], [], ["water"]),
        ("Start a 45 second timer.", dur(45, "forty-five", "seconds") + ["forty five seconds"], [], ["timer"]),
    ],
    "weather": [
        ("Do I need an umbrella if it's going to rain later?", [], [], ["umbrella", "yes", "rain", "dry"]),
        ("It's 5 degrees Celsius outside. What is that in Fahrenheit?", ["41"], ["40", "9", "23"], ["fahrenheit"]),
        ("What should I wear when it's 30 degrees Celsius?", [], [],
         ["light", "shorts", "t-shirt", "sunscreen", "hat", "cool", "loose"]),
        ("Is it safe to go outside during a thunderstorm?", [], [], ["indoors", "inside", "lightning", "shelter", "wait"]),
        ("What does a 70 percent chance of rain mean?", [], [], ["likely", "rain", "umbrella", "chance", "probably"]),
        ("Why is the sky grey on rainy days?", [], [], ["clouds", "sunlight", "thick", "water", "droplets"]),
        ("It's minus 10 Celsius today. Is that cold?", [], [], ["cold", "freezing", "coat", "below", "warm"]),
        ("What is wind chill?", [], [], ["wind", "feels", "colder", "skin", "temperature"]),
        ("How should I dress for snow?", [], [], ["layers", "boots", "gloves", "hat", "coat", "waterproof", "warm"]),
        ("At what temperature does water freeze in Fahrenheit?", ["32"], ["0", "100", "212"], ["freezes"]),
        ("Is 20 degrees Celsius warm or cold?", [], [], ["mild", "pleasant", "warm", "comfortable", "jacket"]),
        ("What is humidity?", [], [], ["water", "vapor", "vapour", "air", "moisture"]),
        ("What causes fog?", [], [], ["water", "droplets", "cool", "air", "cloud"]),
    ],
    "fact": [
        ("How many legs does a spider have?", ["8", "eight"], ["6", "six", "10", "ten"], []),
        ("Who wrote Romeo and Juliet?", ["Shakespeare"], ["Dickens", "Marlowe"], []),
        ("What is the largest planet in our solar system?", ["Jupiter"], ["Saturn", "Neptune"], []),
        ("How many days are in a leap year?", ["366"], ["365", "364"], []),
        ("What is the tallest mountain in the world?", ["Everest"], ["K2", "Kilimanjaro"], []),
        ("What is the chemical symbol for gold?", ["Au"], ["Ag", "Gd"], []),
        ("Who painted the Mona Lisa?", ["Leonardo", "da Vinci"], ["Michelangelo", "Raphael", "Picasso"], []),
        ("What is the capital of Japan?", ["Tokyo"], ["Kyoto", "Osaka"], []),
        ("How many continents are there?", ["7", "seven"], ["5", "five", "6", "six", "8", "eight"], []),
        ("What is the boiling point of water in Celsius?", ["100"], ["212", "90"], []),
        ("What is the longest river in the world?", ["Nile", "Amazon"], ["Mississippi", "Yangtze", "Thames"], []),
        ("How many players does a soccer team have on the field?", ["11", "eleven"], ["10", "ten", "12", "twelve"], []),
        ("Which planet is known as the red planet?", ["Mars"], ["Venus", "Jupiter"], []),
        ("Which ocean is the largest?", ["Pacific"], ["Atlantic", "Indian", "Arctic"], []),
        ("How many hours are in a day?", ["24"], ["12", "48"], []),
        ("What is the freezing point of water in Celsius?", ["0", "zero"], ["32", "100"], []),
    ],
    "conversion": [
        ("How many minutes are in 3 hours?", ["180"], ["120", "240"], []),
        ("How many ounces are in a pound?", ["16"], ["12", "8", "10"], []),
        ("How many feet are in a mile?", ["5280"], ["5000", "1000"], []),
        ("How many grams are in a kilogram?", ["1000"], ["100", "10000"], []),
        ("How many seconds are in 5 minutes?", ["300"], ["500", "250"], []),
        ("How many centimetres are in a metre?", ["100"], ["10", "1000"], []),
        ("How many days are in 3 weeks?", ["21"], ["14", "28"], []),
        ("How many millilitres are in 2 litres?", ["2000"], ["200", "20000"], []),
        ("How many inches are in a foot?", ["12"], ["10", "16"], []),
        ("How many months are in 4 years?", ["48"], ["40", "52"], []),
        ("How many minutes are in a day?", ["1440"], ["1400", "1000", "144"], []),
        ("How many hours are in a week?", ["168"], ["144", "170"], []),
        ("How many metres are in 5 kilometres?", ["5000"], ["500", "50000"], []),
        ("How many quarters make a dollar?", ["4", "four"], ["3", "three", "5", "five"], []),
    ],
    "howto": [
        ("How do I boil an egg?", [], [], ["water", "boil", "minutes", "egg"]),
        ("How do I reset my router?", [], [], ["unplug", "power", "button", "seconds", "plug"]),
        ("How do I make a cup of tea?", [], [], ["boil", "water", "tea bag", "steep", "minutes", "cup"]),
        ("How do I take a screenshot on my phone?", [], [], ["power", "volume", "button", "press"]),
        ("How can I fall asleep faster?", [], [], ["screens", "dark", "routine", "relax", "breathing", "caffeine", "bed"]),
        ("How do I get a coffee stain out of a shirt?", [], [], ["cold water", "soap", "detergent", "soak", "rinse", "blot"]),
        ("How do I cook rice?", [], [], ["water", "rice", "boil", "simmer", "cover", "minutes"]),
        ("How do I remove a splinter?", [], [], ["tweezers", "clean", "needle", "wash", "soap"]),
        ("How do I make my phone battery last longer?", [], [],
         ["brightness", "apps", "low power", "battery saver", "background"]),
        ("How do I unclog a sink?", [], [], ["plunger", "baking soda", "vinegar", "hot water", "drain"]),
        ("How do I say thank you in Spanish?", ["gracias"], [], []),
        ("How often should I water a cactus?", [], [], ["soil", "dry", "water", "rarely", "weeks"]),
        ("How do I stop hiccups?", [], [], ["breath", "hold", "water", "drink", "sip"]),
        ("How do I clean my glasses?", [], [], ["cloth", "microfiber", "soap", "water", "lens"]),
        ("How do I make toast?", [], [], ["bread", "toaster", "minutes", "butter", "brown"]),
        ("How do I cool down a hot room?", [], [], ["fan", "window", "curtains", "blinds", "shade", "air"]),
    ],
    "smalltalk": [
        ("Good morning!", [], [], ["morning", "good", "day", "help"]),
        ("How are you today?", [], [], ["good", "well", "great", "thanks", "fine", "doing"]),
        ("Tell me a joke.", [], [], ["why", "because", "what do you call", "knock"]),
        ("Thanks for your help!", [], [], ["welcome", "glad", "anytime", "pleasure", "happy"]),
        ("I'm feeling a bit tired today.", [], [], ["rest", "sleep", "break", "sorry", "water", "tired"]),
        ("What's your name?", [], [], ["assistant", "name", "call me"]),
        ("Good night!", [], [], ["night", "sleep", "sweet dreams", "rest"]),
        ("I just got a new puppy!", [], [], ["congratulations", "puppy", "exciting", "fun", "name", "wonderful"]),
        ("It's my birthday today.", [], [], ["happy birthday", "birthday", "celebrate", "congratulations"]),
        ("I'm bored. Any ideas?", [], [], ["walk", "read", "book", "game", "music", "try", "call"]),
        ("Can you cheer me up?", [], [], ["smile", "you", "great", "sorry", "here", "joke"]),
        ("What do you like to do for fun?", [], [], ["fun", "enjoy", "like", "love", "chat", "help"]),
        ("I passed my driving test!", [], [], ["congratulations", "well done", "great", "proud", "amazing"]),
        ("Do you like music?", [], [], ["music", "songs", "enjoy", "love", "favorite", "favourite"]),
    ],
}


def main() -> None:
    rng = random.Random(5_593_008)
    rows = []
    for category, items in PROMPTS.items():
        order = list(range(len(items)))
        rng.shuffle(order)
        n_train, n_val = round(0.6 * len(items)), round(0.15 * len(items))
        split_of = {i: "train" if r < n_train else "val" if r < n_train + n_val else "test" for r, i in enumerate(order)}
        for i, (prompt, answers, wrong, keywords) in enumerate(items):
            rec = {"id": f"voice-{category}-{i:02d}", "category": category, "prompt": prompt, "split": split_of[i]}
            for field, value in (("answers", answers), ("wrong", wrong), ("keywords", keywords)):
                if value:
                    rec[field] = value
            rows.append(rec)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"wrote {len(rows)} prompts to {OUT}")


if __name__ == "__main__":
    main()
