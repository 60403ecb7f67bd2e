"""The served MetaGraph of a SavedModel with several: the one tagged `serve`."""

import tempfile

import numpy as np
import tensorflow as tf

from tfx_ext.export import inspect_saved_model
from tfx_ext.serving.servables import load_servable


def _two_meta_graphs(path):
    """A TF1 SavedModel whose first MetaGraph is tagged `train` (signature `train_only`) and
    whose second, tagged `serve`, computes y = 3x (signature `serving_default`)."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        scale = tf.compat.v1.get_variable("scale", initializer=3.0, use_resource=True)
        y = tf.multiply(x, scale, name="y")
        session.run(tf.compat.v1.global_variables_initializer())
        signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
        builder = tf.compat.v1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(
            session, ["train"], signature_def_map={"train_only": signature}
        )
        builder.add_meta_graph(["serve"], signature_def_map={"serving_default": signature})
        builder.save()


class ServedMetaGraphTest(tf.test.TestCase):
    def test_inspect_and_the_server_read_the_serve_meta_graph(self):
        path = tempfile.mkdtemp(dir=self.get_temp_dir()) + "/1"
        _two_meta_graphs(path)
        self.assertEqual(set(inspect_saved_model(path)), {"serving_default"})
        servable, signature_defs = load_servable(path)
        self.assertEqual(set(signature_defs), {"serving_default"})
        out = servable.run("serving_default", {"x": np.array([1.0, 2.0], np.float32)})
        np.testing.assert_allclose(out["y"], [3.0, 6.0])
