"""The outside corpus converter on a small CSV in the Bitext testing file's layout (written
here; the real corpus is never committed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench import outside_corpus
from bot.nlu.evaluate import load_examples

CSV = """utterance,intent,entity_type,entity_value,start_offset,end_offset,category,tags
where can I see the whereabouts of order 5520011,track_order,order_id,5520011,33,40,ORDER,BL
how long until the parcel gets here,delivery_period,,,,,DELIVERY,B
I'd like my money returned [urgent],get_refund,,,,,REFUND,BL
is my reimbursement on its way,track_refund,,,,,REFUND,B
"what's the policy on refunds, please",check_refund_policy,,,,,REFUND,B
hook me up with a live operator,contact_human_agent,,,,,CONTACT,BC
I want to file a complaint,complaint,,,,,FEEDBACK,B
forgot my login details,recover_password,,,,,ACCOUNT,B
"""


def test_mapped_unscored_and_out_of_scope(tmp_path: Path) -> None:
    source = tmp_path / "bitext.csv"
    source.write_text(CSV, encoding="utf-8")
    in_scope, out_of_scope = outside_corpus.convert(source, tmp_path / "out")
    examples = load_examples(in_scope)
    by_intent = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.text)
    assert {k: len(v) for k, v in by_intent.items()} == {
        "delivery_problem": 2, "return_refund": 3, "human": 1}
    assert "I'd like my money returned (urgent)" in by_intent["return_refund"]  # no markup
    assert not any(example.entities for example in examples)
    assert [ex.text for ex in load_examples(out_of_scope)] == ["forgot my login details"]


def test_a_file_without_the_columns_is_refused_by_name(tmp_path: Path) -> None:
    source = tmp_path / "other.csv"
    source.write_text("text,label\nhello,greet\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"other\.csv: no column intent, utterance"):
        outside_corpus.convert(source, tmp_path / "out")


def test_every_mapped_label_is_one_of_ours() -> None:
    from bot.nlu.base import INTENTS

    assert set(outside_corpus.MAPPING.values()) <= set(INTENTS)


def test_another_copy_is_told_apart(tmp_path: Path) -> None:
    source = tmp_path / "bitext.csv"
    source.write_text(CSV, encoding="utf-8")
    assert not outside_corpus.same_copy(source)
