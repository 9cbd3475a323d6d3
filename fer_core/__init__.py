"""fer_core: face detection, facial-expression classification and the frame pipeline under the
app. Pure library: never imports Streamlit, and its inference path never imports TensorFlow
(LiteRT runs the models; see README, "Why these dependencies")."""

__version__ = "0.1.0"
