"""tfmot's module paths, with `import tfx_ext as tfmot`, name the very objects of tfx_ext."""

import pytest
import tensorflow as tf

import tfx_ext as tfmot
from tfx_ext import lite, sparsity

pytestmark = pytest.mark.tf_only("tfmot's paths are checked once; the objects are tested elsewhere")


class TfmotPathsTest(tf.test.TestCase):
    def test_quantization_keras_names_are_lite_objects(self):
        for name in (
            "quantize_model",
            "quantize_annotate_layer",
            "quantize_annotate_model",
            "quantize_apply",
            "quantize_scope",
        ):
            self.assertIs(getattr(tfmot.quantization.keras, name), getattr(lite, name), name)
        self.assertEqual(
            sorted(tfmot.quantization.keras.__all__),
            sorted(
                [
                    "quantize_model",
                    "quantize_annotate_layer",
                    "quantize_annotate_model",
                    "quantize_apply",
                    "quantize_scope",
                ]
            ),
        )

    def test_sparsity_keras_names_are_sparsity_objects(self):
        for name in tfmot.sparsity.keras.__all__:
            self.assertIs(getattr(tfmot.sparsity.keras, name), getattr(sparsity, name), name)
        self.assertIn("prune_low_magnitude", tfmot.sparsity.keras.__all__)
