"""BFCL's multi-turn tool backends (plain Python classes shipped in ``bfcl-eval``), driven without ``eval``.

BFCL's own harness (``multi_turn_utils.execute_multi_turn_func_call``) rewrites each call string into
``instance.method(...)`` and ``eval``s it.  Here a call is data: ``{"name", "arguments"}`` from our parser
(``calls.parse_calls``), run as ``getattr(instance, name)(**arguments)`` and only when ``name`` is a public
method of one of the episode's instances; anything else is a rejected call whose error message is fed
back, as BFCL feeds back its exceptions.  Results are turned into text as BFCL does (strings as they are,
dicts as JSON, anything else through ``str``), so that its response check compares the same strings.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
from dataclasses import dataclass
from typing import Any

from ..calls import parse_calls
from ..errors import UserError

PREFIX = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
BACKEND_MODULES = {  # BFCL's CLASS_FILE_PATH_MAPPING for the multi-turn classes
    "GorillaFileSystem": f"{PREFIX}.gorilla_file_system", "MathAPI": f"{PREFIX}.math_api",
    "MessageAPI": f"{PREFIX}.message_api", "TwitterAPI": f"{PREFIX}.posting_api",
    "TicketAPI": f"{PREFIX}.ticket_api", "TradingBot": f"{PREFIX}.trading_bot",
    "TravelAPI": f"{PREFIX}.travel_booking", "VehicleControlAPI": f"{PREFIX}.vehicle_control",
}
STATELESS = {"MathAPI"}  # BFCL's STATELESS_CLASSES: no scenario to load
# BFCL refuses these names before its eval; none is a backend method, kept so that none ever runs.
FORBIDDEN = {"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"}


@dataclass(frozen=True)
class CallResult:
    text: str  # what the model is shown (BFCL's string form of the result)
    rejected: bool  # the environment refused the call: unknown name, bad arguments, an error raised or returned


def backend_class(class_name: str) -> type:
    if class_name not in BACKEND_MODULES:
        raise UserError(f"unknown BFCL backend class {class_name!r}; known: {', '.join(BACKEND_MODULES)}")
    return getattr(importlib.import_module(BACKEND_MODULES[class_name]), class_name)


def result_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


class Environment:
    """Fresh instances of an episode's classes, loaded with its initial config (BFCL ``_load_scenario``)."""

    def __init__(self, initial_config: dict[str, Any], class_names: list[str], long_context: bool = False):
        self.instances: dict[str, Any] = {}
        self.methods: dict[str, Any] = {}
        for class_name in class_names:
            instance = backend_class(class_name)()
            if class_name not in STATELESS:
                instance._load_scenario(copy.deepcopy(initial_config.get(class_name, {})), long_context=long_context)
            self.instances[class_name] = instance
            for name, method in inspect.getmembers(instance, predicate=inspect.ismethod):
                if not name.startswith("_") and name not in FORBIDDEN:
                    self.methods[name] = method  # a later class wins a shared name, as in BFCL's mapping

    def execute(self, call: dict[str, Any]) -> CallResult:
        method = self.methods.get(call["name"])
        if method is None:
            return CallResult(f"Error during execution: {call['name']!r} is not an available function", True)
        try:
            value = method(**call["arguments"])
        except Exception as exc:  # the backend's own refusal (TypeError for bad arguments, ...), fed back as BFCL does
            return CallResult(f"Error during execution: {exc}", True)
        return CallResult(result_text(value), isinstance(value, dict) and "error" in value)

    def state(self) -> dict[str, dict[str, Any]]:
        """Public attributes of each instance: what BFCL's state check compares."""
        return {name: {k: v for k, v in vars(inst).items() if not k.startswith("_")}
                for name, inst in self.instances.items()}

    def gold_call(self, text: str) -> dict[str, Any]:
        """A ground-truth call string as a call.  BFCL's ground truth passes a few arguments by position
        (``sort('final_report.pdf')``), which our parser refuses: they are named from the method's
        signature and the call is parsed again (the values stay literals, parsed by ``parse_calls``)."""
        parsed = parse_calls(text, "python")
        if parsed.ok and len(parsed.calls) == 1:
            return parsed.calls[0]
        try:
            node = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ValueError(f"ground-truth call {text!r}: {exc.msg}") from None
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.func.id not in self.methods:
            raise ValueError(f"ground-truth call {text!r}: {parsed.error or 'not one call of an available function'}")
        names = list(inspect.signature(self.methods[node.func.id]).parameters)
        if len(node.args) > len(names):
            raise ValueError(f"ground-truth call {text!r}: more positional arguments than {node.func.id} takes")
        source = text.strip()
        pieces = [f"{names[i]}={ast.get_source_segment(source, arg)}" for i, arg in enumerate(node.args)]
        pieces += [ast.get_source_segment(source, keyword) for keyword in node.keywords]
        named = parse_calls(f"{node.func.id}({', '.join(pieces)})", "python")
        if not named.ok or len(named.calls) != 1:
            raise ValueError(f"ground-truth call {text!r}: {named.error or 'not one call'}")
        return named.calls[0]
