"""A self-signed certificate for an emulator's ``--tls``, made at start with ``cryptography``.

One self-signed certificate (its own CA: ``basicConstraints CA:TRUE``) for ``localhost``,
``127.0.0.1``, ``::1`` and the vendor's host names (fakeservicenow: ``*.service-now.com``);
clients trust it by its path (requests' ``verify=``, ``REQUESTS_CA_BUNDLE``, httpx's
``verify=ssl context``), never by switching verification off.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class CertificatePair:
    cert_path: Path
    key_path: Path


def generate(
    emulator: str,
    host_names: Sequence[str] = (),
    directory: Path | None = None,
    *,
    days: int = 30,
) -> CertificatePair:
    """Write ``<emulator>-cert.pem`` and ``<emulator>-key.pem`` into ``directory`` (a new
    temporary directory by default), valid for ``host_names`` too, and return their paths."""
    folder = directory or Path(tempfile.mkdtemp(prefix=f"{emulator}-tls-"))
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{emulator} local CA")])
    now = dt.datetime.now(dt.UTC)
    dns_names = (*DNS_NAMES, *host_names)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in IP_ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / f"{emulator}-cert.pem"
    key_path = folder / f"{emulator}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return CertificatePair(cert_path, key_path)
