"""c2sp.org signed-note, tlog-checkpoint and tlog-cosignature, against spec examples."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.merkle import (
    MerkleTree,
    ProofNodes,
    consistency_nodes,
    inclusion_nodes,
    leaf_hash,
    root_nodes,
)
from ledger.note import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    InvalidCheckpointError,
    InvalidCosignatureError,
    InvalidKeyError,
    InvalidNoteError,
    InvalidSignatureError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    UnverifiedNoteError,
    cosigned_message,
    format_cosignature_vkey,
    format_vkey,
    open_checkpoint,
    open_note,
    parse_signature_line,
    sign_checkpoint,
    sign_note,
    verify_cosignature,
)

# c2sp.org/signed-note example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_TEXT = "This is an example message.\n"
SPEC_SIG_LINE = (
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOB"
    "H3mFXmRKuwHjG1Yu72IneyaQM="
)
SPEC_NOTE = SPEC_TEXT + "\n" + SPEC_SIG_LINE + "\n"

# golang.org/x/mod/sumdb/note documentation example (data only): the private key
# "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz".
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN"
    "XgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

# c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature example.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_LOG_LINE = (
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Z"
    "hcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8="
)
SPEC_COSIG_LINE = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJs"
    "X3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


LOG = NoteSigner("log.example/test", _key(7))
OTHER = NoteSigner("other.example/key", _key(8))
WITNESS = CosignatureSigner("witness.example/w", _key(9))
CHECKPOINT = Checkpoint("log.example/test", 5, bytes(range(32)))


# --- signed-note -------------------------------------------------------------


def test_spec_example_verifies() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_hash.hex() == "530d903a"
    assert verifier.vkey == SPEC_VKEY
    note = open_note(SPEC_NOTE, [verifier])
    assert note.text == SPEC_TEXT
    assert [s.name for s in note.verified_signatures] == ["example.com/foo"]
    assert note.unverified_signatures == ()
    assert open_note(SPEC_NOTE.encode(), [verifier]).text == SPEC_TEXT


def test_go_note_example_is_reproduced_byte_for_byte() -> None:
    signer = NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(GO_SEED))
    assert signer.vkey == GO_VKEY
    assert sign_note(GO_TEXT, signer) == GO_NOTE
    assert open_note(GO_NOTE, [NoteVerifier.from_vkey(GO_VKEY)]).text == GO_TEXT


def test_sign_open_round_trip_with_unknown_signer_kept_apart() -> None:
    text = "first paragraph\n\nsecond paragraph\n"
    note = sign_note(text, LOG, OTHER)
    opened = open_note(note, [LOG.verifier()])
    assert opened.text == text
    assert [s.name for s in opened.verified_signatures] == [LOG.name]
    assert [s.name for s in opened.unverified_signatures] == [OTHER.name]
    both = open_note(note, [LOG.verifier(), OTHER.verifier()])
    assert len(both.verified_signatures) == 2
    assert format_vkey(LOG.name, _key(7).public_key()) == LOG.vkey


def test_modified_text_is_rejected() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    with pytest.raises(InvalidSignatureError):
        open_note(SPEC_NOTE.replace("an example", "an exbmple"), [verifier])
    with pytest.raises(InvalidSignatureError):
        open_note(SPEC_NOTE.replace("Uw2QOkn8", "Uw2QOkn9"), [verifier])


def test_unknown_key_is_rejected() -> None:
    same_name = NoteSigner("example.com/foo", _key(3)).verifier()
    with pytest.raises(UnverifiedNoteError):
        open_note(SPEC_NOTE, [same_name])
    with pytest.raises(UnverifiedNoteError):
        open_note(SPEC_NOTE, [])


def test_a_known_key_that_fails_rejects_the_note_even_if_another_verifies() -> None:
    forged = sign_note(SPEC_TEXT, LOG) + SPEC_SIG_LINE.replace("Uw2QOkn8", "Uw2QOkn9") + "\n"
    with pytest.raises(InvalidSignatureError):
        open_note(forged, [LOG.verifier(), NoteVerifier.from_vkey(SPEC_VKEY)])


@pytest.mark.parametrize(
    ("name", "note"),
    [
        ("missing final newline", SPEC_NOTE[:-1]),
        ("no blank line", SPEC_NOTE.replace(".\n\n", ".\n")),
        ("no signatures", SPEC_TEXT + "\n"),
        ("ascii hyphen", SPEC_NOTE.replace("—", "-")),
        ("no space after dash", SPEC_NOTE.replace("— ", "—")),
        ("double space", SPEC_NOTE.replace("foo ", "foo  ")),
        ("control character", SPEC_NOTE.replace("This", "Th\x07s")),
        ("carriage return", SPEC_NOTE.replace("message.\n", "message.\r\n")),
        ("trailing junk", SPEC_NOTE + "junk\n"),
        ("non-canonical base64", SPEC_NOTE.replace("yaQM=", "yaQN=")),
        ("missing padding", SPEC_NOTE.replace("yaQM=", "yaQM")),
        ("plus in key name", SPEC_NOTE.replace("example.com/foo", "example.com+foo")),
        ("signature too short", SPEC_TEXT + "\n— example.com/foo Uw2QOg==\n"),
        ("lone surrogate", SPEC_NOTE.replace("This", "\ud800")),
        ("too many signatures", SPEC_NOTE + "— junk AAAAAAAA\n" * 100),
    ],
)
def test_malformed_notes_are_rejected(name: str, note: str) -> None:
    with pytest.raises(InvalidNoteError):
        open_note(note, [NoteVerifier.from_vkey(SPEC_VKEY)])


def test_text_ends_at_the_last_blank_line() -> None:
    # A blank line among the signatures makes the lines above it part of the text.
    note = SPEC_NOTE + "\n" + SPEC_SIG_LINE + "\n"
    with pytest.raises(InvalidSignatureError):
        open_note(note, [NoteVerifier.from_vkey(SPEC_VKEY)])


def test_invalid_utf8_is_rejected() -> None:
    raw = bytearray(SPEC_NOTE.encode())
    raw[2] = 0xFF
    with pytest.raises(InvalidNoteError):
        open_note(bytes(raw), [NoteVerifier.from_vkey(SPEC_VKEY)])


def test_sixteen_signatures_are_accepted() -> None:
    junk = "".join(f"— junk{i} AAAAAAAA\n" for i in range(15))
    opened = open_note(SPEC_NOTE + junk, [NoteVerifier.from_vkey(SPEC_VKEY)])
    assert len(opened.unverified_signatures) == 15


@pytest.mark.parametrize(
    "vkey",
    [
        SPEC_VKEY.replace("530d903a", "530d903b"),
        SPEC_VKEY.replace("530d903a", "530D903A"),
        SPEC_VKEY.replace("+Aeky", "+Beky"),
        SPEC_VKEY[:-4],
        "example.com/foo+530d903a",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        SPEC_VKEY.replace("example.com/foo", "example.com/ foo"),
    ],
)
def test_malformed_vkeys_are_rejected(vkey: str) -> None:
    with pytest.raises(InvalidKeyError):
        NoteVerifier.from_vkey(vkey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "a\u2003b", "a\nb"])
def test_invalid_key_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidKeyError):
        NoteSigner(name, _key(1))


@pytest.mark.parametrize("text", ["no newline", "bell\x07\n", "", "\ud800\n"])
def test_sign_note_refuses_invalid_text(text: str) -> None:
    with pytest.raises(InvalidNoteError):
        sign_note(text, LOG)


def test_sign_note_needs_a_signer() -> None:
    with pytest.raises(InvalidNoteError):
        sign_note("x\n")


# --- tlog-checkpoint ---------------------------------------------------------


def test_spec_checkpoint_parses_and_round_trips() -> None:
    cp = Checkpoint.parse(SPEC_CHECKPOINT)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.extensions == ()
    assert cp.to_text() == SPEC_CHECKPOINT
    # Its log key is not published, so the note cannot be trusted.
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(SPEC_CHECKPOINT + "\n" + SPEC_LOG_LINE + "\n", LOG.verifier())


def test_checkpoint_round_trip_with_extensions() -> None:
    cp = Checkpoint("log.example/x", 0, bytes(32), ("ext one", "ext two"))
    assert cp.to_text() == "log.example/x\n0\n" + "A" * 43 + "=\next one\next two\n"
    assert Checkpoint.parse(cp.to_text()) == cp


def test_sign_and_open_checkpoint() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    assert open_checkpoint(note, LOG.verifier()) == CHECKPOINT
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(note, OTHER.verifier())
    with pytest.raises(InvalidCheckpointError):
        open_checkpoint(note, LOG.verifier(), origin="another.example/log")
    renamed = NoteSigner("log-key.example/2024", _key(7))
    note = sign_checkpoint(CHECKPOINT, renamed)
    with pytest.raises(InvalidCheckpointError):
        open_checkpoint(note, renamed.verifier())
    assert open_checkpoint(note, renamed.verifier(), origin=CHECKPOINT.origin) == CHECKPOINT


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("leading zero", SPEC_CHECKPOINT.replace("\n20852163\n", "\n020852163\n")),
        ("plus sign", SPEC_CHECKPOINT.replace("\n20852163\n", "\n+20852163\n")),
        ("negative", SPEC_CHECKPOINT.replace("\n20852163\n", "\n-1\n")),
        ("space", SPEC_CHECKPOINT.replace("\n20852163\n", "\n20852163 \n")),
        ("underscore", SPEC_CHECKPOINT.replace("\n20852163\n", "\n20_852_163\n")),
        ("arabic digits", SPEC_CHECKPOINT.replace("\n20852163\n", "\n\u0661\u0662\n")),
        ("above uint64", SPEC_CHECKPOINT.replace("\n20852163\n", f"\n{2**64}\n")),
        ("empty size", SPEC_CHECKPOINT.replace("\n20852163\n", "\n\n")),
        ("empty origin", SPEC_CHECKPOINT.replace("example.com/behind-the-sofa", "")),
        ("short root", "o\n1\n" + base64.b64encode(bytes(31)).decode() + "\n"),
        ("long root", "o\n1\n" + base64.b64encode(bytes(33)).decode() + "\n"),
        ("unpadded root", SPEC_CHECKPOINT.replace("2I=\n", "2I\n")),
        ("non-canonical root", SPEC_CHECKPOINT.replace("2I=\n", "2J=\n")),
        ("missing newline", SPEC_CHECKPOINT[:-1]),
        ("two lines", "example.com/log\n1\n"),
        ("empty extension", SPEC_CHECKPOINT + "\n"),
    ],
)
def test_checkpoint_parsing_is_strict(name: str, text: str) -> None:
    with pytest.raises(InvalidCheckpointError):
        Checkpoint.parse(text)


def test_checkpoint_fields_are_validated_on_construction() -> None:
    with pytest.raises(InvalidCheckpointError):
        Checkpoint("o", -1, bytes(32))
    with pytest.raises(InvalidCheckpointError):
        Checkpoint("o", 1, bytes(31))
    with pytest.raises(InvalidCheckpointError):
        Checkpoint("o\nx", 1, bytes(32))
    with pytest.raises(InvalidCheckpointError):
        Checkpoint("o", 1, bytes(32), ("",))
    assert Checkpoint("o", 2**64 - 1, bytes(32)).size == 2**64 - 1


# --- tlog-cosignature --------------------------------------------------------


def test_spec_cosignature_line_layout() -> None:
    sig = parse_signature_line(SPEC_COSIG_LINE)
    assert sig.name == "witness.example.com/w1"
    assert len(sig.key_hash) == 4
    assert len(sig.signature) == 8 + 64
    # The spec's signed-message example uses this same timestamp.
    assert int.from_bytes(sig.signature[:8], "big") == 1679315147
    assert cosigned_message(SPEC_CHECKPOINT.encode(), 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + SPEC_CHECKPOINT.encode()
    )


def test_cosignature_round_trip() -> None:
    text = CHECKPOINT.to_text()
    line = WITNESS.cosign(text, 1700000000)
    verifier = CosignatureVerifier.from_vkey(WITNESS.vkey)
    assert verifier.key_hash == WITNESS.key_hash
    assert verify_cosignature(text, line, verifier) == 1700000000
    assert format_cosignature_vkey(WITNESS.name, _key(9).public_key()) == WITNESS.vkey
    # A cosigned checkpoint note: the log's signature and the witness's both verify.
    note = sign_checkpoint(CHECKPOINT, LOG) + line
    opened = open_note(note, [LOG.verifier(), verifier])
    assert [s.name for s in opened.verified_signatures] == [LOG.name, WITNESS.name]
    assert open_checkpoint(note, LOG.verifier()) == CHECKPOINT


def test_cosignature_tampering_is_rejected() -> None:
    text = CHECKPOINT.to_text()
    line = WITNESS.cosign(text, 1700000000)
    verifier = WITNESS.verifier()
    other_text = Checkpoint(CHECKPOINT.origin, 6, CHECKPOINT.root_hash).to_text()
    with pytest.raises(InvalidCosignatureError):
        verify_cosignature(other_text, line, verifier)
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 1  # last timestamp byte
    retimed = f"— {WITNESS.name} {base64.b64encode(raw).decode()}\n"
    with pytest.raises(InvalidCosignatureError):
        verify_cosignature(text, retimed, verifier)
    stranger = CosignatureSigner("witness.example/w", _key(10)).verifier()
    with pytest.raises(InvalidCosignatureError):
        verify_cosignature(text, line, stranger)
    with pytest.raises(InvalidCosignatureError):
        verify_cosignature(text, line.replace("— ", "- "), verifier)
    with pytest.raises(InvalidSignatureError):
        open_note(sign_checkpoint(Checkpoint.parse(other_text), LOG) + line, [verifier])


def test_cosignature_keys_are_domain_separated_from_note_keys() -> None:
    as_note_key = NoteSigner(WITNESS.name, _key(9))
    assert as_note_key.key_hash != WITNESS.key_hash
    with pytest.raises(InvalidKeyError):
        NoteVerifier.from_vkey(WITNESS.vkey)
    with pytest.raises(InvalidKeyError):
        CosignatureVerifier.from_vkey(as_note_key.vkey)
    # The witness line is an unknown signature to a verifier of the plain key.
    note = sign_checkpoint(CHECKPOINT, LOG) + WITNESS.cosign(CHECKPOINT.to_text(), 1)
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [as_note_key.verifier()])


def test_cosign_preconditions() -> None:
    with pytest.raises(InvalidCosignatureError):
        WITNESS.cosign(CHECKPOINT.to_text(), 2**63)
    with pytest.raises(InvalidCosignatureError):
        WITNESS.cosign(CHECKPOINT.to_text(), -1)
    with pytest.raises(InvalidCheckpointError):
        WITNESS.cosign("not a checkpoint\n", 1)
    assert WITNESS.cosign(CHECKPOINT.to_text(), 2**63 - 1).startswith("— witness.example/w ")


def test_all_errors_share_the_base_class() -> None:
    for error in (InvalidKeyError, InvalidNoteError, InvalidCheckpointError, UnverifiedNoteError):
        assert issubclass(error, NoteError)


# --- docs/data_model.md ------------------------------------------------------


def _doc_proof_nodes(call: str, nodes: ProofNodes) -> str:
    ids = " ".join(f"({n.level},{n.index})" for n in nodes.ids)
    return f"- `{call}`: ids `{ids}`, ephemeral `ids[{nodes.begin}:{nodes.end}]`"


def test_data_model_doc_examples() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "data_model.md").read_text()
    log_key, witness_key = _key(1), _key(2)
    log = NoteSigner("carbonledger.example/log", log_key)
    witness = CosignatureSigner("witness.example/w1", witness_key)
    leaves = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43"]
    leaves += [bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
    tree = MerkleTree(leaf_hash(d) for d in leaves)
    checkpoint = Checkpoint(log.name, 8, tree.root())
    log_line = sign_checkpoint(checkpoint, log).splitlines()[-1]
    witness_line = witness.cosign(checkpoint.to_text(), 1700000000)
    note = sign_checkpoint(checkpoint, log) + witness_line
    log_sig = parse_signature_line(log_line)
    witness_sig = parse_signature_line(witness_line.rstrip("\n"))

    expected = [
        f"| public key (hex) | `{log_key.public_key().public_bytes_raw().hex()}` "
        f"| `{witness_key.public_key().public_bytes_raw().hex()}` |",
        f"| key ID | `{log.key_hash.hex()}` | `{witness.key_hash.hex()}` |",
        log.vkey,
        witness.vkey,
        f"root\n`{tree.root().hex()}`",
        cosigned_message(checkpoint.to_text().encode(), 1700000000).decode(),
        "```\n" + note + "```",
        f"log:      {log_sig.key_hash.hex()}\n          {log_sig.signature.hex()}\n",
        f"witness:  {witness_sig.key_hash.hex()}\n          {witness_sig.signature[:8].hex()}\n"
        f"          {witness_sig.signature[8:].hex()}\n",
        _doc_proof_nodes("inclusion_nodes(2, 7)", inclusion_nodes(2, 7)),
        _doc_proof_nodes("inclusion_nodes(6, 7)", inclusion_nodes(6, 7)),
        _doc_proof_nodes("consistency_nodes(3, 7)", consistency_nodes(3, 7)),
        _doc_proof_nodes("consistency_nodes(4, 7)", consistency_nodes(4, 7)),
        "size 7 = 0b111 = 4 + 2 + 1  ->  (2,0) (1,2) (0,6)",
    ]
    for value in expected:
        assert value in doc, value
    assert open_checkpoint(note, NoteVerifier.from_vkey(log.vkey)) == checkpoint
    assert [n.level for n in root_nodes(7)] == [2, 1, 0]
    assert verify_cosignature(checkpoint.to_text(), witness_line, witness.verifier()) == 1700000000


def test_vkey_whose_base64_contains_plus_round_trips() -> None:
    """Standard base64 uses '+'; only the first two '+' separate vkey fields."""
    for seed in range(256):
        signer = NoteSigner(
            "example.com/log", Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        )
        if "+" in signer.vkey.split("+", 2)[2]:
            break
    else:
        pytest.fail("no test key with '+' in its base64 found")
    verifier = NoteVerifier.from_vkey(signer.vkey)
    assert verifier.key_hash == signer.key_hash
    note = sign_note("hello\n", signer)
    assert open_note(note, [verifier]).text == "hello\n"
