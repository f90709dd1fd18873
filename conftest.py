"""Root pytest configuration for the whole workspace.

The ``sandbox/`` directory has the same name as the ``sandbox`` package inside it. pytest's
importlib mode names ``sandbox/tests/test_x.py`` as ``sandbox.tests.test_x`` and would import
the directory itself as a namespace package ``sandbox`` unless the real package is already
imported, so import it first.
"""

import sandbox  # noqa: F401
