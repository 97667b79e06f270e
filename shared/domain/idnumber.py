"""Chinese resident ID numbers (居民身份证号码) per GB 11643-1999: checksum, birth date, gender.

18 characters: 6-digit area code, 8-digit birth date YYYYMMDD, 3-digit sequence (odd = male,
even = female), and a check character computed with ISO 7064 MOD 11-2 (0-9 or X).
`synthetic_id_number` makes valid numbers for generated, never real, people.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


@dataclass(frozen=True)
class IdFacts:
    birth_date: date
    gender: str  # "male" | "female"
    area_code: str


class InvalidIdNumber(ValueError):
    pass


def parse_id_number(raw: str) -> IdFacts:
    """Validate an 18-character ID number and return what it states; InvalidIdNumber if not."""
    s = raw.strip().upper()
    if len(s) != 18:
        raise InvalidIdNumber("must be 18 characters")
    if not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        raise InvalidIdNumber("must be 17 digits followed by a digit or X")
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        raise InvalidIdNumber(f"birth date {s[6:14]} in the number is not a date") from None
    if born.year < 1900 or born > date.today():
        raise InvalidIdNumber(f"birth date {born.isoformat()} in the number is implausible")
    if check_char(s[:17]) != s[17]:
        raise InvalidIdNumber("check character does not match (GB 11643 checksum)")
    return IdFacts(birth_date=born, gender="male" if int(s[16]) % 2 else "female",
                   area_code=s[:6])


def normalise(raw: str) -> str:
    return raw.strip().upper()


def mask(id_number: str) -> str:
    """**************123X: the last four only (the sequence number's gender digit among them).
    The area code is hidden as well as the birth date: with the birth date that a record
    carries beside the mask and the area code (often the school's own county), the last four
    would give the whole number back."""
    s = normalise(id_number)
    return "*" * 14 + s[14:]


def last_four(masked: str) -> str:
    """What a mask of either form (**************123X, or 620102********123X from before the
    area code was hidden) shows of a number that two records can be compared by."""
    return masked.strip().upper()[-4:]


def synthetic_id_number(rng: random.Random, area_code: str, birth: date, gender: str) -> str:
    """A checksum-valid number for a generated person. Sequence numbers 900-999 are used so a
    synthetic number is recognisable as such."""
    seq = rng.randrange(900, 1000)
    if (seq % 2 == 1) != (gender == "male"):
        seq = seq + 1 if seq < 999 else seq - 1
    first17 = f"{area_code}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)
