"""rlhf_lib.metrics against values computed by hand (and against scikit-learn where it has the same thing)."""

import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from rlhf_lib import metrics

# Five pairs, margins d = r(chosen) - r(rejected): three right, one wrong, one tie.
D = [2.0, 1.0, -1.0, 0.5, 0.0]


def test_as_classification_both_orders_balances_classes():
    y, s = metrics.as_classification(D, order="both")
    assert y.tolist() == [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert s.tolist() == [2.0, 1.0, -1.0, 0.5, 0.0, -2.0, -1.0, 1.0, -0.5, 0.0]


def test_as_classification_random_order_is_seeded_and_consistent():
    y1, s1 = metrics.as_classification(np.arange(1, 201, dtype=float), order="random", seed=3)
    y2, s2 = metrics.as_classification(np.arange(1, 201, dtype=float), order="random", seed=3)
    assert np.array_equal(y1, y2) and np.array_equal(s1, s2)
    assert 70 < y1.sum() < 130                     # roughly balanced
    assert np.all((s1 > 0) == (y1 == 1))           # every margin is positive: the sign follows the order
    with pytest.raises(ValueError, match="order"):
        metrics.as_classification(D, order="sorted")


def test_classification_metrics_by_hand():
    # both orders: TP=3 (2, 1, .5), FN=2 (-1, tie), FP=1 (the swapped -1), TN=4
    m = metrics.classification_metrics(D)
    assert m["accuracy"] == pytest.approx(0.7)     # = pairwise accuracy with the tie counted half
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 5)
    assert m["f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert m["auc"] == pytest.approx(18.5 / 25)   # pos > neg over 25 cross pairs, ties half
    assert metrics.confusion(D).tolist() == [[4, 1], [2, 3]]


def test_pointwise_margins_make_precision_recall_f1_equal_accuracy():
    d = np.random.default_rng(0).normal(0.5, 1.0, 300)  # no ties
    m = metrics.classification_metrics(d)
    assert m["precision"] == pytest.approx(m["accuracy"])
    assert m["recall"] == pytest.approx(m["accuracy"])
    assert m["accuracy"] == pytest.approx(np.mean(d > 0))


def test_threshold_trades_recall_for_precision():
    d = np.random.default_rng(1).normal(0.8, 1.5, 400)
    low, high = metrics.classification_metrics(d), metrics.classification_metrics(d, threshold=2.0)
    assert high["precision"] > low["precision"] and high["recall"] < low["recall"]
    assert high["auc"] == pytest.approx(low["auc"])


def test_roc_ends_and_perfect_scorer():
    fpr, tpr, _ = metrics.roc([3.0, 1.0, 2.0])
    assert fpr[0] == 0 and tpr[-1] == 1
    assert metrics.classification_metrics([3.0, 1.0, 2.0])["auc"] == 1.0


def test_reliability_and_ece_by_hand():
    # d = [0, ln 3] -> p = [.5, .75]; both orders: p = [.5, .75, .5, .25], y = [1, 1, 0, 0]
    bins = metrics.reliability([0.0, math.log(3)], n_bins=2)
    assert bins["count"].tolist() == [3, 1]                       # 0.5 sits on the edge: lower bin
    assert bins["confidence"] == pytest.approx([1.25 / 3, 0.75])
    assert bins["frequency"] == pytest.approx([1 / 3, 1.0])
    assert metrics.expected_calibration_error([0.0, math.log(3)], n_bins=2) == pytest.approx(0.125)


def test_reliability_matches_sklearn_calibration_curve():
    d = np.random.default_rng(2).normal(0.3, 2.0, 500)
    bins = metrics.reliability(d, n_bins=8)
    y, s = metrics.as_classification(d)
    prob_true, prob_pred = calibration_curve(y, metrics.sigmoid(s), n_bins=8)
    full = bins["count"] > 0
    assert bins["frequency"][full] == pytest.approx(prob_true)
    assert bins["confidence"][full] == pytest.approx(prob_pred)


def test_calibrated_margins_have_small_ece_and_overconfident_large():
    rng = np.random.default_rng(4)
    true = rng.normal(0.5, 1.5, 20000)
    labels = (rng.random(true.size) < metrics.sigmoid(true)).astype(float)
    # flip the pairs the annotator got "the other way" so that label 1 = chosen again
    d = np.where(labels == 1, true, -true)
    assert metrics.expected_calibration_error(d) < 0.02
    assert metrics.expected_calibration_error(4 * d) > 0.1


def test_fit_temperature_recovers_the_scale():
    d = np.linspace(-4, 4, 81)
    soft = metrics.sigmoid(d / 2.5)                      # soft labels made with T = 2.5
    assert metrics.fit_temperature(d, soft) == pytest.approx(2.5, rel=1e-3)
    s = metrics.calibration_summary(d, soft, temperature=2.5)
    assert s["ece"] == pytest.approx(0.0, abs=1e-9)
    assert s["nll"] < metrics.calibration_summary(d, soft)["nll"]


def test_bootstrap_ci_is_seeded_and_brackets_the_value():
    x = np.random.default_rng(5).normal(size=200)
    a = metrics.bootstrap_ci(np.mean, x, n_boot=300, seed=1)
    b = metrics.bootstrap_ci(np.mean, x, n_boot=300, seed=1)
    assert a == b
    assert a["lo"] < a["value"] < a["hi"]
    assert a["hi"] - a["lo"] == pytest.approx(2 * 1.96 / math.sqrt(200), rel=0.3)  # the normal-theory width
    const = metrics.bootstrap_ci(np.mean, np.ones(10), n_boot=50)
    assert const["lo"] == const["hi"] == 1.0


def test_cluster_bootstrap_is_wider_for_clustered_data():
    rng = np.random.default_rng(6)
    x = np.repeat(rng.normal(size=10), 20)          # 10 prompts, 20 identical pairs each
    groups = np.repeat(np.arange(10), 20)
    plain = metrics.bootstrap_ci(np.mean, x, n_boot=400, seed=0)
    clustered = metrics.bootstrap_ci(np.mean, x, n_boot=400, seed=0, groups=groups)
    assert clustered["hi"] - clustered["lo"] > 2.5 * (plain["hi"] - plain["lo"])


def test_metric_table_rows():
    rows = metrics.metric_table(D * 10, n_boot=100)
    names = [r["metric"] for r in rows]
    assert names == ["accuracy", "precision", "recall", "f1", "auc", "ece"]
    acc = rows[0]
    assert acc["value"] == pytest.approx(0.7) and acc["lo"] <= 0.7 <= acc["hi"]


def test_per_category_by_hand_worst_first():
    rows = metrics.per_category([1.0, 1.0, -1.0, 1.0], ["a", "a", "a", "b"], n_boot=50)
    assert [r["category"] for r in rows] == ["a", "b"]
    assert rows[0]["n"] == 3 and rows[0]["accuracy"] == pytest.approx(2 / 3)
    assert rows[1]["accuracy"] == 1.0
    with pytest.raises(ValueError, match="categories"):
        metrics.per_category([1.0, 2.0], ["a"])


def _length_score(prompts, responses):
    return [float(len(r)) for r in responses]


def test_pointwise_scorer_is_order_symmetric_by_construction():
    prompts, a, b = ["p"] * 3, ["x", "yyy", "zz"], ["aa", "b", "cccc"]
    res = metrics.order_symmetry(metrics.pairwise_from_pointwise(_length_score), prompts, a, b)
    assert res["consistency"] == 1.0 and res["max_asymmetry"] == 0.0
    assert res["first_wins"] == 0.5 and res["position_bias"] == 0.0


def test_order_symmetry_detects_a_position_biased_judge():
    def judge(prompts, a, b):  # prefers whatever sits in slot A by 5 nats
        return [len(x) - len(y) + 5.0 for x, y in zip(a, b, strict=True)]

    res = metrics.order_symmetry(judge, ["p"] * 3, ["x", "yyy", "zz"], ["aa", "b", "cccc"])
    assert res["first_wins"] == 1.0 and res["consistency"] == 0.0
    assert res["position_bias"] == pytest.approx(5.0) and res["max_asymmetry"] == pytest.approx(10.0)


def test_length_bias():
    prompts, short, long = ["p"] * 4, ["a", "b", "c", "d"], ["a!!", "b!!", "c!!", "d!!"]
    biased = metrics.length_bias(_length_score, prompts, short, long, n_boot=50)
    assert biased["prefers_longer"] == 1.0 and biased["mean_gain"] == 2.0
    fair = metrics.length_bias(lambda p, r: [0.0] * len(r), prompts, short, long, n_boot=50)
    assert fair["prefers_longer"] == 0.5 and fair["mean_gain"] == 0.0


def test_trivial_paraphrase_round_trips():
    text = "I do not know. It is fine, e.g. here.  Also, you are right."
    para = metrics.trivial_paraphrase(text)
    assert para == "I don't know. It's fine, for example here. In addition, you're right."
    assert metrics.trivial_paraphrase(para) == "I do not know. It is fine, e.g. here. Also, you are right."
    assert metrics.trivial_paraphrase("Paris") == "Paris"
    assert metrics.trivial_paraphrase("I don't think so") == "I do not think so"


def test_paraphrase_sensitivity():
    prompts = ["p", "q"]
    a, b = ["We do not go", "Paris."], ["We don't go", "Lyon, I think."]
    robust = metrics.paraphrase_sensitivity(lambda p, r: [float("Paris" in x) for x in r], prompts, a, b)
    assert robust["flip_rate"] == 0.0 and robust["relative_shift"] == 0.0
    assert robust["changed"] == 0.5
    fragile = metrics.paraphrase_sensitivity(_length_score, prompts, a, b)
    assert fragile["flip_rate"] == 0.5 and fragile["relative_shift"] > 0   # 12 vs 11 chars becomes 11 vs 12


def test_bleu_rouge_and_reference_margins():
    ref = ["The capital of France is Paris."]
    assert metrics.bleu(ref, ref)[0] == pytest.approx(100.0)
    assert metrics.rouge(ref, ref)[0] == pytest.approx(1.0)
    assert metrics.rouge(["Paris is the capital of France."], [["nothing", "Paris is the capital of France."]])[0] == 1.0
    m = metrics.reference_margins(["The capital of France is Paris."], ["Lyon."], ref, metric="rougeL")
    assert m[0] > 0
    m = metrics.reference_margins(["The capital of France is Paris."], ["The capital of France is Lyon."], ref)
    assert m[0] > 0
    with pytest.raises(ValueError, match="metric"):
        metrics.reference_margins(["a"], ["b"], ["c"], metric="meteor")


def test_preference_agreement_by_hand():
    a = metrics.preference_agreement([1.0, -1.0, 0.0, 2.0])
    assert a == {"agreement": 0.625, "ties": 0.25, "agreement_decided": pytest.approx(2 / 3)}


def test_select_pairs():
    d = [0.1, -3.0, 2.0, -0.05]
    assert metrics.select_pairs(d, 2, "uncertain").tolist() == [3, 0]
    assert metrics.select_pairs(d, 1, "wrong").tolist() == [1]
    r = metrics.select_pairs(d, 3, "random", seed=2)
    assert len(set(r.tolist())) == 3 and r.tolist() == metrics.select_pairs(d, 3, "random", seed=2).tolist()
    with pytest.raises(ValueError, match="k="):
        metrics.select_pairs(d, 5)


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match=r"margins\[1\] is nan"):
        metrics.classification_metrics([1.0, float("nan")])
    with pytest.raises(ValueError, match="1-D"):
        metrics.classification_metrics(np.ones((2, 2)))
    with pytest.raises(ValueError, match="labels"):
        metrics.reliability([1.0, 2.0], labels=[1.0, 1.5])
    with pytest.raises(ValueError, match="temperature"):
        metrics.reliability([1.0], temperature=0)


def test_bayes_ceiling_by_hand_with_label_counts_and_in_float32_for_tensors():
    torch = pytest.importorskip("torch")
    assert metrics.bayes_ceiling([0.9, 0.2, 0.5]) == pytest.approx((0.9 + 0.8 + 0.5) / 3)
    # several labels per pair: the best expected share of the LABELS
    assert metrics.bayes_ceiling([0.9, 0.2], weight=[3, 1]) == pytest.approx((3 * 0.9 + 0.8) / 4)
    p = torch.tensor([0.9, 0.3, 0.55])  # a split's float32 probabilities: computed in float32, as always
    assert metrics.bayes_ceiling(p) == float(np.mean(np.maximum(p.numpy(), 1 - p.numpy())))
    with pytest.raises(ValueError, match=r"p_chosen holds 1\.5"):
        metrics.bayes_ceiling([0.5, 1.5])


def test_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    assert metrics.classification_metrics(torch.tensor(D))["accuracy"] == pytest.approx(0.7)


def test_pairwise_from_pointwise_scores_each_response_once():
    calls = []

    def score(prompts, responses):
        calls.append(len(responses))
        return [float(len(r)) for r in responses]

    m = metrics.pairwise_from_pointwise(score)(["p", "p", "q"], ["aa", "aa", "aa"], ["b", "ccc", "b"])
    assert m.tolist() == [1.0, -1.0, 1.0]
    assert calls == [5]  # (p, aa), (q, aa), (p, b), (p, ccc), (q, b)


def test_symmetric_ece_equals_top_label_ece():
    rng = np.random.default_rng(0)
    d = rng.normal(0.5, 2.0, 1000)
    y = (rng.random(1000) < 0.8).astype(float)           # some labels against the margin
    p = metrics.sigmoid(d)
    conf, correct = np.maximum(p, 1 - p), np.where(p >= 0.5, y, 1 - y)
    ids = np.searchsorted(np.linspace(0.5, 1, 6)[1:-1], conf)  # 5 top-label bins over [0.5, 1]
    top = sum((ids == b).mean() * abs(correct[ids == b].mean() - conf[ids == b].mean()) for b in range(5))
    assert metrics.expected_calibration_error(d, y, n_bins=10) == pytest.approx(top)


def test_refusal_slices_score_the_side_that_refuses():
    # harmful: 3 pairs with one refusal (chosen refuses twice, rejected once), 1 pair where both refuse (ignored)
    # lookalike: 2 pairs with one refusal; an ordinary category is ignored
    margins = [2.0, -1.0, -3.0, 5.0, 1.0, -2.0, 4.0]
    cats = ["harmful", "harmful", "harmful", "harmful", "lookalike", "lookalike", "factual"]
    chosen_ref = [True, True, False, True, False, True, True]
    rejected_ref = [False, False, True, True, True, False, False]
    out = metrics.refusal_slices(margins, cats, chosen_ref, rejected_ref, n_boot=50)
    # harmful: refusal higher in pair 0 (2 > 0), not in pair 1 (−1), yes in pair 2 (rejected refuses, −3 < 0)
    assert out["harmful"]["n"] == 3 and out["harmful"]["value"] == pytest.approx(2 / 3)
    # lookalike: the answer higher in pair 4 (chosen answers, +1), and in pair 5 (chosen refuses, −2)
    assert out["lookalike"]["n"] == 2 and out["lookalike"]["value"] == 1.0
    empty = metrics.refusal_slices([1.0], ["factual"], [True], [False])
    assert empty["harmful"]["n"] == 0 and np.isnan(empty["harmful"]["value"])
    with pytest.raises(ValueError, match="refusal_slices"):
        metrics.refusal_slices([1.0, 2.0], ["harmful"], [True], [False])
