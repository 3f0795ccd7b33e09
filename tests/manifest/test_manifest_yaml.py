"""Safe YAML: plain data only, every key and item located, no surprises."""

from __future__ import annotations

import pytest

from batchgen.errors import ManifestError
from batchgen.manifest.yamlsafe import MAX_ALIAS_NODES, line_of, load_yaml


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_yaml(text, "m.yaml")
    return [str(p) for p in caught.value.problems]


def test_every_mapping_key_and_list_item_keeps_its_line():
    doc = load_yaml("a: 1\nb:\n  - x\n  - y: 2\n    z: 3\n", "m.yaml")
    assert line_of(doc, "a") == 1 and line_of(doc, "b") == 2
    assert line_of(doc["b"], 0) == 3 and line_of(doc["b"], 1) == 4
    assert line_of(doc["b"][1], "z") == 5


def test_values_are_plain_python_data():
    assert load_yaml("a: [1, 2.5, true, null, text]\n", "m.yaml") == {"a": [1, 2.5, True, None, "text"]}


def test_an_aspect_ratio_written_without_quotes_stays_text():
    # YAML 1.1 would read 16:9 as the base-60 number 969
    assert load_yaml("aspectRatio: 16:9\nother: 21:9\n", "m.yaml") == {"aspectRatio": "16:9",
                                                                        "other": "21:9"}


def test_a_date_like_value_stays_text():
    assert load_yaml("name: 2024-01-01\n", "m.yaml") == {"name": "2024-01-01"}


def test_a_duplicate_key_is_an_error_naming_both_lines():
    assert problems("a: 1\nb: 2\na: 3\n") == [
        "m.yaml:3: the key 'a' appears twice in this mapping (first on line 1); keep only one"]


def test_python_object_tags_are_refused_without_constructing_anything():
    (message,) = problems("a: !!python/object/apply:os.system [echo hacked]\n")
    assert message.startswith("m.yaml:1: the YAML tag !!python/object/apply:os.system is not allowed")


@pytest.mark.parametrize("text", ["a: !include other.yaml\n", "a: !!binary aGVsbG8=\n",
                                  "a: !!set {x, y}\n"])
def test_tags_other_than_plain_data_are_refused(text):
    (message,) = problems(text)
    assert "tag" in message and "not allowed" in message


def test_explicit_standard_tags_are_accepted():
    assert load_yaml("a: !!str 10\n", "m.yaml") == {"a": "10"}


def test_an_alias_bomb_is_refused_before_it_expands():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        lines.append(f"{chr(97 + n)}: &{chr(97 + n)} [" + ", ".join([f"*{chr(96 + n)}"] * 10) + "]")
    (message,) = problems("\n".join(lines) + "\n")
    assert f"more than {MAX_ALIAS_NODES:,} values" in message and "alias bomb" in message


def test_modest_aliases_are_allowed():
    doc = load_yaml("base: &b [720p, 1080p]\nagain: *b\n", "m.yaml")
    assert doc["again"] == ["720p", "1080p"]


def test_a_recursive_alias_is_refused():
    (message,) = problems("a: &a [1, *a]\n")
    assert "recursive YAML aliases are not supported" in message


def test_a_recursive_alias_is_reported_at_the_alias_not_the_anchor():
    (message,) = problems("defaults: &loop\n  duration: 5s\n  extra: *loop\n")
    assert message.startswith("m.yaml:3: the alias *loop refers to the value it is inside of "
                              "(anchored as &loop on line 1)")


def test_each_recursive_alias_is_reported_once_even_when_its_anchor_is_reused():
    found = problems("a: &x\n  b: [*x]\n  c:\n    d: *x\nagain: *x\n")
    assert [m.split(":")[1] for m in found] == ["2", "4"]


def test_merge_keys_are_refused():
    (message,) = problems("base: &b {x: 1}\nc:\n  <<: *b\n")
    assert message.startswith("m.yaml:3:") and "merge keys" in message


def test_deep_nesting_is_refused():
    (message,) = problems("a: " + "[" * 200 + "]" * 200 + "\n")
    assert "nest" in message


def test_tab_indentation_is_explained():
    (message,) = problems("a:\n\t- b\n")
    assert "tab" in message and message.startswith("m.yaml:2:")


@pytest.mark.parametrize("text", ["a:\n  -\tb\n", "a:\n  - x\n  -\t- y\n", "a:\n  b: 1\n  \t\n"],
                         ids=["after-a-dash", "before-a-nested-item", "on-a-blank-line"])
def test_a_tab_anywhere_in_the_indentation_says_to_use_spaces(text):
    (message,) = problems(text)
    assert message.endswith("YAML cannot be indented with tabs, use spaces instead")
    assert "cannot start any token" not in message


def test_a_list_key_is_refused():
    (message,) = problems("? [a, b]\n: 1\n")
    assert "key must be plain text" in message


def test_a_colon_inside_a_mapping_value_says_to_quote_it_and_shows_how():
    text = 'version: 1\nprompts:\n  - id: k\n    prompt: A knight: walks home  # at dusk\n'
    assert problems(text) == [
        "m.yaml:4: the value of 'prompt' contains ': ', which YAML reads as the start of "
        'another key; put the whole value in quotes: prompt: "A knight: walks home"']
    assert "mapping values" not in problems(text)[0]
