"""PostgreSQL goes away for a while (only this test's database: the server,
and everyone else's databases, keep running)."""

from __future__ import annotations

import re
import subprocess

from tests.support.api import ApiClient
from tests.support.observe import job_of, queue_state, wait_until
from tests.support.outages import database_closed
from tests.support.stack import REPO

RESULTS_QUEUE = "web.transcode_results"


def _answers_503_without_a_traceback(api: ApiClient, url: str, content_type: str) -> None:
    response = api.get(url)
    assert response.status_code == 503, (url, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(content_type), url
    assert response.headers["Retry-After"]
    assert "Traceback" not in response.text
    assert "OperationalError" not in response.text
    if content_type == "application/json":
        assert "temporarily unavailable" in response.json()["error"]
    else:
        assert "temporarily unavailable" in response.text


def _signed_in_admin(stack) -> ApiClient:
    """A client with an admin's session: its requests read the session from the database."""
    password = "a-long-password-for-tests"
    subprocess.run(
        [
            str(REPO / "web_service" / ".venv" / "bin" / "python"),
            "manage.py",
            "createsuperuser",
            "--noinput",
        ],
        cwd=REPO / "web_service",
        env={
            **stack.processes["web"].env,  # the web's settings, store keys included
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
            "DJANGO_SUPERUSER_PASSWORD": password,
        },
        check=True,
        capture_output=True,
        timeout=60,
    )
    admin = ApiClient(stack.base_url)
    form = admin.get("/admin/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    signed_in = admin.session.post(
        f"{stack.base_url}/admin/login/",
        data={
            "username": "admin",
            "password": password,
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        },
        headers={"Referer": f"{stack.base_url}/admin/login/"},
        timeout=30,
    )
    assert signed_in.url.endswith("/admin/"), "the admin could not sign in"
    return admin


def test_without_its_database_the_web_answers_503_and_the_collector_holds_results_until_it_returns(
    start_stack, make_clip
):
    stack = start_stack(TRANSCODER_CONCURRENCY="1")
    api = ApiClient(stack.base_url)
    collector = stack.processes["collector"]
    # Signed in first: the job must still be running when the database goes.
    admin = _signed_in_admin(stack)
    video_id = api.upload(make_clip(seconds=15)).json()["id"]
    job_id = job_of(stack.database_url, video_id)["id"]
    wait_until(lambda: api.video(video_id)["status"] == "processing", timeout=60, what="started")

    with database_closed(stack.database_url):
        for url in ("/api/videos/", f"/api/videos/{video_id}/", "/healthz"):
            _answers_503_without_a_traceback(api, url, "application/json")
        for url in ("/", f"/videos/{video_id}/"):
            _answers_503_without_a_traceback(api, url, "text/html")
        # Signed in, the session and the user are looked up too.
        for url in ("/", "/admin/"):
            _answers_503_without_a_traceback(admin, url, "text/html")
        refused = api.upload(make_clip(seconds=3), title="while the database is down")
        assert refused.status_code == 503, refused.text
        # The refused upload's object is removed, not left without a row:
        # the store holds the first video's source alone, and nothing unfinished.
        assert len(stack.store.objects("sources/")) == 1
        assert stack.store.multipart_uploads() == []

        # The worker finishes meanwhile; the collector cannot store its
        # SUCCESS, so it puts the message back instead of acknowledging it.
        wait_until(
            lambda: f"requeueing {job_id} SUCCESS" in collector.log_text(),
            timeout=120,
            what="the collector requeued the job's SUCCESS",
        )

    final, _ = api.wait_final(video_id, timeout=60)
    assert final["status"] == "ready", final
    assert final["progress"] == 100
    assert api.get("/healthz").status_code == 200
    assert api.get(f"/videos/{video_id}/").status_code == 200
    wait_until(
        lambda: queue_state(stack.broker_url, RESULTS_QUEUE) == (0, 1),
        timeout=30,
        what="every held reply was applied and acknowledged",
    )
    assert queue_state(stack.broker_url, f"{RESULTS_QUEUE}.dead") == (0, 0)  # none given up on
