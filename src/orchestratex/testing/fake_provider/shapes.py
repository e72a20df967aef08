"""Structured answers of the fake provider: JSON that fits a schema, and tool calls.

The values are placeholders chosen from the schema alone (strings say they come from the test
tool), so a caller can check that the shape it asked for came back, never the content.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

FILLER_TEXT = "[fake provider] placeholder"
_MAX_DEPTH = 8


@dataclass(frozen=True)
class FakeTool:
    """A tool offered in a request: its name and its arguments' JSON schema."""

    name: str
    parameters: dict[str, Any] | None


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake provider makes: id, tool name and JSON arguments."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class OutputShape:
    """What the request asked the answer to be: JSON (of a schema, if given), tools."""

    json_mode: bool = False
    json_schema: dict[str, Any] | None = None
    tools: tuple[FakeTool, ...] = ()
    tool_choice: str | None = None
    """None or "auto": call the first tool; "required": same; "none": answer in text;
    any other value names the tool to call."""


def example_for(schema: object, depth: int = 0) -> object:
    """A value that satisfies the common keywords of `schema` (type, properties, enum, const)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return FILLER_TEXT
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return example_for(options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties")
        props = properties if isinstance(properties, dict) else {}
        return {name: example_for(sub, depth + 1) for name, sub in props.items()}
    if kind == "array":
        minimum = schema.get("minItems", 1)
        count = minimum if isinstance(minimum, int) and 0 < minimum <= 10 else 1
        return [example_for(schema.get("items"), depth + 1) for _ in range(count)]
    if kind == "integer":
        return _bounded(schema, 1)
    if kind == "number":
        return _bounded(schema, 1.5)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return FILLER_TEXT


def _bounded(schema: dict[str, Any], value: float) -> float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if isinstance(low, int | float) and value < low:
        value = low
    if isinstance(high, int | float) and value > high:
        value = high
    return int(value) if schema.get("type") == "integer" else value


def json_answer(shape: OutputShape, text: str) -> str:
    """The answer as JSON: an example of the schema, or an object carrying the text answer."""
    if shape.json_schema is not None:
        return json.dumps(example_for(shape.json_schema))
    return json.dumps({"fake_provider": "test tool, not a model", "answer": text})


def planned_tool_calls(shape: OutputShape, seen: str) -> list[FakeToolCall]:
    """The tool calls to make, or [] to answer in text. `seen` makes the ids deterministic."""
    if not shape.tools or shape.tool_choice == "none":
        return []
    if shape.tool_choice in (None, "auto", "required"):
        tool = shape.tools[0]
    else:
        tool = next((t for t in shape.tools if t.name == shape.tool_choice), shape.tools[0])
    digest = hashlib.sha256(f"{tool.name}\n{seen}".encode()).hexdigest()[:16]
    arguments = json.dumps(example_for(tool.parameters or {"type": "object"}))
    return [FakeToolCall(id=f"call_fake_{digest}", name=tool.name, arguments=arguments)]


def is_rubric_schema(schema: object) -> bool:
    """A judge's schema: an object with an `overall` score property."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(properties, dict) and "overall" in properties
