"""Gradient checks for tests: autodiff must match central finite differences."""

from tfx_ext.diagnostics import check_gradients


def assert_gradients_match(test, fn, inputs, tolerance=1e-6):
    errors = check_gradients(fn, inputs)
    test.assertNotEmpty(errors)
    for name, error in errors.items():
        test.assertLess(error, tolerance, msg=f"gradient of {name}: relative error {error:.3g}")
    return errors
