"""Each shared decision has one definition in `tfx_ext/_core/`, and the rooms call it.

Two kinds of proof: the rule is changed (monkeypatched) and every site follows
it; or the package's source is read (AST) and the old local copies are gone.
"""

import ast
import pathlib
import warnings

import keras
import numpy as np
import tensorflow as tf

import tfx_ext
from tfx_ext._core import model_graphs, predictions
from tfx_ext._core.protocols import MCLayer, Prunable, PrunableLayer, UnwrapsWeights

PACKAGE = pathlib.Path(tfx_ext.__file__).parent
CORE = PACKAGE / "_core"


def sources(exclude_core=True):
    """{path relative to the package: parsed module} for every module outside `_core`."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if exclude_core and CORE in path.parents:
            continue
        found[str(path.relative_to(PACKAGE))] = ast.parse(path.read_text())
    return found


def string_constants(tree):
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def calls_named(tree, name):
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
    ]


def attribute_strings(tree, functions=("getattr", "hasattr", "setattr")):
    """The attribute names read by `getattr(x, "name")` and its kin."""
    found = []
    for fn in functions:
        for call in calls_named(tree, fn):
            if len(call.args) >= 2 and isinstance(call.args[1], ast.Constant):
                found.append(call.args[1].value)
    return found


# Rows summing to 1.05: outside the 1e-2 tolerance, inside a tolerance of 0.1.
OFF_BY_FIVE_PERCENT = np.array([[0.5, 0.55], [0.3, 0.75], [0.9, 0.15]], dtype="float32")
LABELS = np.array([1, 1, 0])


class ProbabilityRuleTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self._tolerance = predictions.PROBABILITY_TOLERANCE

    def tearDown(self):
        predictions.PROBABILITY_TOLERANCE = self._tolerance

    def verdicts(self):
        """(metric accepts, calibration accepts, mc_predict sees a classifier) for the rows."""
        from tfx_ext.metrics import BrierScore
        from tfx_ext.uncertainty import calibration_bins, mc_predict

        def accepts(fn):
            try:
                fn()
                return True
            except ValueError:
                return False

        metric = accepts(lambda: BrierScore().update_state(LABELS, OFF_BY_FIVE_PERCENT))
        calibration = accepts(lambda: calibration_bins(LABELS, OFF_BY_FIVE_PERCENT))
        # x = I: the model outputs the rows themselves; no dropout, so mc_predict warns.
        dense = keras.layers.Dense(2, use_bias=False)
        model = keras.Sequential([keras.Input((3,)), dense])
        dense.set_weights([OFF_BY_FIVE_PERCENT])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prediction = mc_predict(model, np.eye(3, dtype="float32"), samples=2)
        return metric, calibration, prediction.predictive_entropy is not None

    def test_every_site_follows_the_one_tolerance(self):
        self.assertEqual(self.verdicts(), (False, False, False))
        predictions.PROBABILITY_TOLERANCE = 0.1
        self.assertEqual(self.verdicts(), (True, True, True))

    def test_keras_ops_and_numpy_forms_agree(self):
        rng = np.random.default_rng(0)
        logits = rng.normal(size=(6, 4)).astype("float32") * 3
        softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        cases = [
            softmax,
            logits,
            softmax + 0.009 / 4,  # rows off by 0.009: inside
            softmax + 0.011 / 4,  # rows off by 0.011: outside
            np.clip(rng.normal(size=(5, 1)), 0, 1),  # one column: range only
            np.array([[-0.02, 1.02]]),  # sums to 1, out of range
        ]
        for values in cases:
            values = values.astype("float32")
            in_range, rows_ok, *_ = predictions.probability_checks(
                keras.ops.convert_to_tensor(values)
            )
            np_in_range, np_rows_ok, *_ = predictions.probability_checks_numpy(values)
            self.assertEqual(bool(keras.ops.convert_to_numpy(in_range)), np_in_range)
            if rows_ok is None:
                self.assertIsNone(np_rows_ok)
            else:
                self.assertEqual(bool(keras.ops.convert_to_numpy(rows_ok)), np_rows_ok)
        # The independent expectation: |row sum - 1| <= 1e-2 and values in [-1e-2, 1 + 1e-2].
        self.assertTrue(predictions.looks_like_probabilities(cases[2]))
        self.assertFalse(predictions.looks_like_probabilities(cases[3]))
        self.assertFalse(predictions.looks_like_probabilities(cases[5]))

    def test_softmax_and_sigmoid_forms_agree(self):
        logits = np.random.default_rng(1).normal(size=(4, 3))
        self.assertAllClose(
            predictions.to_probabilities_numpy(logits, True),
            keras.ops.convert_to_numpy(
                predictions.to_probabilities(logits.astype("float32"), True)
            ),
            atol=1e-6,
        )
        column = logits[:, :1]
        self.assertAllClose(
            predictions.to_probabilities_numpy(column, True), 1 / (1 + np.exp(-column))
        )

    def test_no_local_copy_of_the_rule(self):
        for name, tree in sources().items():
            assigned = [
                t.id
                for n in ast.walk(tree)
                if isinstance(n, ast.Assign)
                for t in n.targets
                if isinstance(t, ast.Name)
            ]
            self.assertNotIn("TOLERANCE", assigned, name)
            # A hand-written softmax (`np.exp(x - x.max(...))`) belongs to predictions.
            self.assertNotIn("np.exp(p - p.max(", ast.unparse(tree), name)


class ClassifierRuleTest(tf.test.TestCase):
    def test_classifier_output_is_a_class_axis_of_rank_two(self):
        self.assertTrue(predictions.is_classifier_output(np.zeros((3, 4))))
        self.assertFalse(predictions.is_classifier_output(np.zeros((3, 1))))
        self.assertFalse(predictions.is_classifier_output(np.zeros((3, 2, 4))))
        softmax = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
        regression = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
        self.assertTrue(predictions.is_classifier_model(softmax))
        self.assertFalse(predictions.is_classifier_model(regression))

    def test_sites_call_the_rule(self):
        trees = sources()
        for site, rule in (
            ("lite/compare.py", "is_classifier_output"),
            ("export/serving_export.py", "is_classifier_model"),
            ("uncertainty/mc_prediction.py", "looks_like_probabilities"),
        ):
            self.assertTrue(calls_named(trees[site], rule), f"{site} does not call {rule}")


class GraphModelRuleTest(tf.test.TestCase):
    def test_one_rule_for_every_kind_of_model(self):
        class Subclassed(keras.Model):
            def call(self, x):
                return x

        functional_in = keras.Input((2,))
        functional = keras.Model(functional_in, keras.layers.Dense(1)(functional_in))
        built = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        unbuilt = keras.Sequential([keras.layers.Dense(1)])
        sub = Subclassed()
        sub(np.zeros((1, 2)))
        self.assertEqual(
            [model_graphs.is_graph_model(m) for m in (functional, built, unbuilt, sub, "m")],
            [True, True, False, False, False],
        )
        self.assertEqual(
            [
                model_graphs.is_graph_model(m, built=False)
                for m in (functional, built, unbuilt, sub)
            ],
            [True, True, True, False],
        )

    def test_the_sites_reject_a_subclassed_model_with_the_same_error_class(self):
        from tfx_ext.diagnostics import dense_head_to_convolutions, estimate_memory
        from tfx_ext.export import export_for_serving
        from tfx_ext.selu import activation_statistics

        class Subclassed(keras.Model):
            def call(self, x):
                return x

        sub = Subclassed()
        sub(np.zeros((1, 2)))
        for site in (
            lambda: estimate_memory(sub, 1),
            lambda: dense_head_to_convolutions(sub),
            lambda: export_for_serving(sub, self.get_temp_dir(), "m"),
            lambda: activation_statistics(sub, np.zeros((2, 2))),
        ):
            with self.assertRaisesRegex(ValueError, r"argument `model`.*Sequential or functional"):
                site()
        with self.assertRaisesRegex(TypeError, r"argument `model`.*keras.Model"):
            dense_head_to_convolutions("model")

    def test_no_local_graph_check(self):
        for name, tree in sources().items():
            text = ast.unparse(tree)
            self.assertNotIn("_has_graph", text, name)
            # The old local wording of the check.
            self.assertNotIn(
                "a Sequential or functional model with a known input", string_constants(tree), name
            )
            self.assertNotIn("keras.src.models.functional", text, name)
            # Catching clone_model's ValueError to learn that a model is subclassed.
            for node in ast.walk(tree):
                if isinstance(node, ast.Try) and "clone_model" in ast.unparse(node.body):
                    handled = [ast.unparse(h.type) for h in node.handlers if h.type is not None]
                    self.assertNotIn("ValueError", handled, name)


class KernelTableAndWalkerTest(tf.test.TestCase):
    def test_the_kernel_table_and_its_users(self):
        layers = keras.layers
        self.assertTrue(
            all(model_graphs.is_kernel_layer(c(2, 3)) for c in (layers.Conv1D, layers.Conv2D))
        )
        self.assertTrue(model_graphs.is_kernel_layer(layers.Dense(2)))
        for excluded in (
            layers.Conv2DTranspose(2, 3),
            layers.DepthwiseConv2D(3),
            layers.SeparableConv2D(2, 3),
        ):
            self.assertFalse(model_graphs.is_kernel_layer(excluded))
        conv_tables = 0
        for name, tree in sources().items():
            for node in ast.walk(tree):
                if isinstance(node, ast.Tuple) and {
                    "keras.layers.Conv1D",
                    "keras.layers.Dense",
                } <= {ast.unparse(e) for e in node.elts}:
                    conv_tables += 1
                    self.fail(f"{name}:{node.lineno} keeps its own Dense/Conv table")
        self.assertEqual(conv_tables, 0)

    def test_leaf_layers_walk_nested_models(self):
        inner = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="a")], name="inner")
        outer = keras.Sequential([keras.Input((2,)), inner, keras.layers.Dense(1, name="b")])
        self.assertEqual([l.name for l in model_graphs.all_layers(outer)], ["inner", "a", "b"])
        self.assertEqual([l.name for l in model_graphs.leaf_layers(outer)], ["a", "b"])

    def test_no_other_recursive_walker(self):
        for name, tree in sources().items():
            for fn in ast.walk(tree):
                if isinstance(fn, ast.FunctionDef):
                    recursive = any(
                        isinstance(n, ast.YieldFrom)
                        and isinstance(n.value, ast.Call)
                        and isinstance(n.value.func, ast.Name)
                        and n.value.func.id == fn.name
                        for n in ast.walk(fn)
                    )
                    self.assertFalse(
                        recursive and ".layers" in ast.unparse(fn), f"{name}: {fn.name}"
                    )


class ArgumentWordingTest(tf.test.TestCase):
    def test_only_arguments_builds_the_message(self):
        for name, tree in sources().items():
            for text in string_constants(tree):
                self.assertNotIn("Invalid value received for argument", text, name)
            for fstring in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
                self.assertNotIn("Invalid value received", ast.unparse(fstring), name)

    def test_no_hand_written_bool_check(self):
        for name, tree in sources().items():
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.If)
                    and ast.unparse(node.test).startswith("not isinstance(")
                    and ast.unparse(node.test).endswith(", bool)")
                    and any(isinstance(n, ast.Raise) for n in node.body)
                ):
                    self.fail(f"{name}:{node.lineno} checks a bool by hand (use check_bool)")

    def test_one_wording_for_bools(self):
        from tfx_ext._core.arguments import check_bool
        from tfx_ext.callbacks import AverageModelCheckpoint
        from tfx_ext.metrics import BrierScore

        message = r"Expected True or False \(a bool\)\. Received: {0}='yes'"
        with self.assertRaisesRegex(TypeError, message.format("x")):
            check_bool("x", "yes")
        with self.assertRaisesRegex(TypeError, message.format("from_logits")):
            BrierScore(from_logits="yes")
        with self.assertRaisesRegex(TypeError, message.format("update_weights")):
            AverageModelCheckpoint(update_weights="yes", filepath="x.keras")


class ProtocolTest(tf.test.TestCase):
    def test_tfx_ext_layers_implement_the_protocols(self):
        from tfx_ext.layers import MCDropout, SqueezeExcitation, WeightNormalization
        from tfx_ext.lite import QuantizeAware
        from tfx_ext.losses import SampledSoftmaxLoss
        from tfx_ext.sparsity import PruneLowMagnitude

        self.assertIsInstance(MCDropout(0.1), MCLayer)
        self.assertNotIsInstance(keras.layers.Dropout(0.1), MCLayer)
        for layer in (
            WeightNormalization(keras.layers.Dense(2)),
            SqueezeExcitation(),
            SampledSoftmaxLoss(5, 2),
        ):
            self.assertIsInstance(layer, Prunable)
            self.assertIsInstance(layer, PrunableLayer)
        self.assertIsInstance(PruneLowMagnitude(keras.layers.Dense(2)), UnwrapsWeights)
        self.assertIsInstance(QuantizeAware(keras.layers.Dense(2)), UnwrapsWeights)

    def test_prunable_weights_come_from_the_layer(self):
        from tfx_ext.layers import SqueezeExcitation
        from tfx_ext.sparsity import prunable_weights

        layer = SqueezeExcitation(ratio=2)
        layer.build((None, 4, 4, 8))
        self.assertEqual(
            [w.path for w in prunable_weights(layer)],
            [w.path for w in layer.trainable_weights if w.name == "kernel"],
        )

    def test_no_duck_typed_agreement_outside_protocols(self):
        agreements = {"mc", "unwrapped_weights", "pruning_step", "get_prunable_weights"}
        for name, tree in sources(exclude_core=False).items():
            if name == "_core/protocols.py":
                continue
            self.assertFalse(agreements & set(attribute_strings(tree)), name)

    def test_sparsity_lists_only_keras_layers(self):
        tree = sources()["sparsity/prunable_layers.py"]
        imported = {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        } | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        self.assertFalse(
            {m for m in imported if m.startswith(("tfx_ext.layers", "tfx_ext.losses"))}
        )


class LayoutTest(tf.test.TestCase):
    def test_package_root_holds_only_init_cli_and_subpackages(self):
        files = sorted(p.name for p in PACKAGE.glob("*.py"))
        self.assertEqual(files, ["__init__.py", "cli.py"])

    def test_one_file_named_mc_dropout(self):
        self.assertEqual(
            [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("mc_dropout.py")],
            ["layers/mc_dropout.py"],
        )


class TablesTest(tf.test.TestCase):
    def test_serving_dtype_views_come_from_one_table(self):
        from tensorflow.core.framework import types_pb2

        from tfx_ext.serving import dtypes, inference, json_tensors, tensor_protos

        self.assertIs(inference._DTYPE_NAMES, dtypes.NAME_OF_ENUM)
        self.assertIs(json_tensors._DTYPE_NAMES, dtypes.BY_PROTO_NAME)
        self.assertIs(tensor_protos.DTYPES, dtypes.BY_ENUM)
        for enum, proto, _, numpy_type, _ in dtypes.DATA_TYPES:
            self.assertEqual(types_pb2.DataType.Name(enum), proto)
            expected = tf.dtypes.as_dtype(enum).as_numpy_dtype
            self.assertEqual(
                numpy_type, object if expected is object or proto == "DT_STRING" else expected
            )

    def test_cli_offers_the_conversion_modes(self):
        from tfx_ext._core.conversion_modes import ENGINES, MODES
        from tfx_ext.lite import convert

        self.assertIs(convert.__globals__["MODES"], MODES)
        self.assertIs(convert.__globals__["ENGINES"], ENGINES)
        cli = ast.unparse(sources()["cli.py"])
        for name in ("dynamic_range", "int16x8", "litert_quantizer"):  # only in the two lists
            self.assertIn(name, MODES + ENGINES)
            self.assertNotIn(repr(name), cli)
