"""Training recipe for the learned answer selector (run as `python -m train.selector`; see docs/SELECTOR.md)."""
