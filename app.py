"""Prompt Workbench: the Streamlit entrypoint of a source checkout (`workbench.ui.main`)."""

from workbench.ui.main import main

main()
