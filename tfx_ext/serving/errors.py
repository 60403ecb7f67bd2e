"""Errors with TF Serving's status codes, shared by the local server and the clients."""

import http

# TF Serving's canonical codes and the HTTP statuses its REST API maps them to.
HTTP_STATUS = {
    "INVALID_ARGUMENT": http.HTTPStatus.BAD_REQUEST,
    "NOT_FOUND": http.HTTPStatus.NOT_FOUND,
    "FAILED_PRECONDITION": http.HTTPStatus.BAD_REQUEST,
    "UNAVAILABLE": http.HTTPStatus.SERVICE_UNAVAILABLE,
    "RESOURCE_EXHAUSTED": http.HTTPStatus.TOO_MANY_REQUESTS,  # a body over the limit passes 413
    "INTERNAL": http.HTTPStatus.INTERNAL_SERVER_ERROR,
    "UNIMPLEMENTED": http.HTTPStatus.NOT_IMPLEMENTED,
    "OUT_OF_RANGE": http.HTTPStatus.BAD_REQUEST,
    "DEADLINE_EXCEEDED": http.HTTPStatus.GATEWAY_TIMEOUT,
    "ALREADY_EXISTS": http.HTTPStatus.CONFLICT,
    "ABORTED": http.HTTPStatus.CONFLICT,
    "PERMISSION_DENIED": http.HTTPStatus.FORBIDDEN,
    "UNAUTHENTICATED": http.HTTPStatus.UNAUTHORIZED,
    "CANCELLED": 499,  # TF Serving's CLIENT_CLOSED_REQUEST
}


# The canonical status codes (tensorflow/core/protobuf/error_codes.proto), by name.
CODES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)


class ServingError(Exception):
    """An error with a TF Serving status code (`INVALID_ARGUMENT`, `NOT_FOUND`, ...).

    Args:
        code: A canonical status code name (`"NOT_FOUND"`, ...).
        message: The server's message.
        http_status: The HTTP status (default: TF Serving's for `code`).
    """

    def __init__(self, code, message, http_status=None):
        if code not in CODES:
            from tfx_ext._core.arguments import invalid

            raise invalid(
                "code", f"a canonical status code name ({', '.join(CODES[1:4])}, ...)", code
            )
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = int(http_status or HTTP_STATUS.get(code, 500))

    def __str__(self):
        return f"{self.code}: {self.message}"


def invalid_argument(message):
    return ServingError("INVALID_ARGUMENT", message)


def not_found(message):
    return ServingError("NOT_FOUND", message)


def code_of(error):
    """The canonical code name of a `ServingError` or a TensorFlow error (`tf.errors.OpError.error_code`),
    else UNKNOWN."""
    if isinstance(error, ServingError):
        return error.code
    code = getattr(error, "error_code", None)
    return CODES[code] if isinstance(code, int) and 0 < code < len(CODES) else "UNKNOWN"
