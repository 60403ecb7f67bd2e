import keras
import keras_tuner
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.tuning import CNNHyperModel, MLPHyperModel


def fixed(**values):
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def of_type(model, cls):
    return [layer for layer in model.layers if type(layer) is cls]


class MLPHyperModelTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def assert_hidden(self, model, units, activation, initializer):
        dense = of_type(model, keras.layers.Dense)
        self.assertEqual([layer.units for layer in dense], units + [10])
        for layer in dense[:-1]:
            self.assertIs(layer.activation, activation)
            self.assertIsInstance(layer.kernel_initializer, initializer)
        self.assertIs(dense[-1].activation, keras.activations.softmax)

    def test_selu_gets_lecun_normal_and_alpha_dropout(self):
        hp = fixed(
            activation="selu",
            dropout=0.2,
            layers=3,
            units_0=64,
            units_1=96,
            units_2=128,
            learning_rate=3e-3,
            optimizer="nadam",
        )
        model = MLPHyperModel((8, 8), 10).build(hp)
        self.assertEqual(tuple(model.inputs[0].shape), (None, 8, 8))
        self.assertIsInstance(model.layers[0], keras.layers.Flatten)
        self.assert_hidden(
            model, [64, 96, 128], keras.activations.selu, keras.initializers.LecunNormal
        )
        alpha = of_type(model, keras.layers.AlphaDropout)
        self.assertLen(alpha, 3)
        self.assertEqual([layer.rate for layer in alpha], [0.2] * 3)
        self.assertEmpty(of_type(model, keras.layers.Dropout))
        # Each AlphaDropout follows its hidden layer.
        kinds = [type(layer).__name__ for layer in model.layers]
        self.assertEqual(kinds, ["Flatten"] + ["Dense", "AlphaDropout"] * 3 + ["Dense"])
        self.assertIsInstance(model.optimizer, keras.optimizers.Nadam)
        self.assertAllClose(float(model.optimizer.learning_rate), 3e-3)
        self.assertEqual(model.loss, "sparse_categorical_crossentropy")
        self.assertEqual(model.output_shape, (None, 10))

    def test_relu_gets_he_normal_and_dropout(self):
        hp = fixed(
            activation="relu",
            dropout=0.3,
            layers=2,
            units_0=256,
            units_1=32,
            learning_rate=1e-2,
            optimizer="sgd_momentum",
        )
        model = MLPHyperModel((64,), 10).build(hp)
        self.assert_hidden(model, [256, 32], keras.activations.relu, keras.initializers.HeNormal)
        dropout = of_type(model, keras.layers.Dropout)
        self.assertEqual([layer.rate for layer in dropout], [0.3, 0.3])
        self.assertEmpty(of_type(model, keras.layers.AlphaDropout))
        optimizer = model.optimizer
        self.assertIsInstance(optimizer, keras.optimizers.SGD)
        self.assertAllClose(float(optimizer.learning_rate), 1e-2)
        self.assertAllClose(optimizer.momentum, 0.9)
        self.assertTrue(optimizer.nesterov)

    def test_leaky_relu_without_dropout(self):
        hp = fixed(
            activation="leaky_relu",
            dropout=0.0,
            layers=1,
            units_0=160,
            learning_rate=1e-4,
            optimizer="adam",
        )
        model = MLPHyperModel((64,), 10).build(hp)
        self.assert_hidden(model, [160], keras.activations.leaky_relu, keras.initializers.HeNormal)
        self.assertEmpty(of_type(model, keras.layers.Dropout))
        self.assertEmpty(of_type(model, keras.layers.AlphaDropout))
        self.assertIsInstance(model.optimizer, keras.optimizers.Adam)
        self.assertAllClose(float(model.optimizer.learning_rate), 1e-4)

    def test_values_set_after_a_default_build(self):
        hypermodel = MLPHyperModel((64,), 3, max_layers=2)
        hp = keras_tuner.HyperParameters()
        default = hypermodel.build(hp)
        # The defaults: first activation and optimizer, the minimum of each range.
        self.assertEqual(
            hp.values,
            {
                "activation": "selu",
                "dropout": 0.0,
                "layers": 1,
                "units_0": 32,
                "learning_rate": 1e-4,
                "optimizer": "adam",
            },
        )
        self.assertEqual([layer.units for layer in of_type(default, keras.layers.Dense)], [32, 3])
        hp.values.update(
            activation="relu",
            dropout=0.1,
            layers=2,
            units_0=64,
            units_1=224,
            learning_rate=2e-3,
            optimizer="nadam",
        )
        model = hypermodel.build(hp)
        dense = of_type(model, keras.layers.Dense)
        self.assertEqual([layer.units for layer in dense], [64, 224, 3])
        self.assertIsInstance(dense[0].kernel_initializer, keras.initializers.HeNormal)
        self.assertEqual([layer.rate for layer in of_type(model, keras.layers.Dropout)], [0.1, 0.1])
        self.assertIsInstance(model.optimizer, keras.optimizers.Nadam)
        self.assertAllClose(float(model.optimizer.learning_rate), 2e-3)

    def test_search_space(self):
        hp = keras_tuner.HyperParameters()
        MLPHyperModel(
            (64,), 10, max_layers=3, activations=["relu", "selu"], optimizers=["sgd_momentum"]
        ).build(hp)
        space = {h.name: h for h in hp.space}
        self.assertEqual(space["activation"].values, ["relu", "selu"])
        self.assertEqual(space["optimizer"].values, ["sgd_momentum"])
        rate = space["learning_rate"]
        self.assertEqual(rate.sampling, "log")
        self.assertAllClose([rate.min_value, rate.max_value], [1e-4, 3e-2])
        self.assertEqual((space["layers"].min_value, space["layers"].max_value), (1, 3))
        self.assertEqual(
            (space["units_0"].min_value, space["units_0"].max_value, space["units_0"].step),
            (32, 256, 32),
        )
        self.assertEqual((space["dropout"].min_value, space["dropout"].max_value), (0.0, 0.4))
        # The first choice is the default.
        self.assertEqual(hp.values["activation"], "relu")

    def test_built_model_trains(self):
        hp = fixed(
            activation="selu",
            dropout=0.1,
            layers=1,
            units_0=32,
            learning_rate=1e-2,
            optimizer="adam",
        )
        model = MLPHyperModel((4,), 2).build(hp)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((64, 4)).astype("float32")
        y = (x[:, 0] > 0).astype("int32")
        history = model.fit(x, y, epochs=5, verbose=0)
        self.assertLess(history.history["loss"][-1], history.history["loss"][0])

    @rejects_bad_input(MLPHyperModel)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `num_classes`.*Received: num_classes=1"):
            MLPHyperModel((64,), 1)
        with self.assertRaisesRegex(TypeError, r"argument `num_classes`"):
            MLPHyperModel((64,), 2.0)
        with self.assertRaisesRegex(ValueError, r"argument `activations`.*swish"):
            MLPHyperModel((64,), 10, activations=["relu", "swish"])
        with self.assertRaisesRegex(ValueError, r"argument `activations`"):
            MLPHyperModel((64,), 10, activations=[])
        with self.assertRaisesRegex(ValueError, r"argument `optimizers`.*rmsprop"):
            MLPHyperModel((64,), 10, optimizers=["rmsprop"])
        with self.assertRaisesRegex(ValueError, r"argument `max_layers`.*Received: max_layers=0"):
            MLPHyperModel((64,), 10, max_layers=0)
        with self.assertRaisesRegex(ValueError, r"argument `input_shape`"):
            MLPHyperModel(64, 10)
        with self.assertRaisesRegex(ValueError, r"argument `input_shape`"):
            MLPHyperModel((), 10)
        with self.assertRaisesRegex(
            ValueError, r"argument `input_shape`.*Received: input_shape=\(64, 0\)"
        ):
            MLPHyperModel((64, 0), 10)
        with self.assertRaisesRegex(ValueError, r"argument `input_shape`"):
            MLPHyperModel(("64",), 10)


class CNNHyperModelTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_fixed_architecture(self):
        hp = fixed(
            activation="relu",
            conv_layers=3,
            filters_0=16,
            filters_1=32,
            filters_2=64,
            dense_units=96,
            dropout=0.4,
            learning_rate=5e-3,
            optimizer="adam",
        )
        model = CNNHyperModel((8, 8, 1), 10).build(hp)
        convs = of_type(model, keras.layers.Conv2D)
        self.assertEqual([layer.filters for layer in convs], [16, 32, 64])
        for layer in convs:
            self.assertEqual(layer.kernel_size, (3, 3))
            self.assertEqual(layer.padding, "same")
            self.assertIs(layer.activation, keras.activations.relu)
            self.assertIsInstance(layer.kernel_initializer, keras.initializers.HeNormal)
        # 8x8 -> pool -> 4x4 -> pool -> 2x2; a 2x2 map is too small to pool again.
        self.assertLen(of_type(model, keras.layers.MaxPooling2D), 2)
        self.assertEqual(
            tuple(of_type(model, keras.layers.Flatten)[0].output.shape), (None, 2 * 2 * 64)
        )
        dense = of_type(model, keras.layers.Dense)
        self.assertEqual([layer.units for layer in dense], [96, 10])
        self.assertIsInstance(dense[0].kernel_initializer, keras.initializers.HeNormal)
        self.assertEqual([layer.rate for layer in of_type(model, keras.layers.Dropout)], [0.4])
        self.assertEmpty(of_type(model, keras.layers.AlphaDropout))
        self.assertIsInstance(model.optimizer, keras.optimizers.Adam)
        self.assertAllClose(float(model.optimizer.learning_rate), 5e-3)
        self.assertEqual(model.output_shape, (None, 10))

    def test_selu_recipe(self):
        hp = fixed(
            activation="selu",
            conv_layers=1,
            filters_0=48,
            dense_units=32,
            dropout=0.1,
            learning_rate=1e-3,
            optimizer="sgd_momentum",
        )
        model = CNNHyperModel((28, 28, 3), 5).build(hp)
        convs = of_type(model, keras.layers.Conv2D)
        self.assertEqual([layer.filters for layer in convs], [48])
        self.assertIs(convs[0].activation, keras.activations.selu)
        self.assertIsInstance(convs[0].kernel_initializer, keras.initializers.LecunNormal)
        dense = of_type(model, keras.layers.Dense)
        self.assertIs(dense[0].activation, keras.activations.selu)
        self.assertIsInstance(dense[0].kernel_initializer, keras.initializers.LecunNormal)
        self.assertEqual([layer.rate for layer in of_type(model, keras.layers.AlphaDropout)], [0.1])
        self.assertEmpty(of_type(model, keras.layers.Dropout))
        self.assertIsInstance(model.optimizer, keras.optimizers.SGD)
        self.assertEqual(model.output_shape, (None, 5))

    def test_default_build(self):
        hp = keras_tuner.HyperParameters()
        model = CNNHyperModel((8, 8, 1), 10, max_layers=2).build(hp)
        self.assertEqual(
            hp.values,
            {
                "activation": "selu",
                "conv_layers": 1,
                "filters_0": 16,
                "dense_units": 32,
                "dropout": 0.0,
                "learning_rate": 1e-4,
                "optimizer": "adam",
            },
        )
        self.assertEqual(
            {
                h.name: (h.min_value, h.max_value)
                for h in hp.space
                if h.name in ("conv_layers", "filters_0")
            },
            {"conv_layers": (1, 2), "filters_0": (16, 64)},
        )
        self.assertLen(of_type(model, keras.layers.Conv2D), 1)

    @rejects_bad_input(CNNHyperModel)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `input_shape`.*image shape.*Received: input_shape=\(64,\)"
        ):
            CNNHyperModel((64,), 10)
        with self.assertRaisesRegex(ValueError, r"argument `input_shape`"):
            CNNHyperModel((8, 8), 10)
        with self.assertRaisesRegex(ValueError, r"argument `num_classes`.*Received: num_classes=1"):
            CNNHyperModel((8, 8, 1), 1)
        with self.assertRaisesRegex(ValueError, r"argument `activations`.*tanh"):
            CNNHyperModel((8, 8, 1), 10, activations=["tanh"])
