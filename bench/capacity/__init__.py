"""Capacity benchmarks: many live-webcam visitors against one `streamlit run` server (see bench/__init__.py)."""
