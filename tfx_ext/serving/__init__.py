"""TF Serving clients (REST, gRPC) and a local server speaking TF Serving's protocols.

The local server is a test double for tests and development; production runs
the real `tensorflow/serving` image (see the top-level `serving/` directory).
"""

from tfx_ext.serving.errors import ServingError
from tfx_ext.serving.grpc_client import GrpcClient
from tfx_ext.serving.local_server import LocalModelServer
from tfx_ext.serving.rest_client import RestClient

__all__ = ["GrpcClient", "LocalModelServer", "RestClient", "ServingError"]
