"""The one tool-schema normaliser (convert/schema.py) on each source style it reads."""

from __future__ import annotations

import pytest

from tl_training.convert.schema import openai_tool, operation_parameters, parameters_schema, type_schema
from tl_training.record import RecordError


def test_xlam_parameter_map_becomes_json_schema():
    # xLAM / APIGen: {name: {type, description, default}}, Python type names, "optional" in the type
    spec = {"city": {"type": "str", "description": "City."},
            "days": {"type": "int, optional", "description": "Days.", "default": 3},
            "tags": {"type": "List[str]"}, "opts": {"type": "Dict[str, Any]", "default": {}}}
    assert parameters_schema(spec, "p") == {"type": "object", "properties": {
        "city": {"type": "string", "description": "City."},
        "days": {"type": "integer", "description": "Days.", "default": 3},
        "tags": {"type": "array", "items": {"type": "string"}},
        "opts": {"type": "object", "default": {}}}, "required": ["city", "tags"]}


def test_parameter_map_with_required_marks_lists_only_those():
    spec = {"a": {"type": "str", "required": True}, "b": {"type": "float"}, "c": {"type": "bool", "required": False}}
    assert parameters_schema(spec, "p") == {"type": "object", "properties": {
        "a": {"type": "string"}, "b": {"type": "number"}, "c": {"type": "boolean"}}, "required": ["a"]}


@pytest.mark.parametrize("name, schema", [
    ("dict", {"type": "object"}), ("int", {"type": "integer"}), ("float", {"type": "number"}),
    ("str", {"type": "string"}), ("bool", {"type": "boolean"}), ("list", {"type": "array"}),
    ("tuple", {"type": "array"}), ("any", {"type": "string"}), ("list(str)", {"type": "array", "items": {"type": "string"}}),
    ("Optional[int]", {"type": "integer"}), ("Union[str, int]", {"type": ["string", "integer"]}),
    ("Union[str, None]", {"type": "string"}), ("HashMap", {"type": "object"}), ("datetime", {"type": "string"}),
    ("Image", {"type": "Image"}),  # a name no table knows stays as written
])
def test_type_names(name, schema):
    assert type_schema(name)[0] == schema


def test_json_schema_with_python_types_and_required_flags_keeps_order_and_defaults():
    # When2Call / BFCL: "type": "dict", Python names inside, a required list beside the parameters
    tool = openai_tool({"name": "get_stations", "description": "d",
                        "parameters": {"type": "dict", "properties": {
                            "region": {"description": "r", "type": "str", "default": ""},
                            "nested": {"type": "dict", "properties": {"k": {"type": "int", "required": True}}},
                            "when": {"type": "string", "optional": True}}},
                        "required": ["region"], "return": {"type": "dict"}})
    assert tool == {"type": "function", "function": {"name": "get_stations", "description": "d", "parameters": {
        "type": "object", "properties": {
            "region": {"description": "r", "type": "string", "default": ""},
            "nested": {"type": "object", "properties": {"k": {"type": "integer"}}, "required": ["k"]},
            "when": {"type": "string", "optional": True}},  # BFCL's own flag is kept as written
        "required": ["region"]}}}
    assert list(tool["function"]["parameters"]["properties"]["region"]) == ["description", "type", "default"]


def test_openai_tool_reads_specs_given_as_json_text_and_empty_parameters():
    assert openai_tool('{"name": "f"}') == {"type": "function", "function": {
        "name": "f", "description": "", "parameters": {"type": "object", "properties": {}}}}
    with pytest.raises(RecordError, match="not valid JSON"):
        openai_tool('{"name": "f", "name": "g"}')
    with pytest.raises(RecordError, match="needs a name"):
        openai_tool({"description": "x"})


DOCUMENT = {"components": {"schemas": {
    "Country": {"type": "object", "properties": {"name": {"type": "string"},
                                                 "borders": {"type": "array", "items": {"$ref": "#/components/schemas/Country"}}}},
    "Unit": {"type": "string", "enum": ["m", "f"]}},
    "parameters": {"Key": {"name": "api_key", "in": "query", "required": True, "schema": {"type": "string"}}}}}


def test_openapi_refs_resolved_cycles_cut_dangling_untyped():
    notes: list[str] = []
    schema = parameters_schema({"type": "object", "properties": {
        "country": {"$ref": "#/components/schemas/Country"},
        "unit": {"$ref": "#/components/schemas/Unit", "description": "Units."},
        "error": {"$ref": "#/components/schemas/error"}}}, "p", document=DOCUMENT, notes=notes)
    assert schema["properties"] == {
        "country": {"type": "object", "properties": {"name": {"type": "string"},
                                                     "borders": {"type": "array", "items": {"type": "object"}}}},
        "unit": {"type": "string", "enum": ["m", "f"], "description": "Units."},
        "error": {}}  # untyped: any value
    assert notes == ["$ref cycle through #/components/schemas/Country cut to a generic object",
                     "unresolved $ref #/components/schemas/error left untyped"]


def test_openapi_operation_parameters_and_body():
    operation = {"parameters": [{"$ref": "#/components/parameters/Key"},
                                {"name": "q", "in": "query", "schema": {"$ref": "#/components/schemas/Unit"}, "description": "Q."}],
                 "requestBody": {"content": {"application/json": {"schema": {
                     "type": "object", "required": ["country"], "properties": {"country": {"$ref": "#/components/schemas/Country"}}}}}}}
    notes: list[str] = []
    schema = operation_parameters(operation, DOCUMENT, notes, shared=[{"name": "v", "in": "path", "required": True}])
    assert list(schema["properties"]) == ["v", "api_key", "q", "country"]
    assert schema["properties"]["q"] == {"type": "string", "enum": ["m", "f"], "description": "Q."}
    assert schema["required"] == ["v", "api_key", "country"]
    assert notes == ["$ref cycle through #/components/schemas/Country cut to a generic object"]
