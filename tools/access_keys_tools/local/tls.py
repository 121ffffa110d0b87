"""The local stack's self-signed certificate, for clients that speak only HTTPS (Tencent's CLI).

It names `localhost` and `127.0.0.1`, lasts 90 days, and is kept in `.local-stack/tls/` so that
a client told to trust it once keeps trusting it: a later start reuses it while it has more than
a day left. The private key is written 0600 and never leaves this machine.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 90
RENEW_WITHIN = datetime.timedelta(days=1)
CERTIFICATE = "cert.pem"
PRIVATE_KEY = "key.pem"


# The names the stack answers on: cam.localhost as well, the custom-domain style of endpoint.
_NAMES = (x509.DNSName("localhost"), x509.DNSName("cam.localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))


def _still_valid(certificate_path: Path) -> bool:
    """Not about to expire, and for every name the stack answers on (a certificate made before
    one was added is made again)."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    if set(names) != set(_NAMES):
        return False
    return certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > RENEW_WITHIN


def _write(path: Path, data: bytes, mode: int) -> None:
    """Written whole or not at all, so that two stacks starting at once never read half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    partial.replace(path)


def _generate(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "access-keys local stack")])
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(list(_NAMES)),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(directory / PRIVATE_KEY, key_pem, 0o600)
    _write(directory / CERTIFICATE, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def certificate(directory: Path) -> Path:
    """The certificate's path, made first if there is none with more than a day left."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # One stack at a time checks and makes it, so that no stack pairs one's key with another's certificate.
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (_still_valid(directory / CERTIFICATE) and (directory / PRIVATE_KEY).is_file()):
            _generate(directory)
    return directory / CERTIFICATE


def server_context(directory: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate(directory), directory / PRIVATE_KEY)
    return context
