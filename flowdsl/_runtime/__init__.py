"""The executor: plans a graph once, then runs it on a backend."""
