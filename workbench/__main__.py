"""`python -m workbench ...`: the command line (see `workbench.cli`)."""

from workbench.cli import entry

if __name__ == "__main__":
    entry()
