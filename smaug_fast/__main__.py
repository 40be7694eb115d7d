"""``python -m smaug_fast`` is the ``smaug-fast`` command."""

from .cli import run

run()
