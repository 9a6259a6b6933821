"""``python -m gridconsole.console`` is the ``gridconsole`` command."""
from .cli import main

raise SystemExit(main())
