"""The estimation engine's one error: the numbers cannot give an estimate. It names no input
field (the engine knows none); the TDM consult maps it to the levels and the dose history."""


class EstimationFailed(ArithmeticError):
    """No usable posterior: a degenerate fit, a curvature that is not positive definite, or
    non-finite values. `reason` says which, in words for the report."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
