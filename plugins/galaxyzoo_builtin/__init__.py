"""galaxyzoo's built-in plugins, registered through the ``galaxyzoo`` entry-point group."""
