"""The secrets of one start of the embedded store (bin/embedded_store.py).

weed's security.toml, with new JWT keys each time, and the CA and the
certificate it names for mutual TLS; each file written 0600 into the
store's 0700 folder (docs/storage.md, "Signing keys and mutual TLS").
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
from pathlib import Path

# security.toml's JWT keys: volume writes and reads, filer writes and reads.
# The filer's write key also guards the S3 gRPC port's IAM and lifecycle services.
JWT_SECTIONS = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")
# The gRPC servers of `weed mini`, and "client" for their calls to each other.
GRPC_SECTIONS = ("master", "volume", "filer", "s3", "admin", "worker", "client")


def _write_private(path: Path, data: bytes) -> None:
    """`data` into `path`, 0600 from its first byte, replacing any older file whole."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def tls_files(folder: Path) -> dict[str, Path]:
    """A CA and one certificate that every gRPC server and client of weed shares.

    Made anew at each start; the CA's key never leaves this function, so
    nobody, this user included, can sign another certificate it accepts.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def certificate(name: str, key, ca_key, *, ca: bool):
        # No key or extended usages: Go and grpcio then accept it for both ends.
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "store CA")]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(  # grpcio checks the name it dialled, weed does not
                x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("store CA", ca_key, ca_key, ca=True)
    leaf = certificate("seaweedfs", key, ca_key, ca=False)
    folder.mkdir(mode=0o700, exist_ok=True)
    files = {"ca": folder / "ca.pem", "cert": folder / "store.pem", "key": folder / "store.key"}
    pem = serialization.Encoding.PEM
    _write_private(files["ca"], ca.public_bytes(pem))
    _write_private(files["cert"], leaf.public_bytes(pem))
    _write_private(
        files["key"],
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return files


def security_config(folder: Path) -> Path:
    """weed's security.toml for this start (it reads ./security.toml): new keys each time.

    Nothing outside weed needs them (its JWTs live 10 s), so no key outlives the store.
    """
    tls = tls_files(folder / "tls")
    sections = [f'[{name}]\nkey = "{secrets.token_urlsafe(32)}"\n' for name in JWT_SECTIONS]
    # No directory listings from the filer's HTTP port (S3 lists over gRPC).
    sections.append("[filer.expose_directory_metadata]\nenabled = false\n")
    sections.append(f"[grpc]\nca = {json.dumps(str(tls['ca']))}\n")
    sections += [
        f"[grpc.{name}]\ncert = {json.dumps(str(tls['cert']))}\n"
        f"key = {json.dumps(str(tls['key']))}\n"
        for name in GRPC_SECTIONS
    ]
    path = folder / "security.toml"
    _write_private(path, "\n".join(sections).encode())
    return path
