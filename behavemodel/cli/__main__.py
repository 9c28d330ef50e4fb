"""``python -m behavemodel.cli``: the same as the ``behavemodel`` command."""

from behavemodel.cli import main

main()
