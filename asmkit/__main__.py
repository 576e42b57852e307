"""``python -m asmkit``: the same as the ``asmkit`` command."""

import sys

from asmkit.cli import main

sys.exit(main())
