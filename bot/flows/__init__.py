"""Guided multi-turn flows: the /complain letters (issue 18) and the loan-cost exchange (issue 20).

    memory     FlowMemory: what a flow was told, in this process only, for two hours at most
    steps      questions with choices, skip, back and cancel
    complaint  the /complain questions and the letters they produce
    letters    the letters as content (`letters/*.yaml`), loaded and checked like the answers
    rate       when a message is a question about a loan's cost, and the answer with its real annual rate
    pages      long output in parts, for channels with one short message a turn (WeChat)
    engine     Flows: what the dialog calls
    sample     a filled-in complaint for `anxin show complaint --sample`

Kept free of imports so that `bot.knowledge` can load letters without loading the rest.
"""
