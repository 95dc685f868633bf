"""The course runner's `--only`: a chapter's number or a notebook's name selects notebooks; anything else is refused."""

from pathlib import Path

import pytest

from rlhf_lib import course, report

NOTEBOOKS = [Path("notebooks") / f"{name}.ipynb" for name in (
    "00_setup_and_base_model", "01_preference_data", "05_applications_1_chatbots", "05_applications_2_images",
    "05_applications_3_music", "10_later")]


def names(paths):
    return [p.stem for p in paths]


def test_no_only_runs_every_notebook():
    assert course.select(NOTEBOOKS, None) == NOTEBOOKS
    assert course.select(NOTEBOOKS, []) == NOTEBOOKS


@pytest.mark.parametrize("value", ["05_applications_3", "05_applications_3_music", "05_applications_3_music.ipynb"])
def test_a_notebook_by_its_number_or_name(value):
    assert names(course.select(NOTEBOOKS, [value])) == ["05_applications_3_music"]


def test_a_chapter_number_selects_all_its_notebooks_in_course_order():
    assert names(course.select(NOTEBOOKS, ["05"])) == ["05_applications_1_chatbots", "05_applications_2_images",
                                                       "05_applications_3_music"]
    assert names(course.select(NOTEBOOKS, ["05_applications_2", "00", "05"])) == [
        "00_setup_and_base_model", "05_applications_1_chatbots", "05_applications_2_images", "05_applications_3_music"]


@pytest.mark.parametrize("value", ["07", "0", "1", "05_app", "05_applications_9", "music", "05_applications_3_musi"])
def test_a_value_that_names_no_notebook_is_refused_with_the_list(value):
    with pytest.raises(ValueError, match=f"--only '{value}' names no notebook") as err:
        course.select(NOTEBOOKS, ["00", value])
    assert "00_setup_and_base_model, 01_preference_data, 05_applications_1_chatbots" in str(err.value)


def test_the_runner_refuses_before_running_anything(capsys):
    with pytest.raises(SystemExit) as exit_:
        course.main(["--only", "05_applications_9"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "names no notebook" in err and "05_applications_3_music" in err  # the real notebooks are listed


def test_every_real_notebook_is_selectable_by_name_and_by_number():
    real = report.list_notebooks()
    assert real, "no notebooks found"
    for path in real:
        assert course.select(real, [path.stem]) == [path]
        assert path in course.select(real, [path.stem[:2]])


def test_an_appendix_runs_right_after_its_chapter_and_is_selectable_alone():
    real = names(report.list_notebooks())
    for chapter, appendix in (("02_reward_model", "02b_what_limits_the_reward_model"),
                              ("03_validation_metrics", "03b_stress_testing_the_reward_model")):
        assert real.index(appendix) == real.index(chapter) + 1
    assert names(course.select(report.list_notebooks(), ["02b"])) == ["02b_what_limits_the_reward_model"]
    assert names(course.select(report.list_notebooks(), ["02"])) == ["02_reward_model", "02b_what_limits_the_reward_model"]
    assert report.number("notebooks/03b_stress_testing_the_reward_model.ipynb") == "03b"
