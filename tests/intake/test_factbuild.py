"""The one parser behind `record` and the CSV importer: routes and units come out the same either way."""

from __future__ import annotations

import pytest

from monitor.core.domain import Route
from monitor.core.errors import DataError
from monitor.intake.factbuild import build_dose, build_lab, build_marker


@pytest.mark.parametrize(("cells", "route"), [
    ({"drug": "ibandronate", "date": "2025-01-01", "dose_mg": "3"}, Route.IV),
    ({"drug": "ibandronate", "date": "2025-01-01", "dose_mg": "2"}, Route.IV),
    ({"drug": "ibandronate", "date": "2025-01-01", "dose_mg": "150", "days_supply": "30"}, Route.ORAL),
    ({"drug": "ibandronate", "date": "2025-01-01", "dose_mg": "2.5", "days_supply": "28"}, Route.ORAL),
    ({"drug": "ibandronate", "date": "2025-01-01", "dose_mg": "3", "route": "po"}, Route.ORAL),
    ({"drug": "Prolia", "date": "2025-01-01", "dose_mg": "60"}, Route.SC),
    ({"drug": "zometa", "date": "2025-01-01", "dose_mg": "4"}, Route.IV),
])
def test_the_route_follows_the_drug_strength_and_dispensing(policy, cells, route):
    dose, _ = build_dose(cells, policy)
    assert dose.route is route


def test_a_ctx_in_ng_per_ml_is_stored_in_ng_per_l_with_the_reported_value_kept(policy):
    marker, extra = build_marker({"date": "2025-01-01", "analyte": "ctx", "value": "0.45", "unit": "ng/mL"}, policy)
    assert (marker.value, marker.unit) == (450.0, "ng/L")
    assert extra == {"value_reported": 0.45, "unit_reported": "ng/mL"}


def test_a_unit_that_does_not_fit_the_analyte_is_refused_naming_what_fits(policy):
    with pytest.raises(DataError) as err:
        build_lab({"date": "2025-01-01", "analyte": "calcium", "value": "2.3", "unit": "ng/mL"}, policy)
    assert str(err.value).startswith("unit: 'ng/mL' is not allowed; allowed for calcium: mg/dL, mmol/L")
