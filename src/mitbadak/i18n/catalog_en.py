"""mitbadak's own messages in English. Keys are shared with ``catalog_ko``."""

MESSAGES: dict[str, str] = {
    "lang.switch": "한국어",
    "serve.title": "Draw a digit",
    "serve.clear": "Clear",
}
