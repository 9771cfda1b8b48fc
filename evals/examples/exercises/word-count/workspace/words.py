def count_words(text: str) -> dict[str, int]:
    return {}
