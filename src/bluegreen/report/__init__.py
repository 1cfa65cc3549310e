"""The stage report, the summary line and their templates."""
