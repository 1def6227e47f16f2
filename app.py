"""Prompt Workbench: the Streamlit entrypoint. Only configuration and navigation live here."""

import streamlit as st

from workbench.ui.navigation import all_pages

st.set_page_config(page_title="Prompt Workbench", page_icon="🍌", layout="wide")
st.navigation(all_pages()).run()
