"""The run options, each declared once, and ``Settings``: the values one run uses.

It sits below the runtime and the interfaces: ``Flow`` and the runtime read
``Settings``, ``flowdsl._settings`` resolves them, the CLI derives its flags
from ``OPTIONS``.

Every option is one field of :class:`Settings`: its name, its default and,
in ``metadata=option(...)``, the check of a given value, how a text (an
environment variable or a command line flag) converts to a value, and a line
of help. The rest is derived from that field: the ``FLOWDSL_<NAME>``
environment variable, the resolution order (``flowdsl._settings``), the
``flowdsl settings`` table and the command line's ``--<name>`` flag.
``Flow.run``, ``Flow.start`` and ``Flow.arun`` also name each option as a
keyword, for IDEs; a test checks that they agree with this table.

A bad value is a ``SettingsError`` that names where it came from: the
argument, ``configure(name=...)`` or the environment variable.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

import attrs

from ._policies import RetryPolicy, retry_policy
from .errors import SettingsError

if TYPE_CHECKING:
    from ._services.cache import CacheStore

__all__ = [
    "ANYIO_BACKENDS",
    "BACKENDS",
    "CONTRACTS",
    "ON_ERROR",
    "OPTIONS",
    "Invalid",
    "Option",
    "Settings",
    "checked_settings",
    "parse_bool",
]

T = TypeVar("T")

Backend = Literal["serial", "thread", "async", "dask"]
OnError = Literal["raise", "continue"]
ContractsMode = Literal["strict", "warn", "off"]
AnyioBackend = Literal["asyncio", "trio"]
CacheOption = Union[bool, str, "os.PathLike[str]", "CacheStore"]

BACKENDS: tuple[str, ...] = ("serial", "thread", "async", "dask")
ON_ERROR: tuple[str, ...] = ("raise", "continue")
CONTRACTS: tuple[str, ...] = ("strict", "warn", "off")
ANYIO_BACKENDS: tuple[str, ...] = ("asyncio", "trio")


class Invalid(Exception):
    """A value an option does not accept; the message says why (``"must be ..."``)."""


# --- checks: a value (from any source) to the value a run uses ---------------------------


def _choice(choices: tuple[str, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise Invalid(f"is not one of: {', '.join(choices)}")
        return value

    return check


def _positive_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid("must be a positive whole number")
    return value


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise Invalid("must be a positive number of seconds, or inf")
    # Infinite seconds is no limit, whether given as math.inf or as the text "inf".
    return None if value == math.inf else float(value)


def _cache(value: Any) -> CacheOption:
    if isinstance(value, (bool, str, os.PathLike)):
        return value
    if all(callable(getattr(value, name, None)) for name in ("get", "set", "clear", "stats")):
        store: CacheStore = value
        return store
    raise Invalid("is not False, True, a path or a cache store")


def _retry(value: Any) -> RetryPolicy | None:
    try:
        return retry_policy(value)
    except ValueError:
        raise Invalid("must be a RetryPolicy or a whole number of retries >= 0") from None


def _address(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise Invalid("must be a scheduler address such as tcp://10.0.0.5:8786")


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be True or False")
    return value


def _path(value: Any) -> str | os.PathLike[str] | None:
    if value is None or isinstance(value, (str, os.PathLike)):
        return value
    raise Invalid("must be a path (a str or os.PathLike)")


# --- texts: an environment variable or a command line flag to a value ----------------------

_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_WHOLE = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def parse_bool(text: str) -> bool:
    """``true``/``yes``/``1`` or ``false``/``no``/``0`` (any case); anything else is ``Invalid``."""
    try:
        return _BOOLEANS[text.lower()]
    except KeyError:
        raise Invalid("must be one of: true, false, yes, no, 1, 0") from None


def _text(text: str) -> str:
    return text


def _whole_text(text: str) -> int:
    if not _WHOLE.fullmatch(text):
        raise Invalid("must be a positive whole number")
    return int(text)


def _seconds_text(text: str) -> float:
    if text.lower() in ("inf", "infinity"):
        return math.inf
    if not _NUMBER.fullmatch(text):
        raise Invalid("must be a positive number of seconds, or inf")
    return float(text)


def _retry_text(text: str) -> RetryPolicy:
    return RetryPolicy(max_retries=_whole_or_zero_text(text))


def _whole_or_zero_text(text: str) -> int:
    if not _WHOLE.fullmatch(text):
        raise Invalid("must be a whole number >= 0")
    return int(text)


def _cache_text(text: str) -> bool | str:
    # A boolean word turns the in-memory store on or off; any other text is a path.
    try:
        return parse_bool(text)
    except Invalid:
        return text


# --- the declaration ----------------------------------------------------------------------

_SPEC = "flowdsl.option"


@attrs.frozen
class _Spec:
    check: Callable[[Any], Any]
    from_text: Callable[[str], Any]
    help: str
    metavar: str
    shown_default: str
    choices: tuple[str, ...] | None


def option(
    check: Callable[[Any], Any] | None = None,
    from_text: Callable[[str], Any] = _text,
    *,
    help: str,
    metavar: str = "",
    shown_default: str,
    choices: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The ``metadata`` that makes an ``attrs.field`` of ``Settings`` an option.

    ``check`` takes a value from anywhere and returns the value a run uses, or
    raises ``Invalid``; ``from_text`` turns the text of an environment variable
    or a command line flag into a value (which is then checked). An option with
    ``choices`` takes exactly one of those words, and needs neither.
    ``metavar`` and ``shown_default`` are for people at a shell: the value's
    placeholder and the default as they would type or read it there.
    """
    if choices is not None:
        check = _choice(choices)
    assert check is not None, "an option needs a check or choices"
    return {_SPEC: _Spec(check, from_text, help, metavar, shown_default, choices)}


# Not slotted, so that ``checked_settings`` fills all values at once: resolved once per run.
@attrs.frozen(kw_only=True, slots=False)
class Settings:
    """The option values one run uses; ``flowdsl.settings().values`` shows the current ones.

    Each option is resolved on its own: the argument of the call, else
    ``flowdsl.configure(...)``, else the ``FLOWDSL_<NAME>`` environment
    variable, else its default (the Settings page of the docs lists them).
    Values are checked when built.

    Examples:
        >>> import flowdsl
        >>> flowdsl.Settings(backend="thread").backend
        'thread'
        >>> flowdsl.Settings(max_workers=0)
        Traceback (most recent call last):
        ...
        flowdsl.errors.SettingsError: Settings(max_workers=0) must be a positive whole number
    """

    backend: Backend = attrs.field(
        default="serial",
        metadata=option(choices=BACKENDS, help="where sync vertices run", shown_default="serial"),
    )
    on_error: OnError = attrs.field(
        default="raise",
        metadata=option(
            choices=ON_ERROR,
            help="stop at the first failure, or run what does not depend on it",
            shown_default="raise",
        ),
    )
    max_workers: int | None = attrs.field(
        default=None,
        metadata=option(
            _positive_int,
            _whole_text,
            help="upper bound on worker threads",
            metavar="N",
            shown_default="40",
        ),
    )
    max_concurrency: int | None = attrs.field(
        default=None,
        metadata=option(
            _positive_int,
            _whole_text,
            help="upper bound on coroutine vertices in flight",
            metavar="N",
            shown_default="no limit",
        ),
    )
    timeout: float | None = attrs.field(
        default=None,
        metadata=option(
            _seconds,
            _seconds_text,
            help="seconds for the whole run",
            metavar="SECONDS",
            shown_default="no limit",
        ),
    )
    contracts: ContractsMode = attrs.field(
        default="strict",
        metadata=option(
            choices=CONTRACTS,
            help="how values are checked against annotations",
            shown_default="strict",
        ),
    )
    cache: CacheOption = attrs.field(
        default=False,
        metadata=option(
            _cache,
            _cache_text,
            help="where pure vertices' results are cached",
            metavar="PATH|true|false",
            shown_default="false",
        ),
    )
    anyio_backend: AnyioBackend = attrs.field(
        default="asyncio",
        metadata=option(
            choices=ANYIO_BACKENDS,
            help="the event loop for a run that needs one",
            shown_default="asyncio",
        ),
    )

    retry: RetryPolicy | None = attrs.field(
        default=None,
        metadata=option(
            _retry,
            _retry_text,
            help="retries of every vertex without its own",
            metavar="N",
            shown_default="0",
        ),
    )
    checkpoint: str | os.PathLike[str] | None = attrs.field(
        default=None,
        metadata=option(
            _path,
            _text,
            help="SQLite file each completed output is written to",
            metavar="PATH",
            shown_default="none",
        ),
    )
    progress: bool = attrs.field(
        default=False,
        metadata=option(
            _boolean,
            parse_bool,
            help="show the run's progress on stderr",
            metavar="yes|no",
            shown_default="no",
        ),
    )

    dask_address: str | None = attrs.field(
        default=None,
        metadata=option(
            _address,
            _text,
            help="the Dask scheduler backend='dask' connects to",
            metavar="ADDRESS",
            shown_default="a local cluster per run",
        ),
    )

    def __attrs_post_init__(self) -> None:
        for opt in OPTIONS:
            value = getattr(self, opt.name)
            object.__setattr__(self, opt.name, opt.check(value, "Settings"))


def checked_settings(values: Mapping[str, Any]) -> Settings:
    """``Settings`` from a value for every option, each already checked by its ``Option``.

    ``flowdsl._settings`` resolves every run's options this way: its values
    passed ``Option.check`` (or are defaults), and checking them again in
    ``Settings.__init__`` would cost a run about 3 µs more.
    """
    settings = object.__new__(Settings)
    settings.__dict__.update(values)
    return settings


@attrs.frozen
class Option:
    """One option of ``Settings``: its name, environment variable, default and checks."""

    name: str
    default: Any
    spec: _Spec = attrs.field(repr=False)

    @property
    def env(self) -> str:
        """The environment variable that sets it: ``FLOWDSL_<NAME>``."""
        return f"FLOWDSL_{self.name.upper()}"

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The words it takes, for an option that takes one of a few; else ``None``."""
        return self.spec.choices

    @property
    def metavar(self) -> str:
        """The placeholder of its value on a command line (``N``, ``PATH``)."""
        return self.spec.metavar

    @property
    def shown_default(self) -> str:
        """Its default as a person at a shell reads it (``40``, ``no limit``)."""
        return self.spec.shown_default

    @property
    def help(self) -> str:
        """What it decides, in a few words."""
        return self.spec.help

    def check(self, value: Any, source: str) -> Any:
        """The value a run uses for ``value``, which came from ``source``.

        ``source`` is ``"argument"``, ``"configure"`` or ``"Settings"``; a bad
        value is a ``SettingsError`` that names it.
        """
        try:
            return self.spec.check(value)
        except Invalid as exc:
            if source == "argument":
                message, where = f"{self.name}={value!r} {exc}", f"argument {self.name}"
            else:
                message = f"{source}({self.name}={value!r}) {exc}"
                where = f"{source}({self.name}=...)"
            raise SettingsError(message, source=where) from None

    def from_text(self, text: str) -> Any:
        """The value a text (an environment variable, a flag) stands for; ``Invalid`` if none."""
        return self.spec.check(self.spec.from_text(text))

    def from_environment(self, text: str) -> Any:
        """The value of this option's environment variable, which holds ``text``."""
        try:
            return self.from_text(text)
        except Invalid as exc:
            raise SettingsError(
                f"{self.env}={text!r} {exc}", source=f"environment {self.env}"
            ) from None


#: Every option, in declaration order.
OPTIONS: tuple[Option, ...] = tuple(
    Option(field.name, field.default, field.metadata[_SPEC]) for field in attrs.fields(Settings)
)
