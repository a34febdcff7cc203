"""classroom-edge daemon: features -> windows -> privacy gate -> store, plus web app and CLI."""

__version__ = "0.1.0"
