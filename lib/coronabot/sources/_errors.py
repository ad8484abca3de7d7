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


def parse_count(text: str | None, what: str) -> int:
    """'143,596' or '+ 744' → int; raises LayoutError naming the figure when it does not parse."""
    if text is None:
        raise LayoutError(f"{what}: value is missing")
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("\u00a0", "")
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    if cleaned in ("", "-", "--"):
        raise LayoutError(f"{what}: no value published ({text.strip()!r})")
    try:
        return int(cleaned)
    except ValueError:
        raise LayoutError(f"{what}: {text.strip()!r} is not a number") from None
