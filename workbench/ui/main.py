"""The Streamlit script inside the package: page configuration, the identity gate and navigation.

`streamlit run app.py` (a source checkout) and `workbench app` (any install, `server.py`) both
serve this script behind the sign-in guard (`ui/guard.py`) and run `main()` per session:
Streamlit executes the script anew on every rerun, so the work is a function call, not an import.
The gate (`ui/identity.py`) runs before the menu exists, so a refused request sees no page at
all; each page's `workbench()` checks the identity again before it reads any data.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from workbench.ui.identity import gate, name_box
from workbench.ui.navigation import all_pages

SCRIPT = Path(__file__).resolve()
SERVER = SCRIPT.with_name("server.py")  # what `streamlit run` serves: this script, guarded


def main() -> None:
    st.set_page_config(page_title="Prompt Workbench", page_icon="🍌", layout="wide")
    if not gate():
        return
    try:
        st.navigation(all_pages()).run()
    finally:  # also when a page stops early (a database that cannot be reached)
        name_box()


if __name__ == "__main__":
    main()
