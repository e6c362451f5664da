"""Guided multi-turn flows: the /complain letters (issue 18) and the loan-cost exchange (issue 20).

    letters    the letters as content (`letters/*.yaml`), loaded and checked like the answers

Kept free of imports so that `bot.knowledge` can load letters without loading the rest.
"""
