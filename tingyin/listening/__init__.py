"""The supervisors' listening room (听音室): live alert rules, the wallboard's API."""
