"""Teach pure-function caching to fingerprint your own types.

A pure vertex is cached under a key made of its code and a fingerprint of each
argument. flowdsl fingerprints builtins, records (dataclasses, attrs,
NamedTuple), numpy arrays, and pandas, polars and pyarrow frames by itself; an
argument of another type is not cached (one ``CacheWarning`` says which). For
such a type, ``register`` a function that reduces a value to a *token*: any
value flowdsl can already fingerprint, holding everything that makes two
values of the type differ (in the style of dask's ``normalize_token.register``)::

    import flowdsl.fingerprint

    class Money:
        def __init__(self, cents: int, currency: str) -> None:
            self.cents, self.currency = cents, currency

    flowdsl.fingerprint.register(Money, lambda m: (m.cents, m.currency))

or as a decorator::

    @flowdsl.fingerprint.register(Money)
    def _money_token(m: Money) -> tuple[int, str]:
        return (m.cents, m.currency)

Two values whose tokens are equal share cache entries, so a token that leaves
something out lets a cache hit return a result computed from a different
value. The key also holds the value's class (``module.qualname``), so equal
tokens of two classes never meet. Registering a class covers its subclasses
unless they are registered themselves. A token function that raises makes the
value uncacheable for that call: the vertex runs, and a ``CacheWarning`` names
what the function raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from ._services._fingerprint_hooks import Encoder, register_handler
from ._services.fingerprint import Unfingerprintable, fingerprints_natively

__all__ = ["register"]

T = TypeVar("T")
TokenFunction = Callable[[T], Any]


@overload
def register(cls: type[T], fn: TokenFunction[T]) -> TokenFunction[T]: ...


@overload
def register(cls: type[T], fn: None = None) -> Callable[[TokenFunction[T]], TokenFunction[T]]: ...


def register(
    cls: type[T], fn: TokenFunction[T] | None = None
) -> TokenFunction[T] | Callable[[TokenFunction[T]], TokenFunction[T]]:
    """Fingerprint instances of ``cls`` by the token ``fn(value)`` returns.

    Example::

        flowdsl.fingerprint.register(Money, lambda m: (m.cents, m.currency))

    Without ``fn``, returns a decorator. Registering ``cls`` again replaces
    its function. Raises ``TypeError`` when ``cls`` is not a class or is one
    whose values flowdsl fingerprints exactly itself (``int``, ``str``,
    ``tuple``, ``dict``...), where a registration would never be used.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register() takes a class, not {cls!r}")
    if fingerprints_natively(cls):
        raise TypeError(
            f"flowdsl fingerprints {cls.__qualname__} values itself; "
            "register a class of your own (a subclass, or a wrapper)"
        )
    if fn is None:

        def decorate(function: TokenFunction[T]) -> TokenFunction[T]:
            register(cls, function)
            return function

        return decorate
    if not callable(fn):
        raise TypeError(f"register({cls.__qualname__}, fn): fn must be callable, not {fn!r}")
    token_function = fn

    def handler(encoder: Encoder, value: Any, depth: int) -> None:
        try:
            token = token_function(value)
        except Exception as exc:
            name = getattr(token_function, "__qualname__", repr(token_function))
            raise Unfingerprintable(
                f"{type(value).__module__}.{type(value).__qualname__}",
                f"its registered token function {name} raised {type(exc).__name__}: {exc}",
            ) from exc
        encoder.encode(token, depth + 1)

    register_handler(cls, handler)
    return fn
