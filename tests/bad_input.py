"""Marks the tests that feed a public callable its bad inputs.

`tests/test_bad_input_coverage.py` walks every `__all__` of `tfx_ext` and fails
for a public callable that no test marked with `rejects_bad_input` covers.

    @rejects_bad_input(PinballLoss, pinball_loss)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`tau`"):
            PinballLoss(tau=1.5)
"""


def rejects_bad_input(*targets):
    """Records `targets` (the public classes or functions) on the decorated test."""
    if not targets:
        raise TypeError("rejects_bad_input needs at least one public callable.")

    def mark(test):
        test.bad_input_targets = tuple(getattr(test, "bad_input_targets", ())) + targets
        return test

    return mark
