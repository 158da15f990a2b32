"""``python -m contos_messaging.adapters.rendering MEMORY_MB``: a render worker (see
``worker.py``)."""

from contos_messaging.adapters.rendering.worker import main

main()
