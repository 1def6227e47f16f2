"""What runs generations: one request planned and sent (`generation`), many as a run (`runner`),
the grids of Compare and Matrix (`grids`), recovery of interrupted attempts (`recovery`) and
carrying a draft to another model (`handoff`).
"""
