"""The en and ko catalogues stay complete against each other."""

import pytest

from mitbadak.i18n import CATALOGUES, language, missing, t


def test_catalogues_complete_both_ways() -> None:
    assert missing(CATALOGUES["en"], CATALOGUES["ko"]) == []
    assert missing(CATALOGUES["ko"], CATALOGUES["en"]) == []


def test_missing_names_the_key_and_placeholders() -> None:
    assert missing({"a": "x", "b": "{n}"}, {"b": "{m}"}) == [
        "missing key 'a'",
        "placeholders differ in 'b': ['n'] vs ['m']",
    ]


def test_language_from_flag_and_locale() -> None:
    assert language(None, {"LANG": "ko_KR.UTF-8"}) == "ko"
    assert language("en", {"LANG": "ko_KR.UTF-8"}) == "en"
    assert language(None, {}) == "en"


def test_t_fills_and_rejects_unknown_language() -> None:
    assert t("serve.clear", "ko") == "지우기"
    with pytest.raises(ValueError, match="'fr'"):
        t("serve.clear", "fr")
