"""Schema of the geography: the border as a line of public coordinates, named places, and
the parameters by which distance to the border matters (docs/model.md §5.5)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sim.config.schema.common import Fraction, Name, NonNegativeFloat, PositiveFloat, Strict, Text

Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="Degrees north (WGS84).")]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="Degrees east (WGS84).")]
Distance = Annotated[float, Field(gt=0.0, le=20_000.0, description="Kilometres.")]


class Place(Strict):
    """A named point with public coordinates: a vertex of the border, a point of interest."""

    name: Name
    label: Text = ""
    lat: Latitude
    lon: Longitude
    country: Name | None = Field(None, description="Where the place is (iraq, syria, ...).")
    source: Text = Field("", description="The public source of the coordinates.")


class Geography(Strict):
    """The border as an ordered line of places from its northern end (the Turkish tripoint)
    to its southern end (the Jordanian tripoint); sectors are intervals along it in km from
    the northern end, so their lengths come from the geometry."""

    border: list[Place] = Field(min_length=2, description="Vertices, north to south.")
    places: list[Place] = Field(
        default_factory=list,
        description="Points of interest (both sides) and other named locations, such as "
        "the bases of ISR assets outside Iraq and Syria.",
    )


class Crossing(Strict):
    """A crossing point toward which a share of a sector's incidents is drawn."""

    name: Name
    at_km: NonNegativeFloat = Field(description="Km from the border's northern end.")
    share: Fraction = Field(description="Share of the sector's incidents placed near it.")
    spread_km: PositiveFloat = Field(
        10.0, description="Half-width of the stretch around the crossing, in km."
    )


class LocalPresence(Strict):
    """Rate × (1 + effect · (1 − min(1, P_s / reference))), where P_s is the coalition
    presence felt at sector s: every site's personnel, weighted by role, times
    exp(−d / scale_km) for a site d km from the nearest point of the sector, 0 beyond
    radius_km (docs/model.md §5.5)."""

    enabled: bool = True
    effect: float = Field(
        0.0, ge=0.0, le=100.0, description="Relative rise of the rate with no presence felt."
    )
    reference: PositiveFloat = Field(
        300.0, description="Weighted personnel felt at which the effect is gone."
    )
    scale_km: Distance = Field(100.0, description="Distance over which presence fades by 1/e.")
    radius_km: Distance = Field(250.0, description="Operating radius: no presence beyond it.")
    role_weights: dict[Name, NonNegativeFloat] = Field(
        default_factory=dict,
        description="Weight of one person of each role (roles not listed weigh 1).",
    )
