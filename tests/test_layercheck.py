"""``mitbadak check``: a catalogue of classic mistakes, each caught with the right diagnosis,
correct layers passing, one-line errors, and the report in English and Korean.

The learners' layers live in ``check_fixtures/``: ``good_*.py`` are correct, every other
file holds one mistake. Each row below names the check that must fail and the likely
cause (``hint.*`` key) the report must give.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mitbadak.cli import main
from mitbadak.layercheck import LoadError, Report, check_target, language, say
from mitbadak.layercheck.messages import LANGUAGES
from mitbadak.layercheck.report import WIDTH, display_width

FIXTURES = Path(__file__).parent / "check_fixtures"
SRC = Path(__file__).parents[1] / "src" / "mitbadak"

CORRECT = [
    "good_relu.py:Relu",
    "good_relu.py:Tanh",
    "good_sigmoid.py:Sigmoid",
    "good_affine.py:Affine",
    "good_softmax_with_loss.py:SoftmaxWithLoss",
    "good_mul_add.py:MulLayer",
    "good_mul_add.py:AddLayer",
    "good_dropout.py:Dropout",
    "good_batchnorm.py:BatchNormalization",
    "good_pooling.py:Pooling",
    "good_convolution.py:Convolution",
    "good_params_dict.py:Linear",
    "good_params_dict.py:Flatten",
]

# target, input shape, the check that fails, the likely cause it must name.
MISTAKES = [
    ("softmax_missing_n.py:SoftmaxWithLoss", None, "check.gradient", "missing_batch_division"),
    ("softmax_wrong_sign.py:SoftmaxWithLoss", None, "check.gradient", "sign_flipped"),
    ("softmax_uses_scores.py:SoftmaxWithLoss", None, "check.gradient", "scores_not_probabilities"),
    ("relu_inverted_mask.py:Relu", None, "check.gradient", "inverted_mask"),
    ("relu_no_mask.py:Relu", None, "check.gradient", "mask_missing"),
    ("relu_mutates_dout.py:Relu", None, "check.dout_unchanged", "mutates_dout"),
    ("relu_mutates_dout.py:Relu", None, "check.not_aliased", "aliases_dout"),
    ("relu_mutates_input.py:Relu", None, "check.input_unchanged", "mutates_input"),
    ("relu_shared_state.py:Relu", None, "check.two_instances", "shared_state"),
    ("relu_first_call_only.py:Relu", None, "check.forward_twice", "stale_state"),
    ("sigmoid_uses_x.py:Sigmoid", None, "check.gradient", "sigmoid_uses_x"),
    ("sigmoid_ignores_dout.py:Sigmoid", None, "check.gradient", "ignores_dout"),
    ("sigmoid_missing_factor.py:Sigmoid", None, "check.gradient", "wrong_local_derivative"),
    ("sigmoid_wrong_forward.py:Sigmoid", None, "check.reference", None),
    ("affine_db_wrong_axis.py:Affine", None, "check.shape", "bias_wrong_axis"),
    ("affine_db_sum_all.py:Affine", None, "check.shape", "bias_summed_all"),
    ("affine_db_mean.py:Affine", None, "check.gradient", "extra_batch_division"),
    ("affine_dw_missing_transpose.py:Affine", None, "check.backward", "matmul_shapes"),
    ("affine_dx_missing_transpose.py:Affine", None, "check.backward", "matmul_shapes"),
    ("affine_dw_transposed.py:Affine", None, "check.shape", "transposed"),
    ("affine_accumulates.py:Affine", None, "check.backward_twice", "accumulates"),
    ("affine_no_return.py:Affine", None, "check.backward", "no_return"),
    ("affine_forward_no_return.py:Affine", None, "check.forward", "forward_returns_none"),
    ("affine_no_reshape.py:Affine", (3, 2, 2), "check.shape", "dx_not_reshaped"),
    ("affine_no_db.py:Affine", None, "check.grad_set", "grad_not_set"),
    ("mul_not_swapped.py:MulLayer", None, "check.gradient", "not_swapped"),
    ("add_returns_dout.py:AddLayer", None, "check.not_aliased", "aliases_dout"),
    ("dropout_no_mask.py:Dropout", None, "check.gradient", "mask_missing"),
    (
        "batchnorm_missing_variance_term.py:BatchNormalization",
        None,
        "check.gradient",
        "batchnorm_paths",
    ),
    ("pooling_spreads_gradient.py:Pooling", None, "check.gradient", "mask_missing"),
]

# mitbadak's own layers are correct layers too.
OWN = [
    "layers.py:Relu",
    "layers.py:Sigmoid",
    "layers.py:Affine",
    "layers.py:SoftmaxWithLoss",
    "graph.py:MulLayer",
    "graph.py:AddLayer",
    "conv.py:Convolution",
    "conv.py:Pooling",
    "conv.py:Flatten",
    "batchnorm.py:BatchNormalization",
    "dropout.py:Dropout",
]


def check(target: str, input_shape: tuple[int, ...] | None = None) -> Report:
    return check_target(str(FIXTURES / target), input_shape=input_shape)


@pytest.mark.parametrize("target", CORRECT)
def test_correct_layers_pass(target: str) -> None:
    report = check(target)
    assert report.passed, report.render()
    statuses = {f.check: f.status for f in report.findings}
    assert statuses["check.forward"] == statuses["check.backward"] == "pass"
    gradients = [f for f in report.findings if f.check == "check.gradient"]
    assert gradients and all(f.status == "pass" for f in gradients)
    assert "check.forward_twice" in statuses and "check.backward_twice" in statuses


@pytest.mark.parametrize("target", OWN)
def test_mitbadaks_own_layers_pass(target: str) -> None:
    report = check_target(str(SRC / target))
    assert report.passed, report.render()


@pytest.mark.parametrize(("target", "shape", "failing", "hint"), MISTAKES)
def test_each_classic_mistake_is_caught_with_its_diagnosis(
    target: str, shape: tuple[int, ...] | None, failing: str, hint: str | None
) -> None:
    report = check(target, shape)
    assert not report.passed
    failed = {f.check: f for f in report.failures}
    assert failing in failed, report.render()
    if hint is not None:
        assert hint in failed[failing].hints, report.render()
    # Every failure says why, in words, in both languages.
    for finding in report.failures:
        assert finding.details, finding
    assert report.render("en") != report.render("ko")


def test_the_catalogue_covers_every_mistake_file() -> None:
    files = {p.name for p in FIXTURES.glob("*.py")}
    listed = {t.split(":")[0] for t in CORRECT} | {t.split(":")[0] for t, *_ in MISTAKES}
    assert files - listed == {"broken_import.py", "exits_at_import.py"}


def test_a_gradient_failure_names_the_band_and_the_first_wrong_entry() -> None:
    report = check("softmax_missing_n.py:SoftmaxWithLoss")
    (finding,) = [f for f in report.failures if f.check == "check.gradient"]
    keys = [key for key, _ in finding.details]
    assert keys[:2] == ["info.band.wrong", "info.first_mismatch"]
    fields = dict(finding.details)["info.first_mismatch"]
    # The first wrong entry's two values differ by the factor N = 3.
    assert fields["backprop"] == pytest.approx(3 * fields["numerical"], rel=1e-6)
    text = report.render()
    assert "is above 1e-2: backward does not compute the derivative of" in text
    assert "First wrong entry at [0, 0]" in text


def test_a_near_miss_lands_in_the_close_band_and_passes() -> None:
    # The book's cross-entropy adds 1e-7 inside the log: right, up to about 1e-6.
    report = check("good_softmax_with_loss.py:SoftmaxWithLoss")
    (finding,) = [f for f in report.findings if f.check == "check.gradient"]
    assert finding.status == "pass" and finding.details[0][0] == "info.band.close"


def test_the_report_says_what_it_ran_and_the_verdict() -> None:
    text = check("good_affine.py:Affine").render()
    lines = text.splitlines()
    assert lines[1] == "  a layer: forward(x) -> out, backward(dout) -> dx"
    assert "parameters: W, b" in text
    assert lines[-1] == "verdict: every check passed (15 checks; exit code 0)"
    bad = check("relu_mutates_dout.py:Relu").render()
    assert bad.splitlines()[-1] == "verdict: 2 of 11 checks failed (exit code 1)"
    assert "  FAIL  backward writes into dout" in bad


def test_reports_fit_80_columns_in_both_languages() -> None:
    for target, shape, *_ in MISTAKES[:12]:
        report = check(target, shape)
        for lang in ("en", "ko"):
            for line in report.render(lang).splitlines():
                assert display_width(line) <= WIDTH, line


def test_the_korean_report() -> None:
    report = check("softmax_missing_n.py:SoftmaxWithLoss")
    text = report.render("ko")
    assert "  실패  dx가 중심 차분과 일치하지 않습니다" in text
    assert "배치 크기로 나누는 부분이 빠졌습니다" in " ".join(text.split())
    assert text.splitlines()[-1] == "판정: 검사 9개 중 1개가 실패했습니다 (종료 코드 1)"


def test_every_message_exists_in_both_languages_with_the_same_fields() -> None:
    import string

    en, ko = LANGUAGES["en"], LANGUAGES["ko"]
    assert set(en) == set(ko)
    for key in en:
        fields_en = {f for _, f, _, _ in string.Formatter().parse(en[key]) if f}
        fields_ko = {f for _, f, _, _ in string.Formatter().parse(ko[key]) if f}
        assert fields_en == fields_ko, key
        assert any("\uac00" <= ch <= "\ud7a3" for ch in ko[key]) or key in (
            "header",
            "info.raised_here",
        ), key


def test_the_language_follows_the_flag_then_the_locale() -> None:
    assert language("ko", {}) == "ko" and language("en", {"LANG": "ko_KR.UTF-8"}) == "en"
    assert language(None, {"LANG": "ko_KR.UTF-8"}) == "ko"
    assert language(None, {"LC_ALL": "C.UTF-8", "LANG": "ko_KR.UTF-8"}) == "en"
    assert language(None, {"LC_MESSAGES": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}) == "ko"
    assert language(None, {}) == "en"
    with pytest.raises(ValueError, match="language must be one of"):
        language("fr", {})


def run_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mitbadak", "check", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
    )


def test_exit_codes_and_the_korean_locale() -> None:
    good = run_check(str(FIXTURES / "good_relu.py:Relu"), env={"LANG": "C.UTF-8"})
    assert good.returncode == 0 and good.stdout.startswith("mitbadak check ")
    assert "verdict: every check passed" in good.stdout
    bad = run_check(str(FIXTURES / "sigmoid_uses_x.py:Sigmoid"), env={"LANG": "ko_KR.UTF-8"})
    assert bad.returncode == 1
    assert "시그모이드의 미분은" in bad.stdout and "판정:" in bad.stdout
    forced = run_check(
        str(FIXTURES / "sigmoid_uses_x.py:Sigmoid"), "--lang", "en", env={"LANG": "ko_KR.UTF-8"}
    )
    assert forced.returncode == 1 and "the sigmoid's derivative is" in forced.stdout
    assert not any(ch < " " and ch != "\n" for ch in bad.stdout + good.stdout)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.py:Relu", "missing.py: no such file"),
        ("broken_import.py:Relu", "could not be imported: ModuleNotFoundError: No module named"),
        ("exits_at_import.py:Relu", "called sys.exit() while being imported"),
        ("good_relu.py:Relu2", "has no class named 'Relu2' (classes there: Relu, Tanh)"),
        ("good_softmax_with_loss.py:softmax", "'softmax' in"),
        ("good_relu.py", "expected FILE.py:ClassName"),
    ],
)
def test_a_file_that_cannot_be_had_is_one_line(
    name: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(FIXTURES / name), "--lang", "en"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("mitbadak check: error: ")
    assert message in captured.err


def test_a_syntax_error_is_one_line_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "layers.py"
    source.write_text("class Relu:\n    def forward(self, x)\n        return x\n")
    assert main(["check", f"{source}:Relu", "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{source}, line 2: SyntaxError" in err
    assert main(["check", f"{source}:Relu", "--lang", "ko"]) == 1
    assert "2번째 줄: SyntaxError" in capsys.readouterr().err


def test_the_learners_prints_do_not_mix_into_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "noisy.py"
    source.write_text(
        "print('importing')\n"
        "class Relu:\n"
        "    def forward(self, x):\n"
        "        print('forward', x.shape)\n"
        "        self.mask = x <= 0\n"
        "        return x * (x > 0)\n"
        "    def backward(self, dout):\n"
        "        return dout * ~self.mask\n"
    )
    assert main(["check", f"{source}:Relu"]) == 0
    captured = capsys.readouterr()
    assert "forward" in captured.out and "forward (3, 4)" not in captured.out
    assert "importing" not in captured.out and "importing" in captured.err


def test_an_exception_in_backward_points_at_the_learners_line() -> None:
    report = check("affine_dx_missing_transpose.py:Affine")
    (finding,) = report.failures
    fields = dict(finding.details)["info.raised"]
    assert fields["error"] == "ValueError" and fields["line"] == 18
    assert fields["source"] == "return np.dot(dout, self.W)"


def test_a_constructor_the_checker_cannot_fill_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "odd.py"
    source.write_text(
        "class Odd:\n"
        "    def __init__(self, units):\n"
        "        self.units = units\n"
        "    def forward(self, x):\n"
        "        return x\n"
        "    def backward(self, dout):\n"
        "        return dout\n"
    )
    assert main(["check", f"{source}:Odd"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument 'units'" in err


def test_the_global_random_state_is_left_as_it_was() -> None:
    np.random.seed(123)  # noqa: NPY002
    before = np.random.random(3)  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    check("good_dropout.py:Dropout")
    assert np.array_equal(np.random.random(3), before)  # noqa: NPY002


def test_a_layer_that_draws_its_own_random_numbers_skips_the_state_checks(
    tmp_path: Path,
) -> None:
    source = tmp_path / "noise.py"
    source.write_text(
        "import numpy as np\n"
        "class Noise:\n"
        "    def __init__(self):\n"
        "        self.rng = np.random.default_rng()\n"
        "    def forward(self, x):\n"
        "        self.mask = self.rng.random(x.shape) > 0.5\n"
        "        return x * self.mask\n"
        "    def backward(self, dout):\n"
        "        return dout * self.mask\n"
    )
    report = check_target(f"{source}:Noise")
    statuses = {f.check: f.status for f in report.findings}
    assert statuses["check.forward_twice"] == "skip"
    assert report.passed, report.render()


def test_load_errors_carry_a_message_key() -> None:
    with pytest.raises(LoadError) as info:
        check_target(str(FIXTURES / "good_relu.py:Nope"))
    assert info.value.key == "no_class"
    assert say("error.no_class", "ko", info.value.fields).endswith("(있는 클래스: Relu, Tanh)")


def test_a_constructor_or_forward_that_raises_is_a_failure_with_its_line(tmp_path: Path) -> None:
    source = tmp_path / "raising.py"
    source.write_text(
        "import numpy as np\n"
        "class Affine:\n"
        "    def __init__(self, W, b):\n"
        "        raise ValueError('no weights today')\n"
        "    def forward(self, x):\n"
        "        return x\n"
        "    def backward(self, dout):\n"
        "        return dout\n"
        "class Sigmoid:\n"
        "    def forward(self, x):\n"
        "        return 1 / (1 + np.exp(-self.x))\n"
        "    def backward(self, dout):\n"
        "        return dout\n"
    )
    report = check_target(f"{source}:Affine")
    (failure,) = report.failures
    assert failure.check == "check.construct"
    assert dict(failure.details)["info.raised"]["line"] == 4
    report = check_target(f"{source}:Sigmoid")
    (failure,) = report.failures
    assert failure.check == "check.forward"
    raised = dict(failure.details)["info.raised"]
    assert raised["error"] == "AttributeError" and raised["line"] == 11
    assert "line 11: return 1 / (1 + np.exp(-self.x))" in " ".join(report.render().split())


def test_a_loss_layer_written_for_index_labels_gets_them(tmp_path: Path) -> None:
    source = tmp_path / "index_loss.py"
    source.write_text(
        "import numpy as np\n"
        "class SoftmaxWithLoss:\n"
        "    def forward(self, x, t):\n"
        "        self.t = t\n"
        "        e = np.exp(x - x.max(axis=1, keepdims=True))\n"
        "        self.y = e / e.sum(axis=1, keepdims=True)\n"
        "        n = x.shape[0]\n"
        "        return -np.sum(np.log(self.y[np.arange(n), t])) / n\n"
        "    def backward(self, dout=1):\n"
        "        dx = self.y.copy()\n"
        "        dx[np.arange(self.t.shape[0]), self.t] -= 1\n"
        "        return dx / self.t.shape[0]\n"
    )
    report = check_target(f"{source}:SoftmaxWithLoss")
    assert report.passed, report.render()
    assert "t: labels as class indices" in report.render()


def test_a_fix_made_within_the_same_second_is_what_gets_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's bytecode cache knows a file by its size and second of modification: a fix of
    # the same size, saved within the second (a notebook cell), must not run the old code.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    wrong = (FIXTURES / "affine_db_wrong_axis.py").read_text()
    layer = tmp_path / "my_layers.py"
    layer.write_text(wrong)
    stamp = layer.stat().st_mtime_ns
    assert not check_target(f"{layer}:Affine").passed
    layer.write_text(wrong.replace("axis=1", "axis=0"))
    os.utime(layer, ns=(stamp, stamp))
    assert check_target(f"{layer}:Affine").passed
    assert not (tmp_path / "__pycache__").exists()
