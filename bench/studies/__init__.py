"""One-off studies behind tuned constants: the default detector, the face crop (see bench/__init__.py)."""
