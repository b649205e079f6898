"""extender/engine: the filters and weighers by family, the scheduler, the registries and
the fast paths. helpers.py runs the engine for them."""
