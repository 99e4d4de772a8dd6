"""Gateway routes: organisations and keys here; every other /v1 route is forwarded."""

# No `from __future__ import annotations` here: forwarded endpoints are built in a closure and
# FastAPI must see their dependency objects, not strings it cannot resolve.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from sqlmodel import Session

from services.gateway import repository, service
from services.gateway.deps import AdminDep, EngineDep, KeysDep, require_scope
from services.gateway.forwarder import Forwarder
from services.gateway.routes import FORWARD_ROUTES, ForwardRoute
from services.gateway.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyPublic,
    OrganizationIn,
    OrganizationPublic,
)
from shared.internal_auth import Principal
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
def delete_api_key(
    key_id: str, principal: KeysDep, engine: EngineDep, request: Request
) -> ApiKeyPublic:
    """Revoke a key at once."""
    revoked = service.revoke_key(engine, principal, key_id)
    request.app.state.authenticator.forget(key_id)
    return revoked


def _forward_endpoint(route: ForwardRoute) -> Any:
    scoped = Annotated[Principal, Depends(require_scope(route.scope))]

    async def endpoint(request: Request, principal: scoped) -> Response:  # type: ignore[valid-type]
        forwarder: Forwarder = request.app.state.forwarder
        return await forwarder.forward(request, route.service, principal, stream=route.stream)

    endpoint.__name__ = f"{route.method.lower()}_{route.path.strip('/').replace('/', '_').replace('{', '').replace('}', '').replace('-', '_')}"
    endpoint.__doc__ = route.summary
    return endpoint


def include_forward_routes(app: FastAPI) -> None:
    """Register every forwarded route of the table on the app."""
    for route in FORWARD_ROUTES:
        app.add_api_route(
            route.path,
            _forward_endpoint(route),
            methods=[route.method],
            summary=route.summary,
            tags=[route.service],
            response_class=Response,
        )
