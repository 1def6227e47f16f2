"""The adherence judge: a Gemini model turns a prompt into atomic yes/no questions (DSG style),
answers them from each image, and compares pairs in both orders; its agreement with the team's
own votes decides whether it may be called calibrated.

- `settings`: the judge model (`WORKBENCH_JUDGE_MODEL`), prices, availability;
- `questions`, `question_sets`: questions from a prompt, their versions and edits;
- `answers`: answers from an image, the DSG score, pairwise verdicts;
- `cost`: what a call may cost before it is sent;
- `judging`: a batch, planned (estimate, cache) then executed (reservations, ledger);
- `calibration`: agreement with people (raw, Cohen's κ with a prompt-clustered interval);
- `insights`: the Adherence figure by generation, best-of-N, per-category failures.
"""
