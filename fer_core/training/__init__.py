"""Training, data loading and model architectures (pure Keras 3: runs under any backend)."""
