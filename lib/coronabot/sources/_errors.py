"""Typed source failures; the message always names what was missing or wrong."""


class SourceError(Exception):
    """The source could not give a trustworthy announcement; ``kind`` groups the cause."""

    kind = "source"


class FetchError(SourceError):
    """Network trouble, a timeout, a non-2xx status or an HTML error page instead of data."""

    kind = "fetch"


class UnexpectedPageError(FetchError):
    """An HTML page (an error page, a login or session page) came back where data was expected."""


class LayoutError(SourceError):
    """The page or response no longer has the structure the parser relies on."""

    kind = "layout"


class SanityError(SourceError):
    """Figures that cannot be right: negative, or a cumulative total going backwards."""

    kind = "sanity"


MAX_COUNT_CHARS = 20


def parse_count(text: object, what: str) -> int:
    """'143,596', '+ 744' or a JSON number such as 248 → int; raises LayoutError naming the figure when
    it is anything else (a fraction, NaN, Infinity, a boolean, a list or object, an endless string)."""
    if text is None:
        raise LayoutError(f"{what}: value is missing")
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise LayoutError(f"{what}: {type(text).__name__} is not a count")
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        if text != text or text in (float("inf"), float("-inf")) or not text.is_integer():
            raise LayoutError(f"{what}: {text!r} is not a whole number")
        return int(text)
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("\u00a0", "")
    if len(cleaned) > MAX_COUNT_CHARS:
        raise LayoutError(f"{what}: a value of {len(cleaned)} characters is not a count")
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    if cleaned in ("", "-", "--"):
        raise LayoutError(f"{what}: no value published ({text.strip()!r})")
    if not cleaned.lstrip("-").isdigit() or not cleaned.isascii():
        raise LayoutError(f"{what}: {text.strip()!r} is not a number")
    try:
        return int(cleaned)
    except ValueError:
        raise LayoutError(f"{what}: {text.strip()!r} is not a number") from None
