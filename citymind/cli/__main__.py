"""``python -m citymind.cli``: the same as the ``citymind`` command."""

from citymind.cli import main

main()
