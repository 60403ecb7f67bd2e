"""Benchmark: the local server's REST and gRPC front ends against the in-process call.

An MLP 64-300-100-10 (issue 24's model) is exported with `export_for_serving`
and served by `LocalModelServer`. Median latency of one-row predicts, the
clients interleaved round by round:

- in-process: the SavedModel's `serving_default` signature called directly
  (the baseline every ratio is taken against);
- REST, the book's client: `requests.post(url, data=json.dumps(...))` on a
  keep-alive `requests.Session`;
- REST, `RestClient.predict`;
- gRPC, `GrpcClient.predict`.

Then the large-body throughput of a predict body of `--rows` rows (about
25 MiB of JSON at the default 20,000): the server's decode stage alone
(`json_tensors.loads` + `tensor_from_json`), its encode stage (`dumps` of
the response), and end to end (`requests.post` of the body): once until the
answer's bytes are received (what the server costs), once with the answer
parsed by `response.json()` (the client's stdlib parser: its cost is the
client's, not the server's; the MLP's export answers `class_ids`, `digit` and
`probabilities`, about 5 MiB for 20,000 rows).

Targets (issue 24): keep-alive `requests.post` within 3x of `RestClient`;
REST large bodies >= 50 MiB/s; gRPC within 4x of the in-process call.

Run: .venv/bin/python scripts/bench/serving.py [--requests 200] [--rows 20000]
(`PYTHONPATH=<checkout>` chooses which tfx_ext is measured).
"""

import argparse
import os
import statistics
import tempfile
import time


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="one-row requests per client")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the large predict body")
    parser.add_argument(
        "--large-rounds", type=int, default=3, help="timed rounds of the large body"
    )
    return parser.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()  # --help exits here, before TensorFlow is imported

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402
import socket  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import requests  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfx_ext  # noqa: E402
from tfx_ext.export import export_for_serving  # noqa: E402
from tfx_ext.serving import GrpcClient, LocalModelServer, RestClient  # noqa: E402
from tfx_ext.serving.json_tensors import dumps, loads, tensor_from_json  # noqa: E402
from tfx_ext.serving.rest_server import predict_response  # noqa: E402

MIB = 1024 * 1024


def mlp():
    inputs = keras.Input((64,), name="pixels")
    x = keras.layers.Dense(300, activation="relu")(inputs)
    x = keras.layers.Dense(100, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="digit")(x))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def median_ms(times):
    return 1e3 * statistics.median(times)


def one_row_latencies(signature, url, rest, grpc_client, x, n):
    session = requests.Session()
    row = x[:1]
    clients = {
        "in-process signature call": lambda: signature(pixels=tf.constant(row)),
        "REST requests.post (keep-alive)": lambda: session.post(
            url, data=json.dumps({"instances": row.tolist()})
        ).json(),
        "REST RestClient": lambda: rest.predict(row),
        "gRPC GrpcClient": lambda: grpc_client.predict(row),
    }
    times = {name: [] for name in clients}
    for call in clients.values():
        for _ in range(5):
            call()  # warm-up: connections, traced functions
    for _ in range(n):
        for name, call in clients.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    session.close()
    return {name: median_ms(t) for name, t in times.items()}


def best_of(rounds, call):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def large_body(url, x, rounds):
    body = json.dumps({"instances": x.tolist()}).encode()
    size = len(body) / MIB
    parsed = tensor_from_json(loads(body)["instances"], "DT_FLOAT", 2**31)
    if not np.array_equal(parsed, x.astype(np.float32)):
        raise AssertionError("the decode stage changed the values")
    probabilities = np.random.default_rng(1).dirichlet(np.ones(10), len(x)).astype(np.float32)
    # The export's answer: row format, one object per row with all three outputs.
    response = predict_response(
        {
            "class_ids": probabilities.argmax(-1),
            "digit": probabilities,
            "probabilities": probabilities,
        },
        "row",
    )
    response_size = len(dumps(response).encode()) / MIB
    session = requests.Session()
    session.post(url, data=body).json()  # warm-up (the batch size traces once)
    stages = {
        "decode (loads + tensor_from_json)": (
            size,
            best_of(rounds, lambda: tensor_from_json(loads(body)["instances"], "DT_FLOAT", 2**31)),
        ),
        "encode (dumps of the row-format answer)": (
            response_size,
            best_of(rounds, lambda: dumps(response).encode()),
        ),
        "end to end, answer as bytes": (
            size,
            best_of(rounds, lambda: session.post(url, data=body).content),
        ),
        "end to end, answer parsed (.json())": (
            size,
            best_of(rounds, lambda: session.post(url, data=body).json()),
        ),
    }
    session.close()
    return size, stages


def main(args):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((args.rows, 64))
    with tempfile.TemporaryDirectory() as base:
        path = export_for_serving(mlp(), base, "mlp", version=1)
        signature = tf.saved_model.load(path).signatures["serving_default"]
        rest_port, grpc_port = free_port(), free_port()
        with LocalModelServer(
            base, rest_port=rest_port, grpc_port=grpc_port, max_tensor_elements=2**26
        ):
            url = f"http://127.0.0.1:{rest_port}/v1/models/mlp:predict"
            rest = RestClient("127.0.0.1", rest_port, "mlp")
            with GrpcClient("127.0.0.1", grpc_port, "mlp") as grpc_client:
                latencies = one_row_latencies(
                    signature, url, rest, grpc_client, x.astype(np.float32), args.requests
                )
            size, stages = large_body(url, x, args.large_rounds)
    print(f"tfx_ext from {os.path.dirname(tfx_ext.__file__)}")
    print(f"MLP 64-300-100-10, one row, median of {args.requests} (clients interleaved)")
    base_ms = latencies["in-process signature call"]
    print(f"{'client':<34} {'median ms':>10} {'vs in-process':>14}")
    for name, ms in latencies.items():
        print(f"{name:<34} {ms:>10.2f} {ms / base_ms:>13.2f}x")
    book, client = latencies["REST requests.post (keep-alive)"], latencies["REST RestClient"]
    grpc_ratio = latencies["gRPC GrpcClient"] / base_ms
    print(
        f"targets: requests.post / RestClient = {book / client:.2f}x (<= 3x); "
        f"gRPC / in-process = {grpc_ratio:.2f}x (<= 4x)"
    )
    print(
        f"\nlarge predict body: {args.rows} rows x 64 floats = {size:.1f} MiB of JSON, best of {args.large_rounds}"
    )
    print(f"{'stage':<40} {'MiB':>6} {'seconds':>8} {'MiB/s':>7}")
    for name, (mib, seconds) in stages.items():
        print(f"{name:<40} {mib:>6.1f} {seconds:>8.3f} {mib / seconds:>7.1f}")
    served = stages["end to end, answer as bytes"]
    parsed = stages["end to end, answer parsed (.json())"]
    print(
        f"target: REST large bodies >= 50 MiB/s: request to answer received {served[0] / served[1]:.1f} MiB/s; "
        f"with the client's own json parse of the answer {parsed[0] / parsed[1]:.1f} MiB/s"
    )


if __name__ == "__main__":
    main(ARGS)
