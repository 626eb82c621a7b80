"""The reflection wall's pages: the phone page, the room's screen, the process page's link."""

from __future__ import annotations

from sqlalchemy import func, select

from massline.extensions import db
from massline.stages.models import WallPost
from tests.factories import PREFECTURE, bearer, make_user, sign_in
from tests.stages.test_wall import facilitator_headers, open_process


def test_pages_post_and_moderate_without_javascript(app, client):
    facilitator_user = make_user(roles=(("facilitator", PREFECTURE),))
    process = open_process(client, bearer(facilitator_user))
    pid = process["id"]
    resident = make_user()

    anonymous = client.get(f"/processes/{pid}/wall/comment").get_data(as_text=True)
    assert 'name="body"' not in anonymous and "/login?next=" in anonymous
    token = sign_in(client, resident)
    assert 'name="body"' in client.get(f"/processes/{pid}/wall/comment").get_data(as_text=True)
    sent = client.post(
        f"/processes/{pid}/wall/comment", data={"csrf_token": token, "body": "<b>多种树</b>"}
    )
    assert sent.status_code == 302
    too_long = client.post(
        f"/processes/{pid}/wall/comment", data={"csrf_token": token, "body": "长" * 501}
    )
    assert too_long.status_code == 422
    assert "长" * 501 in too_long.get_data(as_text=True)  # what was typed comes back
    assert client.post(f"/processes/{pid}/wall/comment", data={"body": "x"}).status_code == 400
    assert db.session.scalar(select(func.count(WallPost.id))) == 1

    screen = client.get(f"/processes/{pid}/wall").get_data(as_text=True)
    assert "&lt;b&gt;多种树&lt;/b&gt;" in screen and "<b>多种树" not in screen  # escaped
    assert 'http-equiv="refresh"' in screen and 'data-cursor="1"' in screen
    assert "wall.js" in screen and 'name="status" value="hidden"' not in screen
    assert f"/processes/{pid}/wall/comment" in client.get(f"/processes/{pid}").get_data(
        as_text=True
    )
    assert client.get(f"/processes/{pid}/wall/qr.svg").mimetype == "image/svg+xml"

    post_id = db.session.scalar(select(WallPost.id))
    token = sign_in(client, facilitator_user)
    screen = client.get(f"/processes/{pid}/wall").get_data(as_text=True)
    assert 'name="status" value="hidden"' in screen and 'id="hide-form"' in screen
    hidden = client.post(
        f"/processes/{pid}/wall/{post_id}/moderate",
        data={"csrf_token": token, "status": "hidden", "back": "comment"},
    )
    assert hidden.status_code == 302 and hidden.location.endswith(f"/processes/{pid}/wall/comment")
    assert "多种树" not in client.get(f"/processes/{pid}/wall").get_data(as_text=True)
    mine = client.get(f"/processes/{pid}/wall/comment").get_data(as_text=True)
    assert "多种树" in mine and 'value="visible"' in mine  # facilitators can show it again
    other = open_process(client, bearer(facilitator_user))["id"]
    wrong = client.post(
        f"/processes/{other}/wall/{post_id}/moderate",
        data={"csrf_token": token, "status": "visible"},
    )
    assert wrong.status_code == 404


def test_the_wall_link_only_while_comments_are_taken(app, client):
    facilitator = facilitator_headers()
    pid = open_process(client, facilitator)["id"]
    for _ in range(3):
        client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)  # → decision
    page = client.get(f"/processes/{pid}").get_data(as_text=True)
    assert f"/processes/{pid}/wall/comment" not in page
    screen = client.get(f"/processes/{pid}/wall").get_data(as_text=True)
    assert 'id="wall-closed"' in screen
