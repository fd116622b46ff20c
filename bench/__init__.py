"""The README's benchmark, one module per line; ``python -m bench`` (``nox -s bench``) runs it.

It uses only what the wings export (``buglab.spec``, ``buglab.env``, ``buglab.lab``), so moving
code inside a wing never breaks it.
"""
