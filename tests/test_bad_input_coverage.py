"""Every public callable of tfx_ext has a test that feeds it bad input.

Walks every `__all__` of `tfx_ext` and of its subpackages, imports every test
module under `tests/`, collects what `tests.bad_input.rejects_bad_input`
recorded on the test methods, and lists each public callable that no marked
test covers.
"""

import functools
import importlib
import inspect
import pathlib
import pkgutil
import unittest
import warnings

import tensorflow as tf

import tfx_ext
from tests import bad_input
from tests.bad_input import rejects_bad_input

TESTS_DIR = pathlib.Path(__file__).resolve().parent

# Public names that users never call with arguments of their own, so there is no
# bad input to feed them. Exceptions (subclasses of BaseException) are left out
# too: the library raises them, users only catch them.
EXCLUDED = {
    # Predicates: any object is a valid argument, and the answer is True or False.
    "tfx_ext.sparsity.is_tf_keras": "a predicate (keras vs tf_keras), total on any object",
    # Takes no arguments (tfmot's signature): nothing to get wrong.
    "tfx_ext.sparsity.prune_scope": "a context manager without arguments",
    # Result objects: built and returned by the library, read by the user.
    "tfx_ext.diagnostics.MemoryEstimate": "result of estimate_memory",
    "tfx_ext.export.SignatureInfo": "result of inspect_saved_model",
    "tfx_ext.export.TensorInfo": "part of a SignatureInfo",
    "tfx_ext.lite.ConversionResult": "result of convert",
    "tfx_ext.lite.FoldingResult": "result of fold_normalization",
    "tfx_ext.lite.ParityReport": "result of compare",
    "tfx_ext.selu.LayerStatistics": "result of activation_statistics",
    "tfx_ext.selu.SelfNormalizingReport": "result of check_self_normalizing",
    "tfx_ext.selu.Violation": "part of a SelfNormalizingReport",
    "tfx_ext.sparsity.LayerSparsity": "part of a SparsityReport",
    "tfx_ext.sparsity.SparsityReport": "result of sparsity_report",
    "tfx_ext.tuning.SearchResult": "result of search",
    "tfx_ext.uncertainty.CalibrationBins": "result of calibration_bins",
    "tfx_ext.uncertainty.MCPrediction": "result of mc_predict",
    # Abstract interfaces: users subclass them; their subclasses are tested.
    "tfx_ext.sparsity.PrunableLayer": "abstract interface for custom prunable layers",
    "tfx_ext.sparsity.PruningSchedule": "abstract base of ConstantSparsity and PolynomialDecay",
}

# Public callables still waiting for their bad-input test, each with its owner:
# none today. The coverage test fails for any name neither covered nor listed here.
PENDING = {}


def public_packages():
    """`tfx_ext` and every subpackage, imported."""
    packages = [tfx_ext]
    for info in pkgutil.walk_packages(tfx_ext.__path__, "tfx_ext."):
        if info.ispkg:
            packages.append(importlib.import_module(info.name))
    return packages


def public_callables(include_exceptions=False):
    """{qualified public name: object} for every callable in an `__all__`."""
    found = {}
    for package in public_packages():
        for name in getattr(package, "__all__", ()):
            obj = getattr(package, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException) and not include_exceptions:
                continue
            # A re-export (`tfx_ext.uncertainty.BrierScore`) is listed once.
            if any(obj is seen for seen in found.values()):
                continue
            found[f"{package.__name__}.{name}"] = obj
    return found


def suite_modules():
    """Every `tests/**/test_*.py` module, imported by its dotted name."""
    modules = []
    for path in sorted(TESTS_DIR.rglob("test_*.py")):
        relative = path.relative_to(TESTS_DIR.parent).with_suffix("")
        modules.append(importlib.import_module(".".join(relative.parts)))
    return modules


@functools.cache
def marked_tests():
    """{"Class.test_name" or "test_name": (test object, its class or None)} for every marked test."""
    found = {}
    for module in suite_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, method in inspect.getmembers(cls, callable):
                if getattr(method, "bad_input_targets", ()):
                    found[f"{cls.__name__}.{name}"] = (method, cls)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if getattr(function, "bad_input_targets", ()):
                found[name] = (function, None)
    return found


@functools.cache
def covered_targets():
    """The objects recorded by `rejects_bad_input` on any test in the suite."""
    targets = []
    for module in suite_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for _, method in inspect.getmembers(cls, callable):
                targets.extend(getattr(method, "bad_input_targets", ()))
        for _, function in inspect.getmembers(module, inspect.isfunction):
            targets.extend(getattr(function, "bad_input_targets", ()))
    return tuple(targets)


class BadInputCoverageTest(tf.test.TestCase):
    def uncovered(self):
        covered = covered_targets()
        return sorted(
            name
            for name, obj in public_callables().items()
            if name not in EXCLUDED and not any(obj is target for target in covered)
        )

    def test_every_public_callable_has_a_bad_input_test(self):
        missing = [name for name in self.uncovered() if name not in PENDING]
        if missing:
            self.fail(
                "These public callables have no test marked with @rejects_bad_input "
                "(tests/bad_input.py):\n  " + "\n  ".join(missing)
            )

    def test_exclusions_name_public_callables(self):
        public = public_callables()
        stale = sorted(name for name in {**EXCLUDED, **PENDING} if name not in public)
        self.assertEqual(stale, [], "Exclusions that are no longer public callables.")

    def test_markers_name_public_callables(self):
        # An exception whose constructor checks its arguments (`ServingError`) may be marked too.
        public = list(public_callables(include_exceptions=True).values())
        # A method of a public class (`Trainer.fit`) is a fine target too.
        members = [
            member
            for obj in public
            if inspect.isclass(obj)
            for klass in obj.__mro__
            for member in vars(klass).values()
        ]
        strays = sorted(
            {repr(t) for t in covered_targets() if not any(t is obj for obj in public + members)}
        )
        self.assertEqual(strays, [], "@rejects_bad_input marks something that is not public.")


class _Checked:
    """Stand-ins for public callables: what a marked test may or may not do with them."""

    def __init__(self, rate=0.5):
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Received: rate={rate}")
        self.rate = rate

    def scale(self, x):
        if x < 0:
            raise ValueError(f"Invalid value received for argument `x`. Received: x={x}")
        return self.rate * x


def _checked_function(n):
    if n < 0:
        raise ValueError(f"Invalid value received for argument `n`. Received: n={n}")
    return n


def _warning_function(n):
    if n < 0:
        warnings.warn("n < 0 is ignored", UserWarning, stacklevel=2)
        return 0
    return n


class MarkerCheckTest(tf.test.TestCase):
    """`rejects_bad_input` fails a test that does not call its targets with input they reject."""

    def run_marked(self, body, *targets):
        case = unittest.TestCase()
        return rejects_bad_input(*targets)(body)(case)

    def test_a_test_that_never_calls_its_target_fails(self):
        def body(case):
            case.assertEqual(_checked_function(1), 1)

        with self.assertRaisesRegex(AssertionError, r"_Checked was never called"):
            self.run_marked(body, _Checked, _checked_function)

    def test_a_test_whose_target_accepts_everything_fails(self):
        def body(case):
            case.assertEqual(_checked_function(1), 1)
            case.assertEqual(_Checked(0.1).rate, 0.1)

        with self.assertRaisesRegex(
            AssertionError,
            r"_checked_function was called but never raised; "
            r"_Checked was called but never raised",
        ):
            self.run_marked(body, _checked_function, _Checked)

    def test_an_exception_caught_inside_the_test_but_raised_elsewhere_does_not_count(self):
        def body(case):
            _checked_function(1)
            with case.assertRaises(AssertionError):
                assert False

        with self.assertRaisesRegex(AssertionError, r"called but never raised"):
            self.run_marked(body, _checked_function)

    def test_raising_targets_pass_constructor_method_and_function(self):
        def body(case):
            with case.assertRaisesRegex(ValueError, "`rate`"):
                _Checked(rate=2)
            with case.assertRaisesRegex(ValueError, "`n`"):
                _checked_function(-1)

        self.run_marked(body, _Checked, _checked_function)

        def method_body(case):
            checked = _Checked()
            case.assertRaises(ValueError, checked.scale, -1)  # raised inside unittest's frames

        self.run_marked(method_body, _Checked)

    def test_a_warning_shown_inside_the_target_counts(self):
        def body(case):
            with case.assertWarnsRegex(UserWarning, "ignored"):
                case.assertEqual(_warning_function(-1), 0)

        self.run_marked(body, _warning_function)

        def silent(case):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _warning_function(-1)

        with self.assertRaisesRegex(AssertionError, "never raised"):
            self.run_marked(silent, _warning_function)

    def test_a_real_public_class_is_checked(self):
        from tfx_ext.losses import PinballLoss

        def rejects(case):
            with case.assertRaisesRegex(ValueError, "`tau`"):
                PinballLoss(tau=1.5)

        def accepts(case):
            case.assertEqual(PinballLoss(tau=0.5).tau, 0.5)

        self.run_marked(rejects, PinballLoss)
        with self.assertRaisesRegex(AssertionError, "PinballLoss was called but never raised"):
            self.run_marked(accepts, PinballLoss)

    def test_an_in_graph_rejection_caught_by_assert_raises_counts(self):
        def body(case):
            checked = _Checked()  # called; the error comes later, from code that is not the target
            with case.assertRaisesRegex(RuntimeError, "graph"):
                raise RuntimeError(f"the graph built with {checked.rate} failed")

        self.run_marked(body, _Checked)

    def test_everything_is_put_back_even_when_the_test_fails(self):
        before = (
            _Checked.__init__,
            _Checked.scale,
            _checked_function,
            warnings._showwarnmsg,
            unittest.case._AssertRaisesContext.__exit__,
        )

        def body(case):
            case.assertIsNot(_Checked.__init__, before[0])  # replaced while the test runs
            case.assertIsNot(globals()["_checked_function"], before[2])
            raise ValueError("the test itself fails")

        with self.assertRaisesRegex(ValueError, "the test itself fails"):
            self.run_marked(body, _Checked, _checked_function)
        after = (
            _Checked.__init__,
            _Checked.scale,
            _checked_function,
            warnings._showwarnmsg,
            unittest.case._AssertRaisesContext.__exit__,
        )
        self.assertEqual([a is b for a, b in zip(after, before)], [True] * 5)

    def test_every_marked_test_runs_under_the_check(self):
        marked = marked_tests()
        self.assertGreaterEqual(len(marked), 100)
        for name, (test, cls) in marked.items():
            with self.subTest(name):
                # Pytest collects it (a test method of a TestCase, or a test function) ...
                self.assertTrue(name.rsplit(".", 1)[-1].startswith("test"))
                self.assertTrue(cls is None or issubclass(cls, unittest.TestCase))
                # ... and it is the checking wrapper, not a bare attribute set by hand.
                self.assertTrue(callable(getattr(test, "unchecked_test", None)))

    def test_known_gaps_name_marked_tests(self):
        self.assertEqual(sorted(set(bad_input.KNOWN_GAPS) - set(marked_tests())), [])
