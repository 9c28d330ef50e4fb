"""The ``behavemodel`` command: a thin shell over the library.

One function per subcommand, grouped in small modules by stage. Library errors
become exit codes only here: 0 success and no deviations, 1 deviations found,
2 usage or input error. Everything printed that came from the data goes through
:func:`safe_text`, so hostile command lines or host names cannot move the cursor,
clear the screen or forge output lines.
"""

from __future__ import annotations

import click

from behavemodel._version import __version__
from behavemodel.cli._common import EXIT_DEVIATIONS, EXIT_ERROR, EXIT_OK, safe_text

__all__ = ["EXIT_DEVIATIONS", "EXIT_ERROR", "EXIT_OK", "main", "safe_text"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="behavemodel")
def main() -> None:
    """Learn how each group of Linux servers behaves; flag what deviates.

    \b
    Typical flow:
      behavemodel parse /var/log/audit/ -o events.parquet
      behavemodel fit events.parquet -o model.bmz
      behavemodel score model.bmz new-events.parquet -o alerts.parquet

    Exit codes: 0 ok (no deviations), 1 deviations found, 2 usage or input error.
    """


def _register() -> None:
    from behavemodel.cli._parse import parse_command

    main.add_command(parse_command)
    from behavemodel.cli._investigate import (
        ancestry_command,
        connections_command,
        timeline_command,
    )

    main.add_command(ancestry_command)
    main.add_command(timeline_command)
    main.add_command(connections_command)
    from behavemodel.cli._fit import fit_command
    from behavemodel.cli._inspect import diff_command, inspect_command
    from behavemodel.cli._score import score_command

    main.add_command(fit_command)
    main.add_command(score_command)
    main.add_command(inspect_command)
    main.add_command(diff_command)
    from behavemodel.cli._monitor import monitor_command

    main.add_command(monitor_command)
    from behavemodel.cli._simulate import simulate_command

    main.add_command(simulate_command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
