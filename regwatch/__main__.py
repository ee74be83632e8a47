"""``python -m regwatch``: the same as the ``regwatch`` command."""

from regwatch.cli import main

main()
