"""Reports: operations dashboard, complaint analytics, caller keywords and staffing forecasts."""
