"""Facial expression recognition: the Streamlit entry point.

`streamlit run app.py` serves the landing page below and the pages in pages/ (registered with
st.navigation so the landing page gets a proper title). Each page draws the shared sidebar
settings itself (ui.settings), so every page also works when run on its own.

Server-wide start-up work (the session reaper) is ui.startup.app_startup(), called here and at
the top of every page: until this script has run once in a server process, Streamlit opens a deep
link such as /Photo without it (see ui.startup)."""

from __future__ import annotations

import streamlit as st

from fer_core.classifier import ModelNotFoundError
from fer_core.model_zoo import default_flip_tta, default_model_name, get_model
from ui.comparison import as_dict
from ui.settings import sidebar_settings
from ui.startup import app_startup

PHOTO = "pages/1_Photo.py"
WEBCAM = "pages/2_Live_webcam.py"
VIDEO = "pages/3_Video_file.py"
COMPARISON = "pages/4_Model_comparison.py"


def default_model_line() -> str:
    """One sentence on the default model's measured accuracy as the app runs it (with flip TTA
    where chosen), read from its metrics.json: agreement with people first, then FER2013's labels."""
    try:
        info = get_model(default_model_name())
        metrics = info.metrics() or {}
        flip = default_flip_tta()
    except (ModelNotFoundError, OSError, ValueError):
        return ""
    as_run = as_dict(as_dict(metrics.get("variants")).get("flip_tta")) if flip else metrics
    accuracy, dataset = as_run.get("accuracy"), metrics.get("dataset")
    if not isinstance(accuracy, (int, float)) or not isinstance(dataset, dict):
        return ""
    people = as_dict(as_run.get("ferplus")).get("accuracy")
    line = f" The default model, {info.name}, "
    if isinstance(people, (int, float)):
        line += (f"gives the answer most of ten people gave on {people:.0%} of FER2013's test faces and "
                 f"matches FER2013's own single label on {accuracy:.0%}: it is often wrong")
    else:
        line += (f"labels {accuracy:.0%} of the {dataset.get('images', '?')} {dataset.get('split', 'test')} "
                 f"faces of FER2013 correctly: it is often wrong")
    per_class = metrics.get("per_class")
    if isinstance(per_class, dict):
        scored = [(v.get("f1"), k) for k, v in per_class.items() if isinstance(v, dict)
                  and isinstance(v.get("f1"), (int, float))]
        weakest = [name for _, name in sorted(scored)[:2]]
        if weakest:
            line += f", most of all on {' and '.join(weakest)} faces"
    return line + " (see Model comparison)."


def home() -> None:
    st.title("Facial expression recognition")
    st.markdown(
        "This app finds every face in a photo, a video or your webcam and estimates which of seven "
        "facial expressions it shows — **angry, disgust, fear, happy, sad, surprise, neutral** — with "
        "the probability of each."
    )
    left, right = st.columns(2)
    with left:
        st.page_link(PHOTO, label="Photo: upload photos or take one", icon=":material/photo_camera:")
        st.page_link(WEBCAM, label="Live webcam: labels on the moving video", icon=":material/videocam:")
    with right:
        st.page_link(VIDEO, label="Video file: an annotated video and a timeline", icon=":material/movie:")
        st.page_link(COMPARISON, label="Model comparison: how good each model is", icon=":material/bar_chart:")

    st.subheader("What it does not do")
    st.markdown(
        "- It does **not recognise who anyone is**: there is no identity recognition and no face "
        "database.\n"
        "- It estimates **facial expressions, not inner feelings**. Expressions are shown, posed, "
        "suppressed and culturally shaped; a smile is not proof of happiness. Do not use the labels to "
        "judge a person's mood, honesty, character or ability.\n"
        "- The models learned from FER2013 (small grey 48x48 faces collected from the web, labelled by "
        "people who disagree with each other) and inherit its gaps: they work best on frontal, well-lit "
        "faces." + default_model_line()
    )

    st.subheader("Privacy: nothing is stored")
    st.markdown(
        "Photos, video files and webcam frames are analysed in memory and discarded. **No image, "
        "frame or result is written to disk or to logs**, and nothing is sent anywhere else. Results "
        "live only in your browser session, in the server's memory; when you close the tab the server "
        "keeps them two minutes in case the connection comes back, then deletes them with the "
        "session, downloads included."
    )

    st.subheader("Lawful use")
    st.warning(
        "Since 2 February 2025, **Article 5(1)(f) of the EU AI Act** prohibits placing on the market, "
        "putting into service or using AI systems that infer the emotions of people **in the workplace "
        "and in education institutions**, except for medical or safety reasons. Do not use this app to "
        "monitor employees, job candidates, pupils or students. Elsewhere, ask people before you analyse "
        "their faces: images of faces are personal data under the GDPR."
    )
    st.caption("The settings in the sidebar (model, face detector, threshold, smoothing) apply to every page.")
    # last, so the text above shows even when no model is installed (the call then stops the page)
    sidebar_settings()


st.set_page_config(page_title="Facial expressions", page_icon="🙂", layout="wide")
app_startup(entry_point=True)  # the session reaper, once per server process (the pages call it too: ui.startup)
navigation = st.navigation([
    st.Page(home, title="Home", icon=":material/home:", default=True),
    st.Page(PHOTO, title="Photo", icon=":material/photo_camera:"),
    st.Page(WEBCAM, title="Live webcam", icon=":material/videocam:"),
    st.Page(VIDEO, title="Video file", icon=":material/movie:"),
    st.Page(COMPARISON, title="Model comparison", icon=":material/bar_chart:"),
])
navigation.run()
