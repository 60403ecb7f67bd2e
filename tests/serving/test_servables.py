"""TF1 SavedModels run in a session of their own, as TF Serving runs them; TF2 ones
through their functions (`tfx_ext.serving.servables`)."""

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from tests.export.models import temp_dir
from tests.serving.conformance import testdata_models
from tfx_ext.serving import inference
from tfx_ext.serving.model_registry import LoadedVersion
from tfx_ext.serving.servables import FunctionServable, SessionServable, load_servable

v1 = tf.compat.v1


def _stateful_two_outputs(export_dir):
    """A TF1 graph whose signature has a plain output and one that increments a counter."""
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        count = v1.Variable(0.0, name="count", use_resource=False)
        x = v1.placeholder(tf.float32, [None], name="x")
        doubled = tf.identity(2.0 * x, name="doubled")
        bumped = v1.assign_add(count, 1.0)
        info = testdata_models._info
        signatures = {
            "serving_default": testdata_models._signature(
                {"x": info(x)},
                {"doubled": info(doubled), "bumped": info(bumped)},
                testdata_models.PREDICT,
            ),
            "get": testdata_models._signature({}, {"count": info(count)}, testdata_models.PREDICT),
        }
        sess.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(export_dir)
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map=signatures)
        builder.save()
    return export_dir


class TestdataFidelityTest(tf.test.TestCase):
    """Our rebuilds of TF Serving's TF1 testdata fail `tf.saved_model.load` as the originals
    do (so the session path is what serves them), and load through the session."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="tfx_ext_test_")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.half_plus_three = testdata_models.half_plus_three(os.path.join(cls.root, "h3", "1"))
        cls.counter = testdata_models.counter(os.path.join(cls.root, "counter", "1"))

    def test_tf2_loader_refuses_them_as_the_testdata(self):
        with self.assertRaisesRegex(ValueError, "Shapes must be equal rank"):
            tf.saved_model.load(self.half_plus_three)
        with self.assertRaisesRegex(Exception, "reference type float_ref"):
            tf.saved_model.load(self.counter)

    def test_half_plus_three_runs_in_a_session_with_its_init_op_and_asset(self):
        servable, signature_defs = load_servable(self.half_plus_three)
        self.assertIsInstance(servable, SessionServable)
        self.assertEqual(servable.signature_keys, {"serving_default", testdata_models.REGRESS})
        self.assertEqual(set(signature_defs), servable.signature_keys)
        # Fed with shape [3] although the graph's x is [-1, 1]: a session does not check.
        got = servable.run("serving_default", {"x": np.array([1.0, 2.0, 5.0], np.float32)})
        self.assertAllClose(got["y"], 0.5 * np.array([1.0, 2.0, 5.0]) + 3.0)
        # The legacy_init_op ran: it assigns the asset's name to `filename_tensor`.
        self.assertEqual(servable._session.run("filename_tensor:0"), b"foo.txt")
        self.assertTrue(os.path.isfile(os.path.join(self.half_plus_three, "assets", "foo.txt")))

    def test_regress_feeds_serialized_examples(self):
        served = LoadedVersion(1, self.half_plus_three, *load_servable(self.half_plus_three))
        key, sig = inference.signature(served, testdata_models.REGRESS, inference.REGRESS_METHOD)
        examples = [inference.example_from_features({"x": value}) for value in (1.0, 4.0)]
        self.assertAllClose(inference.regress(served, key, sig, examples), [3.5, 5.0])

    def test_counter_state_lives_in_the_session(self):
        servable, _ = load_servable(self.counter)
        self.assertIsInstance(servable, SessionServable)
        run = lambda key, **feeds: float(servable.run(key, feeds)["output"])  # noqa: E731
        self.assertEqual(run("get_counter"), 0.0)
        self.assertEqual(run("incr_counter"), 1.0)
        self.assertEqual(run("incr_counter_by", delta=np.float32(2.5)), 3.5)
        self.assertEqual(run("get_counter"), 3.5)
        self.assertEqual(run("reset_counter"), 0.0)
        # A second load is a fresh session with the saved value.
        again, _ = load_servable(self.counter)
        self.assertEqual(float(again.run("get_counter", {})["output"]), 0.0)

    def test_wrong_dtype_is_tensorflow_s_error(self):
        servable, _ = load_servable(self.half_plus_three)
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "int32"):
            servable.run("serving_default", {"x": np.array([1, 2], np.int32)})


class OutputFilterTest(tf.test.TestCase):
    """As TF Serving, a Predict with an output filter computes only those outputs: a
    stateful output left out does not run."""

    def test_filtered_stateful_output_does_not_run(self):
        path = _stateful_two_outputs(os.path.join(temp_dir(self), "m", "1"))
        served = LoadedVersion(1, path, *load_servable(path))
        key, sig = inference.signature(served, None, inference.PREDICT_METHOD)
        x = {"x": np.array([1.0, 3.0], np.float32)}
        got = inference.predict(served, key, sig, x, output_filter=["doubled"])
        self.assertEqual(set(got), {"doubled"})
        self.assertAllClose(got["doubled"], [2.0, 6.0])
        count = lambda: float(served.servable.run("get", {})["count"])  # noqa: E731
        self.assertEqual(count(), 0.0)
        got = inference.predict(served, key, sig, x)
        self.assertEqual(set(got), {"doubled", "bumped"})
        self.assertEqual(count(), 1.0)


class TF2PathTest(tf.test.TestCase):
    def test_tf2_saved_model_runs_its_functions(self):
        path = testdata_models.half_plus_two_tf2(os.path.join(temp_dir(self), "m", "1"))
        servable, signature_defs = load_servable(path)
        self.assertIsInstance(servable, FunctionServable)
        self.assertEqual(servable.signature_keys, set(signature_defs) - {"__saved_model_init_op"})
        got = servable.run("serving_default", {"x": np.array([4.0], np.float32)})
        self.assertAllClose(got["y"], [4.0])
        self.assertEqual(
            set(servable.run("serving_default", {"x": np.array([1.0], np.float32)}, ["y"])), {"y"}
        )
