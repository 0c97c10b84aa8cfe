"""Command-line options generated from a config dataclass, and JSON recipe files of the same fields.

Each field ``name`` becomes the flag ``--name`` with underscores as hyphens; its type comes from the annotation
and its help from ``field(metadata={"help": ...})``. Defaults live only in the dataclass: every flag defaults to
"not given" (``argparse.SUPPRESS``), and :func:`config_from_args` fills in, in order of precedence, the flags
given, then the fields of the ``--config FILE.json`` recipe, then the dataclass defaults.

=========================  ==========================================================
annotation                 flag
=========================  ==========================================================
``int``, ``float``, str    ``--name VALUE``
``bool``                   ``--name`` / ``--no-name``
``tuple[T, T]``            ``--name A B`` (``tuple[T, ...]``: one or more values)
``dict[...]``, ``list``    ``--name JSON`` (a JSON object or list)
``X | None``               as ``X``; the default may be ``None``
=========================  ==========================================================

Field metadata: ``help``; ``metavar``; ``choices`` (a sequence, or a function returning one, called when the
parser is built); ``required`` (``True``: the field must be given on the command line or in the recipe even
though the dataclass has a default for Python callers).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import types
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = ["add_config_arguments", "config_from_args", "read_config_file", "flag_name", "CONFIG_DEST"]

#: namespace attribute of ``--config``
CONFIG_DEST = "config_file"

C = TypeVar("C")


def flag_name(name: str) -> str:
    """The flag of field ``name``.

    Examples:
        >>> flag_name("checkpoint_every")
        '--checkpoint-every'
    """
    return "--" + name.replace("_", "-")


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, ``(hint, False)`` otherwise."""
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return args[0], True
        raise TypeError(f"unsupported union {hint!r}: only X | None")
    return hint, False


def _json_value(kind: type) -> Callable[[str], Any]:
    """argparse ``type=`` parsing a JSON text into a ``kind`` (dict or list)."""
    what = "a JSON object" if kind is dict else "a JSON list"

    def parse(text: str) -> Any:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None
        if not isinstance(value, kind):
            raise argparse.ArgumentTypeError(f"expected {what}")
        return value

    parse.__name__ = "JSON"  # argparse names the type in its "invalid JSON value" message
    return parse


def _choices(f: dataclasses.Field[Any]) -> Sequence[Any] | None:
    choices = f.metadata.get("choices")
    return choices() if callable(choices) else choices


def _default_text(f: dataclasses.Field[Any]) -> str:
    """`` (default: ...)`` for the help, empty when the default is None, empty or absent (the help says)."""
    if f.default is dataclasses.MISSING or f.default is None or f.default == ():
        return ""
    value = f.default
    if isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, tuple):
        text = " ".join(str(v) for v in value)
    else:
        text = str(value)
    return f" (default: {text})"


def _argument_options(f: dataclasses.Field[Any], hint: Any) -> dict[str, Any]:
    """The keyword arguments of ``add_argument`` for field ``f`` annotated ``hint``."""
    base, _ = _unwrap_optional(hint)
    origin = get_origin(base) or base
    help_text = f.metadata.get("help", "")
    help_text += " (required: here or in --config)" if _required(f) else _default_text(f)
    opts: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text.replace("%", "%%")}
    if "metavar" in f.metadata:
        opts["metavar"] = f.metadata["metavar"]
    choices = _choices(f)
    if choices is not None:
        opts["choices"] = list(choices)
    if base is bool:
        opts["action"] = argparse.BooleanOptionalAction
    elif base in (int, float, str):
        opts["type"] = base
    elif origin is tuple:
        args = get_args(base)
        variadic = len(args) == 2 and args[1] is Ellipsis
        if not args or (not variadic and len(set(args)) != 1):
            raise TypeError(f"field {f.name!r}: tuples of one element type only, got {hint!r}")
        opts.update(type=args[0], nargs="+" if variadic else len(args))
    elif origin in (dict, list):
        opts.update(type=_json_value(origin), metavar=opts.get("metavar", "JSON"))
    else:
        raise TypeError(f"field {f.name!r}: no command-line form for {hint!r}")
    return opts


def _required(f: dataclasses.Field[Any]) -> bool:
    no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    return no_default or bool(f.metadata.get("required"))


def add_config_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add ``--config FILE.json`` and one flag per field of the dataclass ``cls`` to ``parser``.

    Examples:
        >>> from dataclasses import dataclass, field
        >>> @dataclass
        ... class Recipe:
        ...     out: str = field(metadata={"help": "output folder"})
        ...     crop_scale: tuple[float, float] = (0.08, 1.0)
        ...     amp: bool | None = None
        >>> p = argparse.ArgumentParser()
        >>> add_config_arguments(p, Recipe)
        >>> vars(p.parse_args(["--out", "o", "--crop-scale", "0.5", "1", "--no-amp"]))
        {'config_file': None, 'out': 'o', 'crop_scale': [0.5, 1.0], 'amp': False}
    """
    hints = get_type_hints(cls)
    parser.add_argument(
        "--config",
        dest=CONFIG_DEST,
        metavar="FILE.json",
        default=None,
        help="JSON object of options (field names, as in the run's *_config.json); "
        "flags given on the command line override it",
    )
    for f in dataclasses.fields(cls):
        parser.add_argument(flag_name(f.name), **_argument_options(f, hints[f.name]))


def _convert(hint: Any, value: Any, name: str) -> Any:
    """``value`` (from JSON or argparse) as the annotated type; ValueError when it does not fit."""
    base, optional = _unwrap_optional(hint)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} cannot be null")
    origin = get_origin(base) or base
    if base is bool:
        ok = isinstance(value, bool)
    elif base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif base in (int, str):
        ok = isinstance(value, base) and not isinstance(value, bool)
    elif origin is tuple:
        args = get_args(base)
        variadic = len(args) == 2 and args[1] is Ellipsis
        ok = isinstance(value, (list, tuple)) and (variadic or len(value) == len(args))
        if ok:
            item_types = args[:1] * len(value) if variadic else args
            return tuple(_convert(a, v, name) for a, v in zip(item_types, value))
    else:
        ok = isinstance(value, origin)
    if not ok:
        raise ValueError(f"{name} must be {_type_text(hint)}, got {value!r}")
    return value


def _type_text(hint: Any) -> str:
    base, optional = _unwrap_optional(hint)
    origin = get_origin(base) or base
    if origin is tuple:
        args = get_args(base)
        text = (
            f"a list of {args[0].__name__}"
            if args[-1] is Ellipsis
            else f"a list of {len(args)} {args[0].__name__} values"
        )
    elif origin is dict:
        text = "a JSON object"
    elif origin is list:
        text = "a JSON list"
    else:
        text = "a " + base.__name__
    return text + (" or null" if optional else "")


def read_config_file(path: str | os.PathLike[str], cls: type) -> dict[str, Any]:
    """The fields in the JSON recipe ``path``, checked against the dataclass ``cls``.

    Keys are field names (``batch_size``; the flag spelling ``batch-size`` is accepted too).
    """
    with open(path) as fh:
        try:
            raw = json.load(fh)
        except json.JSONDecodeError as e:
            raise ValueError(f"--config {os.fspath(path)}: not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"--config {os.fspath(path)}: expected a JSON object of options")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in names:
            raise ValueError(f"--config {os.fspath(path)}: unknown option {key!r}; known: {', '.join(names)}")
        values[name] = _convert(hints[name], value, f"--config {os.fspath(path)}: {key}")
    return values


def config_from_args(cls: type[C], args: argparse.Namespace) -> C:
    """The ``cls`` instance of the flags in ``args`` over the ``--config`` recipe over the dataclass defaults.

    Raises ValueError naming the required flags that were given neither way, or a recipe value outside a
    field's choices.

    Examples:
        >>> from dataclasses import dataclass, field
        >>> @dataclass
        ... class Recipe:
        ...     out: str
        ...     steps: int = field(default=10, metadata={"required": True})
        ...     lr: float = 0.01
        >>> p = argparse.ArgumentParser()
        >>> add_config_arguments(p, Recipe)
        >>> config_from_args(Recipe, p.parse_args(["--out", "o", "--steps", "5"]))
        Recipe(out='o', steps=5, lr=0.01)
        >>> config_from_args(Recipe, p.parse_args(["--out", "o"]))
        Traceback (most recent call last):
        ...
        ValueError: the following arguments are required: --steps (on the command line or in --config FILE.json)
    """
    hints = get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    path = getattr(args, CONFIG_DEST, None)
    values = read_config_file(path, cls) if path else {}
    for f in fields:
        if hasattr(args, f.name):
            values[f.name] = _convert(hints[f.name], getattr(args, f.name), flag_name(f.name))
    missing = [flag_name(f.name) for f in fields if _required(f) and f.name not in values]
    if missing:
        raise ValueError(
            f"the following arguments are required: {', '.join(missing)} (on the command line or in --config FILE.json)"
        )
    for f in fields:
        choices = _choices(f)
        if choices is not None and f.name in values and values[f.name] is not None and values[f.name] not in choices:
            raise ValueError(
                f"{flag_name(f.name)}: invalid choice {values[f.name]!r} (choose from {', '.join(map(str, choices))})"
            )
    return cls(**values)
