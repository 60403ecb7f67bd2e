import os

import keras
import tensorflow as tf
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,  # noqa: F401  (registers google/protobuf/wrappers.proto)
)
from tensorflow_serving.config import model_server_config_pb2

from tests.bad_input import rejects_bad_input
from tests.export.models import temp_dir
from tfx_ext.export import (
    ModelEntry,
    model_server_config,
    read_model_config,
    write_batching_config,
    write_model_config,
)


def _batching_parameters_class():
    """TF Serving's BatchingParameters (session_bundle_config.proto), which
    tensorflow-serving-api does not ship, rebuilt from its definition."""
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    proto = descriptor_pb2.FileDescriptorProto(
        name="session_bundle_config_subset.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    message = proto.message_type.add(name="BatchingParameters")
    F = descriptor_pb2.FieldDescriptorProto
    int64_fields = [
        "max_batch_size",
        "batch_timeout_micros",
        "max_enqueued_batches",
        "num_batch_threads",
    ]
    for number, name in enumerate(int64_fields, 1):
        message.field.add(
            name=name,
            number=number,
            type=F.TYPE_MESSAGE,
            label=F.LABEL_OPTIONAL,
            type_name=".google.protobuf.Int64Value",
        )
    message.field.add(
        name="thread_pool_name",
        number=5,
        type=F.TYPE_MESSAGE,
        label=F.LABEL_OPTIONAL,
        type_name=".google.protobuf.StringValue",
    )
    message.field.add(
        name="allowed_batch_sizes", number=6, type=F.TYPE_INT64, label=F.LABEL_REPEATED
    )
    message.field.add(
        name="pad_variable_length_inputs", number=7, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL
    )
    pool.Add(proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
    )


class ModelConfigTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.dir = temp_dir(self)
        self.path = os.path.join(self.dir, "models.config")

    @rejects_bad_input(ModelEntry, model_server_config, read_model_config)
    def test_bad_entries_and_files(self):
        # A nameless entry used to be written; the server could never be asked for it.
        for name in ("", "  ", None, "a/b"):
            with (
                self.subTest(name=name),
                self.assertRaisesRegex(ValueError, r"argument `name`.*model name"),
            ):
                ModelEntry(name, "/m/d")
        with self.assertRaisesRegex(ValueError, r"argument `base_path`"):
            ModelEntry("d", "")
        with self.assertRaisesRegex(ValueError, r"argument `versions`.*Received: versions=0"):
            ModelEntry("d", "/m/d", versions=[1, 0])
        with self.assertRaisesRegex(TypeError, r"argument `versions`"):
            ModelEntry("d", "/m/d", versions=2)
        with self.assertRaisesRegex(TypeError, r"argument `labels`"):
            ModelEntry("d", "/m/d", versions=[1], labels=["stable"])
        with self.assertRaisesRegex(TypeError, r"argument `models`.*list of ModelEntry"):
            model_server_config(ModelEntry("d", "/m/d"))
        with self.assertRaisesRegex(TypeError, r"argument `models`.*ModelEntry objects"):
            model_server_config([("d", "/m/d")])
        with self.assertRaises(FileNotFoundError):
            read_model_config(os.path.join(self.dir, "missing.config"))
        with open(self.path, "w") as f:
            f.write("model_config_list { nonsense: 1 }")
        with self.assertRaisesRegex(
            ValueError,
            r"Error parsing text-format tensorflow.serving.ModelServerConfig in .*models.config",
        ):
            read_model_config(self.path)

    @rejects_bad_input(write_model_config, write_batching_config)
    def test_directory_or_missing_path_is_refused(self):
        entry = ModelEntry("d", "/m/d")
        with self.assertRaisesRegex(ValueError, r"argument `path`.*not a directory"):
            write_model_config(self.dir, [entry])
        with self.assertRaisesRegex(ValueError, r"argument `path`.*not a directory"):
            write_batching_config(self.dir)
        with self.assertRaisesRegex(TypeError, r"argument `path`"):
            write_model_config(None, [entry])
        with self.assertRaisesRegex(TypeError, r"argument `pad_variable_length_inputs`"):
            write_batching_config(self.path, pad_variable_length_inputs="yes")
        self.assertFalse(os.path.exists(self.path))

    def _parse(self):
        with open(self.path) as f:
            return text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())

    def test_round_trip_through_tf_serving_proto(self):
        entries = [
            ModelEntry(
                "digits", "/models/digits", versions=[1, 2], labels={"stable": 1, "canary": 2}
            ),
            ModelEntry("diabetes", "/models/diabetes"),
        ]
        self.assertEqual(write_model_config(self.path, entries), self.path)
        parsed = self._parse()
        self.assertProtoEquals(
            """
            model_config_list {
              config {
                name: "digits" base_path: "/models/digits" model_platform: "tensorflow"
                model_version_policy { specific { versions: 1 versions: 2 } }
                version_labels { key: "stable" value: 1 }
                version_labels { key: "canary" value: 2 }
              }
              config { name: "diabetes" base_path: "/models/diabetes" model_platform: "tensorflow" }
            }
            """,
            parsed,
        )
        self.assertFalse(
            parsed.model_config_list.config[1].HasField("model_version_policy")
        )  # latest policy
        self.assertEqual(read_model_config(self.path), parsed)
        self.assertEqual(os.listdir(self.dir), ["models.config"])

    def test_rewrite_replaces_the_file_atomically(self):
        write_model_config(self.path, [ModelEntry("a", "/models/a")])
        write_model_config(self.path, [ModelEntry("b", "/models/b", versions=[3])])
        parsed = self._parse()
        self.assertEqual([c.name for c in parsed.model_config_list.config], ["b"])
        self.assertEqual(
            list(parsed.model_config_list.config[0].model_version_policy.specific.versions), [3]
        )
        self.assertEqual(os.listdir(self.dir), ["models.config"])

    @rejects_bad_input(write_model_config)
    def test_invalid_configs_name_the_argument(self):
        with self.assertRaisesRegex(ValueError, r"argument `labels`.*canary-1"):
            write_model_config(
                self.path, [ModelEntry("d", "/m/d", versions=[1], labels={"canary-1": 1})]
            )
        with self.assertRaisesRegex(ValueError, r"argument `labels`.*canary=3"):
            write_model_config(
                self.path, [ModelEntry("d", "/m/d", versions=[1, 2], labels={"canary": 3})]
            )
        with self.assertRaisesRegex(ValueError, r"argument `labels`"):
            write_model_config(
                self.path, [ModelEntry("d", "/m/d", labels={"stable": 1})]
            )  # latest policy: no labels
        with self.assertRaisesRegex(ValueError, r"argument `models`.*'d'"):
            write_model_config(self.path, [ModelEntry("d", "/m/d"), ModelEntry("d", "/m/e")])
        with self.assertRaisesRegex(ValueError, r"argument `models`"):
            write_model_config(self.path, [])
        with self.assertRaisesRegex(ValueError, r"argument `versions`"):
            write_model_config(self.path, [ModelEntry("d", "/m/d", versions=[0])])
        self.assertEqual(os.listdir(self.dir), [])  # nothing written, no temporary file left

    def test_batching_config(self):
        path = os.path.join(self.dir, "batching.config")
        write_batching_config(
            path, max_batch_size=32, batch_timeout_micros=1000, allowed_batch_sizes=[8, 16, 32]
        )
        with open(path) as f:
            text = f.read()
        self.assertEqual(
            text.splitlines(),
            [
                "max_batch_size { value: 32 }",
                "batch_timeout_micros { value: 1000 }",
                "max_enqueued_batches { value: 100 }",
                "num_batch_threads { value: 4 }",
                "allowed_batch_sizes: 8",
                "allowed_batch_sizes: 16",
                "allowed_batch_sizes: 32",
                "pad_variable_length_inputs: false",
            ],
        )
        params = text_format.Parse(text, _batching_parameters_class()())
        self.assertEqual(params.max_batch_size.value, 32)
        self.assertEqual(params.batch_timeout_micros.value, 1000)
        self.assertEqual(list(params.allowed_batch_sizes), [8, 16, 32])
        self.assertFalse(params.pad_variable_length_inputs)

        write_batching_config(path, max_batch_size=8, pad_variable_length_inputs=True)
        with open(path) as f:
            params = text_format.Parse(f.read(), _batching_parameters_class()())
        self.assertEqual(params.max_batch_size.value, 8)
        self.assertEqual(list(params.allowed_batch_sizes), [])
        self.assertTrue(params.pad_variable_length_inputs)
        self.assertEqual(os.listdir(self.dir), ["batching.config"])

    @rejects_bad_input(write_batching_config)
    def test_batching_config_validation(self):
        path = os.path.join(self.dir, "batching.config")
        for sizes in ([8, 4, 32], [8, 8, 32], [8, 16]):
            with self.assertRaisesRegex(
                ValueError, r"argument `allowed_batch_sizes`.*max_batch_size=32", msg=sizes
            ):
                write_batching_config(path, max_batch_size=32, allowed_batch_sizes=sizes)
        with self.assertRaisesRegex(ValueError, r"argument `max_batch_size`"):
            write_batching_config(path, max_batch_size=0)
        self.assertEqual(os.listdir(self.dir), [])
