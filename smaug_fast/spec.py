"""Machinery shared by every hardware specification: documented fields, validation, dicts, dotted paths.

A hardware spec is a frozen dataclass whose fields carry their unit in their name and a one-line
description in their metadata (:func:`param`). :class:`Spec` gives such a dataclass

- unit-string coercion in ``__post_init__`` (``"32KiB"`` for a ``*_bytes`` field, see :mod:`.units`),
  then the subclass's ``validate()``;
- ``to_dict()`` / ``from_dict()`` that round-trip, reject unknown keys with their dotted path, and
  recurse into nested specs (any frozen dataclass, so specs written elsewhere, such as the memory
  package's ``CacheConfig``, nest without a twin);
- ``replace(**changes)`` that accepts dotted paths (``{"l2.size_bytes": "4MiB"}``), or ``__`` in
  place of the dots for keyword use (``l2__size_bytes="4MiB"``);
- ``describe()``: every leaf as (dotted path, value, description), for documentation and reports.

Everything here is generic over dataclasses; the hardware parts themselves are in :mod:`.hardware`.
"""

from __future__ import annotations

import dataclasses
import numbers
import typing
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, field, fields, is_dataclass

from . import units
from .errors import ConfigError, describe

#: Registries of polymorphic fields: a field whose default is an instance of a class registered here
#: is serialized with a ``"kind"`` key and rebuilt from the class registered under that kind.
POLYMORPHIC: dict[type, dict[str, type]] = {}


def param(default, doc: str, *, ge=None, gt=None, le=None, pow2: bool = False, choices=None, **metadata):
    """A dataclass field with a default, a one-line description (``doc``) and its constraints.

    The constraints are checked by :class:`Spec` when an instance is built, by the field's type
    (``int``, ``float``, ``bool``, ``str`` or a :class:`~smaug_fast.choices.Choice` enum): ``ge``/``gt``
    a lower bound (inclusive/exclusive), ``le`` an upper bound, ``pow2`` a power of two, ``choices`` the
    allowed strings. Relations between fields are the class's :meth:`Spec.validate`.
    """
    if not doc or "\n" in doc:
        raise ValueError("param(): doc must be one non-empty line")
    check = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("pow2", pow2), ("choices", choices))
             if v is not None and v is not False}
    return field(default=default, metadata={"doc": doc, "check": check, **metadata})


def field_doc(cls: type, name: str) -> str:
    """The one-line description of field ``name`` of dataclass ``cls`` (from :func:`param`; empty if none)."""
    for f in fields(cls):
        if f.name == name:
            return str(f.metadata.get("doc", ""))
    return ""


def _nested_class(f: dataclasses.Field, value: object) -> type | None:
    """The dataclass type a field holds, from its current value or its default."""
    for candidate in (value, f.default if f.default is not MISSING else None):
        if is_dataclass(candidate) and not isinstance(candidate, type):
            return type(candidate)
    if f.default_factory is not MISSING:  # type: ignore[misc]
        made = f.default_factory()  # type: ignore[misc]
        if is_dataclass(made):
            return type(made)
    return None


def _registry_for(cls: type) -> tuple[type, dict[str, type]] | None:
    for base, registry in POLYMORPHIC.items():
        if issubclass(cls, base):
            return base, registry
    return None


def to_dict(obj) -> dict:
    """A plain dict of a (nested) dataclass; polymorphic parts get their ``"kind"``."""
    out: dict[str, object] = {}
    reg = _registry_for(type(obj))
    if reg is not None:
        out["kind"] = getattr(type(obj), "kind")
    for f in fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        out[f.name] = to_dict(value) if is_dataclass(value) and not isinstance(value, type) else value
    return out


def _prefix(path: str, err: ConfigError) -> ConfigError:
    text = str(err)
    if not path or text.startswith(path + ".") or text.startswith(path + " "):
        return err
    return ConfigError(f"{path}.{text}")


def build(cls: type, kwargs: Mapping[str, object], path: str = ""):
    """``cls(**kwargs)``, with the dotted ``path`` put in front of any ConfigError it raises.

    Unit strings for fields named with a unit suffix are parsed first, so that dataclasses that do not
    derive from :class:`Spec` (such as the memory package's ``CacheConfig``) accept them too.
    """
    kwargs = dict(kwargs)
    for key, value in kwargs.items():
        kind = units.kind_of_field(key)
        if kind is not None and isinstance(value, str):
            kwargs[key] = units.parse(value, kind, _join(path, key))
    try:
        return cls(**kwargs)
    except ConfigError as err:
        label = kwargs.get("name")
        text = str(err)
        if path and isinstance(label, str) and label and text.startswith(label + "."):
            # Parts that name themselves in their errors (CacheConfig, DRAMConfig): use the path.
            err = ConfigError(path + text[len(label) :])
        raise _prefix(path, err) from None
    except TypeError as err:  # a required argument missing, or similar
        raise ConfigError(f"{path or cls.__name__}: {err}") from None


def from_dict(cls: type, data: Mapping[str, object], path: str = ""):
    """Build dataclass ``cls`` from a mapping, recursively; unknown keys raise ConfigError with the path.

    Nested parts take a mapping (merged onto the field's default) or an instance. A polymorphic part
    (see :data:`POLYMORPHIC`) takes a ``"kind"`` key choosing the class; without one it keeps the
    default's class.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or cls.__name__} = {describe(data)}: must be a mapping of field names to values")
    reg = _registry_for(cls)
    data = dict(data)
    if "kind" in data and reg is not None:
        kind = data.pop("kind")
        base, registry = reg
        if kind not in registry:
            raise ConfigError(
                f"{_join(path, 'kind')} = {describe(kind)}: unknown {base.__name__.lower()} kind; "
                f"known: {', '.join(sorted(registry))}"
            )
        cls = registry[kind]
    known = {f.name: f for f in fields(cls) if f.init}
    for key in data:
        if key not in known:
            raise ConfigError(
                f"{_join(path, str(key))}: unknown field of {cls.__name__} (known: {', '.join(sorted(known))})"
            )
    kwargs: dict[str, object] = {}
    for key, value in data.items():
        f = known[key]
        nested = _nested_class(f, None)
        if nested is not None and isinstance(value, Mapping):
            default = f.default if f.default is not MISSING else None
            base_dict = to_dict(default) if default is not None and "kind" not in value else {}
            if "kind" in value or default is None:
                merged = dict(value)
            else:
                base_dict.pop("kind", None)
                merged = {**base_dict, **value}
            kwargs[key] = from_dict(nested, merged, _join(path, key))
        else:
            kwargs[key] = value
    return build(cls, kwargs, path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def replace(obj, changes: Mapping[str, object], path: str = ""):
    """A copy of dataclass ``obj`` with ``changes`` applied; keys are dotted paths (or use ``__``).

    A nested part can be replaced whole (``{"l2": CacheConfig(...)}`` or a mapping merged onto the
    current part), or field by field (``{"l2.size_bytes": 4 << 20}``).
    """
    direct: dict[str, object] = {}
    nested: dict[str, dict[str, object]] = {}
    known = {f.name: f for f in fields(obj) if f.init}
    for raw_key, value in changes.items():
        if not isinstance(raw_key, str):
            raise ConfigError(f"{path or type(obj).__name__}: change key {raw_key!r} must be a string")
        key = raw_key.replace("__", ".")
        head, _, rest = key.partition(".")
        if head not in known:
            raise ConfigError(
                f"{_join(path, key)}: unknown field of {type(obj).__name__} (known: {', '.join(sorted(known))})"
            )
        current = getattr(obj, head)
        if rest:
            if not (is_dataclass(current) and not isinstance(current, type)):
                raise ConfigError(f"{_join(path, key)}: {_join(path, head)} has no fields (it is {describe(current)})")
            nested.setdefault(head, {})[rest] = value
        else:
            if is_dataclass(current) and not isinstance(current, type) and isinstance(value, Mapping):
                if "kind" in value:  # a different class of a polymorphic part: start from its defaults
                    value = from_dict(_registry_base(current), value, _join(path, head))
                else:  # merge onto the current part
                    merged = {k: v for k, v in to_dict(current).items() if k != "kind"}
                    merged.update(value)
                    value = from_dict(type(current), merged, _join(path, head))
            direct[head] = value
    for head, sub in nested.items():
        base = direct.get(head, getattr(obj, head))
        direct[head] = replace(base, sub, _join(path, head))
    if not direct:
        return obj
    kwargs = {f.name: getattr(obj, f.name) for f in fields(obj) if f.init}
    kwargs.update(direct)
    return build(type(obj), kwargs, path)


def _registry_base(obj) -> type:
    reg = _registry_for(type(obj))
    return reg[0] if reg else type(obj)


def walk(obj, path: str = "") -> Iterator[tuple[str, object, str]]:
    """Every leaf field of a nested dataclass as (dotted path, value, description)."""
    for f in fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        sub = _join(path, f.name)
        if is_dataclass(value) and not isinstance(value, type):
            yield from walk(value, sub)
        else:
            yield sub, value, field_doc(type(obj), f.name)


class Spec:
    """Mixin for frozen hardware dataclasses: declared constraints, unit coercion, dicts and dotted replace.

    Subclasses are ``@dataclass(frozen=True)`` with every field declared through :func:`param` (its
    default, description and constraints next to it). Building one parses unit strings, turns NumPy
    and whole-float numbers into the field's type, checks every field's constraints, then runs
    :meth:`validate` for the rules that relate fields; each failure is a ConfigError naming
    ``field = value``. Nested specs are fields whose default is a spec instance. A class whose
    instances name themselves (``_label = "name"``: the cache levels, the DRAM) puts that name in
    front of the field (``l2.size_bytes = ...``); inside a System the dotted path replaces it.
    """

    #: The field whose value names an instance in its errors (None: errors name the field alone).
    _label: typing.ClassVar[str | None] = None

    def __post_init__(self) -> None:
        self._coerce_units()
        self._check_declared()
        self.validate()

    def _coerce_units(self) -> None:
        """Turn unit strings into numbers, NumPy numbers into Python ones (Python ints stay ints), whole floats into ints
        for integer fields."""
        hints = _field_types(type(self))
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            kind = units.kind_of_field(f.name)
            if kind is not None and isinstance(value, str):
                value = units.parse(value, kind, self._where(f.name))
                object.__setattr__(self, f.name, value)
            hint = hints.get(f.name)
            if isinstance(value, bool) or isinstance(value, (str, type(None))):
                continue
            if hint is int and isinstance(value, float) and value.is_integer():
                object.__setattr__(self, f.name, int(value))
            elif hint is int and hasattr(value, "__index__"):
                object.__setattr__(self, f.name, int(value))
            elif hint is float and isinstance(value, numbers.Real) and not isinstance(value, (int, float)):
                object.__setattr__(self, f.name, float(value))

    def _check_declared(self) -> None:
        """Check every field against its type and the constraints declared with :func:`param`."""
        from .choices import Choice, parse

        hints = _field_types(type(self))
        for f in fields(self):  # type: ignore[arg-type]
            hint = hints.get(f.name)
            check = f.metadata.get("check", {})
            if f.name in _optional_fields(type(self)) and getattr(self, f.name) is None:
                continue
            if isinstance(hint, type) and issubclass(hint, Choice):
                object.__setattr__(self, f.name, parse(hint, getattr(self, f.name), self._where(f.name)))
            elif hint is bool:
                self._bool(f.name)
            elif hint is int:
                self._int(f.name, check.get("ge"), check.get("le"), check.get("pow2", False), check.get("gt"))
            elif hint is float:
                strict = "gt" in check
                self._number(f.name, check.get("gt", check.get("ge")), strict=strict, maximum=check.get("le"))
            elif hint is str and "choices" in check:
                self._choice(f.name, tuple(check["choices"]))
            elif hint is str and not isinstance(getattr(self, f.name), str):
                raise ConfigError(f"{self._where(f.name)} = {describe(getattr(self, f.name))}: must be a string")

    def validate(self) -> None:
        """Check the rules that relate fields; raise ConfigError naming ``field = value``."""

    def _where(self, name: str) -> str:
        """How errors name field ``name``: ``label.name`` for self-naming parts, else ``name``."""
        label = getattr(self, self._label, None) if self._label else None
        return f"{label}.{name}" if isinstance(label, str) and label else name

    # -- checks ------------------------------------------------------------------------------------

    def _int(self, name: str, minimum: int | None = 0, maximum: int | None = None, pow2: bool = False,
             above: int | None = None) -> None:
        value = getattr(self, name)
        where = self._where(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} = {describe(value)}: must be an integer")
        if above is not None and value <= above:
            raise ConfigError(f"{where} = {describe(value)}: must be > {above}")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{where} = {describe(value)}: must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{where} = {describe(value)}: must be <= {maximum}")
        if pow2 and (value < 1 or value & (value - 1)):
            raise ConfigError(f"{where} = {describe(value)}: must be a power of two")

    def _number(self, name: str, minimum: float | None = 0.0, *, strict: bool = True,
                maximum: float | None = None) -> None:
        value = getattr(self, name)
        where = self._where(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} = {describe(value)}: must be a number")
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{where} = {describe(value)}: must be finite")
        if minimum is not None and strict and value <= minimum:
            raise ConfigError(f"{where} = {describe(value)}: must be > {minimum:g}")
        if minimum is not None and not strict and value < minimum:
            raise ConfigError(f"{where} = {describe(value)}: must be >= {minimum:g}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{where} = {describe(value)}: must be <= {maximum:g}")

    def _bool(self, name: str) -> None:
        value = getattr(self, name)
        if not isinstance(value, bool):
            raise ConfigError(f"{self._where(name)} = {describe(value)}: must be True or False")

    def _choice(self, name: str, choices: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in choices:
            raise ConfigError(
                f"{self._where(name)} = {describe(value)}: must be one of {', '.join(map(repr, choices))}"
            )

    # -- dicts and replace -------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """A plain, JSON-friendly dict that :meth:`from_dict` turns back into an equal spec."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object], path: str = ""):
        """Build from a mapping; missing keys take their defaults, unknown keys are a ConfigError."""
        return from_dict(cls, data, path)

    def replace(self, **changes):
        """A copy with ``changes`` applied; keys may be dotted paths: ``replace(**{"l2.size_bytes": ...})``."""
        return replace(self, changes)

    def describe(self) -> list[tuple[str, object, str]]:
        """Every leaf parameter as (dotted path, value, one-line description)."""
        return list(walk(self))


def _field_types(cls: type) -> dict[str, object]:
    """The type of each field: ``int``, ``float``, ``bool``, ``str``, an enum, ... (``X | None`` gives X)."""
    cached = cls.__dict__.get("_smaug_field_types")
    if cached is not None:
        return cached
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # pragma: no cover - unresolvable annotations: no checks by type
        hints = {}
    out, optional = {}, set()
    for name, hint in hints.items():
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if type(None) in typing.get_args(hint) and len(args) == 1:
            hint = args[0]
            optional.add(name)
        out[name] = hint
    type.__setattr__(cls, "_smaug_field_types", out)
    type.__setattr__(cls, "_smaug_optional", frozenset(optional))
    return out


def _optional_fields(cls: type) -> frozenset[str]:
    _field_types(cls)
    return cls.__dict__["_smaug_optional"]


def read_toml(path) -> dict:
    """A TOML file as a dict; a missing, unreadable, non-UTF-8 or malformed file is a ConfigError naming it
    (the sweep and scenario specifications are read through here)."""
    import tomllib

    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


__all__ = ["POLYMORPHIC", "read_toml", "Spec", "build", "field_doc", "from_dict", "param", "replace", "to_dict", "walk"]
