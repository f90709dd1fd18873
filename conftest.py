"""Root pytest configuration for the whole workspace.

The ``sandbox/`` and ``tapkit/`` directories have the same names as the packages inside
them. pytest's importlib mode names ``sandbox/tests/test_x.py`` as ``sandbox.tests.test_x``
and would import the directory itself as a namespace package ``sandbox`` unless the real
package is already imported, so import both first.
"""

import sandbox  # noqa: F401
import tapkit  # noqa: F401
