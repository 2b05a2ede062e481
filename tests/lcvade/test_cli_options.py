"""Command-line options generated from settings fields (lcvade.cli_options)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
import typer
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from lcvade.cli_options import ConfigFlag, FlagGroup, comma_list, option_type, with_config_flags
from models.errors import LCVaDEError


class Knobs(BaseModel):
    size: int = Field(default=3, ge=1, description="how many")
    rate: float | None = Field(default=None, description="how fast")
    where: Path = Field(default=Path("out"), description="output folder")
    mode: Literal["fast", "slow"] = Field(default="fast", description="fast or slow")
    loud: bool = Field(default=True, description="print as it goes")
    tags: list[str] = Field(default_factory=list, description="labels to attach")


def _no_semicolons(text: str) -> list[str]:
    if ";" in text:
        raise LCVaDEError(f"{text!r} has a semicolon; separate tags with commas")
    return comma_list(text)


KNOBS = FlagGroup.of(
    Knobs,
    "size",
    ConfigFlag("rate", flag="--speed"),
    "where",
    "mode",
    "loud",
    ConfigFlag("tags", parse=_no_semicolons),
    key="knobs",
)


def _app(seen: dict[str, Any]) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @with_config_flags(KNOBS)
    def run(
        name: str = typer.Argument(...),
        *,
        given: dict[str, dict[str, Any]],
        extra: int = typer.Option(0, "--extra", help="not a field"),
    ) -> None:
        seen.update(name=name, extra=extra, given=given, knobs=Knobs(**given["knobs"]))

    return app


def test_the_options_set_the_fields_and_silence_means_not_given():
    seen: dict[str, Any] = {}
    runner = CliRunner()
    argv = ["x", "--size", "5", "--speed", "2.5", "--where", "/tmp/q", "--mode", "slow",
            "--no-loud", "--tags", "a, b,,c", "--extra", "7"]  # fmt: skip
    result = runner.invoke(_app(seen), argv)
    assert result.exit_code == 0, result.output
    assert seen["name"] == "x" and seen["extra"] == 7
    assert seen["given"]["knobs"] == {
        "size": 5,
        "rate": 2.5,
        "where": Path("/tmp/q"),
        "mode": "slow",
        "loud": False,
        "tags": ["a", "b", "c"],
    }
    result = runner.invoke(_app(seen), ["y"])
    assert result.exit_code == 0, result.output
    assert seen["given"] == {"knobs": {}}  # a default of the file or environment still applies
    assert seen["knobs"] == Knobs()


def test_help_is_the_field_description_with_its_default():
    result = CliRunner().invoke(_app({}), ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = result.output
    for name, info in Knobs.model_fields.items():
        assert info.description in text, name
    assert "how many (default: 3)" in text
    assert "--speed" in text and "--rate" not in text
    assert "--no-loud" in text and "(default: --loud)" in text
    assert "(default: fast)" in text


def test_a_bad_value_names_the_option():
    runner = CliRunner()
    result = runner.invoke(_app({}), ["x", "--tags", "a;b"])
    assert result.exit_code == 2
    assert "--tags" in result.output and "separate tags with commas" in result.output
    result = runner.invoke(_app({}), ["x", "--size", "many"])
    assert result.exit_code == 2 and "--size" in result.output


def test_groups_refuse_unknown_fields_undocumented_fields_and_unparsed_collections():
    with pytest.raises(TypeError, match="no field sizes"):
        FlagGroup.of(Knobs, "sizes", key="k")

    class Bare(BaseModel):
        n: int = 1
        mapping: dict[str, str] = Field(default_factory=dict, description="renames")

    with pytest.raises(TypeError, match="no description"):
        FlagGroup.of(Bare, "n", key="k").parameters()
    with pytest.raises(TypeError, match="give it a parse"):
        FlagGroup.of(Bare, "mapping", key="k").parameters()


def test_option_types_of_annotations():
    assert option_type(int | None) is int
    assert option_type(Literal["a", "b"]) is str
    assert option_type(Path) is Path
    assert option_type(list[str]) is None
    assert option_type(dict[str, str] | None) is None


def test_every_field_offers_each_field_in_order_but_the_excluded():
    group = FlagGroup.every_field(
        Knobs, ConfigFlag("tags", parse=comma_list), key="k", exclude=["rate"]
    )
    assert [f.name for f in group.flags] == ["size", "where", "mode", "loud", "tags"]
    assert group.flags_by_name["tags"].parse is comma_list
    assert group.argv("loud", False) == ["--no-loud"]
    assert group.argv("tags", ["a", "b"]) == ["--tags", "a,b"]
    assert group.only("size").flags == (ConfigFlag("size"),)
