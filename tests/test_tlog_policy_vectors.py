"""``TlogPolicy`` against the shared vectors (``tests/data/tlog-policy/vectors.json``),
which the page's ``policy.js`` must also give (``tests/test_page_policy.py``)."""

from __future__ import annotations

import pytest

from ledger.note import InvalidPolicyError, NoteError, NoteVerifier
from ledger.note.tlog_policy import TlogPolicy
from tests.policy_vectors import PolicyCase, load_vectors

VECTORS = load_vectors()


@pytest.mark.parametrize("case", VECTORS.cases, ids=lambda c: c.name)
def test_policy_vectors(case: PolicyCase) -> None:
    if case.invalid is not None:
        with pytest.raises(InvalidPolicyError) as refused:
            TlogPolicy.parse(case.text)
        assert case.invalid in str(refused.value)
        return
    policy = TlogPolicy.parse(case.text)
    ledger = NoteVerifier.from_vkey(VECTORS.ledger_vkey)
    assert case.verdicts
    for note_name, verdict in case.verdicts.items():
        note = VECTORS.notes[note_name]
        if "reason" in verdict:
            with pytest.raises(NoteError) as refused:
                policy.check(note, [ledger])
            assert str(refused.value) == verdict["reason"], note_name
        else:
            assert list(policy.check(note, [ledger])) == verdict["cosigners"], note_name
