"""Declaring the tools of the synthetic world: one Python function per tool, its schema read from its signature.

A tool is an ordinary function ``def name(db, param: type = default, ...)`` whose first parameter receives
its domain's fake database.  Its OpenAI schema comes from the type hints, so the schema the model sees and
the signature Python checks at call time cannot drift apart.  Supported hints: ``str``, ``int``, ``float``,
``bool``, ``list[str]``/``list[int]``, ``Literal[...]`` (an enum), each optionally ``| None``.
"""

from __future__ import annotations

import inspect
import random
import string
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array"}


@dataclass(frozen=True)
class Param:
    name: str
    kind: type                      # str, int, float, bool or list
    description: str
    required: bool
    default: Any = None
    item_kind: type | None = None   # element type of a list
    choices: tuple[Any, ...] = ()   # the enum of a Literal hint

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": JSON_TYPES[self.kind], "description": self.description}
        if self.item_kind is not None:
            out["items"] = {"type": JSON_TYPES[self.item_kind]}
        if self.choices:
            out["enum"] = list(self.choices)
        if not self.required and self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class Template:
    """A user query; its ``{placeholders}`` name the arguments it carries, ``fixed`` the ones it implies."""

    text: str
    fixed: dict[str, Any] = field(default_factory=dict)

    def placeholders(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name}


@dataclass(frozen=True)
class Tool:
    name: str
    domain: str
    description: str
    params: tuple[Param, ...]
    templates: tuple[Template, ...]
    function: Callable[..., Any]

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def openai_schema(self) -> dict[str, Any]:
        return {"type": "function", "function": {
            "name": self.name,
            "description": self.description,
            "parameters": {"type": "object",
                           "properties": {p.name: p.schema() for p in self.params},
                           "required": [p.name for p in self.params if p.required]}}}


@dataclass(frozen=True)
class Chain:
    """Two dependent calls: ``then``'s arguments come from the result of ``first`` via ``link``."""

    first: str
    then: str
    link: Callable[[Any], dict[str, Any]]
    templates: tuple[Template, ...]


Sampler = Callable[[dict, random.Random], Any]


class Domain:
    """One area of the world: a fake database built from a seed, its tools, samplers and chains."""

    def __init__(self, name: str, build: Callable[[random.Random], dict], *, held_out: bool = False):
        self.name, self.build, self.held_out = name, build, held_out
        self.tools: dict[str, Tool] = {}
        self.samplers: dict[str, Sampler] = {}
        self.joint_samplers: dict[tuple[str, ...], Sampler] = {}   # arguments that must agree with each other
        self.chains: list[Chain] = []

    def tool(self, description: str, queries: list[str | tuple[str, dict]], **param_docs: str):
        """Register the decorated function as a tool; ``param_docs`` describe each parameter."""

        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            params = tuple(_param(p, param_docs, function.__name__)
                           for p in list(inspect.signature(function, eval_str=True).parameters.values())[1:])
            templates = tuple(Template(q) if isinstance(q, str) else Template(*q) for q in queries)
            tool = Tool(function.__name__, self.name, description, params, templates, function)
            _check_templates(tool.name, params, templates)
            self.tools[tool.name] = tool
            return function

        return register

    def sample(self, **samplers: Sampler) -> None:
        self.samplers.update(samplers)

    def sample_together(self, names: tuple[str, ...], sampler: Sampler) -> None:
        """``sampler`` returns a tuple of values for ``names`` drawn jointly (e.g. a route that exists)."""
        self.joint_samplers[names] = sampler

    def chain(self, first: str, then: str, link: Callable[[Any], dict], queries: list[str | tuple[str, dict]]) -> None:
        templates = tuple(Template(q) if isinstance(q, str) else Template(*q) for q in queries)
        if first not in self.tools:
            raise ValueError(f"chain {first} -> {then}: declare {first} in domain {self.name} before the chain")
        _check_templates(first, self.tools[first].params, templates)
        self.chains.append(Chain(first, then, link, templates))


def _param(p: inspect.Parameter, docs: dict[str, str], tool: str) -> Param:
    if p.name not in docs:
        raise TypeError(f"tool {tool}: parameter {p.name!r} has no description")
    hint = p.annotation
    if typing.get_origin(hint) in (typing.Union, types.UnionType):   # X | None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    kind, item_kind, choices = hint, None, ()
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        kind = type(choices[0])
    elif typing.get_origin(hint) is list:
        kind, item_kind = list, typing.get_args(hint)[0]
    if kind not in JSON_TYPES:
        raise TypeError(f"tool {tool}: parameter {p.name!r} has unsupported type {hint!r}")
    required = p.default is inspect.Parameter.empty
    return Param(p.name, kind, docs[p.name], required, None if required else p.default, item_kind, choices)


def _check_templates(tool: str, params: tuple[Param, ...], templates: tuple[Template, ...]) -> None:
    """Every query must carry every required argument, and only declared ones."""
    names = {p.name for p in params}
    required = {p.name for p in params if p.required}
    for t in templates:
        carried = t.placeholders() | set(t.fixed)
        if not required <= carried or not carried <= names:
            raise ValueError(f"tool {tool}: query {t.text!r} must carry {sorted(required)} and only {sorted(names)}")
