"""The one tool-schema normaliser: whatever way a source declares a tool, the record holds an OpenAI tool
whose ``parameters`` are a JSON Schema object.

Source styles read (every converter goes through ``openai_tool`` or ``parameters_schema``):

- JSON Schema, also with the type names of Python, BFCL and Java/JavaScript (``"type": "dict"``, ``"str"``,
  ``"float"``, ``"tuple"``, ``"any"``, ``"HashMap"``): mapped by ``TYPE_NAMES`` (BFCL's GORILLA_TO_OPENAPI
  table: ``dict`` -> object, ``float`` -> number, ``tuple`` -> array, ``any`` -> string), and Python
  annotations: ``"str, optional"``, ``Optional[int]``, ``List[str]``, ``list(str)``, ``Dict[str, Any]``,
  ``Union[str, int]``.  A type name no table knows stays as written.
- xLAM / APIGen parameter maps, ``{name: {"type", "description", "default"}}`` with no ``properties``:
  the map becomes ``properties``.  Required parameters: those marked ``"required": true``; a map that
  marks none says it by leaving the default out, so every parameter without a ``default`` whose type
  does not say ``optional`` is required.
- ``"required": true`` on a parameter (xLAM, OpenAPI habits) becomes an entry of the ``required`` list;
  a ``required`` list beside ``parameters`` at the tool level (When2Call) joins it.  Defaults are kept.
- OpenAPI ``$ref``: with ``document`` given, local references (``#/components/schemas/Pet``,
  ``#/parameters/limit``) are replaced by what they name.  A reference met again while it is being
  resolved (a cycle: ``Country.borders -> Country``) is cut to a generic object; a reference that names
  nothing is left as an untyped parameter (``{}``: any value).  Neither rejects the tool: each adds a line
  to ``notes`` for the converter to report.
"""

from __future__ import annotations

import re
from typing import Any

from ..calls import ReadError, read_json
from .common import fail

TYPE_NAMES = {
    "integer": "integer", "number": "number", "float": "number", "string": "string", "boolean": "boolean",
    "bool": "boolean", "array": "array", "list": "array", "dict": "object", "object": "object",
    "tuple": "array", "any": "string", "byte": "integer", "short": "integer", "long": "integer",
    "double": "number", "char": "string", "ArrayList": "array", "Array": "array", "HashMap": "object",
    "Hashtable": "object", "Queue": "array", "Stack": "array", "Any": "string", "String": "string",
    "Bigint": "integer", "Boolean": "boolean", "": "string",
    # Python annotations (xLAM / APIGen, API-Bank)
    "str": "string", "int": "integer", "set": "array", "sequence": "array", "mapping": "object",
    "none": "null", "nonetype": "null", "null": "null", "datetime": "string", "date": "string", "time": "string",
}
ARRAY_NAMES = ("list", "tuple", "set", "sequence", "array")
OBJECT_NAMES = ("dict", "mapping", "object")
GENERIC = re.compile(r"(\w+)\s*[\[(](.*)[\])]\Z", re.DOTALL)  # List[str], list(str), Dict[str, Any]
OPTIONAL_SUFFIX = re.compile(r",\s*optional\Z", re.IGNORECASE)
MAX_DEPTH = 32  # deeper schemas are cut like cycles: no tool needs them, and recursion must stop somewhere
EMPTY_PARAMETERS = {"type": "object", "properties": {}}


# ----------------------------------------------------------------------------------------- type names


def _split_arguments(text: str) -> list[str]:
    """``str, Dict[str, int]`` -> ``["str", "Dict[str, int]"]``: commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def type_schema(name: str) -> tuple[dict[str, Any], bool]:
    """A source type name -> (JSON Schema fragment, whether the name says the value is optional)."""
    text = name.strip()
    optional = bool(OPTIONAL_SUFFIX.search(text))
    text = OPTIONAL_SUFFIX.sub("", text)
    generic = GENERIC.match(text)
    if generic is None:
        known = TYPE_NAMES.get(text, TYPE_NAMES.get(text.lower()))
        return {"type": known if known is not None else text}, optional
    base, arguments = generic.group(1).lower(), _split_arguments(generic.group(2))
    if base == "optional" and len(arguments) == 1:
        return type_schema(arguments[0])[0], True
    if base in ARRAY_NAMES:
        items = type_schema(arguments[0])[0] if len(arguments) == 1 else None
        return {"type": "array", **({"items": items} if items else {})}, optional
    if base in OBJECT_NAMES:
        return {"type": "object"}, optional
    if base == "union":
        members = [type_schema(a)[0] for a in arguments]
        types = list(dict.fromkeys(m["type"] for m in members if m.get("type") != "null"))
        optional = optional or len(types) < len(members)
        if len(types) == 1:
            return next(m for m in members if m.get("type") == types[0]), optional
        return {"type": types}, optional
    return {"type": text}, optional


# ------------------------------------------------------------------------------------------ $ref


class _Context:
    """What resolving one tool's schemas needs: the OpenAPI document, the references being resolved
    (to see cycles), how deep the schema nests, and the notes to report."""

    def __init__(self, document: Any, notes: list[str] | None):
        self.document, self.notes = document, notes if notes is not None else []
        self.stack: list[str] = []
        self.depth = 0

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def target(self, ref: str) -> Any:
        if not ref.startswith("#/") or not isinstance(self.document, dict):
            return None
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")  # JSON Pointer escapes
            node = node.get(part) if isinstance(node, dict) else None
        return node


def _resolved(node: dict[str, Any], context: _Context) -> dict[str, Any]:
    """The schema a ``$ref`` names, with the keys written beside the reference on top; a generic object
    for a cycle and an untyped schema for a reference that names nothing, each noted."""
    ref = node["$ref"]
    siblings = {k: v for k, v in node.items() if k != "$ref"}
    if ref in context.stack:
        context.note(f"$ref cycle through {ref} cut to a generic object")
        return {"type": "object", **siblings}
    target = context.target(ref)
    if not isinstance(target, dict):
        context.note(f"unresolved $ref {ref} left untyped")
        return siblings
    context.stack.append(ref)
    try:
        return {**property_schema(target, context), **siblings}
    finally:
        context.stack.pop()


# ------------------------------------------------------------------------------------------ schemas


def _is_parameter_map(node: dict[str, Any]) -> bool:
    """An xLAM map ``{name: {type, ...}}`` rather than a JSON Schema (whose ``type`` is a name)."""
    return ("properties" not in node and not isinstance(node.get("type"), str) and "$ref" not in node
            and bool(node) and all(isinstance(v, dict) for v in node.values()))


def _object(properties: dict[str, Any], required: Any, context: _Context, parameter_map: bool) -> tuple[dict, list]:
    """Normalised properties and the required list: the listed names, then each ``required: true``."""
    names = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
    marked = bool(names) or any(isinstance(p, dict) and isinstance(p.get("required"), bool) for p in properties.values())
    result = {}
    for name, prop in properties.items():
        schema, optional = _property(prop, context)
        said_required = isinstance(prop, dict) and prop.get("required") is True
        if said_required or (parameter_map and not marked and not optional and "default" not in schema):
            names.append(name)
        result[name] = schema
    return result, list(dict.fromkeys(names))


def _property(node: Any, context: _Context) -> tuple[dict[str, Any], bool]:
    """One parameter's schema and whether its type name said it is optional."""
    if isinstance(node, str):  # a bare type name: {"city": "str"}
        return type_schema(node)
    if not isinstance(node, dict):
        return {}, False
    optional = isinstance(node.get("type"), str) and bool(OPTIONAL_SUFFIX.search(node["type"]))
    return property_schema(node, context), optional


def property_schema(node: Any, context: _Context) -> dict[str, Any]:
    """One JSON Schema node with type names mapped, ``required`` lifted and references resolved.  Keys
    keep their order (the prompt shows the schema as it is written)."""
    if not isinstance(node, dict):
        return {}
    if context.depth > MAX_DEPTH:
        context.note(f"schema nested deeper than {MAX_DEPTH} cut to a generic object")
        return {"type": "object"}
    if isinstance(node.get("$ref"), str):
        return _resolved(node, context)
    context.depth += 1
    try:
        return _schema_keys(node, context)
    finally:
        context.depth -= 1


def _schema_keys(node: dict[str, Any], context: _Context) -> dict[str, Any]:
    result: dict[str, Any] = {}
    lifted: list[str] | None = None  # the required names of ``properties``, when the node has them
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            mapped, _ = type_schema(value)
            result["type"] = mapped["type"]
            if "items" in mapped and "items" not in node:
                result["items"] = mapped["items"]
        elif key == "type" and isinstance(value, list):
            result["type"] = [type_schema(k)[0]["type"] if isinstance(k, str) else k for k in value]
        elif key == "properties" and isinstance(value, dict):
            result["properties"], lifted = _object(value, node.get("required"), context, False)
        elif key == "required" and not isinstance(value, list):
            continue  # a parameter's own flag: its object lists it (``_object``)
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            result[key] = property_schema(value, context)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            result[key] = [property_schema(member, context) for member in value]
        else:
            result[key] = value
    if lifted is not None and (lifted or "required" in result):
        result["required"] = lifted
    return result


def parameters_schema(spec: Any, field: str, *, document: Any = None, notes: list[str] | None = None,
                      required: Any = None) -> dict[str, Any]:
    """A tool's parameters in any source style -> a JSON Schema object (``type: object`` with
    ``properties`` and, when any, ``required``).  ``required`` is a list given beside the parameters."""
    context = _Context(document, notes)
    if isinstance(spec, str):
        try:
            spec = read_json(spec) if spec.strip() else None
        except ReadError as exc:
            fail(f"parameters are not valid JSON ({exc})", field)
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        fail(f"parameters must be an object, got {type(spec).__name__}", field)
    if isinstance(spec.get("$ref"), str):
        spec = _resolved(spec, context)
    beside = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
    if _is_parameter_map(spec):
        properties, names = _object(spec, beside, context, True)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if names:
            schema["required"] = names
        return schema
    schema = {"type": "object", **property_schema(spec, context)}
    schema["type"] = "object"
    schema.setdefault("properties", {})
    if not isinstance(schema["properties"], dict):
        fail("parameters.properties must be an object", f"{field}.properties")
    if beside:
        schema["required"] = list(dict.fromkeys([*(schema.get("required") or []), *beside]))
    return schema


def openai_tool(spec: Any, field: str = "tools", *, document: Any = None, notes: list[str] | None = None) -> dict[str, Any]:
    """A tool spec -- a bare function dict, OpenAI form, or JSON text of either -- -> ``{"type": "function",
    "function": {"name", "description", "parameters"}}``; other keys (``return``, ``strict``) are dropped."""
    if isinstance(spec, str):
        try:
            spec = read_json(spec)
        except ReadError as exc:
            fail(f"a tool spec given as text is not valid JSON ({exc})", field)
    if not isinstance(spec, dict):
        fail("a tool spec must be an object", field)
    function = spec["function"] if isinstance(spec.get("function"), dict) else spec
    if not isinstance(function.get("name"), str) or not function["name"]:
        fail("a tool spec needs a name", field)
    parameters = parameters_schema(function.get("parameters"), f"{field}.parameters", document=document,
                                   notes=notes, required=function.get("required"))
    return {"type": "function", "function": {"name": function["name"], "description": function.get("description") or "",
                                             "parameters": parameters}}


# ------------------------------------------------------------------------------------------ OpenAPI


def _dereferenced(node: Any, context: _Context, what: str) -> Any:
    """An OpenAPI object that may be a ``$ref`` (a shared parameter, a request body); None when the
    reference names nothing (noted)."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target = context.target(node["$ref"])
        if not isinstance(target, dict):
            context.note(f"unresolved $ref {node['$ref']} ({what}) left out")
            return None
        return target
    return node


def _body_schema(operation: dict[str, Any], context: _Context) -> dict[str, Any]:
    """The schema of an operation's request body: its JSON content, else its first content's schema."""
    body = _dereferenced(operation.get("requestBody"), context, "a request body")
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, dict):
        return {}
    media = content.get("application/json") or next((c for c in content.values() if isinstance(c, dict)), {})
    schema = media.get("schema") if isinstance(media, dict) else None
    return property_schema(schema, context) if isinstance(schema, dict) else {}


def operation_parameters(operation: dict[str, Any], document: Any, notes: list[str] | None = None,
                         shared: Any = ()) -> dict[str, Any]:
    """One OpenAPI operation's inputs as a JSON Schema object: its query, path and header parameters
    (with those its path declares for every method, ``shared``) and the properties of its request body,
    every ``$ref`` resolved against ``document`` as described above."""
    context = _Context(document, notes)
    properties: dict[str, Any] = {}
    required: list[str] = []
    declared = [*(shared if isinstance(shared, list) else []), *(operation.get("parameters") or [])]
    for param in declared:
        param = _dereferenced(param, context, "a parameter")
        if not isinstance(param, dict) or not param.get("name"):
            continue
        schema = property_schema(param.get("schema") or {"type": "string"}, context)
        if param.get("description"):
            schema["description"] = param["description"]
        properties[param["name"]] = schema
        if param.get("required") and param["name"] not in required:
            required.append(param["name"])
    body = _body_schema(operation, context)
    properties.update(body.get("properties") or {})
    required.extend(name for name in body.get("required") or [] if name not in required)
    return {"type": "object", "properties": properties, "required": required}
