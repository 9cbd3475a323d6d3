"""Streamlit glue shared by the pages: settings in session state and cached model getters.
Everything that is not about Streamlit lives in fer_core."""
