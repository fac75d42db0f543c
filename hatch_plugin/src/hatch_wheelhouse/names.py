"""What text from outside (a lock, an archive, a build) may be before it
becomes a path or a line of a message."""

import re
import urllib.parse

from .errors import WheelhouseError

# The characters of wheel and sdist file names, package names and versions:
# nothing that can climb out of a folder, end a line or look like another name.
PLAIN = re.compile(r"[A-Za-z0-9._+!-]+")
URL = re.compile(r"[!-~]+")  # printable ASCII, as RFC 3986 has it (the rest percent-encoded)


def plain(value: str, what: str) -> str:
    """`value`, if it is a plain name."""
    if PLAIN.fullmatch(value) and value not in (".", ".."):
        return value
    raise WheelhouseError(
        f"{what} {value!a:.100} is not a plain name (ASCII letters, digits and ._-+! only)"
    )


def url(value: str, what: str) -> str:
    """`value`, if it is a valid URL of printable ASCII. The message does not
    show it: it may hold a password, and redacting needs a valid URL."""
    error = WheelhouseError(
        f"{what} is not a valid URL of printable ASCII (percent-encode the rest)"
    )
    try:
        urllib.parse.urlsplit(value).port  # noqa: B018 (a bad port or IPv6 host raises)
    except ValueError:
        raise error from None
    if not URL.fullmatch(value):
        raise error
    return value


def printable(value: str, what: str) -> str:
    """`value`, if it holds no control, formatting (such as a right-to-left
    override) or line-separating character: a local path, a requirement."""
    if value.isprintable():
        return value
    raise WheelhouseError(f"{what} {value!a:.100} holds a control or formatting character")


def shown(text: str, lines: bool = False) -> str:
    """`text` with every character that is not printable escaped (`lines`: but
    for the line breaks of a message that lists several problems)."""
    return "".join(c if c.isprintable() or (lines and c == "\n") else ascii(c)[1:-1] for c in text)
