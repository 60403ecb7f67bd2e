"""Every variable of every public component is restored into a fresh twin.

A variable Keras hides from TensorFlow's object graph (a sublayer kept in a
plain list, a weight created outside `add_weight`) is saved by nothing, or only
through the optimizer's slot list: `tf.train.Checkpoint` then restores the twin
with that variable left at its initial value, and
`assert_existing_objects_matched()` still passes. So for each component this
test builds a model (or metric) that uses it, gives every variable a random
value, saves it with `tf.train.Checkpoint`, `save_weights` and `.keras`,
restores each into a twin built with another seed, and compares every variable,
the optimizer's included, one by one. A variable the save skipped keeps the
twin's own value and fails the comparison.

It also checks that no variable the model reads is missing from
`model.variables` (the list the three savers start from): the concrete
function of the forward pass captures every variable it reads.

The walk is complete: every class registered under `tfx_ext>` is either
checked here, checked by the seq2seq suite (which needs decoders and memories
to build), or shown to own no variables.
"""

import os
import pathlib
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfx_ext
from tfx_ext import generative, layers, lite, metrics, optimizers, rnn, sparsity, text

pytestmark = pytest.mark.tf_only("tf.train.Checkpoint and the SavedModel object graph")

ROWS = 8


def _dense_model(optimizer, inputs=(6,), body=None, outputs=3):
    """A small classifier: `body` maps the input tensor to features."""
    x = keras.Input(inputs)
    h = body(x) if body else x
    if len(h.shape) > 2:
        h = keras.layers.Flatten()(h)
    y = keras.layers.Dense(outputs, activation="softmax")(h)
    model = keras.Model(x, y)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def _conv_body(layer):
    def body(x):
        return layer(keras.layers.Reshape((2, 3, 1))(x))

    return body


def _sequence_body(cell):
    def body(x):
        return keras.layers.RNN(cell)(keras.layers.Reshape((3, 2))(x))

    return body


def _dense_transpose_body(x):
    encoder = keras.layers.Dense(4, activation="selu")
    return layers.DenseTranspose(encoder, activation="selu")(encoder(x))


def _stochastic_depth_body(x):
    return layers.StochasticDepth(0.7)([x, keras.layers.Dense(6)(x)])


def _sampling_body(x):
    return layers.Sampling(seed=1)([keras.layers.Dense(3)(x), keras.layers.Dense(3)(x)])


def _vae_body(x):
    h = keras.Input((6,))
    encoder = keras.Model(h, [keras.layers.Dense(2)(h), keras.layers.Dense(2)(h)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
    return generative.VariationalAutoencoder(encoder, decoder, seed=1)(x)


def _gan_body(x):
    generator = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="tanh")])
    discriminator = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")]
    )
    return generative.GAN(generator, discriminator, replay_buffer_size=3, seed=1)(x)


def _crf_wrapper():
    model = text.CRFModelWrapper(
        keras.Sequential([keras.Input((6,)), keras.layers.Reshape((3, 2))]), 3
    )
    model(np.zeros((1, 6), "float32"))
    model.compile("adam")
    return model


# Component class -> a model that holds it, built from scratch on each call.
MODELS = {
    layers.CRF: lambda: _dense_model(
        "adam", body=lambda x: layers.CRF(3)(keras.layers.Reshape((3, 2))(x))[1]
    ),
    text.CRFModelWrapper: _crf_wrapper,
    layers.DenseTranspose: lambda: _dense_model("adam", body=_dense_transpose_body),
    layers.MCDropout: lambda: _dense_model("adam", body=layers.MCDropout(0.3)),
    layers.MCAlphaDropout: lambda: _dense_model("adam", body=layers.MCAlphaDropout(0.3)),
    layers.MCSpatialDropout1D: lambda: _dense_model(
        "adam", body=lambda x: layers.MCSpatialDropout1D(0.3)(keras.layers.Reshape((3, 2))(x))
    ),
    layers.MCSpatialDropout2D: lambda: _dense_model(
        "adam", body=_conv_body(layers.MCSpatialDropout2D(0.3))
    ),
    layers.Maxout: lambda: _dense_model(
        "adam", body=lambda x: layers.Maxout(3)(keras.layers.Dense(6)(x))
    ),
    layers.SqueezeExcitation: lambda: _dense_model(
        "adam",
        body=lambda x: layers.SqueezeExcitation(ratio=2)(
            keras.layers.Conv2D(4, 1)(keras.layers.Reshape((2, 3, 1))(x))
        ),
    ),
    layers.StochasticDepth: lambda: _dense_model("adam", body=_stochastic_depth_body),
    layers.Sampling: lambda: _dense_model("adam", body=_sampling_body),
    generative.VariationalAutoencoder: lambda: _dense_model("adam", body=_vae_body),
    # The GAN's own optimizers: tests/generative/test_gan.py (checkpoint and resume).
    generative.GAN: lambda: _dense_model("adam", body=_gan_body),
    layers.WeightNormalization: lambda: _dense_model(
        "adam", body=lambda x: layers.WeightNormalization(keras.layers.Dense(5), data_init=True)(x)
    ),
    layers.NoisyDense: lambda: _dense_model("adam", body=layers.NoisyDense(5)),
    # The float features are cast to int32 indices by the layer: the walk only builds and saves.
    layers.EmbeddingBag: lambda: _dense_model(
        "adam", body=lambda x: layers.EmbeddingBag(10, 4)(keras.layers.Reshape((2, 3))(x))
    ),
    layers.FilterResponseNormalization: lambda: _dense_model(
        "adam", body=_conv_body(layers.FilterResponseNormalization(learned_epsilon=True))
    ),
    layers.InstanceNormalization: lambda: _dense_model(
        "adam", body=_conv_body(layers.InstanceNormalization())
    ),
    layers.TLU: lambda: _dense_model("adam", body=layers.TLU(affine=True)),
    layers.PolynomialCrossing: lambda: _dense_model(
        "adam",
        body=lambda x: layers.PolynomialCrossing(projection_dim=2)([x, keras.layers.Dense(6)(x)]),
    ),
    layers.Snake: lambda: _dense_model("adam", body=layers.Snake()),
    rnn.LayerNormLSTMCell: lambda: _dense_model(
        "adam", body=_sequence_body(rnn.LayerNormLSTMCell(4))
    ),
    rnn.PeepholeLSTMCell: lambda: _dense_model(
        "adam", body=_sequence_body(rnn.PeepholeLSTMCell(4))
    ),
    rnn.NASCell: lambda: _dense_model(
        "adam", body=_sequence_body(rnn.NASCell(4, projection=3, use_bias=True))
    ),
    rnn.ESNCell: lambda: _dense_model(
        "adam", body=_sequence_body(rnn.ESNCell(4, connectivity=0.5))
    ),
    layers.ESN: lambda: _dense_model(
        "adam", body=lambda x: layers.ESN(4)(keras.layers.Reshape((3, 2))(x))
    ),
    rnn.LayerNormSimpleRNNCell: lambda: _dense_model(
        "adam", body=_sequence_body(rnn.LayerNormSimpleRNNCell(4))
    ),
    sparsity.PruneLowMagnitude: lambda: _dense_model(
        "adam",
        body=sparsity.prune_low_magnitude(keras.layers.Dense(5), sparsity.ConstantSparsity(0.5, 0)),
    ),
    lite.QuantizeAware: lambda: _dense_model(
        "adam", body=lite.QuantizeAware(keras.layers.Dense(5))
    ),
    lite.QuantizeAnnotate: lambda: _dense_model(
        "adam", body=lite.QuantizeAnnotate(keras.layers.Dense(5))
    ),
    optimizers.Lookahead: lambda: _dense_model(
        optimizers.Lookahead(keras.optimizers.Adam(), sync_period=2)
    ),
    optimizers.SWA: lambda: _dense_model(
        optimizers.SWA(keras.optimizers.SGD(0.1), average_period=1)
    ),
    optimizers.RectifiedAdam: lambda: _dense_model(optimizers.RectifiedAdam()),
    optimizers.Yogi: lambda: _dense_model(optimizers.Yogi()),
    optimizers.LazyAdam: lambda: _dense_model(optimizers.LazyAdam()),
    optimizers.AdaBelief: lambda: _dense_model(optimizers.AdaBelief(amsgrad=True)),
    optimizers.NovoGrad: lambda: _dense_model(optimizers.NovoGrad(amsgrad=True)),
    optimizers.COCOB: lambda: _dense_model(optimizers.COCOB()),
    optimizers.ConditionalGradient: lambda: _dense_model(optimizers.ConditionalGradient(0.9)),
    optimizers.ProximalAdagrad: lambda: _dense_model(optimizers.ProximalAdagrad()),
    optimizers.SGDW: lambda: _dense_model(optimizers.SGDW(1e-4, momentum=0.9)),
    optimizers.AdamW: lambda: _dense_model(optimizers.AdamW(1e-4)),
    optimizers.MovingAverage: lambda: _dense_model(
        optimizers.MovingAverage(keras.optimizers.Adam())
    ),
    # The class extend_with_decoupled_weight_decay registers (created here, so the walk sees it).
    optimizers.extend_with_decoupled_weight_decay(keras.optimizers.SGD): lambda: _dense_model(
        optimizers.extend_with_decoupled_weight_decay(keras.optimizers.SGD)(1e-4, momentum=0.9)
    ),
}
if hasattr(rnn, "LNSimpleRNNCell"):
    MODELS[rnn.LNSimpleRNNCell] = lambda: _dense_model(
        "adam", body=_sequence_body(rnn.LNSimpleRNNCell(4))
    )

# Registered bases with no instance of their own (an abstract wrapper, a mixin):
# checked through the subclass named here, which MODELS checks.
BASES = {
    optimizers.AveragedOptimizerWrapper: optimizers.MovingAverage,
    optimizers.DecoupledWeightDecayExtension: optimizers.SGDW,
}

# Component class -> (a metric, y_true, y_pred) to accumulate state with.
_probabilities = np.full((ROWS, 3), 1 / 3, "float32")
_labels = np.arange(ROWS) % 3
METRICS = {
    metrics.BrierScore: lambda: (metrics.BrierScore(), np.eye(3)[_labels], _probabilities),
    metrics.CohenKappa: lambda: (
        metrics.CohenKappa(3, sparse_labels=True),
        _labels,
        _probabilities,
    ),
    metrics.ExpectedCalibrationError: lambda: (
        metrics.ExpectedCalibrationError(5),
        _labels,
        _probabilities,
    ),
    metrics.HammingLoss: lambda: (
        metrics.HammingLoss("multiclass"),
        np.eye(3)[_labels],
        _probabilities,
    ),
    metrics.HuberMetric: lambda: (
        metrics.HuberMetric(2.0),
        np.ones((ROWS, 1)),
        np.zeros((ROWS, 1)),
    ),
    metrics.KendallsTauB: lambda: (metrics.KendallsTauB(0, 3, 0, 1, 5, 5), _labels, _labels / 3),
    metrics.KendallsTauC: lambda: (metrics.KendallsTauC(0, 3, 0, 1, 5, 5), _labels, _labels / 3),
    metrics.SpearmansRank: lambda: (metrics.SpearmansRank(0, 3, 0, 1, 5, 5), _labels, _labels / 3),
    metrics.PearsonsCorrelation: lambda: (
        metrics.PearsonsCorrelation(0, 3, 0, 1, 5, 5),
        _labels,
        _labels / 3,
    ),
    # The means take (values, sample_weight): the "y_pred" slot is the weights.
    metrics.GeometricMean: lambda: (metrics.GeometricMean(), np.arange(1.0, ROWS + 1), None),
    metrics.HarmonicMean: lambda: (metrics.HarmonicMean(), np.arange(1.0, ROWS + 1), None),
    metrics.MultiLabelConfusionMatrix: lambda: (
        metrics.MultiLabelConfusionMatrix(3),
        np.eye(3)[_labels],
        np.eye(3)[(_labels + 1) % 3],
    ),
    metrics.MatthewsCorrelationCoefficient: lambda: (
        metrics.MatthewsCorrelationCoefficient(3),
        np.eye(3)[_labels],
        np.eye(3)[(_labels + 1) % 3],
    ),
}


def _sampled_softmax():
    loss = tfx_ext.losses.SampledSoftmaxLoss(num_classes=10, num_sampled=3)
    loss.build((None, 4))
    return loss


# Layers that are not model layers: checked as trackable objects.
OBJECTS = {tfx_ext.losses.SampledSoftmaxLoss: _sampled_softmax}

# Built and restored by tests/seq2seq/test_checkpoint_tracking.py, which sets up
# memories and decoders; named here so the walk stays complete.
SEQ2SEQ_SUITE = pathlib.Path(__file__).parent / "seq2seq" / "test_checkpoint_tracking.py"
SEQ2SEQ = {
    "AttentionWrapper",
    "BahdanauAttention",
    "BahdanauMonotonicAttention",
    "LuongAttention",
    "LuongMonotonicAttention",
    "BasicDecoder",
    "BeamSearchDecoder",
    "GreedyEmbeddingSampler",
    "SampleEmbeddingSampler",
    "ScheduledEmbeddingTrainingSampler",
    "ScheduledOutputTrainingSampler",
    "TrainingSampler",
}


def _registered_classes():
    return {
        obj
        for key, obj in keras.saving.get_custom_objects().items()
        if key.startswith("tfx_ext>") and isinstance(obj, type)
    }


def _randomize(variables, seed):
    """Gives every variable a value no freshly built twin can have by chance."""
    rng = np.random.default_rng(seed)
    for variable in variables:
        dtype = np.dtype(keras.backend.standardize_dtype(variable.dtype))
        shape = tuple(variable.shape)
        if dtype == np.bool_:
            value = rng.integers(0, 2, shape).astype(bool)
        elif np.issubdtype(dtype, np.integer):
            value = rng.integers(1, 100, shape).astype(dtype)
        else:
            value = (rng.standard_normal(shape) + 3.0).astype(dtype)
        variable.assign(value)


def _values(variables):
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in variables]


def _built(build, seed):
    """A model from `build` with its optimizer's variables created (no training step)."""
    keras.utils.set_random_seed(seed)
    model = build()
    model.optimizer.build(model.trainable_variables)
    return model


def _is_seed_state(variable):
    # A SeedGenerator's state is saved by none of the three savers for Keras's
    # own layers either (keras.layers.Dropout included): a restored model draws
    # new random masks, it does not compute with a stale weight.
    return variable.path.endswith("seed_generator_state")


def _saved_variables(variables):
    return [v for v in variables if not _is_seed_state(v)]


def _model_variables(model):
    return _saved_variables(list(model.variables) + list(model.optimizer.variables))


class CheckpointCoverageTest(tf.test.TestCase):
    def assertSameVariables(self, restored, expected, what):
        self.assertEqual(len(restored), len(expected), f"{what}: number of variables")
        for twin, original in zip(restored, expected):
            self.assertAllEqual(
                np.asarray(keras.ops.convert_to_numpy(twin)),
                np.asarray(keras.ops.convert_to_numpy(original)),
                msg=f"{what}: {original.path} was not restored",
            )

    def test_the_walk_covers_every_registered_class(self):
        for base, subclass in BASES.items():
            self.assertTrue(issubclass(subclass, base) and subclass in MODELS, base.__name__)
        checked = {cls.__name__ for cls in (*MODELS, *METRICS, *OBJECTS, *BASES)} | SEQ2SEQ
        # `extend_with_decoupled_weight_decay(X)` registers one class per optimizer it is given,
        # at run time (another test in this worker may have made some): each is X plus the
        # extension, which adds no variables; the extension's restore is checked on SGDW above.
        made_by_the_factory = {
            cls
            for cls in _registered_classes()
            if issubclass(cls, optimizers.DecoupledWeightDecayExtension)
            and cls.__name__.endswith("WithDecoupledWeightDecay")
        }
        unchecked = {
            cls
            for cls in _registered_classes() - made_by_the_factory
            if cls.__name__ not in checked
        }
        # The rest own no variables: losses, schedules, callbacks, pruning
        # schedules and policies, annotations. Prove it on an instance of each.
        for cls in unchecked:
            instance = _variable_free_instance(cls)
            self.assertIsNotNone(
                instance, f"{cls.__name__}: no checkpoint check and no variable-free instance"
            )
            self.assertEqual(list(getattr(instance, "variables", [])), [], cls.__name__)
        source = SEQ2SEQ_SUITE.read_text()
        for name in SEQ2SEQ:
            self.assertIn(name, source, f"{name} is not restored by {SEQ2SEQ_SUITE.name}")

    def test_every_model_component_restores_every_variable(self):
        for cls, build in MODELS.items():
            with self.subTest(component=cls.__name__), tempfile.TemporaryDirectory() as tmp:
                original = _built(build, seed=0)
                variables = _model_variables(original)
                _randomize(variables, seed=0)

                # tf.train.Checkpoint, model and optimizer.
                path = tf.train.Checkpoint(model=original, optimizer=original.optimizer).write(
                    os.path.join(tmp, "ckpt")
                )
                twin = _built(build, seed=1)
                status = tf.train.Checkpoint(model=twin, optimizer=twin.optimizer).read(path)
                status.assert_existing_objects_matched()
                self.assertSameVariables(
                    _model_variables(twin), variables, f"{cls.__name__} tf.train.Checkpoint"
                )

                # save_weights / load_weights: the model's variables.
                weights = os.path.join(tmp, "model.weights.h5")
                original.save_weights(weights)
                twin = _built(build, seed=1)
                twin.load_weights(weights)
                self.assertSameVariables(
                    _saved_variables(twin.variables),
                    _saved_variables(original.variables),
                    f"{cls.__name__} save_weights",
                )

                # .keras: model and optimizer, into a model the file rebuilds.
                archive = os.path.join(tmp, "model.keras")
                original.save(archive)
                loaded = keras.models.load_model(archive)
                self.assertSameVariables(
                    _model_variables(loaded), variables, f"{cls.__name__} .keras"
                )

    def test_no_model_component_reads_a_variable_its_model_does_not_list(self):
        for cls, build in MODELS.items():
            with self.subTest(component=cls.__name__):
                model = _built(build, seed=0)
                listed = {id(v.value) if hasattr(v, "value") else id(v) for v in model.variables}
                forward = tf.function(lambda x, m=model: m(x, training=True))
                concrete = forward.get_concrete_function(tf.TensorSpec((None, 6), "float32"))
                read = [v for v in concrete.variables if "seed_generator_state" not in v.name]
                hidden = [v.name for v in read if id(v) not in listed]
                self.assertEqual(
                    hidden, [], f"{cls.__name__} reads variables its model does not list"
                )

    def test_every_metric_restores_its_state(self):
        # A Keras 3 metric is not a TensorFlow trackable: its state is
        # checkpointed as its variable list.
        for cls, build in METRICS.items():
            with self.subTest(component=cls.__name__), tempfile.TemporaryDirectory() as tmp:
                metric, y_true, y_pred = build()
                metric.update_state(y_true, y_pred)
                expected = np.asarray(metric.result())  # a matrix for MultiLabelConfusionMatrix
                self.assertNotEqual(metric.variables, [], cls.__name__)
                path = tf.train.Checkpoint(state=metric.variables).write(os.path.join(tmp, "ckpt"))
                twin = build()[0]
                tf.train.Checkpoint(state=twin.variables).read(
                    path
                ).assert_existing_objects_matched()
                self.assertSameVariables(twin.variables, metric.variables, cls.__name__)
                self.assertAllClose(np.asarray(twin.result()), expected)

    def test_every_layer_object_restores_every_variable(self):
        for cls, build in OBJECTS.items():
            with self.subTest(component=cls.__name__), tempfile.TemporaryDirectory() as tmp:
                keras.utils.set_random_seed(0)
                original = build()
                self.assertNotEqual(original.variables, [], cls.__name__)
                _randomize(original.variables, seed=0)
                path = tf.train.Checkpoint(root=original).write(os.path.join(tmp, "ckpt"))
                keras.utils.set_random_seed(1)
                twin = build()
                tf.train.Checkpoint(root=twin).read(path).assert_existing_objects_matched()
                self.assertSameVariables(twin.variables, original.variables, cls.__name__)


def _variable_free_instance(cls):
    """An instance of a component with no checkpoint check here, or None if unknown."""
    required = {
        "CyclicalLearningRate": dict(
            initial_learning_rate=0.1,
            maximal_learning_rate=1.0,
            step_size=4,
            scale_fn=lambda x: 1.0,
        ),
        "TriangularCyclicalLearningRate": dict(
            initial_learning_rate=0.1, maximal_learning_rate=1.0, step_size=4
        ),
        "Triangular2CyclicalLearningRate": dict(
            initial_learning_rate=0.1, maximal_learning_rate=1.0, step_size=4
        ),
        "ExponentialCyclicalLearningRate": dict(
            initial_learning_rate=0.1, maximal_learning_rate=1.0, step_size=4
        ),
        "OneCycle": dict(total_steps=10, max_rate=0.1),
        "ConstantSparsity": dict(target_sparsity=0.5, begin_step=0),
        "PolynomialDecay": dict(
            initial_sparsity=0.0, final_sparsity=0.5, begin_step=0, end_step=10
        ),
        "PruneForLatencyOnXNNPack": {},
        "UpdatePruningStep": {},
        "PruningSummaries": dict(log_dir=tempfile.gettempdir()),
        "AverageModelCheckpoint": dict(
            update_weights=True, filepath=os.path.join(tempfile.gettempdir(), "m.keras")
        ),
        "LearningRateFinder": {},
        "TimeStopping": dict(seconds=1),
        "ContrastiveLoss": {},
        "HuberLoss": {},
        "PinballLoss": {},
        "TripletHardLoss": {},
        "TripletSemiHardLoss": {},
        "SequenceLoss": {},
        "GIoULoss": {},
        "LiftedStructLoss": {},
        "NpairsLoss": {},
        "NpairsMultilabelLoss": {},
        "SparsemaxLoss": {},
        "WeightedKappaLoss": dict(num_classes=3),
        "TQDMProgressBar": {},
        "LatentKLDivergence": {},
        "MinibatchStandardDeviation": {},
        "KLDivergenceRegularizer": dict(weight=0.05, target=0.1),
        "CorrelationCost": dict(
            kernel_size=1,
            max_displacement=1,
            stride_1=1,
            stride_2=1,
            pad=1,
            data_format="channels_last",
        ),
        "MaxUnpooling2D": {},
        "MaxUnpooling2DV2": dict(output_size=(1, 2, 2, 1)),
        "PoincareNormalize": {},
        "SpatialPyramidPooling2D": dict(bins=[1, 2]),
        "Sparsemax": {},
        "CrfDecodeForwardRnnCell": dict(transition_params=np.zeros((2, 2))),
    }
    if cls.__name__ not in required:
        return None
    return cls(**required[cls.__name__])
