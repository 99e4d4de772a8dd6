"""Credit routes: parse, call the service, return a schema. No rules here."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from services.credit import repository, service
from services.credit.deps import EngineDep, FirmDep, PlatformDep, SettingsDep
from services.credit.ingest.service import Ingestor
from services.credit.ingest.upload import (
    BulkUpload,
    check_declared_size,
    media_type,
    parse_json_array,
)
from services.credit.schemas import (
    FirmPublic,
    FirmRef,
    FirmSnapshot,
    FirmUpsert,
    IngestReport,
    MetricsPublic,
    ModelPublic,
    PlatformSettingsIn,
    PlatformSettingsPublic,
    ScorePublic,
    TransactionIn,
)
from services.credit.scoring import registry
from shared.domain_metrics import SCORES_SERVED
from shared.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, field_error
from shared.internal_auth import PrincipalDep, require_kind
from shared.pagination import Page, PageParams, decode_cursor, make_page, page_params

router = APIRouter(prefix="/v1")
# Network chunks are gathered to about this size before a worker thread parses them.
PARSE_BATCH_BYTES = 1 << 20


@router.put("/firms/{firm_ref}", response_model=FirmPublic, tags=["firms"])
def put_firm(
    firm_ref: FirmRef,
    body: FirmUpsert,
    principal: PlatformDep,
    engine: EngineDep,
    settings: SettingsDep,
    response: Response,
) -> FirmPublic:
    """Create or replace one of the caller's firms; the size class is computed."""
    firm, created = service.upsert_firm(engine, settings, principal.org_id, firm_ref, body)
    response.status_code = 201 if created else 200
    return firm


@router.get("/firms/{firm_ref}", response_model=FirmPublic, tags=["firms"])
def get_firm(firm: FirmDep) -> FirmPublic:
    """One of the caller's firms."""
    return service.firm_public(firm)


@router.get("/firms", response_model=Page[FirmPublic], tags=["firms"])
def list_firms(
    principal: PlatformDep, engine: EngineDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[FirmPublic]:
    """The caller's firms, oldest first, a page at a time."""
    after = decode_cursor(page.cursor)
    after_id = int(after) if after and after.isdigit() else 0
    with Session(engine) as session:
        firms = repository.list_firms(session, principal.org_id, after_id, page.limit)
    result = make_page(firms, page.limit, lambda f: f.id)
    return Page[FirmPublic](
        items=[service.firm_public(f) for f in result.items], next_cursor=result.next_cursor
    )


@router.post(
    "/firms/{firm_ref}/transactions",
    response_model=IngestReport,
    tags=["transactions"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "maxItems": 10000,
                        "items": TransactionIn.model_json_schema(),
                    }
                }
            },
        }
    },
)
async def post_transactions(
    request: Request,
    firm: FirmDep,
    principal: PlatformDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> IngestReport:
    """Store a JSON array of up to 10,000 of a firm's transactions; report on every row."""
    if media_type(request.headers.get("content-type")) != "application/json":
        raise UnsupportedMediaType(
            "send a JSON array with Content-Type: application/json",
            errors=[field_error(("header", "content-type"), "application/json")],
        )
    body = await _read_limited(request, settings.max_body_bytes)
    rows = parse_json_array(body, settings.max_json_rows)
    assert firm.id is not None
    ingestor = Ingestor(engine, settings, principal.org_id)
    ingestor.bind_firm(firm.firm_ref, firm.id, firm.timezone)

    def run() -> IngestReport:
        try:
            ingestor.add(enumerate(rows, 1), firm_ref=firm.firm_ref)
            return ingestor.finish()
        finally:
            ingestor.close()

    return await run_in_threadpool(run)


@router.post(
    "/transactions/bulk",
    response_model=IngestReport,
    tags=["transactions"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def post_bulk(
    request: Request, principal: PlatformDep, engine: EngineDep, settings: SettingsDep
) -> IngestReport:
    """Stream NDJSON or CSV rows (each naming its firm_ref; gzip accepted) of any size."""
    upload = BulkUpload(
        engine,
        settings,
        principal.org_id,
        content_type=request.headers.get("content-type"),
        content_encoding=request.headers.get("content-encoding"),
        content_length=request.headers.get("content-length"),
    )
    try:
        pending: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            upload.count(len(chunk))
            pending.append(chunk)
            size += len(chunk)
            if size >= PARSE_BATCH_BYTES:
                data, pending, size = b"".join(pending), [], 0
                await run_in_threadpool(upload.feed, data)
        await run_in_threadpool(upload.feed, b"".join(pending), True)
        return await run_in_threadpool(upload.finish)
    finally:
        await run_in_threadpool(upload.close)


async def _read_limited(request: Request, limit: int) -> bytes:
    check_declared_size(request.headers.get("content-length"), limit)
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(
                f"body is over the limit of {limit} bytes",
                errors=[field_error(("body",), f"at most {limit} bytes")],
            )
        parts.append(chunk)
    return b"".join(parts)


@router.put("/platform-settings", response_model=PlatformSettingsPublic, tags=["firms"])
def put_platform_settings(
    body: PlatformSettingsIn, principal: PlatformDep, engine: EngineDep
) -> PlatformSettingsPublic:
    """Set the time zone new firms of the caller cut their months in (default Asia/Shanghai)."""
    return service.put_platform_settings(engine, principal.org_id, body)


@router.get("/platform-settings", response_model=PlatformSettingsPublic, tags=["firms"])
def get_platform_settings(
    principal: PlatformDep, engine: EngineDep, settings: SettingsDep
) -> PlatformSettingsPublic:
    """The caller's ingest settings (the service default until set)."""
    with Session(engine) as session:
        return service.platform_settings(session, settings, principal.org_id)


@router.get("/firms/{firm_ref}/metrics", response_model=MetricsPublic, tags=["metrics"])
def get_metrics(
    firm: FirmDep,
    engine: EngineDep,
    as_of: Annotated[
        date | None, Query(description="only months complete before this date")
    ] = None,
) -> MetricsPublic:
    """Monthly metrics of a firm, optionally as of a past date (no future leaks in)."""
    with Session(engine) as session:
        return service.metrics(session, firm, as_of)


@router.get("/firms/{firm_ref}/score", response_model=ScorePublic, tags=["scores"])
def get_score(firm: FirmDep, principal: PlatformDep, engine: EngineDep) -> ScorePublic:
    """The firm's PD, score, grade and up to four adverse reasons, with the model version."""
    score = service.score_firm(engine, principal.org_id, firm.firm_ref, firm)
    SCORES_SERVED.inc()
    return score


@router.get("/firms/{firm_ref}/snapshot", response_model=FirmSnapshot, include_in_schema=False)
def get_snapshot(firm: FirmDep, principal: PlatformDep, engine: EngineDep) -> FirmSnapshot:
    """Internal: profile, score and history facts for matching to price an application."""
    return service.snapshot(engine, principal.org_id, firm)


@router.get("/models", response_model=list[ModelPublic], tags=["models"])
def list_models(principal: PrincipalDep, engine: EngineDep) -> list[ModelPublic]:
    """Every model version of the registry (operators)."""
    require_kind(principal, "admin")
    with Session(engine) as session:
        return [
            ModelPublic.model_validate(m, from_attributes=True)
            for m in repository.list_models(session)
        ]


@router.post("/models/{version}/promote", response_model=ModelPublic, tags=["models"])
def promote_model(version: str, principal: PrincipalDep, engine: EngineDep) -> ModelPublic:
    """Make a model version the champion that serves every new score (operators)."""
    require_kind(principal, "admin")
    record = registry.promote(engine, version)
    if record is None:
        raise NotFound(f"model version {version!r} not found")
    return ModelPublic.model_validate(record, from_attributes=True)
