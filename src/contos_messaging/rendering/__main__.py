"""``python -m contos_messaging.rendering MEMORY_MB``: a render worker (see ``worker.py``)."""

from contos_messaging.rendering.worker import main

main()
