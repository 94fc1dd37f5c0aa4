"""One colour per scenario, keyed by its name, in every figure and every report.

The shipped scenarios have fixed colours (the baseline a dark grey, as the usual reference);
any other name gets a colour from a second palette chosen by a stable hash of the name
(``zlib.crc32``, not Python's salted ``hash``), so a scenario keeps its colour from one
figure, run and machine to the next whatever else is drawn with it. Two user-named
scenarios can share a hashed colour; ``scenario_colors`` then moves the later one to the
next free colour of that palette, so one figure never shows two scenarios alike.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import matplotlib

SHIPPED = {  # scenarios/*.yaml: the baseline dark grey, the rest from tab20's strong half
    "baseline": "#333333",
    "public_timeline": "#1f77b4",
    "slower_schedule": "#ff7f0e",
    "five_year_plan_slips": "#2ca02c",
    "full_withdrawal_2025": "#d62728",
    "isis_resurgence": "#9467bd",
    "repositioning": "#8c564b",
    "resurgence_repositioning": "#e377c2",
    "coordination_breakdown": "#bcbd22",
    "coalition_leaves_syria": "#17becf",
    "camp_breakout": "#aec7e8",
    "syria_worst_case": "#ff9896",
    "syria_drawdown_2025": "#98df8a",
    "surge_2014": "#c5b0d5",
}
OTHERS = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab20b"].colors]


def scenario_color(name: str) -> str:
    """The colour of the scenario called ``name`` (hex)."""
    return SHIPPED.get(name) or OTHERS[zlib.crc32(name.encode("utf-8")) % len(OTHERS)]


def scenario_colors(names: Iterable[str]) -> dict[str, str]:
    """The colour of each name, a hashed colour taken already moving on to the next free one
    (the shipped colours never move)."""
    colors: dict[str, str] = {}
    for name in dict.fromkeys(names):
        color = scenario_color(name)
        if name not in SHIPPED and color in colors.values():
            start = OTHERS.index(color)
            free = [OTHERS[(start + k) % len(OTHERS)] for k in range(1, len(OTHERS))]
            color = next((c for c in free if c not in colors.values()), color)
        colors[name] = color
    return colors


def sector_label(name: str) -> str:
    """A sector or place name as people write it: ``al_qaim`` → "Al-Qaim",
    ``deir_ez_zor`` → "Deir ez-Zor", ``sinjar`` → "Sinjar"."""
    words = name.split("_")
    out: list[str] = []
    for k, word in enumerate(words):
        if word in {"al", "ez", "el", "as", "ad", "ar", "az", "at"} and k + 1 < len(words):
            prefix = word.capitalize() if k == 0 else word
            words[k + 1] = f"{prefix}-{words[k + 1].capitalize()}"
            continue
        out.append(word if "-" in word else word.capitalize())
    return " ".join(out)
