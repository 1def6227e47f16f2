"""The rating maths: star-rating intervals and pairwise (Bradley-Terry) ratings. numpy only."""
