"""Cases as Open311 GeoReport v2 JSON, streamed, in the form the importer reads.

Standard fields carry what GeoReport has a place for; the extension fields
``channel``, ``urgency``, ``street``, ``community``, ``caller`` and ``phone``
carry the rest, so exporting and importing again changes nothing.  Phones are
masked unless ``unmasked`` (the importer ignores a masked phone).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import aliased

from .. import clock
from ..domain import FINAL_STATES
from ..engine import Database
from ..i18n import catalog
from ..lifecycle import Refused
from ..models import Case, Category, Unit
from ..operators import may_unmask
from ..privacy import mask_phone
from ..scope import Actor, case_scope
from ..workflow import audit_write

cases = Case.__table__
STREAM_ROWS = 2000


def _when(value: datetime | None) -> str | None:
    return clock.to_local(value).isoformat() if value else None


def request(row) -> dict:
    """One case as a GeoReport service request."""
    return {
        "service_request_id": row.source_ref,
        "status": "closed" if row.state in FINAL_STATES else "open",
        "status_notes": row.result or row.invalid_reason,
        "service_name": row.category_name,
        "service_code": row.category_code,
        "description": row.content,
        "agency_responsible": row.holder_name,
        "service_notice": None,
        "requested_datetime": _when(row.reported_at),
        "updated_datetime": _when(row.updated_at),
        "expected_datetime": _when(row.resolve_due),
        "address": row.address,
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
        "channel": row.channel,
        "urgency": row.urgency,
        "street": row.street_name,
        "community": row.community_name,
        "caller": row.reporter_name,
        "phone": row.reporter_phone,
    }


async def export_open311(db: Database, actor: Actor, out: TextIO, *,
                         since: datetime | None = None, unmasked: bool = False,
                         progress: Callable[[int], None] | None = None) -> int:
    """Write the cases ``actor`` may see changed since ``since`` (all without
    it); returns how many.  ``unmasked`` writes phones in full, for a role
    that calls citizens back only (the caller audits it)."""
    if unmasked and not may_unmask(actor):
        raise Refused("export.unmask_refused", role=actor.role.label)
    street, community, holder = aliased(Unit), aliased(Unit), aliased(Unit)
    query = (
        select(cases.c.source_ref, cases.c.state, cases.c.result, cases.c.invalid_reason,
               cases.c.content, cases.c.reported_at, cases.c.updated_at, cases.c.resolve_due,
               cases.c.address, cases.c.channel, cases.c.urgency, cases.c.reporter_name,
               cases.c.reporter_phone, Category.name.label("category_name"),
               Category.code.label("category_code"), street.name.label("street_name"),
               community.name.label("community_name"), holder.name.label("holder_name"))
        .join(Category, Category.id == cases.c.category_id)
        .outerjoin(street, street.id == cases.c.street_id)
        .outerjoin(community, community.id == cases.c.community_id)
        .outerjoin(holder, holder.id == cases.c.holder_unit_id)
        .where(case_scope(actor))
        .order_by(cases.c.id))
    if since is not None:
        query = query.where(cases.c.updated_at >= since)
    count = 0
    out.write("[")
    async with db.read() as conn:
        result = await conn.stream(query.execution_options(yield_per=STREAM_ROWS))
        async for row in result:
            item = request(row)
            if not unmasked:
                item["phone"] = mask_phone(item["phone"]) or None
            out.write(",\n" if count else "\n")
            out.write(json.dumps(item, ensure_ascii=False))
            count += 1
            if progress and count % STREAM_ROWS == 0:
                progress(count)
    out.write("\n]\n" if count else "]\n")
    return count


async def audit_export(db: Database, actor: Actor, count: int, target: str,
                       unmasked: bool) -> None:
    """Exports leave the building: each one is in the audit trail."""
    async with db.write() as conn:
        await audit_write(conn, actor, "export",
                          detail=f"open311 {count} -> {target}{' unmasked' if unmasked else ''}")


catalog({
    "export.unmask_refused": ("{role}不能导出完整电话号码", "A {role} may not export full phone numbers"),
})
