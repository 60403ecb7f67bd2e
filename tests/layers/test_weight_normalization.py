import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import WeightNormalization


class WeightNormalizationTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_starts_out_computing_what_the_wrapped_layer_computed(self):
        for inner, x in [
            (keras.layers.Dense(5, activation="relu"), self.rng.standard_normal((4, 3))),
            (keras.layers.Conv2D(4, 3, padding="same"), self.rng.standard_normal((2, 6, 6, 3))),
            (keras.layers.Conv1D(4, 2, strides=2), self.rng.standard_normal((2, 8, 3))),
        ]:
            x = x.astype("float32")
            inner.build(x.shape)
            expected = inner(x)
            self.assertAllClose(WeightNormalization(inner, data_init=False)(x), expected, atol=1e-5)

    def test_kernel_is_g_times_unit_direction(self):
        layer = WeightNormalization(keras.layers.Dense(3, bias_initializer="ones"), data_init=False)
        x = self.rng.standard_normal((4, 2)).astype("float32")
        layer(x)
        layer.g.assign([0.5, 2.0, -1.0])
        v = np.asarray(layer.layer.kernel)
        w = v / np.linalg.norm(v, axis=0) * np.array([0.5, 2.0, -1.0])
        self.assertAllClose(layer(x), x @ w + 1.0, atol=1e-5)
        # Scaling v does not change the output: only its direction counts.
        layer.layer.kernel.assign(v * 7.0)
        self.assertAllClose(layer(x), x @ w + 1.0, atol=1e-5)

    def test_conv_channels_first(self):
        # TensorFlow's CPU Conv2D has no NCHW kernel without oneDNN (CPUs without
        # AVX-512), so the convolution itself runs through NHWC here; what is under
        # test is the wrapper's channels_first handling: norm axes, bias and g placement.
        inner = _PortableChannelsFirstConv2D(3, 2, bias_initializer="random_normal")
        x = self.rng.standard_normal((2, 4, 5, 5)).astype("float32")
        layer = WeightNormalization(inner, data_init=False)
        layer(x)
        layer.g.assign(2.0 * np.asarray(layer.g))  # doubles the kernel
        twin = keras.layers.Conv2D(3, 2, data_format="channels_last")
        twin.build((None, 5, 5, 4))
        twin.set_weights([2.0 * np.asarray(inner.kernel), np.asarray(inner.bias)])
        expected = np.transpose(np.asarray(twin(np.transpose(x, (0, 2, 3, 1)))), (0, 3, 1, 2))
        self.assertAllClose(layer(x), expected, atol=1e-4)

        fresh = WeightNormalization(_PortableChannelsFirstConv2D(5, 3), data_init=True)
        x = (2.0 + 3.0 * self.rng.standard_normal((16, 3, 8, 8))).astype("float32")
        out = np.asarray(fresh(x, training=True))
        self.assertAllClose(out.mean(axis=(0, 2, 3)), np.zeros(5), atol=1e-4)
        self.assertAllClose(out.std(axis=(0, 2, 3)), np.ones(5), atol=1e-3)

    def test_data_init_normalizes_first_batch_then_stays(self):
        x = (3.0 + 5.0 * self.rng.standard_normal((256, 6))).astype("float32")
        layer = WeightNormalization(keras.layers.Dense(4), data_init=True)
        out = np.asarray(layer(x, training=True))
        self.assertAllClose(out.mean(axis=0), np.zeros(4), atol=1e-4)
        self.assertAllClose(out.std(axis=0), np.ones(4), atol=1e-3)
        g = np.asarray(layer.g)
        layer(x * 10.0, training=True)  # no second initialization
        self.assertAllClose(layer.g, g)
        # As in TFA, the first call initializes, whatever `training` is.
        fresh = WeightNormalization(keras.layers.Dense(4), data_init=True)
        out = np.asarray(fresh(x, training=False))
        self.assertEqual(float(fresh.initialized), 1.0)
        self.assertAllClose(out.std(axis=0), np.ones(4), atol=1e-3)

    def test_data_init_in_a_compiled_first_call_persists(self):
        # On JAX, predict's compiled step keeps only non-trainable updates: the
        # initialization must survive it and reach `g` at the next eager call.
        x = (3.0 + 5.0 * self.rng.standard_normal((64, 6))).astype("float32")
        layer = WeightNormalization(keras.layers.Dense(4))  # data_init=True by default
        inputs = keras.Input((6,))
        model = keras.Model(inputs, layer(inputs))
        out = model.predict(x, batch_size=64, verbose=0)  # the first real call, compiled
        self.assertAllClose(out.mean(axis=0), np.zeros(4), atol=1e-4)
        self.assertAllClose(out.std(axis=0), np.ones(4), atol=1e-3)
        self.assertEqual(float(layer.initialized), 1.0)
        self.assertAllClose(model.predict(x, batch_size=64, verbose=0), out, atol=1e-5)
        self.assertAllClose(layer(x), out, atol=1e-5)  # eager: folds the init into g and the bias
        self.assertAllClose(layer.g_offset, np.zeros(4))

    @pytest.mark.tf_only("inspects a tf.function graph for Assign ops")
    def test_data_init_in_a_traced_first_call_then_left_out_of_later_traces(self):
        x = (3.0 + 5.0 * self.rng.standard_normal((64, 6))).astype("float32")
        layer = WeightNormalization(keras.layers.Dense(4))  # data_init=True by default
        inputs = keras.Input((6,))
        model = keras.Model(inputs, layer(inputs))
        self.assertEqual(float(layer.initialized), 0.0)  # the symbolic call does not initialize
        out = model.predict(x, batch_size=64, verbose=0)  # the first real call, in predict's graph
        self.assertAllClose(out.mean(axis=0), np.zeros(4), atol=1e-4)
        self.assertAllClose(out.std(axis=0), np.ones(4), atol=1e-3)
        traced = tf.function(lambda t: layer(t)).get_concrete_function(tf.TensorSpec((None, 6)))
        assigns = [op.type for op in traced.graph.get_operations() if "Assign" in op.type]
        self.assertEqual(assigns, [])  # an initialized layer traces without the init

    def test_data_init_without_bias_sets_the_variance(self):
        x = (3.0 + 5.0 * self.rng.standard_normal((128, 6))).astype("float32")
        layer = WeightNormalization(keras.layers.Dense(4, use_bias=False))
        out = np.asarray(layer(x))
        self.assertAllClose(out.std(axis=0), np.ones(4), atol=1e-3)

    def test_wraps_rnns_and_remove_gives_the_same_layer(self):
        x = self.rng.standard_normal((3, 5, 2)).astype("float32")
        for make in (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU):
            with self.subTest(layer=make.__name__):
                inner = make(3)
                before = np.asarray(inner(x))
                wrapper = WeightNormalization(inner, data_init=False)
                self.assertTrue(wrapper.is_rnn)
                self.assertAllClose(wrapper(x), before, atol=1e-5)
                self.assertEqual(wrapper.g.shape, (inner.cell.recurrent_kernel.shape[-1],))
                wrapper.g.assign(0.5 * np.asarray(wrapper.g))  # halves the recurrent kernel
                v = np.asarray(inner.cell.recurrent_kernel)
                twin = make(3)
                twin.build(x.shape)
                twin.set_weights(
                    [w if w.shape != v.shape else 0.5 * v for w in inner.get_weights()]
                )
                self.assertAllClose(wrapper(x), twin(x), atol=1e-5)
                expected = np.asarray(wrapper(x))
                removed = wrapper.remove()
                self.assertIs(removed, inner)
                self.assertAllClose(removed(x), expected, atol=1e-6)
                self.assertAllClose(wrapper(x), expected, atol=1e-6)

    def test_rnn_trains_and_round_trips(self):
        x = self.rng.standard_normal((16, 5, 2)).astype("float32")
        y = x.sum(axis=(1, 2))[:, None]
        model = keras.Sequential(
            [
                keras.Input((5, 2)),
                WeightNormalization(keras.layers.LSTM(3), data_init=False, name="wn"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(keras.optimizers.Adam(0.05), "mse")
        g = np.asarray(model.get_layer("wn").g)
        v = np.asarray(model.get_layer("wn").layer.cell.recurrent_kernel)
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        self.assertNotAllClose(model.get_layer("wn").g, g)  # gradients reach g and v
        self.assertNotAllClose(model.get_layer("wn").layer.cell.recurrent_kernel, v)
        assert_model_round_trip(self, model, x, y)

    def test_data_init_conv_normalizes_per_channel(self):
        x = (2.0 + 3.0 * self.rng.standard_normal((16, 8, 8, 3))).astype("float32")
        layer = WeightNormalization(keras.layers.Conv2D(5, 3), data_init=True)
        out = np.asarray(layer(x, training=True))
        self.assertAllClose(out.mean(axis=(0, 1, 2)), np.zeros(5), atol=1e-4)
        self.assertAllClose(out.std(axis=(0, 1, 2)), np.ones(5), atol=1e-3)

    def test_trains_on_digits(self):
        x_train, y_train, x_test, y_test = digits()
        model = keras.Sequential(
            [
                keras.Input((64,)),
                WeightNormalization(keras.layers.Dense(64, activation="relu"), data_init=True),
                WeightNormalization(keras.layers.Dense(10, activation="softmax")),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(1e-2),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.fit(x_train, y_train, epochs=5, batch_size=64, verbose=0)
        self.assertGreater(model.evaluate(x_test, y_test, verbose=0)[1], 0.93)

    def test_gradients(self):
        dense = WeightNormalization(
            keras.layers.Dense(3, activation="tanh", dtype="float64"), dtype="float64"
        )
        assert_gradients_match(self, dense, self.rng.standard_normal((4, 2)))
        conv = WeightNormalization(keras.layers.Conv1D(2, 2, dtype="float64"), dtype="float64")
        assert_gradients_match(self, conv, self.rng.standard_normal((2, 4, 3)))

    @rejects_bad_input(WeightNormalization)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `layer`.*contains a `kernel`.*Dense.*LSTM or GRU"
        ):
            WeightNormalization(keras.layers.MaxPooling2D(2))
        with self.assertRaisesRegex(ValueError, r"argument `layer`"):
            WeightNormalization(keras.layers.Conv2DTranspose(3, 2))
        with self.assertRaisesRegex(TypeError, r"argument `data_init`.*Received: data_init='yes'"):
            WeightNormalization(keras.layers.Dense(3), data_init="yes")
        with self.assertRaisesRegex(ValueError, r"remove\(\) needs a built layer"):
            WeightNormalization(keras.layers.Dense(3)).remove()

    def test_serialization(self):
        layer = WeightNormalization(
            keras.layers.Dense(4, activation="relu"), data_init=True, name="wn"
        )
        assert_config_round_trip(self, layer)
        model = keras.Sequential(
            [
                keras.Input((6, 6, 2)),
                WeightNormalization(keras.layers.Conv2D(3, 3)),
                keras.layers.Flatten(),
                layer,
            ]
        )
        x = self.rng.standard_normal((8, 6, 6, 2)).astype("float32")
        model.compile("adam", "mse")
        model.fit(x, np.zeros((8, 4)), epochs=1, verbose=0)
        loaded = assert_model_round_trip(self, model, x)
        self.assertEqual(float(loaded.get_layer("wn").initialized), 1.0)


class _PortableChannelsFirstConv2D(keras.layers.Conv2D):
    """A channels_first Conv2D whose convolution runs as NHWC on any CPU."""

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, data_format="channels_first", **kwargs)

    def convolution_op(self, inputs, kernel):
        nhwc = keras.ops.transpose(inputs, (0, 2, 3, 1))
        out = keras.ops.conv(
            nhwc, kernel, strides=self.strides, padding=self.padding, data_format="channels_last"
        )
        return keras.ops.transpose(out, (0, 3, 1, 2))
