"""Who is where: coalition personnel by site and role, plus those in transit.

This is the single source of truth for counts. Every move goes through ``depart`` and
``arrive``, which keep the running totals (in Iraq, in Syria) that the threat model reads at
every candidate incident, so no one recomputes them.
"""

from __future__ import annotations

from sim.config.schema import Forces


class Posture:
    """Personnel by site and role; conserved by construction."""

    def __init__(self, *, forces: Forces) -> None:
        self.sites = [site.name for site in forces.sites]
        self.roles = list(forces.roles)
        self.site_index = {name: i for i, name in enumerate(self.sites)}
        self.role_index = {name: j for j, name in enumerate(self.roles)}
        self.country = [site.country for site in forces.sites]
        self.counts = [
            [site.personnel.get(role, 0) for role in self.roles] for site in forces.sites
        ]
        self.in_transit = [0] * len(self.roles)
        self.in_iraq = self._country_total("iraq")
        self.in_syria = self._country_total("syria")

    def _country_total(self, country: str) -> int:
        return sum(
            sum(row) for row, c in zip(self.counts, self.country, strict=True) if c == country
        )

    def _adjust_country(self, site: int, delta: int) -> None:
        if self.country[site] == "iraq":
            self.in_iraq += delta
        elif self.country[site] == "syria":
            self.in_syria += delta

    def depart(self, site: int, load: list[int]) -> None:
        """Personnel (by role) leave ``site`` and are in transit."""
        row = self.counts[site]
        for j, n in enumerate(load):
            if n > row[j]:
                raise ValueError(f"cannot move {n} {self.roles[j]} from {self.sites[site]}")
            row[j] -= n
            self.in_transit[j] += n
        self._adjust_country(site, -sum(load))

    def arrive(self, site: int, load: list[int]) -> None:
        """Personnel (by role) in transit arrive at ``site``."""
        row = self.counts[site]
        for j, n in enumerate(load):
            row[j] += n
            self.in_transit[j] -= n
        self._adjust_country(site, sum(load))
