import json

from rlhf_lib import report


def test_record_merges_and_writes_a_report(artifacts, tmp_path):
    report.record("00", a=1.5)
    report.record("00", b="x|y", c=float("nan"))
    data = json.loads((artifacts / "figures" / "00.json").read_text())
    assert data["a"] == 1.5 and data["b"] == "x|y" and data["c"] == "nan"
    out = report.write_report(tmp_path / "build" / "REPORT.md", {"00_x.ipynb": (12.0, "ok")}, "ci")
    text = out.read_text()
    assert "| 00_x.ipynb | 12 | ok |" in text and "x\\|y" in text


def _bench(tmp_path, contestants):
    path = tmp_path / "notebooks.json"
    path.write_text(json.dumps({"contestants": contestants,
                                "machine": {"cpu": "Test CPU", "cores": 2, "date": "2026-01-01 00:00 UTC"}}))
    return path


def test_run_times_reads_the_benchmark_and_the_reference_run(tmp_path):
    bench = _bench(tmp_path, {"ci/04_ppo_kl.ipynb": {"seconds": 48.1, "status": "ok"},
                              "ci/05_applications_3_music.ipynb": {"seconds": 8.8, "status": "ok"}})
    (tmp_path / "04.json").write_text(json.dumps({"notebook_seconds": 1815, "machine": {"cpu": "Ref CPU", "cores": 2}}))
    text = report.run_times("04", ref_dir=tmp_path, bench_file=bench)
    lines = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert "48 s" in lines["ci"] and "Test CPU" in lines["ci"]
    assert "30 min" in lines["cpu"] and "reference run" in lines["cpu"]
    assert "not recorded yet" in lines["gpu"]
    music = report.run_times("05_applications_3", ref_dir=tmp_path, bench_file=bench)
    assert "9 s" in music and "48 s" not in music
    # chapter 5's reference run holds each notebook's cpu time
    (tmp_path / "05.json").write_text(json.dumps({"notebook_seconds": 700, "machine": {"cpu": "Ref CPU"},
                                                  "notebooks": {"05_applications_2_images.ipynb": 300,
                                                                "05_applications_3_music.ipynb": 400}}))
    music = {line.split()[0]: line for line in
             report.run_times("05_applications_3", ref_dir=tmp_path, bench_file=bench).splitlines()[1:]}
    assert "400 s" not in music["cpu"] and "7 min" in music["cpu"] and "reference run" in music["cpu"]
    # a reference run with only the chapter's total says so, rather than "not recorded yet"
    (tmp_path / "05.json").write_text(json.dumps({"notebook_seconds": 1500, "machine": {"cpu": "Ref CPU"}}))
    music = {line.split()[0]: line for line in
             report.run_times("05_applications_3", ref_dir=tmp_path, bench_file=bench).splitlines()[1:]}
    assert "all of chapter 05: 25 min" in music["cpu"] and "not recorded yet" not in music["cpu"]


def test_run_times_says_not_recorded_yet_when_nothing_is_committed(tmp_path):
    bench = _bench(tmp_path, {"ci/04_ppo_kl.ipynb": {"seconds": 48.1, "status": "FAILED: boom"}})
    text = report.run_times("04", ref_dir=tmp_path, bench_file=bench)  # a failed run is no run time
    assert text.count("not recorded yet") == 3
    missing = report.run_times("06", ref_dir=tmp_path, bench_file=tmp_path / "absent.json")
    assert missing.count("not recorded yet") == 3


def test_report_opens_with_the_key_figures_and_their_cis_and_carries_its_plots(artifacts, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report.record("04", win_vs_reference={"value": 0.61, "lo": 0.52, "hi": 0.7}, kl_to_reference_nats=3.2)
    report.record("03", test_accuracy=0.64, test_accuracy_ci="[0.550, 0.730]")
    report.record("06", methods={"DPO": {"win_rate": {"value": 0.55, "lo": 0.5, "hi": 0.6}, "kl": 1.0},
                                 "PPO": {"win_rate": {"value": 0.6, "lo": 0.51, "hi": 0.69}}})
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    report.save_plot(fig, "04_curve")
    plt.close(fig)
    out = report.write_report(tmp_path / "build" / "REPORT.md", None, "ci")
    text = out.read_text()
    key = text.split("## Key figures")[1].split("\n## ")[0]
    assert "| 04 | win_vs_reference | 0.61 | [0.52, 0.7] |" in key
    assert "| 04 | kl_to_reference_nats | 3.2 | — |" in key  # recorded without a CI
    assert "| 03 | test_accuracy | 0.64 | [0.550, 0.730] |" in key  # the CI recorded beside it
    assert "| 06 | win_rate (DPO) | 0.55 | [0.5, 0.6] |" in key and "| 06 | win_rate (PPO) |" in key
    assert "| 02 | test_accuracy | not recorded |" in key  # every chapter has its rows, recorded or not
    assert text.index("## Key figures") < text.index("## Chapter 03")
    assert "![04_curve](figures/04_curve.png)" in text  # a self-contained page: the plot sits beside it
    assert (out.parent / "figures" / "04_curve.png").is_file()
