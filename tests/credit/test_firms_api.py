"""Firm registry over HTTP: validation, size class, tenancy, pagination."""

from fastapi.testclient import TestClient

from tests.conftest import principal_headers
from tests.credit.conftest import firm_body


def test_put_creates_then_replaces(credit: TestClient) -> None:
    r = credit.put("/v1/firms/shop-1", json=firm_body())
    assert r.status_code == 201, r.text
    assert r.json()["size_class"] == "small"
    assert r.json()["size_table_version"] == "MIIT-2011-300"
    r = credit.put("/v1/firms/shop-1", json=firm_body(employees=3))
    assert r.status_code == 200
    assert r.json()["size_class"] == "micro"


def test_bad_uscc_is_422_with_reason(credit: TestClient) -> None:
    r = credit.put("/v1/firms/shop-1", json=firm_body(uscc="91310110666007217X"))
    assert r.status_code == 422
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["pointer"] == "/uscc"
    assert "expected 'T'" in problem["errors"][0]["detail"]
    assert credit.get("/v1/firms/shop-1").status_code == 404


def test_unknown_industry_and_region(credit: TestClient) -> None:
    r = credit.put("/v1/firms/shop-1", json=firm_body(industry="mining", region_code="33010"))
    assert r.status_code == 422
    pointers = {e["pointer"] for e in r.json()["errors"]}
    assert pointers == {"/industry", "/region_code"}


def test_other_platform_cannot_see_firm(credit: TestClient) -> None:
    credit.put("/v1/firms/shop-1", json=firm_body())
    r = credit.get("/v1/firms/shop-1", headers=principal_headers("org_p2"))
    assert r.status_code == 404
    assert r.json()["status"] == 404


def test_unsigned_call_is_401(credit: TestClient) -> None:
    r = credit.get("/v1/firms", headers={"x-smefin-principal": ""})
    assert r.status_code == 401


def test_list_paginates(credit: TestClient) -> None:
    for i in range(5):
        credit.put(f"/v1/firms/shop-{i}", json=firm_body())
    credit.put("/v1/firms/other", json=firm_body(), headers=principal_headers("org_p2"))
    seen = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = credit.get("/v1/firms", params=params).json()
        seen += [f["firm_ref"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"shop-{i}" for i in range(5)]


def test_bad_cursor_is_400(credit: TestClient) -> None:
    r = credit.get("/v1/firms", params={"cursor": "garbage"})
    assert r.status_code == 400
