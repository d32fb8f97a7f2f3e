"""The graph model: immutable values describing a compiled graph. It knows nothing of running."""
