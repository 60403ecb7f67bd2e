"""The REST front end's speed mechanisms, tested for what they do (their speed is shown by
`scripts/bench/serving.py`): TCP_NODELAY on accepted sockets and each response in one
write (no ~40 ms delayed-ACK stall for keep-alive clients), and the orjson fast paths,
which must give exactly what the exact parser and writer give."""

import json
import math
import socket
import threading

import numpy as np
import requests
import tensorflow as tf

from tests.serving.test_tf_serving_flags import models_root
from tfx_ext.serving import json_tensors
from tfx_ext.serving.errors import ServingError
from tfx_ext.serving.local_server import _RestServer
from tfx_ext.serving.model_registry import ModelRegistry
from tfx_ext.serving.rest_server import make_handler


class _CountingWriter:
    def __init__(self, inner, log):
        self.inner, self.log = inner, log

    def write(self, data):
        self.log.append(len(data))
        return self.inner.write(data)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class ResponseWritesTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = ModelRegistry.from_base_dir(models_root())
        cls.registry.refresh_each()
        cls.writes, cls.clients = [], []
        base = make_handler(cls.registry, 1 << 20)
        writes, clients = cls.writes, cls.clients

        class Counting(base):
            def setup(self):
                super().setup()
                self.wfile = _CountingWriter(self.wfile, writes)

            def handle_one_request(self):
                clients.append(self.client_address)
                super().handle_one_request()

        cls.server = _RestServer(("127.0.0.1", 0), Counting)
        cls.port = cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        super().tearDownClass()

    def test_accepted_sockets_have_tcp_nodelay(self):
        server = _RestServer(("127.0.0.1", 0), make_handler(self.registry, 1 << 20))
        self.addCleanup(server.server_close)
        client = socket.create_connection(server.server_address)
        self.addCleanup(client.close)
        accepted, _ = server.get_request()
        self.addCleanup(accepted.close)
        self.assertNotEqual(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 0)

    def test_keep_alive_session_gets_each_answer_in_one_write(self):
        del self.writes[:], self.clients[:]
        url = f"http://127.0.0.1:{self.port}/v1/models/my_model:predict"
        with requests.Session() as session:
            for value in (1.0, 2.0, 6.0):
                # The book's client: a JSON string posted with data=.
                response = session.post(url, data=json.dumps({"instances": [value]}))
                self.assertEqual(response.status_code, 200, msg=response.text)
                self.assertAllClose(response.json()["predictions"], [0.5 * value + 2.0])
            bad = session.post(url, data="{}")
            self.assertEqual(bad.status_code, 400)
        self.assertLen(self.writes, 4)  # status line, headers and body together, each time
        self.assertLen(set(self.clients[:4]), 1)  # over one kept-alive connection


FAST_PARSE_CASES = [
    b'{"instances": [1.0, 2.5, -3]}',
    b'{"instances": [NaN, Infinity, -Infinity]}',
    b'{"instances": [18446744073709551615, -9223372036854775808, 123456789012345678901234567890]}',
    b'{"instances": [1e400]}',
    b'{"instances": [{"b64": "aGVsbG8="}], "signature_name": "s"}',
    '{"instances": ["caf\u00e9", "\\u00e9\\ud83d\\ude00"]}'.encode(),
    b'{"instances": [[1, 2], [3]]}',
    b'{"instances": [[], []]}',
    b'{"a": 1, "a": 2}',
    b'{"instances": [-0.0, 5e-324, 1.7976931348623157e308]}',
    b"[" * 1100 + b"]" * 1100,
    b'{"instances": [1,]}',
    b'{"instances": [tru]}',
    b"\xff\xfe",
    b'{"x": "\\ud800"}',
]


def _canonical(value):
    """A structure comparable with NaN and -0.0 (NaN != NaN; 0.0 == -0.0)."""
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    if isinstance(value, dict):
        return ("dict", sorted((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", [_canonical(v) for v in value])
    return (type(value).__name__, value)


class FastJsonTest(tf.test.TestCase):
    def outcome(self, parse, raw):
        try:
            return "ok", _canonical(parse(raw))
        except ServingError as error:
            return "error", error.code, error.message

    def test_fast_parse_equals_the_exact_parser(self):
        for raw in FAST_PARSE_CASES:
            with self.subTest(raw=raw[:60]):
                self.assertEqual(
                    self.outcome(json_tensors.loads, raw),
                    self.outcome(json_tensors._loads_exact, raw),
                )

    def test_fast_tensors_equal_the_element_walk(self):
        cases = [
            ([[1.0, 2.0], [3.0, 4.5]], "DT_FLOAT"),
            ([[1, 2], [3, 4]], "DT_INT32"),
            ([1, 2.0, 3], "DT_DOUBLE"),
            ([2**40, -5], "DT_INT64"),
            ([True, False], "DT_BOOL"),
            ([1.5], "DT_INT32"),
            ([True], "DT_FLOAT"),
            ([[1, 2], [3]], "DT_FLOAT"),
            ([300], "DT_UINT8"),
            ([-1], "DT_UINT32"),
            ([float("nan"), 1e39], "DT_FLOAT"),
            ([[]], "DT_FLOAT"),
            (["a", {"b64": "aGk="}], "DT_STRING"),
            ([1, "2"], "DT_FLOAT"),
            (3.0, "DT_HALF"),
        ]
        for value, dtype in cases:
            with self.subTest(value=value, dtype=dtype):
                convert, numpy_type = json_tensors._converter(dtype)
                dims = json_tensors._shape_of(value)

                def fast(_):
                    return json_tensors.tensor_from_json(value, dtype, 2**24, "x")

                def exact(_):
                    return json_tensors._tensor_by_elements(value, convert, numpy_type, dims, "x")

                got, want = (
                    self.outcome(lambda r: _array(fast(r)), None),
                    self.outcome(lambda r: _array(exact(r)), None),
                )
                self.assertEqual(got, want)

    def test_fast_writer_equals_the_text_writer_after_parsing(self):
        outputs = {
            "f32": json_tensors.Tensor(np.array([[0.1, 1e-5], [3.4e38, -0.0]], np.float32), "f32"),
            "f64": json_tensors.Tensor(np.array([0.1, 1e300]), "f64"),
            "ints": json_tensors.Tensor(np.array([1, -(2**62)], np.int64), "ints"),
            "nonfinite": json_tensors.Tensor(np.array([np.nan, np.inf], np.float32), "nonfinite"),
            "half": json_tensors.Tensor(np.array([0.1, 65504], np.float16), "half"),
            "text_bytes": json_tensors.Tensor(np.array([b"\x00\xff"], object), "text_bytes"),
        }
        for name, tensor in outputs.items():
            with self.subTest(output=name):
                body = {"predictions": tensor, "n": np.int32(3)}
                fast = json_tensors._loads_exact(json_tensors.dumps(body).encode())
                text = json_tensors._loads_exact(json_tensors._dumps_text(body).encode())
                self.assertEqual(_canonical(fast), _canonical(text))

    def test_row_format_written_by_column_equals_the_text_writer_after_parsing(self):
        rng = np.random.default_rng(0)
        cases = {
            "numbers of every rank": {
                "ids": np.array([3, 1, 4], np.int64),
                "probabilities": rng.random((3, 4)).astype(np.float32),
                "cube": rng.standard_normal((3, 2, 2)),
                "flags": np.array([[True], [False], [True]]),
            },
            "outputs the fast writer refuses": {
                "text_bytes": np.array([b"\x00\xff", b"a", b""], object),
                "words": np.array([["a", "b"], ["c", "d"], ["e", "f"]], object),
                "nonfinite": np.array([np.nan, np.inf, -np.inf], np.float32),
                "half": np.array([0.1, 65504, 1], np.float16),
                "empty_rows": np.zeros((3, 0), np.float32),
                "x": np.ones((3, 1), np.float32),
            },
            "one row": {"a": np.array([[0.1, 0.2]], np.float32), "b": np.array([7])},
            "no rows": {"a": np.zeros((0, 2), np.float32), "b": np.zeros((0,), np.int64)},
        }
        for case, outputs in cases.items():
            with self.subTest(case=case):
                body = {"predictions": json_tensors.Rows(outputs)}
                fast = json_tensors._loads_exact(json_tensors.dumps(body).encode())
                text = json_tensors._loads_exact(json_tensors._dumps_text(body).encode())
                self.assertEqual(_canonical(fast), _canonical(text))
                # and both are one object per row holding that row of every output
                expected = [
                    {
                        name: json_tensors._loads_exact(
                            json_tensors.Tensor(array[i], name).json().encode()
                        )
                        for name, array in outputs.items()
                    }
                    for i in range(len(next(iter(outputs.values()))))
                ]
                self.assertEqual(_canonical(fast["predictions"]), _canonical(expected))

    def test_row_format_needs_a_shared_first_dimension(self):
        with self.assertRaisesRegex(ValueError, "sharing a first dimension"):
            json_tensors.Rows({"a": np.zeros((2, 1)), "b": np.zeros((3,))})


def _array(array):
    return (
        str(array.dtype),
        array.shape,
        [_canonical(v) if isinstance(v, float) else v for v in array.reshape(-1).tolist()],
    )
