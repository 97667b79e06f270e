"""Review: the school and county approval of teacher records (谁填报谁负责，谁审核谁负责).

Consumes intake's school and teacher events, keeps each teacher's review state (submitted ->
school approved -> county approved, or rejected), runs the automatic core-information checks,
lets reviewers decide over HTTP, and records every decision as an event of its own store.
"""
