"""Errors with TF Serving's status codes, shared by the local server and the clients."""

import http

# TF Serving's canonical codes and the HTTP statuses its REST API maps them to.
HTTP_STATUS = {
    "INVALID_ARGUMENT": http.HTTPStatus.BAD_REQUEST,
    "NOT_FOUND": http.HTTPStatus.NOT_FOUND,
    "FAILED_PRECONDITION": http.HTTPStatus.BAD_REQUEST,
    "UNAVAILABLE": http.HTTPStatus.SERVICE_UNAVAILABLE,
    "RESOURCE_EXHAUSTED": http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "INTERNAL": http.HTTPStatus.INTERNAL_SERVER_ERROR,
}


class ServingError(Exception):
    """An error with a TF Serving status code (`INVALID_ARGUMENT`, `NOT_FOUND`, ...)."""

    def __init__(self, code, message, http_status=None):
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
