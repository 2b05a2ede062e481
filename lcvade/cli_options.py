"""Command-line options generated from the fields of pydantic settings models.

A setting is written once, as a field of its settings model (:class:`training.config.
TrainConfig`, :class:`training.scoring.job.ScoreJobConfig`, :class:`service.settings.
ServiceSettings`, ...): its name, type, default and description.  A command lists the fields
it offers as a :class:`FlagGroup`, and :func:`with_config_flags` adds one typer option per
field to it:

* the option is the field's name with dashes (``batch_size`` -> ``--batch-size``) unless the
  group names another;
* its help is the field's description, followed by the default (and by the environment
  variable, for a ``pydantic-settings`` model with an ``env_prefix``);
* a boolean field becomes a ``--name/--no-name`` switch;
* every option defaults to "not given", so that the settings of a file or of the environment
  still apply where the command line is silent.

The command receives what the user gave as ``given[group.key] = {field: value}``; it builds
its settings from that and lets pydantic validate them, so a value is checked by exactly one
rule, the field's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from lcvade.score_record import value_type
from models.errors import LCVaDEError

GIVEN = "given"
SIMPLE_TYPES = (bool, int, float, str, Path)


def flag_name(name: str) -> str:
    """The command-line spelling of a setting: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class ConfigFlag:
    """One option that sets one field.

    ``flag`` replaces the option's default name, and ``parse`` reads the text of an option
    whose field is not a plain value (a list, a map).
    """

    name: str
    flag: str | None = None
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None

    @property
    def option(self) -> str:
        return self.flag or flag_name(self.name)

    @property
    def negation(self) -> str:
        """The switch that sets a boolean field to false: ``--no-`` and the option's name."""
        return "--no-" + self.option[2:]


@dataclass(frozen=True)
class FlagGroup:
    """Fields of one settings model offered as options; ``key`` names them in ``given``."""

    settings: type[BaseModel]
    flags: tuple[ConfigFlag, ...]
    key: str
    flags_by_name: Mapping[str, ConfigFlag] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {f.name: f for f in self.flags}
        unknown = sorted(set(by_name) - set(self.settings.model_fields))
        if unknown:
            raise TypeError(f"{self.settings.__name__} has no field {', '.join(unknown)}")
        object.__setattr__(self, "flags_by_name", by_name)

    @classmethod
    def of(cls, settings: type[BaseModel], *flags: str | ConfigFlag, key: str) -> FlagGroup:
        """A group from field names, or :class:`ConfigFlag` where a field needs more."""
        specs = tuple(f if isinstance(f, ConfigFlag) else ConfigFlag(f) for f in flags)
        return cls(settings, specs, key)

    @classmethod
    def every_field(
        cls,
        settings: type[BaseModel],
        *special: ConfigFlag,
        key: str,
        exclude: Iterable[str] = (),
    ) -> FlagGroup:
        """A group with an option for every field of ``settings`` (in their order) but those
        in ``exclude``; ``special`` gives the fields that need more than their name."""
        by_name = {f.name: f for f in special}
        skip = set(exclude)
        names = [n for n in settings.model_fields if n not in skip]
        return cls(settings, tuple(by_name.get(n, ConfigFlag(n)) for n in names), key)

    def only(self, *names: str) -> FlagGroup:
        """The same group with only the flags of fields ``names``."""
        return FlagGroup(self.settings, tuple(self.flags_by_name[n] for n in names), self.key)

    def argv(self, name: str, value: Any) -> list[str]:
        """The command-line words that set field ``name`` to ``value`` (the JSON form of the
        value, as ``model_dump(mode="json")`` gives it)."""
        flag = self.flags_by_name[name]
        if isinstance(value, bool):
            return [flag.option if value else flag.negation]
        if isinstance(value, list):
            return [flag.option, ",".join(str(v) for v in value)]
        return [flag.option, str(value)]

    def parameters(self) -> list[inspect.Parameter]:
        """One keyword parameter, with its ``typer.Option``, per flag of the group."""
        return [self._parameter(flag) for flag in self.flags]

    def parameter_name(self, flag: ConfigFlag) -> str:
        return f"{self.key}__{flag.name}"

    def _parameter(self, flag: ConfigFlag) -> inspect.Parameter:
        info = self.settings.model_fields[flag.name]
        if not info.description:
            raise TypeError(f"{self.settings.__name__}.{flag.name} has no description")
        kind = option_type(info.annotation)
        if kind is None and flag.parse is None:
            raise TypeError(
                f"{self.settings.__name__}.{flag.name} is not a plain value: give it a parse"
            )
        name = flag.option if kind is not bool else f"{flag.option}/{flag.negation}"
        option = typer.Option(
            None,
            name,
            help=self._help(flag, info),
            show_default=False,
            metavar=flag.metavar,
        )
        return inspect.Parameter(
            self.parameter_name(flag),
            inspect.Parameter.KEYWORD_ONLY,
            default=option,
            annotation=(kind or str) | None,
        )

    def _help(self, flag: ConfigFlag, info: FieldInfo) -> str:
        """The field's description, then its default and its environment variable."""
        notes = []
        default = None if info.default_factory is not None else info.default
        if isinstance(default, bool):
            notes.append("default: " + (flag.option if default else flag.negation))
        elif default is not None and default != "":
            notes.append(f"default: {default}")
        prefix = self.settings.model_config.get("env_prefix")
        if prefix:
            notes.append(f"env {prefix.upper()}{flag.name.upper()}")
        return f"{info.description} ({'; '.join(notes)})" if notes else str(info.description)


def option_type(annotation: Any) -> type | None:
    """The type of the option of a field annotated ``annotation``: the type of its values
    (:func:`lcvade.score_record.value_type`: ``None`` taken out, ``str`` for a ``Literal`` of
    strings) where the command line writes it plainly, else None."""
    try:
        kind = value_type(annotation)
    except TypeError:
        return None
    return kind if kind in SIMPLE_TYPES else None


def with_config_flags(*groups: FlagGroup) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the options of ``groups`` to a typer command.

    The command declares a parameter ``given``; the generated options stand where it stands
    in ``--help``, and the command is called with ``given = {group.key: {field: value}}``
    holding the options the user gave (parsed by the flag's ``parse`` where it has one).
    A ``parse`` that raises :class:`~models.errors.LCVaDEError` is reported as a bad value of
    that option.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(command, eval_str=True).parameters
        if GIVEN not in own:
            raise TypeError(f"{command.__name__} has no parameter {GIVEN!r}")
        parameters: list[inspect.Parameter] = []
        for p in own.values():
            if p.name == GIVEN:
                for group in groups:
                    parameters += group.parameters()
            else:
                parameters.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            given = collect(groups, kwargs)  # takes the generated options out of kwargs
            return command(**kwargs, given=given)

        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run

    return decorate


def collect(groups: Iterable[FlagGroup], kwargs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Move the generated options out of ``kwargs`` into ``{group.key: {field: value}}``."""
    given: dict[str, dict[str, Any]] = {}
    for group in groups:
        values = given.setdefault(group.key, {})
        for flag in group.flags:
            value = kwargs.pop(group.parameter_name(flag))
            if value is None:
                continue
            if flag.parse is not None:
                try:
                    value = flag.parse(value)
                except LCVaDEError as exc:
                    raise typer.BadParameter(str(exc), param_hint=flag.option) from exc
            values[flag.name] = value
    return given


def command_group(name: str, help: str) -> typer.Typer:  # noqa: A002 - typer's own name
    """A group of commands as every ``lcvade`` group is made: its help when called bare, no
    shell-completion commands, and plain tracebacks (errors the user can fix are caught and
    told in one line before they reach typer)."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


def comma_list(text: str) -> list[str]:
    """``a, b,c`` -> ``["a", "b", "c"]`` (empty items dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]
