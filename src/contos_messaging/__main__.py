"""``python -m contos_messaging``: the ``contos-messaging`` command."""

from contos_messaging.cli import main

raise SystemExit(main())
