"""Serving the gateway app with uvicorn in a background thread of ``serve``.

The listening socket is bound when the server is made, before anything starts:
an address in use is refused (``OSError``) while there is nothing to undo, and
the port is known (and connections queue in the backlog) the moment ``start``
returns. With a certificate and key the gateway serves HTTPS; both are loaded
(``check_tls_files``) when the server is made too, as uvicorn loads them only
in its serving thread. ``start`` also
starts the app's callback worker and ``stop`` stops it.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi import FastAPI


class TlsFilesError(ValueError):
    """A ``--tls-cert``/``--tls-key`` file that cannot serve HTTPS; the message names it."""


def check_tls_files(cert: Path, key: Path) -> None:
    """Load the certificate and key as uvicorn will, before anything listens.

    uvicorn loads them only in its serving thread, where a bad file ends that
    thread while the port stays bound and the process keeps running; checking
    here lets ``serve`` refuse with the file's name instead. Each file is read on
    its own first so that the message says which one is wrong.
    """
    try:
        x509.load_pem_x509_certificates(cert.read_bytes())
    except (OSError, ValueError) as exc:
        raise TlsFilesError(f"{cert}: not a PEM certificate ({exc})") from None
    try:
        load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise TlsFilesError(f"{key}: not an unencrypted PEM private key ({exc})") from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise TlsFilesError(f"{key}: does not match the certificate {cert} ({exc})") from None


class HttpServer:
    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        *,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        backlog: int = 2048,
        trusted_proxies: tuple[str, ...] = (),
    ) -> None:
        """``trusted_proxies``: addresses whose ``X-Forwarded-For``/``-Proto`` headers name
        the client. None by default: otherwise any local process could pose as any address
        and slip past (or turn against a victim) the per-address login throttle."""
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if tls_cert is not None and tls_key is not None:
            check_tls_files(tls_cert, tls_key)
        self.app = app
        self._socket = socket.create_server((host, port), reuse_port=False, backlog=backlog)
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            backlog=backlog,
            timeout_keep_alive=30,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies) or None,
        )
        self.tls = tls_cert is not None
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="http", daemon=True
        )
        self.host = host
        self.port = int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> None:
        services = getattr(self.app.state, "services", None)
        if services is not None:
            services.outbox.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (idempotent; also releases a server that was never started)."""
        self._server.should_exit = True
        if self._thread.ident is not None:
            self._thread.join()
        self._socket.close()
        services = getattr(self.app.state, "services", None)
        if services is not None:
            services.outbox.stop()
            services.computed.save_snapshot()
            services.footprints.close()
            services.context.reads.dispose()
