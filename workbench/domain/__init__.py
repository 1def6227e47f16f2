"""Pure domain: the model catalog, prompt templates and checks, suites, criteria, per-model
options, history filters and ids. Imports no framework (Streamlit, httpx, DuckDB) and no adapter."""
