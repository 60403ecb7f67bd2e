"""Every variable of every seq2seq component survives the three ways of saving.

Issue #23: `AttentionWrapper` kept its mechanisms and attention layers in
plain lists, which Keras 3 hides from `tf.train.Checkpoint`; a restore left
them at their initial values and `assert_existing_objects_matched()` still
passed. A sampler's embedding layer, held only by the (plain-object)
sampler, was saved by none of the three formats.

For each component: build it, set every variable to a value no
initializer gives (as training would), save it with `tf.train.Checkpoint`,
`save_weights` (`.weights.h5`) and `.keras`; build a fresh twin, check that
its variables differ, restore, and compare every variable by path. The
variables that must come back are those of every layer the test passed in
(cell, mechanisms, attention/output/embedding layers), not only what the
component reports, so a sublayer the component forgets fails the test.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq

BATCH, MEMORY_TIME, DEPTH, UNITS, VOCAB, BEAM = 2, 5, 6, 8, 7, 3


def data():
    rng = np.random.default_rng(0)
    return {
        "memory": rng.normal(size=(BATCH, MEMORY_TIME, DEPTH)).astype("float32"),
        "lengths": np.array([5, 3], "int32"),
        "query": rng.normal(size=(BATCH, UNITS)).astype("float32"),
        "inputs": rng.normal(size=(BATCH, 3)).astype("float32"),
        "targets": rng.normal(size=(BATCH, 4, 3)).astype("float32"),
    }


# -- the components: builder -> (component, layers passed in); warm-up runs it once --


def luong():
    mechanism = seq2seq.LuongAttention(UNITS, scale=True)
    return mechanism, [mechanism]


def bahdanau():
    mechanism = seq2seq.BahdanauAttention(UNITS, normalize=True)
    return mechanism, [mechanism]


def monotonic_pair():
    cell = keras.layers.GRUCell(UNITS)
    mechanisms = [
        seq2seq.BahdanauMonotonicAttention(UNITS, normalize=True, score_bias_init=-1.0),
        seq2seq.LuongMonotonicAttention(UNITS, scale=True, mode="recursive"),
    ]
    wrapper = seq2seq.AttentionWrapper(cell, mechanisms, attention_layer_size=[4, 5])
    return wrapper, [cell, *mechanisms]


def wrapper_luong():
    cell, mechanism = keras.layers.LSTMCell(UNITS), seq2seq.LuongAttention(UNITS, scale=True)
    return seq2seq.AttentionWrapper(cell, mechanism, attention_layer_size=UNITS), [cell, mechanism]


def wrapper_two_mechanisms():
    cell = keras.layers.GRUCell(UNITS)
    mechanisms = [seq2seq.LuongAttention(UNITS), seq2seq.BahdanauAttention(UNITS, normalize=True)]
    wrapper = seq2seq.AttentionWrapper(cell, mechanisms, attention_layer_size=[4, 5])
    return wrapper, [cell, *mechanisms]


def wrapper_own_attention_layer():
    cell, mechanism = keras.layers.LSTMCell(UNITS), seq2seq.BahdanauAttention(UNITS)
    attention_layer = keras.layers.Dense(6, name="my_attention")
    wrapper = seq2seq.AttentionWrapper(
        cell, mechanism, attention_layer=attention_layer, output_attention=False
    )
    return wrapper, [cell, mechanism, attention_layer]


def basic_training():
    cell, output_layer = keras.layers.LSTMCell(UNITS), keras.layers.Dense(VOCAB)
    decoder = seq2seq.BasicDecoder(cell, seq2seq.TrainingSampler(), output_layer=output_layer)
    return decoder, [cell, output_layer]


def basic_scheduled_embedding():
    cell, output_layer = keras.layers.LSTMCell(UNITS), keras.layers.Dense(VOCAB)
    embedding = keras.layers.Embedding(VOCAB, 3)  # the targets' depth
    sampler = seq2seq.ScheduledEmbeddingTrainingSampler(
        0.5, embedding_fn=embedding, seed=0, scheduling_seed=1
    )
    decoder = seq2seq.BasicDecoder(cell, sampler, output_layer=output_layer)
    return decoder, [cell, embedding, output_layer]


def basic_scheduled_output():
    cell = keras.layers.LSTMCell(3)  # outputs fed back as inputs: the targets' depth
    decoder = seq2seq.BasicDecoder(cell, seq2seq.ScheduledOutputTrainingSampler(0.5, seed=0))
    return decoder, [cell]


def basic_greedy_attention():
    cell, mechanism = keras.layers.LSTMCell(UNITS), seq2seq.LuongAttention(UNITS)
    wrapper = seq2seq.AttentionWrapper(cell, mechanism, attention_layer_size=UNITS)
    embedding, output_layer = keras.layers.Embedding(VOCAB, 3), keras.layers.Dense(VOCAB)
    sampler = seq2seq.GreedyEmbeddingSampler(embedding_fn=embedding)
    decoder = seq2seq.BasicDecoder(wrapper, sampler, output_layer, maximum_iterations=4)
    return decoder, [cell, mechanism, embedding, output_layer]


def basic_sample():
    cell, embedding = keras.layers.GRUCell(UNITS), keras.layers.Embedding(VOCAB, 3)
    output_layer = keras.layers.Dense(VOCAB)
    sampler = seq2seq.SampleEmbeddingSampler(embedding_fn=embedding, seed=0)
    decoder = seq2seq.BasicDecoder(cell, sampler, output_layer, maximum_iterations=3)
    return decoder, [cell, embedding, output_layer]


def beam_search():
    cell, mechanism = keras.layers.LSTMCell(UNITS), seq2seq.BahdanauAttention(UNITS)
    wrapper = seq2seq.AttentionWrapper(cell, mechanism, attention_layer_size=UNITS)
    embedding, output_layer = keras.layers.Embedding(VOCAB, 3), keras.layers.Dense(VOCAB)
    decoder = seq2seq.BeamSearchDecoder(
        wrapper, BEAM, embedding_fn=embedding, output_layer=output_layer, maximum_iterations=4
    )
    return decoder, [cell, mechanism, embedding, output_layer]


def mechanisms_of(component):
    if isinstance(component, seq2seq.AttentionMechanism):
        return [component]
    cell = component if isinstance(component, seq2seq.AttentionWrapper) else component.cell
    return list(getattr(cell, "_attention_mechanisms", []))


def warm_up(component):
    """Runs `component` once on fixed data, which creates all its variables."""
    d = data()
    multiplier = BEAM if isinstance(component, seq2seq.BeamSearchDecoder) else 1
    for mechanism in mechanisms_of(component):
        mechanism.setup_memory(
            seq2seq.tile_batch(d["memory"], multiplier),
            seq2seq.tile_batch(d["lengths"], multiplier),
        )
    if isinstance(component, seq2seq.AttentionMechanism):
        return component([d["query"], component.initial_alignments(BATCH, "float32")])
    if isinstance(component, seq2seq.AttentionWrapper):
        state = component.get_initial_state(batch_size=BATCH, dtype="float32")
        return component(d["inputs"], state)
    if isinstance(component.cell, seq2seq.AttentionWrapper):
        state = component.cell.get_initial_state(batch_size=BATCH * multiplier, dtype="float32")
    else:
        state = component.cell.get_initial_state(batch_size=BATCH * multiplier)
    if isinstance(getattr(component, "sampler", None), seq2seq.TrainingSampler):
        return component(d["targets"], initial_state=state)
    return component(None, start_tokens=np.ones(BATCH, "int32"), end_token=0, initial_state=state)


BUILDERS = {
    "luong": luong,
    "bahdanau": bahdanau,
    "wrapper_luong": wrapper_luong,
    "wrapper_two_mechanisms": wrapper_two_mechanisms,
    "monotonic_pair": monotonic_pair,
    "wrapper_own_attention_layer": wrapper_own_attention_layer,
    "basic_training": basic_training,
    "basic_scheduled_embedding": basic_scheduled_embedding,
    "basic_scheduled_output": basic_scheduled_output,
    "basic_greedy_attention": basic_greedy_attention,
    "basic_sample": basic_sample,
    "beam_search": beam_search,
}
NEUTRAL = (
    "luong",
    "bahdanau",
    "wrapper_luong",
    "wrapper_two_mechanisms",
    "monotonic_pair",
    "wrapper_own_attention_layer",
)


@keras.saving.register_keras_serializable(package="tfx_ext_tests")
class Holder(keras.Model):
    """A model holding one component, so that `save_weights` and `.keras` apply to it.

    Its build step is the component's warm-up (the component's variables
    appear when it first runs), which `load_model` replays before loading.
    """

    def __init__(self, kind, component=None, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind
        parts = None
        if component is None:
            component, parts = BUILDERS[kind]()
        # Out of Keras's sight: saving the parts through the holder would
        # hide a part the component itself forgets.
        self.passed_in = lambda: parts
        self.component = component

    def build(self, input_shape=None):
        warm_up(self.component)
        self.built = True

    def get_build_config(self):
        return {"warm": True}

    def build_from_config(self, config):
        self.build()

    def get_config(self):
        return {
            **super().get_config(),
            "kind": self.kind,
            "component": keras.saving.serialize_keras_object(self.component),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["component"] = keras.saving.deserialize_keras_object(config["component"])
        return cls(**config)


def trained_holder(kind):
    """A warmed-up holder whose every variable has moved away from its initial value."""
    keras.utils.set_random_seed(1)
    holder = Holder(kind)
    holder.build()
    rng = np.random.default_rng(7)
    for variable in holder.component.weights:
        value = np.asarray(variable)
        variable.assign(value + rng.normal(size=value.shape).astype(value.dtype) + 0.5)
    return holder


def fresh_twin(kind):
    keras.utils.set_random_seed(2)
    twin = Holder(kind)
    twin.build()
    return twin


def structural_path(variable):
    """The variable's place in the component: its name and shape (the order is `.weights`').

    Not `variable.path`: it records the name scope a layer was first built
    in, and Keras uniquifies names (`lstm_cell_1`), so an eagerly warmed
    original and a twin built by `load_model` (inside the model's scope)
    give one variable different paths. The path is kept in the messages.
    """
    return variable.name, tuple(variable.shape)


class TrackingChecks:
    def expected_variables(self, holder):
        """The component's weights, after checking they include every layer's passed in."""
        weights = holder.component.weights
        owned = {id(v) for v in weights}
        for layer in holder.passed_in():
            for variable in layer.weights:
                self.assertIn(
                    id(variable),
                    owned,
                    msg=f"{holder.kind}: {variable.path} of {layer.name} is not tracked",
                )
        self.assertNotEmpty(weights)
        return weights

    def assert_same_variables(self, original, restored, kind, leg):
        self.assertEqual(
            [structural_path(v) for v in restored],
            [structural_path(v) for v in original],
            msg=f"{kind} {leg}",
        )
        for a, b in zip(original, restored):
            self.assertAllEqual(
                np.asarray(b), np.asarray(a), msg=f"{kind} {leg}: {a.path} not restored"
            )

    def assert_all_differ(self, original, twin, kind):
        self.assertEqual(len(twin), len(original))
        for a, b in zip(original, twin):
            self.assertFalse(
                np.allclose(np.asarray(a), np.asarray(b)),
                msg=f"{kind}: {a.path} equal before restore",
            )

    def check_weights_file(self, kind):
        holder = trained_holder(kind)
        expected = self.expected_variables(holder)
        twin = fresh_twin(kind)
        self.assert_all_differ(expected, twin.component.weights, kind)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.weights.h5")
            holder.save_weights(path)
            twin.load_weights(path)
        self.assert_same_variables(expected, twin.component.weights, kind, ".weights.h5")

    def check_keras_file(self, kind):
        holder = trained_holder(kind)
        expected = self.expected_variables(holder)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            holder.save(path)
            keras.utils.set_random_seed(2)
            loaded = keras.models.load_model(path)  # no custom_objects: registered names only
        self.assertIsInstance(loaded.component, type(holder.component))
        self.assert_same_variables(expected, loaded.component.weights, kind, ".keras")
        self.assertAllClose(
            keras.tree.flatten(warm_up(loaded.component))[0],
            keras.tree.flatten(warm_up(holder.component))[0],
        )


class BackendNeutralTrackingTest(TrackingChecks, tf.test.TestCase):
    """`.weights.h5` and `.keras` for the mechanisms and the wrapper, on every backend."""

    def test_weights_file_restores_every_variable(self):
        for kind in NEUTRAL:
            with self.subTest(kind=kind):
                self.check_weights_file(kind)

    def test_keras_file_restores_every_variable(self):
        for kind in NEUTRAL:
            with self.subTest(kind=kind):
                self.check_keras_file(kind)


@tensorflow_only
class CheckpointTrackingTest(TrackingChecks, tf.test.TestCase):
    def test_tf_checkpoint_restores_every_variable(self):
        for kind in BUILDERS:
            with self.subTest(kind=kind):
                holder = trained_holder(kind)
                expected = self.expected_variables(holder)
                twin = fresh_twin(kind)
                self.assert_all_differ(expected, twin.component.weights, kind)
                with tempfile.TemporaryDirectory() as tmp:
                    path = tf.train.Checkpoint(component=holder.component).save(
                        os.path.join(tmp, "ckpt")
                    )
                    status = tf.train.Checkpoint(component=twin.component).restore(path)
                    status.assert_existing_objects_matched()
                    # Every saved variable has a home in the twin, and nothing else was saved.
                    status.assert_consumed()
                self.assert_same_variables(
                    expected, twin.component.weights, kind, "tf.train.Checkpoint"
                )

    def test_tf_checkpoint_restores_before_the_first_call(self):
        """Deferred restore: variables created after `restore` take the saved values (the NMT tutorial's order)."""
        for kind in ("wrapper_luong", "basic_greedy_attention", "beam_search"):
            with self.subTest(kind=kind):
                holder = trained_holder(kind)
                expected = self.expected_variables(holder)
                keras.utils.set_random_seed(2)
                twin = Holder(kind)
                with tempfile.TemporaryDirectory() as tmp:
                    path = tf.train.Checkpoint(component=holder.component).save(
                        os.path.join(tmp, "ckpt")
                    )
                    status = tf.train.Checkpoint(component=twin.component).restore(path)
                    twin.build()
                    status.assert_consumed()
                self.assert_same_variables(
                    expected, twin.component.weights, kind, "deferred tf.train.Checkpoint"
                )

    def test_decoders_weights_file_restores_every_variable(self):
        for kind in sorted(set(BUILDERS) - set(NEUTRAL)):
            with self.subTest(kind=kind):
                self.check_weights_file(kind)

    def test_decoders_keras_file_restores_every_variable(self):
        for kind in sorted(set(BUILDERS) - set(NEUTRAL)):
            with self.subTest(kind=kind):
                self.check_keras_file(kind)
