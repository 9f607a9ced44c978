"""The development harness: the embedded servers (``servers``), ``make run`` (``run``),
the test stack of flow and API processes (``sandbox``) and sample messages (``samples``).
Not in the image: the service runs without it (``ops`` is what deploys)."""
