"""Prompt Workbench: the Streamlit entrypoint of a source checkout (`streamlit run app.py`).

`streamlit run` finds `app` below and serves it as Streamlit's ASGI `st.App`: the script of
each session is `workbench/ui/main.py`, behind the sign-in guard for the HTTP routes no script
sees (`workbench/ui/guard.py`; the same as `workbench/ui/server.py`, which `workbench app` runs).
Run as a script itself (Streamlit's AppTest does), it draws the app directly.
"""

import streamlit as st
from starlette.middleware import Middleware

from workbench.ui.guard import SignInGuard
from workbench.ui.main import SCRIPT, main

app = st.App(SCRIPT, middleware=[Middleware(SignInGuard)])

if __name__ == "__main__":
    main()
