"""Exporting what is held about a person, or (for an admin) their whole organization
(GDPR articles 15 and 20): an archive built in the background, downloadable once, for a
limited time, recorded in ``data_exports``.

What goes in, by subject:

- a person: their account (without credentials) and memberships; in the organization they
  act in, every document that names them (found in every collection, so one added later is
  covered), the checkpoints of the threads they ran, memories whose metadata names them,
  the media their documents refer to, and the audit entries of what they did;
- an organization: every document of every collection of it, its members' accounts, every
  memory, every checkpoint thread, every media file (earlier export archives excepted) and
  its whole audit log.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bson import ObjectId

from persistence import tenant_data
from persistence.admin import OrganizationAdmin
from persistence.errors import Conflict, NotFound
from persistence.ids import utcnow
from persistence.media import MediaNotFound
from persistence.models import AuditLog, DataExport, LgRun, Membership, User
from persistence.models.audit import ExportScope
from persistence.repository import TenantRepository, tenant_filter
from services import audit
from services.gdpr.archive import ArchiveWriter
from services.gdpr.erase import NAMED_BY
from services.gdpr.ports import GdprServices

log = logging.getLogger(__name__)

JOB = "gdpr_export"
# How long a finished archive waits for its one download.
DOWNLOAD_WINDOW = timedelta(hours=48)
DATA_TYPES = ["documents", "memory", "checkpoints", "media", "audit"]


def _exports(db: Any) -> TenantRepository[DataExport]:
    return TenantRepository(db, DataExport)


async def request_export(
    services: GdprServices, org_id: ObjectId, user_id: ObjectId, *, organization: bool
) -> DataExport:
    """Record the request and queue its building; the export as recorded (pending)."""
    export = DataExport(
        organization_id=org_id,
        user_id=user_id,
        scope=ExportScope(
            subject="organization" if organization else "person", data_types=DATA_TYPES
        ),
    )
    await _exports(services.db).insert(export)
    await services.jobs.enqueue(
        JOB, job_id=f"{JOB}:{export.id}", org_id=str(org_id), export_id=str(export.id)
    )
    return export


async def get_export(
    db: Any, org_id: ObjectId, user_id: ObjectId, export_id: ObjectId
) -> DataExport:
    """The caller's own export; another person's (or another organization's) is not found."""
    export = await _exports(db).find_one(org_id, {"_id": export_id, "userId": user_id})
    if export is None:
        raise NotFound("no such export")
    return export


def state(export: DataExport) -> str:
    """pending, processing, completed, failed, downloaded or expired."""
    if export.output.downloaded_at is not None:
        return "downloaded"
    expires = export.output.expires_at
    if export.processing.status == "completed" and expires is not None and expires <= utcnow():
        return "expired"
    return export.processing.status


async def take_archive(
    services: GdprServices, org_id: ObjectId, user_id: ObjectId, export_id: ObjectId
) -> tuple[DataExport, bytes]:
    """Hand out a finished archive, once: it is claimed (compare-and-set), read and deleted.
    Conflict while it is being built or if building failed; NotFound once it was
    downloaded or has expired."""
    export = await get_export(services.db, org_id, user_id, export_id)
    now_state = state(export)
    if now_state in ("pending", "processing"):
        raise Conflict("the export is still being built", code="export_not_ready")
    if now_state == "failed":
        raise Conflict("building the export failed; request a new one", code="export_failed")
    if now_state in ("downloaded", "expired"):
        await _drop_archive(services, export)
        raise NotFound(f"this export was {now_state}; request a new one", code="export_gone")
    claimed = await _exports(services.db).update_many(
        org_id,
        {"_id": export.id, "output.downloadedAt": None, "processing.status": "completed"},
        {"output.downloadedAt": utcnow()},
    )
    if claimed != 1:  # another download took it meanwhile
        raise NotFound("this export was downloaded; request a new one", code="export_gone")
    assert export.output.archive_key is not None
    try:
        data = await services.media.get(str(org_id), export.output.archive_key)
    except MediaNotFound as exc:
        raise NotFound("the archive is gone; request a new one", code="export_gone") from exc
    await _drop_archive(services, export)
    await audit.record(
        services.db,
        org_id,
        action="export",
        operation="gdpr.export_downloaded",
        resource_type="data_exports",
        resource_id=export.id,
        summary=f"a {export.scope.subject} data export was downloaded ({len(data)} bytes)",
        actor=audit.Actor.user(user_id),
    )
    return export, data


async def _drop_archive(services: GdprServices, export: DataExport) -> None:
    if export.output.archive_key:
        await services.media.delete(str(export.organization_id), export.output.archive_key)
        await _exports(services.db).update(
            export.organization_id, export.id, {"output.archiveKey": None}
        )


async def expire_archives(services: GdprServices, org_id: ObjectId) -> int:
    """Delete the organization's archives past their download window; how many."""
    due = await _exports(services.db).find(
        org_id, {"output.archiveKey": {"$ne": None}, "output.expiresAt": {"$lte": utcnow()}}
    )
    for export in due:
        await _drop_archive(services, export)
    return len(due)


# --- building ------------------------------------------------------------------------------


async def build(services: GdprServices, org_id: ObjectId, export_id: ObjectId) -> DataExport:
    """Build the archive of a recorded export (the ``gdpr_export`` job)."""
    exports = _exports(services.db)
    export = await exports.get(org_id, export_id)
    if export is None:
        raise NotFound("no such export")
    if export.processing.status == "completed":
        return export  # a retried job
    await exports.update(
        org_id, export_id, {"processing.status": "processing", "processing.startedAt": utcnow()}
    )
    try:
        writer = ArchiveWriter()
        if export.scope.subject == "organization":
            counts = await _organization(services, org_id, writer)
        else:
            counts = await _person(services, org_id, export.user_id, writer)
        writer.json(
            "manifest.json",
            {
                "exportId": export.id,
                "subject": export.scope.subject,
                "organizationId": org_id,
                "userId": export.user_id,
                "createdAt": utcnow(),
                "counts": counts,
                "files": sorted(writer.names),
            },
        )
        data = writer.finish()
        stored = await services.media.put(
            str(org_id), f"gdpr-export-{export.id}.zip", data, "application/zip"
        )
    except Exception as exc:
        log.exception("GDPR export %s failed", export_id)
        await exports.update(
            org_id,
            export_id,
            {
                "processing.status": "failed",
                "processing.errorMessage": type(exc).__name__,
                "processing.completedAt": utcnow(),
            },
        )
        raise
    done = await exports.update(
        org_id,
        export_id,
        {
            "processing.status": "completed",
            "processing.progress": 100,
            "processing.completedAt": utcnow(),
            "output.fileUrl": f"/api/users/export-data/{export.id}",
            "output.fileSize": len(data),
            "output.archiveKey": stored.key,
            "output.expiresAt": utcnow() + DOWNLOAD_WINDOW,
        },
    )
    assert done is not None
    return done


async def _archive_keys(db: Any, org_id: ObjectId) -> set[str]:
    """Keys of export archives: never exported again inside a later archive."""
    found = await _exports(db).find(org_id, {"output.archiveKey": {"$ne": None}})
    return {e.output.archive_key for e in found if e.output.archive_key}


async def _organization(
    services: GdprServices, org_id: ObjectId, out: ArchiveWriter
) -> dict[str, int]:
    db, org = services.db, str(org_id)
    counts: dict[str, int] = {}
    for name in await tenant_data.collections(db):
        docs = [raw async for raw in tenant_data.documents(db, org_id, name)]
        if docs:
            out.json(f"documents/{name}.json", docs)
            counts[f"documents.{name}"] = len(docs)
    members = await TenantRepository(db, Membership).find(org_id)
    accounts = await OrganizationAdmin(db).users_by_ids([m.user_id for m in members])
    out.json("members.json", [u.to_mongo() for u in accounts.values()])
    counts["members"] = len(accounts)
    counts["memory"] = await _memory(services, org_id, out, lambda _: True)
    threads = await services.checkpointer.atenant_threads(org)
    counts["checkpoint_threads"] = await _checkpoints(services, org, threads, out)
    skip = await _archive_keys(db, org_id)
    counts["media"] = await _media(
        services, org, [m.key for m in await services.media.list(org) if m.key not in skip], out
    )
    audit = await TenantRepository(db, AuditLog).find(org_id, sort=[("_id", 1)])
    out.json("audit.json", [e.to_mongo() for e in audit])
    counts["audit"] = len(audit)
    return counts


async def _person(
    services: GdprServices, org_id: ObjectId, user_id: ObjectId, out: ArchiveWriter
) -> dict[str, int]:
    db, org, uid = services.db, str(org_id), str(user_id)
    counts: dict[str, int] = {}
    admin = OrganizationAdmin(db)
    user = await admin.get_user(user_id)
    if user is None:
        raise NotFound("no such user")
    out.json("account.json", user.to_mongo())
    memberships = await admin.memberships_of(user_id, active_only=False)
    out.json("memberships.json", [m.to_mongo() for m in memberships])
    naming = {"$or": [{path: value} for path in NAMED_BY for value in (user_id, uid)]}
    texts: list[str] = []
    for name in await tenant_data.collections(db):
        if name == User.collection:
            continue  # their own account is account.json; others' are not theirs
        cursor = db[name].find(tenant_filter(org_id, naming)).sort([("_id", 1)])
        docs = await cursor.to_list(None)
        if docs:
            out.json(f"documents/{name}.json", docs)
            counts[f"documents.{name}"] = len(docs)
            texts.append(repr(docs))
    counts["memory"] = await _memory(services, org_id, out, lambda meta: uid in repr(meta))
    runs = await TenantRepository(db, LgRun).find(org_id, {"userId": uid})
    threads = sorted({r.thread_id for r in runs})
    counts["checkpoint_threads"] = await _checkpoints(services, org, threads, out)
    # Media their documents refer to (a post's image, an avatar they uploaded).
    skip = await _archive_keys(db, org_id)
    blob = "\n".join(texts)
    keys = [m.key for m in await services.media.list(org) if m.key in blob and m.key not in skip]
    counts["media"] = await _media(services, org, keys, out)
    audit = await TenantRepository(db, AuditLog).find(
        org_id, {"$or": [{"userId": user_id}, {"actor.userId": user_id}]}, sort=[("_id", 1)]
    )
    out.json("audit.json", [e.to_mongo() for e in audit])
    counts["audit"] = len(audit)
    return counts


async def _memory(services: GdprServices, org_id: ObjectId, out: ArchiveWriter, keep: Any) -> int:
    n = 0
    for kind, entries in (await services.memory.export_tenant(str(org_id))).items():
        chosen = [e for e in entries if keep(e["metadata"])]
        if chosen:
            out.json(f"memory/{kind}.json", chosen)
            n += len(chosen)
    return n


async def _checkpoints(
    services: GdprServices, org: str, threads: list[str], out: ArchiveWriter
) -> int:
    written = 0
    for index, thread in enumerate(threads):
        config = {"configurable": {"thread_id": thread, "organization_id": org}}
        history = [
            {
                "checkpointId": saved.config["configurable"].get("checkpoint_id"),
                "checkpointNs": saved.config["configurable"].get("checkpoint_ns", ""),
                "metadata": saved.metadata,
                "channelValues": saved.checkpoint.get("channel_values", {}),
                "pendingWrites": [
                    {"taskId": t, "channel": c, "value": v}
                    for t, c, v in saved.pending_writes or ()
                ],
            }
            async for saved in services.checkpointer.alist(config)
        ]
        if history:
            # Numbered: a thread id is free text and need not make a safe file name.
            out.json(f"checkpoints/{index:04d}.json", {"threadId": thread, "checkpoints": history})
            written += 1
    return written


async def _media(services: GdprServices, org: str, keys: list[str], out: ArchiveWriter) -> int:
    written = 0
    for key in keys:
        try:
            out.bytes(f"media/{key.split('/', 1)[1]}", await services.media.get(org, key))
        except MediaNotFound:
            continue  # deleted since it was listed
        written += 1
    return written
