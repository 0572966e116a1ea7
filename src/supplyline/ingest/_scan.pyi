# Type stub of the C line scanner (_scan.c): constants and the one function.
from typing import Any

def scan_into(buf: Any, n: int, big: int, out: Any, numbers: Any) -> int: ...
def count_lines(buf: Any, n: int) -> tuple[int, int]: ...

F_ST: int
F_EN: int
F_FLAGS: int
F_QDET: int
F_D0: int
F_S0: int
F_STAR: int
F_FC: int
F_FN: int
F_SEQ: int
F_CHAN: int
F_PSTART: int
F_PLEN: int
F_FILL: int
F_PGHP_US: int
F_SRC_A: int
F_SRC_B: int
F_TAG_C: int
F_TAG_SA: int
F_TAG_SB: int
F_TAG_GA: int
F_TAG_GB: int
F_SUF_T: int
F_SUF_SA: int
F_SUF_SB: int
N_FIELDS: int
FLAG_ACTIVE: int
FLAG_TAG_ONLY: int
FLAG_TAG_GOOD: int
FLAG_VDM: int
FLAG_PGHP: int
D_NODELIM: int
D_TAGNOCHK: int
D_TAGCHK: int
D_NOCHK: int
D_CHK: int
D_FIELDS: int
D_FRAG: int
D_FILL: int
D_EMPTY: int
D_NONAIS: int
D_PGHP: int
D_ORPHAN: int
D_INCOMPLETE: int
D_CHARS: int
D_SHORT: int
D_PARTNO: int
D_TAGJUNK: int
D_LONG: int
D_NUL: int
MAX_LINE: int
PAD: int
NOTIME: int
