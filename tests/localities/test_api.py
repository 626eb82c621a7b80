"""Locality calls of the API and the browse pages."""

from __future__ import annotations

import pytest

from tests.factories import HOME, PREFECTURE


def test_locality_children_and_search(client):
    one = client.get(f"/api/v1/localities/{HOME}")
    assert one.status_code == 200
    assert one.get_json() == {
        "code": HOME,
        "name": "芙蓉区",
        "level": "county",
        "parent_code": PREFECTURE,
        "population": one.get_json()["population"],
    }
    assert one.get_json()["population"] > 500_000
    kids = client.get(f"/api/v1/localities/{PREFECTURE}/children").get_json()["items"]
    assert HOME in [k["code"] for k in kids]
    provinces = client.get("/api/v1/localities/000000/children").get_json()["items"]
    assert len(provinces) == 31
    found = client.get("/api/v1/localities", query_string={"q": "芙蓉区"}).get_json()["items"]
    assert found[0]["code"] == HOME
    assert client.get("/api/v1/localities", query_string={"q": ""}).get_json() == {"items": []}


@pytest.mark.parametrize("code", ["999999", "abc", "4301021", "%25", "0"])
def test_unknown_locality_is_a_404_error_object(client, code):
    for path in (f"/api/v1/localities/{code}", f"/api/v1/localities/{code}/children"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_search_with_odd_text_is_harmless(client):
    for q in ("%", "_", "\\", "'; drop table localities; --", "芙" * 500, "\x00"):
        response = client.get("/api/v1/localities", query_string={"q": q})
        assert response.status_code == 200


def test_browse_pages(client):
    assert client.get("/places/").status_code == 200
    page = client.get(f"/places/{PREFECTURE}")
    assert page.status_code == 200 and "芙蓉区" in page.get_data(as_text=True)
    assert "长沙市" in client.get("/places/", query_string={"q": "长沙"}).get_data(as_text=True)
    assert client.get("/places/999999").status_code == 404
