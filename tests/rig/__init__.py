"""Test rig for regwatch: real registries (CNCF distribution 2.8), a token server,
OCI layouts and skopeo, all on 127.0.0.1.

Import as ``from rig.registry import start_registry`` (``tests/`` is on
``pythonpath`` via pyproject's ``[tool.pytest.ini_options]``).
"""
