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

import tensorflow as tf

import tfx_ext

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
            {
                repr(t)
                for t in covered_targets()
                if not any(t is obj for obj in public + members)
            }
        )
        self.assertEqual(strays, [], "@rejects_bad_input marks something that is not public.")
