"""The rural teacher living subsidy list (乡村教师生活补助名单), built only from TMIS's public
events, as the finance office would build it.

A teacher is on the list for date D when, as of the end of D (China Standard Time):
they are in post (TeacherInPost, not TeacherLeft since), their current record version's review
is complete (a ReviewCompleted for that version or a later one), and the school they are at is
open and marked rural (SchoolOpened / SchoolChanged, not merged or closed). The county is the
school's county as of D. The list is per county.

    python -m examples.subsidy --as-of 2017-04-07 [--bootstrap HOST:PORT]
                               [--username agency-finance --password ...] [--csv FILE]

`book.py` is the pure part (fold the events, answer "as of"); `reader.py` reads the public
topics from the beginning; `compare.py` checks the list against reporting's school table.
"""
