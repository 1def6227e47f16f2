"""What helps decide between models: star ratings, blind Arena votes, the leaderboards built from
them, and pixel measurements.
"""
