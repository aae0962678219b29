"""Integration types, one module each, dispatched by type (see ``dispatch.py``)."""
