"""Hand-written pairs of I/O primitives: ``_async.py`` for the source, ``_sync.py`` for the twin.

Both modules export the same names with the same shapes (``AsyncEvent``/``Event``, ...), so
that scripts/unasync.py needs only a small renaming table.
"""
