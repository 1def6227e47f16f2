"""What `streamlit run` serves: the app (`ui/main.py`) as Streamlit's ASGI `st.App`, behind the
sign-in guard (`ui/guard.py`) for the HTTP routes no script sees.

`streamlit run` finds the `app = st.App(...)` assignment by reading this file (Streamlit's
`web/server/app_discovery.py`) and serves it with uvicorn; the script it runs per session is
`ui/main.py`, as before. `workbench app` runs this file; a checkout's `app.py` does the same.
"""

from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

from workbench.ui.guard import SignInGuard
from workbench.ui.main import SCRIPT

app = st.App(SCRIPT, middleware=[Middleware(SignInGuard)])
