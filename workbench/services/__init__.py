"""Services: what the pages and the command line call. Each takes a `Workbench` (the opened
data directory and adapters) and returns plain data; none imports streamlit."""
