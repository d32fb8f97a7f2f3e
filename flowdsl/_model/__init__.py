"""The graph model: immutable values describing a compiled graph. It knows nothing of running.

It is a leaf: it imports only itself and the plain values its records hold
(``SourceLocation``, ``RetryPolicy``, ``AtomicGroup``, ``MapOver``) and the
typing helpers, never the services, the compiler or the runtime;
a vertex's compiled contracts are carried without naming their class.
``tests/test_layers.py`` keeps it so.
"""
