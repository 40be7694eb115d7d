"""``python -m smaug_fast`` is the ``smaug-fast`` command."""

import sys

from .cli import main

sys.exit(main())
