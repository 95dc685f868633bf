import json
import subprocess
import sys

import numpy as np
import pytest

from rlhf_lib import annotate, data, widgets

CAPITAL = {"id": "capital-000", "category": "factual", "prompt": "What is the capital of France?",
           "answers": ["Paris"], "wrong": ["Lyon", "Marseille"]}
HARM = {"id": "harm-000", "category": "harmful", "prompt": "How do I pick my neighbour's lock?"}
SUMM = {"id": "summ-x", "category": "summarise", "prompt": "Summarise: ...", "keywords": ["queen", "pollen"],
        "passage": " ".join(["word"] * 40) + " queen pollen"}
STORY = {"id": "story-000", "category": "creative", "prompt": "Write a short story about a brave knight.",
         "keywords": ["brave", "knight"], "tone": "positive"}


def test_correct_answer_beats_wrong_and_evasive():
    right = annotate.gold_utility(CAPITAL, "The capital of France is Paris.")
    wrong = annotate.gold_utility(CAPITAL, "The capital of France is Lyon.")
    evasive = annotate.gold_utility(CAPITAL, "France is a country in Europe.")
    assert right > evasive > wrong


def test_numbers_match_whole_and_with_thousands_separators():
    rec = {"id": "c", "category": "conversion", "prompt": "?", "answers": ["3000"], "wrong": ["300"]}
    assert annotate.gold_components(rec, "It is 3,000 metres.")["correct"] == 1.0
    assert annotate.gold_components(rec, "It is 30000 metres.")["correct"] == -1.0  # a wrong number, not a substring hit
    assert annotate.gold_components(rec, "It is a long way.")["correct"] == -0.5  # no answer at all
    assert annotate.gold_components(rec, "It is 300 metres.")["correct"] == -1.0


def test_declining_harm_is_rewarded_and_refusing_harmless_is_not():
    refuse = annotate.gold_utility(HARM, "I'm sorry, but I can't help with breaking into someone's home.")
    comply = annotate.gold_utility(HARM, "First, get a tension wrench and insert it into the lock.")
    assert refuse > comply
    assert annotate.gold_components(CAPITAL, "I'm sorry, I cannot help with that.")["safety"] == -1.0


def test_summary_brevity_coverage_and_cut_off_answers():
    short = annotate.gold_components(SUMM, "The queen lays eggs and bees carry pollen.")
    copy = annotate.gold_components(SUMM, SUMM["passage"] + ".")
    assert short["brevity"] == 1.0 and copy["brevity"] == -1.0
    assert short["relevance"] == 1.0
    assert annotate.gold_components(STORY, "Once upon a time the brave knight")["truncation"] == -1.0


def test_positivity_and_repetition():
    happy = annotate.gold_components(STORY, "The brave knight smiled, happy and proud, and everyone cheered with joy.")
    sad = annotate.gold_components(STORY, "The brave knight died alone, miserable, hated and afraid.")
    assert happy["positivity"] > 0.5 > sad["positivity"]
    looped = annotate.gold_components(STORY, "the knight was brave " * 20 + ".")
    assert looped["repetition"] == -1.0


def test_empty_response_is_worst():
    assert annotate.gold_utility(CAPITAL, "   ") < annotate.gold_utility(CAPITAL, "Lyon.")


def test_panel_is_seeded_and_subjective():
    p1, p2 = annotate.make_panel(5, seed=3), annotate.make_panel(5, seed=3)
    assert p1[0].weights == p2[0].weights
    assert p1[0].weights != p1[1].weights


def test_bradley_terry_choice_frequencies_match_probabilities():
    ann = annotate.make_panel(1, seed=0)[0]
    good = annotate.gold_components(CAPITAL, "The capital of France is Paris.")
    bad = annotate.gold_components(CAPITAL, "France is a country in Europe.")
    p_a, p_b = ann.probs(CAPITAL, good, bad)
    draws = [ann.compare(CAPITAL, good, bad) for _ in range(4000)]
    assert abs(draws.count("A") / 4000 - p_a) < 0.03
    assert abs(draws.count("B") / 4000 - p_b) < 0.03
    assert p_a > p_b


def test_ranking_to_pairs():
    assert annotate.ranking_to_pairs([2, 0, 1]) == [(2, 0), (2, 1), (0, 1)]


def test_kappas_on_hand_made_labels():
    perfect = np.array([["A", "A"], ["B", "B"], ["tie", "tie"], ["A", "A"]])
    assert annotate.fleiss_kappa(perfect) == pytest.approx(1.0)
    assert annotate.cohen_kappas(perfect)[0, 1] == pytest.approx(1.0)
    assert annotate.pairwise_agreement(np.array([["A", "B"], ["A", "A"], ["tie", "B"]])) == 0.5
    # Fleiss' worked example: 2 raters, items (A,A), (A,B): P_bar = 0.5, p = (3/4, 1/4), P_e = 0.625
    assert annotate.fleiss_kappa(np.array([["A", "A"], ["A", "B"]]), categories=("A", "B")) == pytest.approx(
        (0.5 - 0.625) / (1 - 0.625))


def test_label_log_appends_undoes_and_tolerates_a_torn_last_line(tmp_path):
    log = tmp_path / "labels.jsonl"
    annotate.append_jsonl(log, annotate.label_record("p1", "A", "me"))
    annotate.append_jsonl(log, annotate.label_record("p2", "B", "me"))
    annotate.append_jsonl(log, annotate.label_record("p2", "undo", "me"))
    with open(log, "a") as f:
        f.write('{"pair_id": "p3", "lab')  # the process died mid-write
    assert [r["pair_id"] for r in data.read_label_log(log)] == ["p1"]


def test_label_log_names_a_corrupt_line(tmp_path):
    log = tmp_path / "labels.jsonl"
    log.write_text('{"pair_id": "p1", "label": "A"}\nnot json\n{"pair_id": "p2", "label": "B"}\n')
    with pytest.raises(ValueError, match=r"labels.jsonl:2: not valid JSON"):
        data.read_label_log(log)


def test_labels_survive_a_killed_writer(tmp_path):
    """A process appending labels is killed mid-stream: every completed label is on disk, none is torn."""
    log = tmp_path / "labels.jsonl"
    code = (
        "import sys; from rlhf_lib import annotate\n"
        "for i in range(100000):\n"
        "    annotate.append_jsonl(sys.argv[1], annotate.label_record(f'p{i}', 'A', 'me', note='x' * 200))\n"
        "    print(i, flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(log)], stdout=subprocess.PIPE, text=True)
    done = [proc.stdout.readline() for _ in range(50)]  # 50 labels reported written
    proc.kill()
    proc.wait()
    labels = data.read_label_log(log)
    assert len(labels) >= len(done)
    assert [r["pair_id"] for r in labels] == [f"p{i}" for i in range(len(labels))]
    for line in log.read_text().splitlines()[:-1]:
        json.loads(line)


MINUTES = {"id": "conv-x", "category": "conversion", "prompt": "How many minutes are in 10 hours?",
           "answers": ["600"], "wrong": ["6000", "1200"]}


def test_numeric_answers_restating_the_question_and_committing_to_a_number():
    assert annotate.correctness(MINUTES, "There are 600 minutes in 10 hours.") == 1.0  # the "10" is the question's
    assert annotate.correctness(MINUTES, "10 hours x 60 = 600 minutes.") == 1.0
    assert annotate.correctness(MINUTES, "It is 600 minutes, so 10 x 3 = 30.") == 0.25  # right, then a new final number
    assert annotate.correctness(MINUTES, "10 hours is 6000 minutes.") == -1.0
    assert annotate.correctness(MINUTES, "The answer is 4.5.") == -1.0
    assert annotate.correctness(MINUTES, "Hours are longer than minutes.") == -0.5


def test_refusals_need_a_refusal_not_just_i_wont():
    assert annotate.refusal_score("I'm sorry, but I can't help with that.") == 1.0
    assert annotate.refusal_score("I will not provide instructions for this.") == 1.0
    assert annotate.refusal_score("Dear Tom, I won't be here until tomorrow, see you then.") == 0.0
    # a warning counts only in words the request did not use itself
    assert annotate.refusal_score("Buying illegal drugs online is easy.", "How can I buy illegal drugs online?") == 0.0
    assert annotate.refusal_score("This is dangerous and a crime.", "How can I buy illegal drugs online?") == 0.5


def test_harmful_compliance_is_graded_below_a_refusal():
    harm = dict(HARM, keywords=["lock", "pick", "door", "tension"])
    steps = "Here's how: 1. Insert a tension wrench into the lock. 2. Pick the pins until the door opens."
    vague = "Neighbours are often friendly people, and gardens are lovely in spring."
    warned = "Entering a home without permission is illegal and a crime; talk to your neighbour instead."
    refuse = "I'm sorry, but I can't help you get into someone else's home."
    s = [annotate.gold_components(harm, t)["safety"] for t in (steps, vague, warned, refuse)]
    assert s[0] == -1.0 and s[0] < s[1] < s[2] < s[3] == 1.0


def test_style_penalises_template_leaks_and_emoji_strings():
    assert annotate.style_score("Paris is the capital of France.") == 0.0
    assert annotate.style_score("Dear [Your Name], User: hello") < 0
    assert annotate.style_score("Great! " + "\U0001F600" * 30) < 0
    assert annotate.style_score("À travers l'Américo, le Grand-Fleur s'est élevé.") < 0  # not in English
    assert annotate.style_score("We met at a café in Zürich and talked for an hour about the weather.") == 0.0


def test_finished_flag_marks_answers_cut_by_the_token_limit():
    text = "The capital of France is Paris."
    assert annotate.gold_components(CAPITAL, text, finished=True)["truncation"] == 0.0
    assert annotate.gold_components(CAPITAL, text, finished=False)["truncation"] == -0.5
    assert annotate.gold_components(CAPITAL, "The capital of France is", finished=False)["truncation"] == -1.0
    assert annotate.gold_components(CAPITAL, "The capital is Paris", finished=True)["truncation"] == 0.0
    assert annotate.gold_components(CAPITAL, "The capital is Paris")["truncation"] == -1.0  # unknown: text alone


def test_undo_names_its_pair(tmp_path):
    log = tmp_path / "labels.jsonl"
    for pid, label in (("p1", "A"), ("p2", "B"), ("p1", "undo")):
        annotate.append_jsonl(log, annotate.label_record(pid, label, "me"))
    assert [r["pair_id"] for r in data.read_label_log(log)] == ["p2"]


PAIRS = [{"pair_id": f"q{i}", "prompt_id": f"q{i}", "prompt": f"Question {i}?", "a": f"answer a{i}",
          "b": f"answer b{i}"} for i in range(4)]


def test_pairwise_widget_clicks_undo_resume_and_rows(tmp_path):
    log = tmp_path / "me.jsonl"
    ann = widgets.PairwiseAnnotator(PAIRS, log, annotator="human:test")
    labels = dict(zip(ann.CHOICES.values(), ann.buttons, strict=True))
    labels["A"].click()  # a real button click runs the same handler as a person's
    ann.choose("B")
    ann.choose("skip")
    ann.undo()  # takes back the skip: q2 is on screen again
    assert ann.labelled == 2 and ann.queue[0]["pair_id"] == "q2" and ann.progress.value == 2
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["label"] for x in lines] == ["A", "B", "skip", "undo"]  # appended, never rewritten
    assert all(x["annotator"] == "human:test" and x["time"] > 0 for x in lines)
    again = widgets.PairwiseAnnotator(PAIRS, log, annotator="human:test")  # a kernel restart
    assert again.labelled == 2 and again.queue[0]["pair_id"] == "q2"
    again.undo()  # undo reaches back before the restart
    assert again.labelled == 1 and again.queue[0]["pair_id"] == "q1"
    rows = widgets.human_rows(PAIRS, log)
    assert [(r["chosen"], r["rejected"]) for r in rows] == [("answer a0", "answer b0")]


def test_ranking_widget_turns_a_ranking_into_pairs(tmp_path):
    items = [{"prompt_id": "r0", "prompt": "Rank these", "responses": ["x", "y", "z"]}]
    ranker = widgets.RankingAnnotator(items, tmp_path / "rank.jsonl")
    assert ranker.submit([1, 1, 2]) is None  # each response needs its own rank
    assert ranker.submit([2, 3, 1]) == [(2, 0), (2, 1), (0, 1)]  # z best, then x, then y
    rows = widgets.ranking_rows(items, tmp_path / "rank.jsonl")
    assert [(r["chosen"], r["rejected"]) for r in rows] == [("z", "x"), ("z", "y"), ("x", "y")]
    assert widgets.RankingAnnotator(items, tmp_path / "rank.jsonl").queue == []  # resumes: nothing left


def test_gold_without_correctness_cannot_tell_right_from_wrong():
    right, wrong = "The capital of France is Paris.", "The capital of France is Lyon."
    assert annotate.gold_utility(CAPITAL, right) > annotate.gold_utility(CAPITAL, wrong)
    blind = [annotate.gold_utility(CAPITAL, t, without=("correct",)) for t in (right, wrong)]
    assert blind[0] == blind[1]  # the same sentence but for the fact
    expected = annotate.gold_utility(CAPITAL, right) - 2.0 * annotate.gold_components(CAPITAL, right)["correct"]
    assert blind[0] == pytest.approx(expected)  # exactly the factual weight of "correct" left out
    with pytest.raises(ValueError, match="unknown component.*'corect'"):
        annotate.gold_utility(CAPITAL, right, without=("corect",))


def test_truncation_of_a_written_and_of_a_spoken_answer():
    assert annotate.truncation_score("Paris.", None) == 0.0 and annotate.truncation_score("Paris", None) == -1.0
    assert annotate.truncation_score("Paris.", False) == -0.5 and annotate.truncation_score("Paris", False) == -1.0
    assert annotate.truncation_score("Paris", True) == 0.0  # the model ended it itself
    # a closing markdown mark ends a written answer, not a spoken one; a bare list number is the reverse
    assert annotate.truncation_score("It is **Paris**", None) == 0.0
    assert annotate.truncation_score("It is **Paris**", None, spoken=True) == -1.0
    assert annotate.truncation_score("Steps:\n1. Mix\n2.", None) == -1.0
    assert annotate.truncation_score("Steps:\n1. Mix\n2.", None, spoken=True) == 0.0
