"""The exceptions behavemodel raises.

Every error derives from :class:`BehaveModelError`; each subclass also inherits
the builtin exception it stands for, so ``except ValueError`` keeps working for
callers that do not know about behavemodel.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BehaveModelError",
    "ParseError",
    "SchemaError",
]


class BehaveModelError(Exception):
    """Root of every error behavemodel raises on purpose."""


class SchemaError(BehaveModelError, ValueError):
    """A table does not conform to the canonical event schema.

    Parameters
    ----------
    message : str
        What is wrong, naming the columns.
    problems : list of str, optional
        One line per offending column.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class ParseError(BehaveModelError, ValueError):
    """A line of input could not be parsed.

    Parameters
    ----------
    reason : str
        What was expected and what was found.
    file : str or Path, optional
        The file the line came from (``"<stdin>"`` or ``"<stream>"`` when it has no name).
    line : int, optional
        The 1-based line number in that file.
    text : bytes or str, optional
        The offending line, kept for error reports; shown shortened in the message.

    Examples
    --------
    >>> err = ParseError("no 'msg=audit(...)' header", file="audit.log", line=12)
    >>> print(err)
    audit.log:12: no 'msg=audit(...)' header
    >>> (err.file, err.line)
    ('audit.log', 12)
    >>> isinstance(err, ValueError)
    True
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        text: bytes | str | None = None,
    ) -> None:
        self.reason = reason
        self.file = None if file is None else str(file)
        self.line = line
        self.text = text
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.reason}"
