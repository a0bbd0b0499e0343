"""The API's schema says what the API answers; every answer under /api/ is JSON.

The whole API is held to its schema by schemathesis in
tests/e2e/test_api_schema.py; these pin the pieces one by one.
"""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ERROR_REF = "#/components/schemas/Error"


def _schema() -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize(
    "path",
    ["/api/videos/null,null/", "/api/nothing/", "/api/uploads/1/parts/x/", "/api/videos/abc"],
)
def test_an_unknown_or_malformed_api_path_is_a_json_404(token_client, path):
    for client in (Client(), token_client):
        response = client.get(path, follow=False)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"error": "No such API path or resource."}


def test_an_unknown_page_is_still_an_html_404():
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_every_operation_documents_the_errors_it_answers_with_their_shape():
    schema = _schema()
    assert schema["components"]["schemas"]["Error"] == {
        "type": "object",
        "properties": {
            "error": {
                "type": "string",
                "description": "What was refused, and why, as a sentence.",
            }
        },
        "required": ["error"],
    }
    for name, operation in _operations(schema):
        responses = operation["responses"]
        expected = {"429", "503"}
        if name != "POST /api/auth/token/":
            expected.add("401")
        if "{" in name:
            expected.add("404")
        if name.startswith("POST") and "requestBody" in operation:
            expected.add("400")
        assert expected <= set(responses), name
        for status in expected:
            body = responses[status]["content"]["application/json"]["schema"]
            assert body == {"$ref": ERROR_REF}, (name, status)
        assert "Retry-After" in responses["429"]["headers"], name
    operations = dict(_operations(schema))
    assert {"400", "411", "413"} <= set(operations["POST /api/videos/"]["responses"])
    assert "413" in operations["POST /api/uploads/"]["responses"]
    assert "409" in operations["POST /api/videos/{video_id}/cancel/"]["responses"]
    assert "409" in operations["POST /api/uploads/{upload_id}/complete/"]["responses"]
    assert "401" not in operations["POST /api/auth/token/"]["responses"]


def test_the_schema_constrains_the_fields_as_the_api_validates_them():
    components = _schema()["components"]["schemas"]
    start = components["UploadStartRequest"]["properties"]
    assert start["filename"]["minLength"] == 1
    assert start["size"]["minimum"] == 1  # 0 is "The file is empty."
    upload = components["VideoUploadRequest"]
    assert upload["required"] == ["file"]
    assert upload["properties"]["file"]["format"] == "binary"  # a file part, not any string
    assert upload["properties"]["file"]["minLength"] == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"filename": 0}, "filename: Not a valid string."),
        ({"size": "100"}, "size: A valid integer is required."),
        ({"title": 0}, "title: Not a valid string."),
    ],
)
def test_a_value_of_another_json_type_than_the_schema_says_is_refused(
    token_client, fields, message
):
    body = {"filename": "clip.mp4", "size": 100, "content_type": "video/mp4", **fields}
    refused = token_client.post("/api/uploads/", body, content_type="application/json")
    assert (refused.status_code, refused.json()) == (400, {"error": message})
