"""Gateway routes: organisations and keys here; every other /v1 route is forwarded."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session
from starlette.routing import Match, Route
from starlette.types import Scope

from services.gateway import repository, service
from services.gateway.deps import AdminDep, EngineDep, KeysDep, admit
from services.gateway.forwarder import Forwarder
from services.gateway.routes import FORWARD_ROUTES, ForwardRoute
from services.gateway.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyPublic,
    OrganizationIn,
    OrganizationPublic,
)
from shared.pagination import Page, PageParams, decode_cursor, make_page, page_params

router = APIRouter(prefix="/v1")
PageDep = Annotated[PageParams, Depends(page_params)]


@router.post(
    "/organizations", response_model=OrganizationPublic, status_code=201, tags=["organizations"]
)
def post_organization(body: OrganizationIn, _: AdminDep, engine: EngineDep) -> OrganizationPublic:
    """Create a platform, lender or guarantor (operators)."""
    return service.create_org(engine, body)


@router.get("/organizations", response_model=Page[OrganizationPublic], tags=["organizations"])
def list_organizations(_: AdminDep, engine: EngineDep, page: PageDep) -> Page[OrganizationPublic]:
    """Every organisation (operators)."""
    with Session(engine) as session:
        rows = repository.list_orgs(session, decode_cursor(page.cursor) or "", page.limit)
    result = make_page(rows, page.limit, lambda o: o.id)
    return Page[OrganizationPublic](
        items=[OrganizationPublic.model_validate(o, from_attributes=True) for o in result.items],
        next_cursor=result.next_cursor,
    )


@router.post(
    "/organizations/{org_id}/api-keys",
    response_model=ApiKeyCreated,
    status_code=201,
    tags=["api-keys"],
)
def post_api_key(org_id: str, body: ApiKeyIn, _: AdminDep, engine: EngineDep) -> ApiKeyCreated:
    """Mint a key for an organisation; the token is in this response only (operators)."""
    return service.create_key(engine, org_id, body)


@router.get("/api-keys", response_model=Page[ApiKeyPublic], tags=["api-keys"])
def list_api_keys(principal: KeysDep, engine: EngineDep, page: PageDep) -> Page[ApiKeyPublic]:
    """The caller's organisation's keys (an operator sees all)."""
    org = None if principal.is_admin else principal.org_id
    with Session(engine) as session:
        rows = repository.list_keys(session, org, decode_cursor(page.cursor) or "", page.limit)
    result = make_page(rows, page.limit, lambda k: k.id)
    return Page[ApiKeyPublic](
        items=[ApiKeyPublic.model_validate(k, from_attributes=True) for k in result.items],
        next_cursor=result.next_cursor,
    )


@router.delete("/api-keys/{key_id}", response_model=ApiKeyPublic, tags=["api-keys"])
async def delete_api_key(
    key_id: str, principal: KeysDep, engine: EngineDep, request: Request
) -> ApiKeyPublic:
    """Revoke a key at once."""
    revoked = await run_in_threadpool(service.revoke_key, engine, principal, key_id)
    await request.app.state.revocations.announce(key_id)
    return revoked


class _TemplateRoute(Route):
    """A plain Starlette route that names itself in the scope, as FastAPI's routes do, so
    metrics, logs and the audit log see the route template, never the raw path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match as usual and record this route."""
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


def _forward_endpoint(route: ForwardRoute) -> Any:
    """A raw Starlette endpoint: no FastAPI dependency solving on the hot path."""
    scope_needed = route.scope
    service_name = route.service
    stream = route.stream

    async def endpoint(request: Request) -> Response:
        principal, _ = await admit(request, scope_needed)
        forwarder: Forwarder = request.app.state.forwarder
        return await forwarder.forward(request, service_name, principal, stream=stream)

    return endpoint


def include_forward_routes(app: FastAPI) -> None:
    """Register every forwarded route of the table on the app (described by openapi.py)."""
    for route in FORWARD_ROUTES:
        app.router.routes.append(
            _TemplateRoute(route.path, _forward_endpoint(route), methods=[route.method])
        )
