from tests.compiler._modules import make_module

__all__ = ["make_module"]
