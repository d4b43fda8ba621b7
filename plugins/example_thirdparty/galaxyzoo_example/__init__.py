"""An example third-party galaxyzoo plugin (see plugin.py for what it registers)."""
