"""Undecodable request messages get INVALID_ARGUMENT instead of INTERNAL.

grpcio answers a request whose bytes do not parse as the method's message with
INTERNAL ("Exception deserializing request!") and logs a traceback for it. On a
client-streaming method it is worse: the handler keeps waiting for a message that
never comes, holding one of the server's worker threads for good, and stopping the
server waits for it forever, so a few dozen such streams would starve every client.

``DecodingInterceptor`` makes decoding total: bytes that do not parse become a
marker that the wrapped handler answers with INVALID_ARGUMENT naming the message
type. On a stream the messages before it are handled as usual and the stream then
ends with that status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import grpc


class _Undecodable:
    """What the tolerant deserializer returns for bytes that do not parse."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _refuse(context: grpc.ServicerContext, request: _Undecodable) -> NoReturn:
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed request: {request.reason}")
    raise AssertionError("unreachable: context.abort raises")


def _tolerant(decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def decode_or_mark(data: bytes) -> Any:
        try:
            return decode(data)
        except Exception as exc:  # whatever the bytes make the parser raise
            return _Undecodable(str(exc) or type(exc).__name__)

    return decode_or_mark


class _UntilUndecodable:
    """A request stream that ends at the first undecodable message and keeps it."""

    def __init__(self, requests: Iterator[Any]) -> None:
        self._requests = requests
        self.undecodable: _Undecodable | None = None

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self.undecodable is not None:
            raise StopIteration
        request = next(self._requests)
        if isinstance(request, _Undecodable):
            self.undecodable = request
            raise StopIteration
        return request


Behavior = Callable[[Any, grpc.ServicerContext], Any]


def _single(behavior: Behavior) -> Behavior:
    def run(request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, _Undecodable):
            _refuse(context, request)
        return behavior(request, context)

    return run


def _stream_in(behavior: Behavior) -> Behavior:
    def run(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        guarded = _UntilUndecodable(requests)
        response = behavior(guarded, context)
        if guarded.undecodable is not None:
            _refuse(context, guarded.undecodable)
        return response

    return run


def _stream_both(behavior: Behavior) -> Behavior:
    def run(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        guarded = _UntilUndecodable(requests)
        yield from behavior(guarded, context)
        if guarded.undecodable is not None:
            _refuse(context, guarded.undecodable)

    return run


class DecodingInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Wraps every method handler of the server so that decoding never raises."""

    def __init__(self) -> None:
        self._wrapped: dict[str, Any] = {}  # per known method, built once

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = self._wrapped[method] = _wrap(handler)
        return wrapped


def _wrap(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    decode = _tolerant(handler.request_deserializer)
    encode = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(_single(handler.unary_unary), decode, encode)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_single(handler.unary_stream), decode, encode)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _stream_in(handler.stream_unary), decode, encode
        )
    return grpc.stream_stream_rpc_method_handler(
        _stream_both(handler.stream_stream), decode, encode
    )
