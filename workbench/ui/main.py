"""The Streamlit script inside the package: page configuration and navigation only.

`streamlit run app.py` (a source checkout) and `workbench app` (any install) both run `main()`:
Streamlit executes the script anew on every rerun, so the work is a function call, not an import.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from workbench.ui.navigation import all_pages

SCRIPT = Path(__file__).resolve()


def main() -> None:
    st.set_page_config(page_title="Prompt Workbench", page_icon="🍌", layout="wide")
    st.navigation(all_pages()).run()


if __name__ == "__main__":
    main()
