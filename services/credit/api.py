"""Credit routes: parse, call the service, return a schema. No rules here."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from services.credit import repository, service
from services.credit.deps import EngineDep, FirmDep, PlatformDep, SettingsDep
from services.credit.ingest.parsers import CsvDecoder, Gunzip, NdjsonDecoder
from services.credit.ingest.service import Ingestor
from services.credit.schemas import (
    FirmPublic,
    FirmRef,
    FirmSnapshot,
    FirmUpsert,
    IngestReport,
    MetricsPublic,
    ModelPublic,
    ScorePublic,
    TransactionIn,
)
from services.credit.scoring import registry
from shared.domain_metrics import SCORES_SERVED
from shared.errors import AppError, NotFound, PayloadTooLarge, UnsupportedMediaType, field_error
from shared.internal_auth import PrincipalDep, require_kind
from shared.pagination import Page, PageParams, decode_cursor, make_page, page_params

router = APIRouter(prefix="/v1")
NDJSON_TYPES = {
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/json-seq",
}
CSV_TYPES = {"text/csv", "application/csv"}
# Network chunks are gathered to about this size before a worker thread parses them.
PARSE_BATCH_BYTES = 1 << 20


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


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
    if _media_type(request) != "application/json":
        raise UnsupportedMediaType("send a JSON array with Content-Type: application/json")
    body = await _read_limited(request, settings.max_body_bytes)
    try:
        rows: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise AppError(
            f"body is not valid JSON: {exc.msg} at position {exc.pos}",
            errors=[field_error(("body",), "not valid JSON")],
        ) from None
    if not isinstance(rows, list):
        raise AppError(
            "body must be a JSON array of transactions",
            errors=[field_error(("body",), "expected an array")],
        )
    if len(rows) > settings.max_json_rows:
        raise PayloadTooLarge(
            f"{len(rows)} rows; at most {settings.max_json_rows} per request "
            "(use POST /v1/transactions/bulk for more)"
        )
    ingestor = Ingestor(engine, settings, principal.org_id)
    assert firm.id is not None
    ingestor.bind_firm(firm.firm_ref, firm.id, firm.timezone)

    def run() -> IngestReport:
        ingestor.add(((i + 1, r) for i, r in enumerate(rows)), firm_ref=firm.firm_ref)
        return ingestor.finish()

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
    media = _media_type(request)
    if media in NDJSON_TYPES:
        decoder: NdjsonDecoder | CsvDecoder = NdjsonDecoder()
    elif media in CSV_TYPES:
        decoder = CsvDecoder()
    else:
        raise UnsupportedMediaType("send application/x-ndjson or text/csv")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_bulk_bytes:
        raise PayloadTooLarge(f"body over {settings.max_bulk_bytes} bytes")
    gunzip = Gunzip(force=request.headers.get("content-encoding", "").lower() == "gzip")
    ingestor = Ingestor(engine, settings, principal.org_id)

    def consume(data: bytes, final: bool) -> None:
        try:
            ingestor.add(decoder.feed(gunzip.feed(data)))
            if final:
                ingestor.add(decoder.close())
        except ValueError as exc:
            raise AppError(str(exc), errors=[field_error(("body",), str(exc))]) from None

    pending: list[bytes] = []
    size = total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > settings.max_bulk_bytes:
            raise PayloadTooLarge(f"body over {settings.max_bulk_bytes} bytes")
        pending.append(chunk)
        size += len(chunk)
        if size >= PARSE_BATCH_BYTES:
            data, pending, size = b"".join(pending), [], 0
            await run_in_threadpool(consume, data, False)
    await run_in_threadpool(consume, b"".join(pending), True)
    return await run_in_threadpool(ingestor.finish)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    parts: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


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
    score = service.score_firm(engine, principal.org_id, firm.firm_ref)
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
