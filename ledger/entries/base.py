"""The entry envelope shared by every entry type, and the type registry.

Every entry is a JSON object with ``type``, a client-chosen ``entryId`` and the
``org`` that signs it. ``entryId`` must be a random (version 4) UUID: besides
making retries idempotent, its 122 random bits are the entropy that keeps an
entry's hash from being guessed by someone who knows its other members.

Models are strict (no coercion: ``"1"`` is not ``1``) and forbid unknown
members, so what validates is exactly what the schema in ``docs/schemas``
says. Each type declares which roles may sign it (``signer_roles``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, NoReturn, Self, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from ledger.errors import MalformedEntryError

Role = Literal["supplier", "buyer", "verifier", "auditor", "publisher", "operator"]
ALL_ROLES: frozenset[str] = frozenset(Role.__args__)  # type: ignore[attr-defined]

Urn = Annotated[
    str,
    StringConstraints(pattern=r"^[uU][rR][nN]:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$", max_length=512),
]
EntryId = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    ),
]
Base64PublicKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
HexKeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class Entry(BaseModel):
    """The envelope. Subclasses fix ``type`` to a literal and add their members."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    type: str
    entryId: EntryId
    org: Urn

    # Roles of which the signing org needs at least one.
    signer_roles: ClassVar[frozenset[str]] = frozenset()
    # Members only the model's own validators read, never the stateful rules
    # (``ledger.rules``): bulk data such as meter readings. See ``for_rules``.
    stateless_members: ClassVar[frozenset[str]] = frozenset()

    def for_rules(self) -> Self:
        """This validated entry as the stateful rules get it: ``stateless_members`` withheld.

        Worker processes validate entries and send them to the sequencer's process;
        withholding the bulk means it is neither pickled back nor rebuilt there
        (1,000 readings cost about as much to unpickle as to validate).
        """
        if not self.stateless_members:
            return self
        return self.model_copy(update={name: Withheld(name) for name in self.stateless_members})


class Withheld:
    """Stands in for a member ``Entry.for_rules`` withheld: any use of it raises.

    A stateful rule that starts reading such a member fails loudly instead of
    seeing an empty value; take the member out of ``stateless_members`` first.
    """

    __slots__ = ("member",)

    def __init__(self, member: str) -> None:
        self.member = member

    def _refuse(self) -> NoReturn:
        raise RuntimeError(
            f"{self.member} is withheld from the stateful rules (Entry.stateless_members)"
        )

    def __iter__(self) -> NoReturn:
        self._refuse()

    def __len__(self) -> NoReturn:
        self._refuse()

    def __bool__(self) -> NoReturn:
        self._refuse()

    def __getitem__(self, index: object) -> NoReturn:
        self._refuse()

    def __repr__(self) -> str:
        return f"<{self.member} withheld>"


ENTRY_TYPES: dict[str, type[Entry]] = {}
E = TypeVar("E", bound=type[Entry])


def entry_type(name: str, *, signer_roles: set[str]) -> Callable[[E], E]:
    """Register an entry model under its ``type`` name."""

    def register(cls: E) -> E:
        if name in ENTRY_TYPES:
            raise RuntimeError(f"entry type {name!r} registered twice")
        unknown = signer_roles - ALL_ROLES
        if unknown:
            raise RuntimeError(f"unknown roles {sorted(unknown)} for {name!r}")
        cls.signer_roles = frozenset(signer_roles)
        ENTRY_TYPES[name] = cls
        return cls

    return register


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else part
    return path


def parse_entry(obj: dict[str, Any]) -> Entry:
    """Validate a parsed entry object against the model of its ``type``.

    Raises ``MalformedEntryError`` whose ``field`` is the JSON path of the first
    problem and whose message says what was expected there.
    """
    type_name = obj.get("type")
    if not isinstance(type_name, str):
        raise MalformedEntryError("missing or non-string entry type", field="type")
    model = ENTRY_TYPES.get(type_name)
    if model is None:
        known = ", ".join(sorted(ENTRY_TYPES))
        raise MalformedEntryError(
            f"unknown entry type {type_name!r} (known: {known})", field="type"
        )
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise MalformedEntryError(first["msg"], field=_field_path(first["loc"])) from None
