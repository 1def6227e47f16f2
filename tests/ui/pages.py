"""Entry points for AppTest.from_function: each runs one page exactly as the menu would."""


def build_page() -> None:
    from workbench.ui import builder

    builder.render()


def history_page() -> None:
    from workbench.ui import history

    history.render()


def leaderboard_page() -> None:
    from workbench.ui import leaderboard

    leaderboard.render()


def status_page() -> None:
    from workbench.ui import status

    status.render()


def compare_page() -> None:
    from workbench.ui import compare

    compare.render()


def matrix_page() -> None:
    from workbench.ui import matrix

    matrix.render()


def arena_page() -> None:
    from workbench.ui import arena

    arena.render()


def measurements_page() -> None:
    from workbench.ui import measurements

    measurements.render()


def library_page() -> None:
    from workbench.ui import library

    library.render()
