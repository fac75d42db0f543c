"""Export a PEP 751 lock as a hash-checked wheelhouse during `hatch build`."""
