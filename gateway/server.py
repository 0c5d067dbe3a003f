"""Serving the gateway app with uvicorn in a background thread of ``serve``.

The listening socket is bound before the thread starts, so the port is known
(and connections queue in the backlog) the moment ``start`` returns.
"""

from __future__ import annotations

import socket
import threading

import uvicorn
from fastapi import FastAPI


class HttpServer:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._socket = socket.create_server((host, port), reuse_port=False)
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="http", daemon=True
        )
        self.host = host
        self.port = int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join()
        self._socket.close()
