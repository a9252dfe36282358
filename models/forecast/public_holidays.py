"""Public holidays of a region as epoch days, from the ``holidays`` package's offline tables (no download): the
tree families read whether the forecast hours fall on a holiday, and their ONNX graph carries the same table."""

from __future__ import annotations

import numpy as np


def holiday_days(region: str, first_year: int, last_year: int) -> tuple[int, ...]:
    """Days since 1970-01-01 of the public holidays of ``region`` ("CN", or "US-DC" for a subdivision), including
    days off moved onto a weekday, from ``first_year`` through ``last_year``.

    >>> [str(np.datetime64(d, "D")) for d in holiday_days("CN", 2014, 2014)[:3]]
    ['2014-01-01', '2014-01-31', '2014-02-01']
    """
    import holidays

    country, _, subdivision = region.partition("-")
    years = range(first_year, last_year + 1)
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    except NotImplementedError:
        raise ValueError(
            f"holidays={region!r}: no public-holiday table for it; give an ISO country code such as 'CN', "
            "optionally with a subdivision ('US-DC'), or '' for none."
        ) from None
    epoch = np.datetime64("1970-01-01", "D")
    return tuple(sorted(int((np.datetime64(day, "D") - epoch).astype(np.int64)) for day in calendar))
