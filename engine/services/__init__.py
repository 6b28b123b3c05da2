"""Use cases: one module per noun, one function per verb, one transaction per call."""
