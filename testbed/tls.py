"""A throwaway certificate authority and a server certificate for 127.0.0.1, made with the
`openssl` command (`.ci/run` installs it): TLS to the test stores is verified like in
production (verify-full for PostgreSQL, hostname checks for Dragonfly)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA's certificate (what clients trust) and the server's pair."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_tls(directory: Path, name: str = "test") -> TlsFiles:
    """A CA `<name>-ca` and a server certificate it signed for 127.0.0.1 and localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = f"{name}-ca.key", f"{name}-ca.pem"
    key, csr, cert = f"{name}-server.key", f"{name}-server.csr", f"{name}-server.pem"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}-ca", "-keyout", ca_key, "-out", ca_cert, cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", key, "-out", csr, cwd=directory,
    )  # fmt: skip
    extensions = directory / f"{name}-server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-extfile", extensions.name, "-out", cert, cwd=directory,
    )  # fmt: skip
    return TlsFiles(directory / ca_cert, directory / cert, directory / key)
