"""The examples of a gRPC `Input` as TF Serving hands them to the model."""

import tensorflow as tf
from tensorflow_serving.apis import input_pb2

from tfx_ext.serving.errors import ServingError
from tfx_ext.serving.inference import serialized_examples


def _parsed(serialized):
    example = tf.train.Example.FromString(serialized)
    return {
        name: list(getattr(f, f.WhichOneof("kind")).value)
        for name, f in example.features.feature.items()
    }


class SerializedExamplesTest(tf.test.TestCase):
    def test_an_example_list_is_sent_as_it_is(self):
        request = input_pb2.Input()
        first = request.example_list.examples.add()
        first.features.feature["x"].float_list.value.append(1.5)
        request.example_list.examples.add().features.feature["y"].int64_list.value.extend([1, 2])
        got = serialized_examples(request)
        self.assertEqual(got, [e.SerializeToString() for e in request.example_list.examples])

    def test_with_a_context_each_example_holds_the_context_and_overrides_it(self):
        request = input_pb2.Input()
        with_context = request.example_list_with_context
        with_context.context.features.feature["x"].float_list.value.append(1.0)
        with_context.context.features.feature["q"].bytes_list.value.append(b"a")
        with_context.examples.add().features.feature["x"].float_list.value.append(2.0)
        with_context.examples.add().features.feature["z"].int64_list.value.append(7)
        first, second = map(_parsed, serialized_examples(request))
        self.assertEqual(first, {"x": [2.0], "q": [b"a"]})
        self.assertEqual(second, {"x": [1.0], "q": [b"a"], "z": [7]})

    def test_an_empty_input_is_invalid(self):
        with self.assertRaisesRegex(ServingError, "Input is empty"):
            serialized_examples(input_pb2.Input())
