"""mitbadak이 내는 메시지의 한국어판. 키는 ``catalog_en``과 같다."""

MESSAGES: dict[str, str] = {
    "lang.switch": "English",
    "serve.title": "숫자를 그려 보세요",
    "serve.clear": "지우기",
}
