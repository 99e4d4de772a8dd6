"""SME operating statistics: grouping, growth, refund rate, suppression of small cells, CSV."""

from fastapi.testclient import TestClient

from tests.conftest import principal_headers
from tests.credit.conftest import firm_body, txn

ADMIN = principal_headers("org_admin", "admin")


def _firm_with_sales(credit: TestClient, ref: str, region: str, march: str, april: str) -> None:
    credit.put(f"/v1/firms/{ref}", json=firm_body(region_code=region))
    rows = [
        txn(f"{ref}-1", amount=march, occurred_at="2026-03-10T10:00:00+08:00"),
        txn(f"{ref}-2", amount=april, occurred_at="2026-04-10T10:00:00+08:00"),
        txn(f"{ref}-3", type="refund", amount="10.00", occurred_at="2026-04-11T10:00:00+08:00"),
    ]
    r = credit.post(f"/v1/firms/{ref}/transactions", json=rows)
    assert r.status_code == 200 and r.json()["inserted"] == 3, r.text


def test_grouped_monthly_sales_with_small_cells_suppressed(credit: TestClient) -> None:
    for i in range(5):
        _firm_with_sales(credit, f"zj-{i}", "330106", "100.00", "150.00")
    for i in range(2):
        _firm_with_sales(credit, f"bj-{i}", "110105", "100.00", "100.00")
    params = {"month_from": "2026-03", "month_to": "2026-04", "group_by": "province"}
    r = credit.get("/v1/statistics/sales", params=params, headers=ADMIN)
    assert r.status_code == 200, r.text
    cells = {(c["month"], c["group"]): c for c in r.json()}
    april = cells[("2026-04", "330000")]
    assert april["firms"] == 5 and april["active_firms"] == 5
    assert april["sales_cny"] == "750.00" and april["net_sales_cny"] == "700.00"
    assert april["growth_mom"] == 0.4  # 700 over March's 500
    assert april["refund_rate"] == round(50 / 750, 4)
    beijing = cells[("2026-04", "110000")]
    assert beijing["suppressed"] and beijing["sales_cny"] is None

    csv_text = credit.get(
        "/v1/statistics/sales", params=params | {"format": "csv"}, headers=ADMIN
    ).text
    assert csv_text.splitlines()[0].startswith("month,group,firms")
    assert len(csv_text.splitlines()) == 1 + len(cells)


def test_statistics_are_for_operators_and_validate_months(credit: TestClient) -> None:
    params = {"month_from": "2026-05", "month_to": "2026-04"}
    assert credit.get("/v1/statistics/sales", params=params).status_code == 403
    r = credit.get("/v1/statistics/sales", params=params, headers=ADMIN)
    assert r.status_code == 400 and r.json()["errors"][0]["location"] == "query.month_from"
    bad = credit.get(
        "/v1/statistics/sales", params={"month_from": "2026-13", "month_to": "x"}, headers=ADMIN
    )
    assert bad.status_code == 422
