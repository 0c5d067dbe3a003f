"""The replayed identity state as plain JSON, for incremental audits.

An incremental audit checks new entries against the orgs, keys, company ids,
registry accounts and the serials issued to them as of the saved checkpoint, so
they are saved with it. JSON (never pickle): a state directory is data another
tool may read, and loading it must not run code.
Bytes are hex. (The carbon facts live in the state database's index tables.)
"""

from __future__ import annotations

from typing import Any

from ledger.rules import IdentityState, KeyState, OrgState
from ledger.rules.issuance import IssuedBlocks

Json = dict[str, Any]


def identity_to_json(state: IdentityState) -> Json:
    return {
        "size": state.size,
        "orgs": [
            {
                "org_id": o.org_id,
                "name": o.name,
                "roles": sorted(o.roles),
                "enrolled_seq": o.enrolled_seq,
                "signing_key": o.signing_key.hex() if o.signing_key else None,
                "company_ids": sorted(o.company_ids),
            }
            for o in state.orgs.values()
        ],
        "accounts": [
            {"registry": registry, "account_id": account, "org_id": org}
            for (registry, account), org in sorted(state.account_holders.items())
        ],
        "issued": [
            {"registry": registry, "prefix": prefix, "width": width, "blocks": list(blocks.items())}
            for (registry, prefix, width), blocks in sorted(state.issued.items())
        ],
        "keys": [
            {
                "key_id": k.key_id.hex(),
                "public_key": k.public_key.hex(),
                "org_id": k.org_id,
                "added_seq": k.added_seq,
                "ended_seq": k.ended_seq,
                "ended_by": k.ended_by,
                "purpose": k.purpose,
            }
            for k in state.keys.values()
        ],
    }


def identity_from_json(data: Json) -> IdentityState:
    state = IdentityState(size=int(data["size"]))
    for o in data["orgs"]:
        key = o["signing_key"]
        state.orgs[o["org_id"]] = OrgState(
            o["org_id"],
            o["name"],
            frozenset(o["roles"]),
            int(o["enrolled_seq"]),
            bytes.fromhex(key) if key else None,
            frozenset(o["company_ids"]),
        )
        for company in o["company_ids"]:
            state.company_owners[company] = o["org_id"]
    for a in data["accounts"]:
        state.account_holders[(a["registry"], a["account_id"])] = a["org_id"]
    for i in data["issued"]:
        key = (i["registry"], i["prefix"], int(i["width"]))
        state.issued[key] = IssuedBlocks.of((int(f), int(la), a) for f, la, a in i["blocks"])
    for k in data["keys"]:
        kid = bytes.fromhex(k["key_id"])
        state.keys[kid] = KeyState(
            kid,
            bytes.fromhex(k["public_key"]),
            k["org_id"],
            int(k["added_seq"]),
            k["ended_seq"],
            k["ended_by"],
            k["purpose"],
        )
    return state
