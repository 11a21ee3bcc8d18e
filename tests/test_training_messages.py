"""Training checks' messages in the student's terms (fast, no sandbox): what ran (epochs, images,
steps, batch, the optimizer seen), and a loss that does not go down (a bug) told apart from one
that goes down too slowly for the budget; a3's optimizer report."""

from grader import plugins
from grader.checks import training
from grader.rubric import RUBRIC_DIR

a3_train_contract = plugins.kind_module(RUBRIC_DIR, "sgd_contract")


LAB07 = {"epochs": 3, "train_size": 4000, "batch_size": 64, "train_kwargs": {}, "train": "train"}


def test_budget_names_epochs_images_steps_batch_and_the_optimizer_seen():
    seen = {"steps": 189, "optimizers": [{"class": "torch.optim.sgd.SGD", "lr": 0.01, "momentum": 0.5}]}
    text = training.budget_text(LAB07, seen)
    assert text.startswith("3 epochs of 4,000 training images, 189 steps of batch 64")
    assert "your `train` stepped SGD at lr=0.01 with momentum 0.5" in text
    given = dict(LAB07, train_kwargs={"lr": 0.1})
    assert "with lr=0.1" in training.budget_text(given, None)


def test_a_flat_loss_is_a_bug_and_a_slow_one_is_the_budget():
    flat = training.diagnosis([2.3042, 2.3039, 2.3036], {"steps": 189, "optimizers": []})
    assert "does not go down" in flat and "bug" in flat and "2.3042 to 2.3036" in flat
    slow = training.diagnosis([1.9, 1.2, 0.9], {"steps": 189, "optimizers": []})
    assert "too slowly for this budget" in slow and "larger default learning rate" in slow
    assert "does not go down" not in slow
    fixed = training.diagnosis([1.9, 1.2, 0.9], None, lr_given=True)
    assert "at the given learning rate" in fixed and "default learning rate" not in fixed
    none = training.diagnosis([2.3, 2.3], {"steps": 0, "optimizers": []})
    assert "no optimizer step" in none.lower()


def test_a_tiny_default_rate_is_named_and_a_trained_copy_is_told_apart_from_no_step():
    adam = {"steps": 500, "optimizers": [{"class": "torch.optim.adam.Adam", "lr": 1e-5, "momentum": None}]}
    tiny = training.diagnosis([2.3093, 2.2973], adam)
    assert "Adam at lr=1e-05" in tiny and "raise the default learning rate" in tiny and "bug" not in tiny
    usual = dict(adam, optimizers=[{"class": "torch.optim.adam.Adam", "lr": 1e-3, "momentum": None}])
    assert "bug" in training.diagnosis([2.3093, 2.2973], usual)  # at the usual rate, a flat loss is a bug
    assert "bug" in training.diagnosis([2.3093, 2.2973], adam, lr_given=True)  # the rate was the grader's
    sgd = {"steps": 500, "optimizers": [{"class": "torch.optim.sgd.SGD", "lr": 0.01, "momentum": 0.9}]}
    assert "lr=" not in training.diagnosis([2.31, 2.30], sgd)
    copy = training.diagnosis([2.3, 1.1], {"steps": 0, "optimizers": [], "elsewhere": 500})
    assert "stepped 500 times" in copy and "in place" in copy and "copy.deepcopy" in copy


def test_a3_optimizer_report_names_class_lr_and_momentum():
    steps = [{"class": "torch.optim.adam.Adam", "lr": 0.5, "momentum": None, "ours": True},
             {"class": "torch.optim.sgd.SGD", "lr": 0.5, "momentum": 0.0, "ours": False}]
    assert a3_train_contract._optimizers_seen(steps) == ["Adam at lr=0.5"]
    assert not a3_train_contract._sgd_at(steps, 0.5)
    sgd = [{"class": "torch.optim.sgd.SGD", "lr": 0.5, "momentum": 0.9, "ours": True}]
    assert a3_train_contract._sgd_at(sgd, 0.5) and not a3_train_contract._sgd_at(sgd, 0.1)
    assert a3_train_contract._optimizers_seen(sgd) == ["SGD at lr=0.5 with momentum 0.9"]
    assert not a3_train_contract._sgd_at([], 0.5)


def _points(svg):
    import re
    [points] = re.findall(r'<polyline points="([^"]+)"', svg)
    return [tuple(map(float, p.split(","))) for p in points.split()]


def _y_labels(svg):
    import re
    return re.findall(r'text-anchor="end">([^<]+)</text>', svg)


def test_a_flat_loss_curve_is_drawn_flat_with_distinct_labelled_ticks_and_its_range_stated():
    from grader.report.curve import curve_svg
    svg = curve_svg([2.3042, 2.3039, 2.3036])
    (_, y_first), _, (_, y_last) = _points(svg)
    assert abs(y_last - y_first) < 5  # of a 144-pixel tall plot: flat, not a steep descent
    labels = _y_labels(svg)
    assert len(labels) >= 3 and len(set(labels)) == len(labels)
    assert "range 2.3036 to 2.3042" in svg and "-0.0006" in svg


def test_a_falling_loss_curve_fills_the_plot_and_every_epoch_is_a_tick():
    from grader.report.curve import curve_svg
    svg = curve_svg([2.1, 1.0, 0.6, 0.45])
    points = _points(svg)
    assert points[0][1] < points[-1][1] - 80  # a real descent is drawn as one
    labels = [float(v) for v in _y_labels(svg)]
    assert min(labels) <= 0.45 and max(labels) >= 2.1 and len(set(labels)) == len(labels)
    for epoch in (1, 2, 3, 4):
        assert f'text-anchor="middle">{epoch}</text>' in svg
    assert curve_svg([]) == "" and "not a finite number" in curve_svg([1.0, float("nan")])
    assert curve_svg([0.0, 0.0]).count("<circle") == 2  # all zero: no division by zero
