"""One catalogue per language, complete both ways, and one choice of language."""

import pytest

from mitbadak.cli.args import build_parser
from mitbadak.i18n import AREAS, CATALOGUES, LANGUAGES, language, missing, overlaps, t


@pytest.mark.parametrize("area", sorted(AREAS))
def test_each_area_has_every_key_in_every_language(area: str) -> None:
    problems = [
        f"{area}: {other} against {lang}: {problem}"
        for lang in LANGUAGES
        for other in LANGUAGES
        if other != lang
        for problem in missing(AREAS[area][lang], AREAS[area][other])
    ]
    assert problems == []


def test_the_catalogues_are_complete_both_ways() -> None:
    assert missing(CATALOGUES["en"], CATALOGUES["ko"]) == []
    assert missing(CATALOGUES["ko"], CATALOGUES["en"]) == []


def test_no_key_is_defined_in_two_areas() -> None:
    assert overlaps() == []


def test_overlaps_and_missing_name_the_key() -> None:
    areas = {"a": {"en": {"x": "1", "y": "2"}}, "b": {"en": {"y": "3"}, "ko": {"z": "4"}}}
    assert overlaps(areas) == ["key 'y' is defined in areas a, b"]
    assert missing({"a": "x", "b": "{n}"}, {"b": "{m}"}) == [
        "missing key 'a'",
        "placeholders differ in 'b': ['n'] vs ['m']",
    ]


def test_every_area_is_in_the_union() -> None:
    for lang in LANGUAGES:
        for area in AREAS.values():
            assert area[lang].items() <= CATALOGUES[lang].items()


def test_language_from_flag_and_locale() -> None:
    assert language(None, {"LANG": "ko_KR.UTF-8"}) == "ko"
    assert language(None, {"LC_ALL": "C.UTF-8", "LANG": "ko_KR.UTF-8"}) == "en"
    assert language(None, {"LC_MESSAGES": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}) == "ko"
    assert language("en", {"LANG": "ko_KR.UTF-8"}) == "en"
    assert language(None, {}) == "en"
    with pytest.raises(ValueError, match="received 'fr'"):
        language("fr")


def test_the_one_language_is_the_one_layercheck_and_figures_use() -> None:
    from mitbadak import hangul
    from mitbadak.layercheck import messages

    assert hangul.language is language and messages.language is language


def test_t_fills_and_rejects_unknown_language() -> None:
    assert t("serve.clear", "ko") == "지우기"
    with pytest.raises(ValueError, match="'fr'"):
        t("serve.clear", "fr")


@pytest.mark.parametrize(
    ("argv", "lang"),
    [
        (["evaluate", "m.npz"], None),
        (["--lang", "ko", "evaluate", "m.npz"], "ko"),
        (["evaluate", "m.npz", "--lang", "ko"], "ko"),
        (["--lang", "ko", "doctor"], "ko"),
        (["doctor", "--lang", "en"], "en"),
        (["--lang", "ko", "train"], "ko"),
        (["train", "--lang", "ko"], "ko"),
        (["--lang", "ko", "train", "--lang", "en"], "en"),
        (["--lang", "ko", "check", "f.py:C"], "ko"),
        (["check", "f.py:C", "--lang", "ko"], "ko"),
        (["explain", "--lang", "ko"], "ko"),
        (["predict", "m.npz", "a.png", "--lang", "ko"], "ko"),
        (["gradcheck", "--lang", "ko"], "ko"),
        (["serve", "--lang", "ko"], "ko"),
    ],
)
def test_lang_is_taken_before_or_after_the_command(argv: list[str], lang: str | None) -> None:
    assert build_parser().parse_args(argv).lang == lang


def test_the_global_flag_reaches_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mitbadak.cli import main

    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert main(["--lang", "ko", "check", "no_such_file.py:Relu"]) == 1
    korean = capsys.readouterr().err
    assert main(["check", "no_such_file.py:Relu"]) == 1
    english = capsys.readouterr().err
    assert korean != english
    assert any("\uac00" <= ch <= "\ud7a3" for ch in korean)
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in english)
